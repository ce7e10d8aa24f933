//! Security policy that is pure data in, data out: redaction now; audit rules and fixes later.

pub mod redact;
