//! Hex, digests and random ids: one implementation for the runtime and the host (install
//! digests, compile-cache names, key-value file names, tokens, temporary names, call ids).

use sha2::{Digest, Sha256};

/// The operating system had no randomness to give.
pub use getrandom::Error as RandomError;

/// `bytes` as lower-case hex, two characters a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The SHA-256 of `bytes`, as 64 lower-case hex characters.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `n_bytes` from the operating system's CSPRNG, as lower-case hex (`2 × n_bytes` characters).
/// Fails only when the operating system has no random source to give.
pub fn random_hex(n_bytes: usize) -> Result<String, RandomError> {
    let mut bytes = vec![0u8; n_bytes];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// A uniformly drawn number below `n` from the operating system's CSPRNG (rejection sampling,
/// so no value is more likely than another). `0` for `n <= 1`.
pub fn random_below(n: u32) -> Result<u32, RandomError> {
    if n <= 1 {
        return Ok(0);
    }
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)?;
        let value = u32::from_le_bytes(bytes);
        if value < zone {
            return Ok(value % n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn sha256_matches_the_published_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_hex_has_the_asked_length_and_differs_each_time() {
        let a = random_hex(24).unwrap();
        assert_eq!(a.len(), 48);
        assert!(
            a.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{a}"
        );
        assert_ne!(a, random_hex(24).unwrap());
        assert_eq!(random_hex(0).unwrap(), "");
    }
}
