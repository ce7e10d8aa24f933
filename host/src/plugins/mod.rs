//! Plugins on disk: discovery, packages, installs, and loading them into the runtime.

pub mod discover;
pub mod install;
pub mod listing;
pub mod loader;
pub mod manifest_file;
pub mod package;
