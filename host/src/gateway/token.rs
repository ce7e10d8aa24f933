//! Generated gateway tokens (the first run, `doctor --generate-gateway-token`).

use crate::state::ids::{RandomError, random_hex};

/// Random bytes in a generated gateway token (printed as hex: 48 characters), as OpenClaw does.
pub const TOKEN_BYTES: usize = 24;

/// A fresh token from the operating system's CSPRNG.
pub fn new_token() -> Result<String, RandomError> {
    random_hex(TOKEN_BYTES)
}
