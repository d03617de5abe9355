//! Signed checkpoints: "the log had SIZE events ending in HEAD at TIME", signed with an Ed25519
//! key kept in the data directory (created at first start, never logged). Copied outside the
//! database's reach, a checkpoint later proves the log still extends it, which catches a
//! truncation followed by re-chaining that the chain alone cannot.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use crate::clock::format_ms;

pub const KEY_FILE: &str = "audit-signing.key";
pub const CHECKPOINT_DIR: &str = "checkpoints";
const ORIGIN: &str = "attest-audit-checkpoint-v1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub origin: String,
    pub size: i64,
    pub head: String,
    pub time: String,
    pub public_key: String,
    pub signature: String,
}

impl Checkpoint {
    fn body(origin: &str, size: i64, head: &str, time: &str) -> String {
        format!("{origin}\n{size}\n{head}\n{time}\n")
    }

    pub fn sign(key: &SigningKey, size: i64, head: &str, now_ms: i64) -> Checkpoint {
        let time = format_ms(now_ms);
        let sig = key.sign(Self::body(ORIGIN, size, head, &time).as_bytes());
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            head: head.to_string(),
            time,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Checks the signature against `trusted` (the key the verifier pins), not merely against
    /// the key written in the checkpoint.
    pub fn verify_signature(&self, trusted: &VerifyingKey) -> Result<(), String> {
        if self.origin != ORIGIN {
            return Err(format!("not an Attest audit checkpoint (origin '{}')", self.origin));
        }
        if self.public_key != hex::encode(trusted.to_bytes()) {
            return Err("the checkpoint was signed with another key than this server's".into());
        }
        let sig_bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the checkpoint's signature is malformed")?;
        trusted
            .verify(Self::body(&self.origin, self.size, &self.head, &self.time).as_bytes(), &Signature::from_bytes(&sig_bytes))
            .map_err(|_| "the checkpoint's signature does not verify: it was altered".to_string())
    }
}

/// The signing key in `data_dir`, created (mode 0600) if absent.
pub fn load_or_create_key(data_dir: &Path) -> std::io::Result<SigningKey> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is not a signing key", path.display())))?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    std::fs::create_dir_all(data_dir)?;
    let key = SigningKey::generate(&mut OsRng);
    write_private(&path, &hex::encode(key.to_bytes()))?;
    Ok(key)
}

/// The public half, for verifiers; fails if there is no key.
pub fn load_public(data_dir: &Path) -> std::io::Result<VerifyingKey> {
    let path = data_dir.join(KEY_FILE);
    if !path.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("no signing key at {}", path.display())));
    }
    Ok(load_or_create_key(data_dir)?.verifying_key())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

pub fn write_to_dir(dir: &Path, cp: &Checkpoint) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!("checkpoint-{:012}-{}.json", cp.size, cp.time.replace(':', ""));
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(cp).expect("json"))?;
    Ok(path)
}

pub fn read_file(path: &Path) -> Result<Checkpoint, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))
}

/// Every checkpoint in a directory, smallest first.
pub fn read_dir(dir: &Path) -> Result<Vec<Checkpoint>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            out.push(read_file(&p)?);
        }
    }
    out.sort_by_key(|c| c.size);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_unaltered_and_with_the_pinned_key() {
        let key = SigningKey::generate(&mut OsRng);
        let cp = Checkpoint::sign(&key, 42, "ab", 0);
        assert_eq!(cp.verify_signature(&key.verifying_key()), Ok(()));
        let mut edited = cp.clone();
        edited.size = 41;
        assert!(edited.verify_signature(&key.verifying_key()).unwrap_err().contains("altered"));
        let other = SigningKey::generate(&mut OsRng);
        let forged = Checkpoint::sign(&other, 42, "ab", 0);
        assert!(forged.verify_signature(&key.verifying_key()).unwrap_err().contains("another key"));
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path()).unwrap();
        let b = load_or_create_key(dir.path()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
