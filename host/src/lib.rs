//! The OpenClaw gateway: I/O around the pure policy in `openclaw-core`.

pub mod cli;
pub mod config;
pub mod gateway;
pub mod logging;
pub mod plugins;
pub mod secrets;
/// The state directory lives in its own crate so the plugin runtime can share it.
pub use openclaw_state as state;
