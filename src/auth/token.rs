//! Random secrets (session ids, key bodies) and how they are stored: SHA-256, hex.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 256 bits from the operating system's CSPRNG.
pub fn random_256() -> [u8; 32] {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    b
}

/// Base62 of a big-endian number, left-padded with '0' to `width` characters.
pub fn base62(bytes: &[u8], width: usize) -> String {
    let mut num: Vec<u8> = bytes.to_vec();
    let mut out = Vec::new();
    while num.iter().any(|&b| b != 0) {
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | *b as u32;
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        out.push(ALPHABET[rem as usize]);
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How secrets are stored and looked up: lower-case hex SHA-256 of the exact text.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A short random public id (for keys): not derived from any secret.
pub fn public_id(len: usize) -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    base62(&b, 22)[..len].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_is_fixed_width_and_distinct() {
        assert_eq!(base62(&[0u8; 32], 43), "0".repeat(43));
        assert_eq!(base62(&[0xff; 32], 43).len(), 43);
        assert_eq!(base62(&[1], 3), "001");
        assert_eq!(base62(&[62], 2), "10");
        assert_ne!(base62(&random_256(), 43), base62(&random_256(), 43));
    }
}
