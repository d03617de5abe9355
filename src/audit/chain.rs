//! The hash chain, with RFC 6962 domain separation: an event's leaf hash is
//! SHA-256(0x00 || canonical bytes); the chain hash is SHA-256(0x01 || previous hash || leaf).
//! The chain starts from SHA-256 of the empty string (RFC 6962's empty-tree hash).

use sha2::{Digest, Sha256};

use super::event::{canonical_bytes, encode, AuditEvent, StoredText};

pub fn genesis_hash() -> String {
    hex::encode(Sha256::digest(b""))
}

pub fn leaf_hash(seq: i64, e: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(canonical_bytes(seq, e));
    h.finalize().into()
}

/// The chain hash of event `seq` given the previous event's chain hash (hex).
pub fn chain_hash(prev_hash_hex: &str, seq: i64, e: &AuditEvent) -> String {
    link(prev_hash_hex, &leaf_hash(seq, e))
}

/// `chain_hash` with the event's stored text already made; `buf` is reused between events.
pub fn chain_hash_of(prev_hash_hex: &str, seq: i64, e: &AuditEvent, text: &StoredText, buf: &mut Vec<u8>) -> String {
    encode(buf, seq, &e.fields(text));
    link(prev_hash_hex, &leaf_of(buf))
}

/// The leaf hash of canonical bytes (see `event::encode`).
pub fn leaf_of(canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(canonical);
    h.finalize().into()
}

/// SHA-256(0x01 || previous || leaf), hex.
pub fn link(prev_hash_hex: &str, leaf: &[u8; 32]) -> String {
    let prev = hex::decode(prev_hash_hex).unwrap_or_default();
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(&prev);
    h.update(leaf);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::EventType;

    #[test]
    fn genesis_is_the_empty_tree_hash() {
        assert_eq!(genesis_hash(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn every_field_and_the_previous_hash_matter() {
        let e = AuditEvent::new(EventType::DataAccess, 42);
        let h = chain_hash(&genesis_hash(), 1, &e);
        let mut e2 = e.clone();
        e2.row_count = Some(1);
        assert_ne!(h, chain_hash(&genesis_hash(), 1, &e2));
        assert_ne!(h, chain_hash(&h, 1, &e));
        assert_eq!(h, chain_hash(&genesis_hash(), 1, &e));
    }
}
