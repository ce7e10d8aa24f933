//! Generated gateway tokens (the first run, `doctor --generate-gateway-token`).

/// Random bytes in a generated gateway token (printed as hex: 48 characters), as OpenClaw does.
pub const TOKEN_BYTES: usize = 24;

/// A fresh token from the operating system's CSPRNG.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
