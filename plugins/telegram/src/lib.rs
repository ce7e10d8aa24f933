pub mod chunk;
pub mod settings;
