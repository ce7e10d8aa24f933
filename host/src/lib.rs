//! The OpenClaw gateway: I/O around the pure policy in `openclaw-core`.

pub mod agents;
pub mod audit;
pub mod channels;
pub mod cli;
pub mod config;
pub mod context;
pub mod events;
pub mod exit;
pub mod gateway;
pub mod ingress;
#[cfg(test)]
mod layering;
pub mod logging;
pub mod output;
pub mod plugins;
pub mod running;
pub mod sandboxes;
pub mod secrets;
pub mod sessions;
pub mod status;
pub mod tools;
/// The state directory lives in its own crate so the plugin runtime can share it.
pub use openclaw_state as state;
