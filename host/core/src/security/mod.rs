//! Security policy that is pure data in, data out: redaction, the scrubbing of known secret
//! values, and the security audit's rules and fixes.

pub mod audit;
pub mod redact;
pub mod scrub;
pub mod secrets_audit;
pub mod secrets_plan;
pub mod secrets_reload;
pub mod text;

/// The `tracing` target of security events (refused authentication, refused plugin requests, a
/// refused Host or Origin): the log gives them their own budget, so a flood of ordinary lines can
/// never push them out, and operators can filter on it.
pub const SECURITY_TARGET: &str = "openclaw::security";
