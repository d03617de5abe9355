//! Session keys: a child credential of a browser session, for scripts.
//!
//! Text form: `attest_sk_` + 43 base62 characters (256 random bits) + 6 base62 characters of
//! CRC-32 over the body. The prefix lets secret scanners find leaked keys; the checksum catches
//! typos before any database lookup. Only the SHA-256 of the whole text is stored. A key has no
//! authority of its own: it resolves to its session, and is dead whenever the session is.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{AnyConnection, Row};

use super::token::{base62, is_base62, public_id, random_256, sha256_hex};
use crate::clock::format_ms;

pub const PREFIX: &str = "attest_sk_";
const BODY_LEN: usize = 43;
const CHECK_LEN: usize = 6;
pub const KEY_LEN: usize = PREFIX.len() + BODY_LEN + CHECK_LEN;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KeyFormatError {
    #[error("not an Attest session key (it should start with {PREFIX})")]
    Prefix,
    #[error("a session key is {KEY_LEN} characters long")]
    Length,
    #[error("a session key has only letters and digits after its prefix")]
    Charset,
    #[error("the session key's checksum does not match (a typo or a truncated copy?)")]
    Checksum,
}

fn checksum(body: &str) -> String {
    base62(&crc32fast::hash(body.as_bytes()).to_be_bytes(), CHECK_LEN)
}

/// A new key's text. Shown once to its owner, never stored.
pub fn generate() -> SecretString {
    let body = base62(&random_256(), BODY_LEN);
    let check = checksum(&body);
    SecretString::from(format!("{PREFIX}{body}{check}"))
}

/// Checks the form and checksum of a presented key without touching the database.
pub fn parse(text: &str) -> Result<(), KeyFormatError> {
    let rest = text.strip_prefix(PREFIX).ok_or(KeyFormatError::Prefix)?;
    if text.len() != KEY_LEN {
        return Err(KeyFormatError::Length);
    }
    if !is_base62(rest) {
        return Err(KeyFormatError::Charset);
    }
    let (body, check) = rest.split_at(BODY_LEN);
    // Not secret material: a checksum mismatch only says "typo".
    if checksum(body) != check {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// A short, non-secret fingerprint for refused keys in the audit log: the first 12 hex digits
/// of the key's SHA-256 (the stored hash is the full 64).
pub fn refused_fingerprint(text: &str) -> String {
    sha256_hex(text)[..12].to_string()
}

/// Query-string parameter names that would carry a key; a request using one is refused (400):
/// keys never travel in URLs, where proxies and browser history keep them.
pub fn is_key_like_param(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "apikey" | "api_key" | "api-key" | "session_key" | "sessionkey" | "key" | "token" | "access_token" | "labkeytransformsessionid")
        || contains_key(name)
        || contains_key(value)
}

/// Whether text holds something shaped like a session key anywhere (any case: a key pasted
/// with a prefix, a space or in capitals is still a key).
pub fn contains_key(text: &str) -> bool {
    text.to_ascii_lowercase().contains(PREFIX)
}

/// `text` with every key-shaped run (the prefix and the characters a key is made of after it)
/// replaced by `attest_sk_[redacted]`, for text that echoes what a client sent.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    if !contains_key(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(at) = lower[i..].find(PREFIX) {
        let start = i + at;
        out.push_str(&text[i..start]);
        out.push_str("attest_sk_[redacted]");
        let mut end = start + PREFIX.len();
        while end < text.len() && text.as_bytes()[end].is_ascii_alphanumeric() {
            end += 1;
        }
        i = end;
    }
    out.push_str(&text[i..]);
    std::borrow::Cow::Owned(out)
}

pub struct IssuedKey {
    pub id: String,
    pub key: SecretString,
}

