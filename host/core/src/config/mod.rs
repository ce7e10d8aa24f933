//! Config: the typed schema, its validation, and the pure steps of loading (substitution,
//! seed-shape normalization, cross-key rules). Reading files and the environment is the host's job.

pub mod check;
pub mod compat;
pub mod env_subst;
pub mod hints;
pub mod issue;
pub mod parse;
pub mod path;
pub mod rules;
pub mod schema;
pub mod sensitive;
pub mod validate;
