//! Plugins as data: manifests, egress patterns and the effective grant. The runtime that
//! enforces them lives in `openclaw-runtime`.

pub mod grants;
pub mod hosts;
pub mod install_policy;
pub mod manifest;
pub mod selection;
pub mod slots;
pub mod tool_names;
pub mod webhook;