pub async fn insert(conn: &mut AnyConnection, session_hash: &str, now: i64) -> Result<IssuedKey, sqlx::Error> {
    let key = generate();
    let id = public_id(10);
    sqlx::query("INSERT INTO session_keys (id, key_hash, session_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(sha256_hex(key.expose_secret()))
        .bind(session_hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(IssuedKey { id, key })
}

pub async fn list<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, session_hash: &str) -> Result<Vec<app::types::KeyInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, created_at, last_used_at, revoked_at FROM session_keys WHERE session_hash = $1 ORDER BY created_at, id",
    )
    .bind(session_hash)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(app::types::KeyInfo {
                id: r.try_get(0)?,
                created_at: format_ms(r.try_get(1)?),
                last_used_at: r.try_get::<Option<i64>, _>(2)?.map(format_ms),
                revoked: r.try_get::<Option<i64>, _>(3)?.is_some(),
            })
        })
        .collect()
}

/// Revokes one key of a session. True if a live key was revoked.
pub async fn revoke(conn: &mut AnyConnection, session_hash: &str, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE session_keys SET revoked_at = $1 WHERE id = $2 AND session_hash = $3 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .bind(session_hash)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records use, at most once a second per key.
/// A key's last use is recorded at most this often.
pub const MARK_USED_EVERY_MS: i64 = 1_000;

pub async fn mark_used<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE session_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
        .bind(now)
        .bind(id)
        .bind(now - MARK_USED_EVERY_MS)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_covers_every_case_and_position() {
        let k = generate();
        let k = k.expose_secret();
        assert_eq!(redact(&format!("unknown column '{k}'")), "unknown column 'attest_sk_[redacted]'");
        assert_eq!(redact(&format!("a {} b {k}", k.to_uppercase())), "a attest_sk_[redacted] b attest_sk_[redacted]");
        assert_eq!(redact("nothing here"), "nothing here");
        assert!(is_key_like_param("x", &format!(" {k}")));
        assert!(is_key_like_param("x", &format!("Bearer {k}")));
        assert!(is_key_like_param("token", "abc"));
        assert!(!is_key_like_param("query.queryName", "patients"));
    }

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose_secret().len(), KEY_LEN);
        assert!(a.expose_secret().starts_with(PREFIX));
        assert_eq!(parse(a.expose_secret()), Ok(()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn a_hundred_thousand_keys_are_all_distinct_and_256_bits() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let k = generate().expose_secret().to_string();
            assert_eq!(k.len(), KEY_LEN);
            assert!(seen.insert(k));
        }
        // 43 base62 digits hold 256 bits: 62^43 > 2^256
        assert!(43.0 * 62f64.log2() >= 256.0);
    }

    #[test]
    fn typos_are_caught_before_any_lookup() {
        let k = generate().expose_secret().to_string();
        // change one character of the body
        let mut chars: Vec<char> = k.chars().collect();
        let i = PREFIX.len() + 5;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(parse(&typo), Err(KeyFormatError::Checksum));
        assert_eq!(parse(&k[..k.len() - 1]), Err(KeyFormatError::Length));
        assert_eq!(parse(&k.replace(PREFIX, "attest_xx_")), Err(KeyFormatError::Prefix));
        let bad = format!("{}{}", &k[..k.len() - 1], "-");
        assert_eq!(parse(&bad), Err(KeyFormatError::Charset));
        // swapping two characters is caught too
        let mut chars: Vec<char> = k.chars().collect();
        let (x, y) = (PREFIX.len() + 1, PREFIX.len() + 2);
        if chars[x] != chars[y] {
            chars.swap(x, y);
            let swapped: String = chars.into_iter().collect();
            assert_eq!(parse(&swapped), Err(KeyFormatError::Checksum));
        }
    }

    #[test]
    fn key_like_query_parameters() {
        assert!(is_key_like_param("apikey", "x"));
        assert!(is_key_like_param("APIKEY", "x"));
        assert!(is_key_like_param("q", "attest_sk_abc"));
        assert!(!is_key_like_param("query.queryName", "patients"));
    }
}
