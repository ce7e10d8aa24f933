//! Channels: the configured accounts of each messaging channel, run by their WASM plugins.

pub mod accounts;
pub mod logout;
pub mod supervisor;
