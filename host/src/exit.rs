//! The process exit codes, shared by every command and the gateway.

/// Success.
pub const EXIT_OK: u8 = 0;
/// An invalid config or a failed check.
pub const EXIT_FAILED: u8 = 1;
/// A usage error (clap's own code for bad arguments).
pub const EXIT_USAGE: u8 = 2;
/// `EX_CONFIG`: the config does not allow the gateway to start (OpenClaw uses the same code).
pub const EXIT_CONFIG: u8 = 78;
