//! Pure policy for the OpenClaw gateway.
//!
//! Everything here is a plain function over data: no file system, no network, no async runtime,
//! no wasmtime. The `openclaw` crate does the I/O around it. Keeping the boundary at the crate
//! level means the compiler, not a code review, keeps policy testable in isolation.

pub mod access;
pub mod config;
pub mod gateway;
pub mod plugins;
pub mod routing;
pub mod security;
pub mod tools;
