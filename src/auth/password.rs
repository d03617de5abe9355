//! Passwords: argon2id hashes (OWASP parameters: 19 MiB, t=2, p=1), the password policy
//! (length and a list of common passwords, no composition rules), and a bound on how many
//! hashes run at once so a flood of sign-ins cannot exhaust memory or starve other requests.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

use crate::settings::{Settings, PASSWORD_MAX_LENGTH};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
    #[error("password hashing failed")]
    Hash,
}

/// Runs argon2 on the blocking pool, at most `max_parallel` at once with at most
/// `max_queue` waiting; beyond that callers get `Busy` (HTTP 429) at once.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    in_flight: Arc<AtomicUsize>,
    limit: usize,
}

/// Counts a caller as in flight until it is dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hasher {
    pub fn new(max_parallel: usize, max_queue: usize) -> Self {
        let max_parallel = max_parallel.max(1);
        Hasher {
            permits: Arc::new(Semaphore::new(max_parallel)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit: max_parallel + max_queue,
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(PasswordError::Busy);
        }
        let _counted = InFlight(self.in_flight.clone());
        let _permit = self.permits.clone().acquire_owned().await.map_err(|_| PasswordError::Hash)?;
        tokio::task::spawn_blocking(f).await.map_err(|_| PasswordError::Hash)
    }

    pub async fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        let pw = password.clone();
        self.run(move || hash_blocking(pw.expose_secret())).await?
    }

    /// Verifies against the stored hash; with no stored hash (unknown e-mail) it verifies
    /// against a dummy hash so that both answers take the same time.
    pub async fn verify(&self, password: &SecretString, stored: Option<String>) -> Result<bool, PasswordError> {
        let pw = password.clone();
        self.run(move || {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
            let ok = PasswordHash::new(&stored)
                .map(|parsed| Argon2::default().verify_password(pw.expose_secret().as_bytes(), &parsed).is_ok())
                .unwrap_or(false);
            known && ok
        })
        .await
    }
}

/// argon2id with the crate's defaults, which are exactly OWASP's m=19456 KiB, t=2, p=1.
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hash)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("attest-dummy-password-for-unknown-users").expect("argon2 works"))
}

/// 49,233 common passwords (see common-passwords.LICENSE.txt), lower-cased.
fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("common-passwords.txt").lines().filter(|l| !l.is_empty()).collect())
}

pub fn common_password_count() -> usize {
    common_passwords().len()
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyViolation {
    #[error("the password must be at least {0} characters long")]
    TooShort(usize),
    #[error("the password must be at most {0} characters long")]
    TooLong(usize),
    #[error("this password is on the list of commonly used passwords; choose another")]
    Common,
    #[error("the password must not be your e-mail address or name")]
    Personal,
}

/// NIST SP 800-63B: a minimum length, long passwords accepted, counted in Unicode code
/// points, checked against common passwords and the account's own words; no composition rules.
pub fn check_policy(password: &str, settings: &Settings, email: &str, name: &str) -> Result<(), PolicyViolation> {
    let len = password.chars().count();
    let min = settings.password_min_length.max(1) as usize;
    if len < min {
        return Err(PolicyViolation::TooShort(min));
    }
    if len > PASSWORD_MAX_LENGTH {
        return Err(PolicyViolation::TooLong(PASSWORD_MAX_LENGTH));
    }
    let lower = password.to_lowercase();
    if common_passwords().contains(lower.as_str()) {
        return Err(PolicyViolation::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if lower == email.to_lowercase() || (!local.is_empty() && lower == local) || lower == name.to_lowercase() {
        return Err(PolicyViolation::Personal);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_at_least_ten_thousand_common_passwords() {
        assert!(common_password_count() >= 10_000, "{}", common_password_count());
    }

    #[test]
    fn policy_follows_nist() {
        let s = Settings::default();
        assert_eq!(check_policy("fourteen-chars", &s, "a@b.org", "A"), Err(PolicyViolation::TooShort(15)));
        assert_eq!(check_policy("fifteen-chars-x", &s, "a@b.org", "A"), Ok(()));
        let long: String = "correct horse battery staple ".repeat(4);
        assert!(long.chars().count() > 64);
        assert_eq!(check_policy(&long, &s, "a@b.org", "A"), Ok(()));
        // code points, not bytes: 15 emoji are 15 characters
        assert_eq!(check_policy(&"🔒".repeat(15), &s, "a@b.org", "A"), Ok(()));
        // no composition rules: all lower-case letters are fine
        assert_eq!(check_policy("abcdefghijklmnopq", &s, "a@b.org", "A"), Ok(()));
        // common passwords of any case are refused
        assert_eq!(check_policy("1QAZ2WSX3EDC4RFV", &s, "a@b.org", "A"), Err(PolicyViolation::Common));
        assert_eq!(
            check_policy("researcher.one@example.org", &s, "researcher.one@example.org", "R"),
            Err(PolicyViolation::Personal)
        );
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let h = hash_blocking("a long enough password").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[tokio::test]
    async fn verify_and_unknown_user() {
        let hasher = Hasher::new(2, 8);
        let pw = SecretString::from("a long enough password");
        let h = hasher.hash(&pw).await.unwrap();
        assert!(hasher.verify(&pw, Some(h.clone())).await.unwrap());
        assert!(!hasher.verify(&SecretString::from("wrong"), Some(h)).await.unwrap());
        assert!(!hasher.verify(&pw, None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let hasher = Hasher::new(1, 0);
        let pw = SecretString::from("a long enough password");
        let h1 = hasher.clone();
        let p1 = pw.clone();
        let first = tokio::spawn(async move { h1.hash(&p1).await });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut busy = 0;
        for _ in 0..4 {
            if matches!(hasher.hash(&pw).await, Err(PasswordError::Busy)) {
                busy += 1;
            }
        }
        assert!(first.await.unwrap().is_ok());
        assert!(busy >= 1, "expected at least one Busy while the only permit was taken");
    }
}
