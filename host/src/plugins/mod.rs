//! Plugins on disk: discovery, packages, installs, and loading them into the runtime.

pub mod discover;
pub mod install;
pub mod loader;
pub mod package;
