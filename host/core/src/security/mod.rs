//! Security policy that is pure data in, data out: redaction and the scrubbing of known secret values now; audit rules and fixes later.

pub mod redact;
pub mod scrub;
pub mod text;
