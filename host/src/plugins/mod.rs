//! Plugins on disk (discovery, packages, installs, loading them into the runtime) and the plugins
//! a running gateway serves.

pub mod discover;
pub mod install;
pub mod listing;
pub mod loader;
pub mod manifest_file;
pub mod package;
pub mod serving;
