//! Server-side sessions: created at sign-in with a fresh 256-bit id, kept alive by activity,
//! and ended here, with a reason, by sign-out, the idle or absolute timeout, an admin, the
//! user, a password change or the account being disabled. A session's keys die with it
//! because every key lookup joins its session and checks that it is alive.

use crate::settings::SettingsRules;
use secrecy::SecretString;
use sqlx::{AnyConnection, Row};

use super::token::{random_256, sha256_hex};
use crate::settings::Settings;

/// `__Host-`: Secure, Path=/, no Domain; browsers treat localhost as secure.
pub const COOKIE_NAME: &str = "__Host-attest_session";

/// How often (at most) a session's last-seen time is written: activity within this window
/// counts without another write.
pub const TOUCH_EVERY_MS: i64 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    SignOut,
    IdleTimeout,
    AbsoluteTimeout,
    EndedByAdmin,
    EndedByUser,
    PasswordChanged,
    AccountDisabled,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignOut => "sign-out",
            EndReason::IdleTimeout => "idle-timeout",
            EndReason::AbsoluteTimeout => "absolute-timeout",
            EndReason::EndedByAdmin => "ended-by-admin",
            EndReason::EndedByUser => "ended-by-user",
            EndReason::PasswordChanged => "password-changed",
            EndReason::AccountDisabled => "account-disabled",
        }
    }

    pub fn is_timeout(self) -> bool {
        matches!(self, EndReason::IdleTimeout | EndReason::AbsoluteTimeout)
    }
}

/// A new session id (the cookie value) and the hash that is stored.
pub fn new_session_id() -> (SecretString, String) {
    use base64::Engine;
    let raw = random_256();
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = sha256_hex(&value);
    (SecretString::from(value), hash)
}

/// Whether a session is still alive at `now`, or which timeout ended it.
pub fn check_timeouts(created_at: i64, last_seen_at: i64, settings: &Settings, now: i64) -> Result<(), EndReason> {
    if now - created_at >= settings.absolute_ms() {
        return Err(EndReason::AbsoluteTimeout);
    }
    if now - last_seen_at >= settings.idle_ms() {
        return Err(EndReason::IdleTimeout);
    }
    Ok(())
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: i64,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, s: &NewSession<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, client_ip, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5)",
    )
    .bind(s.id_hash)
    .bind(s.user_id)
    .bind(now)
    .bind(s.client_ip)
    .bind(s.user_agent)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends one session. True if this call ended it (false: it had already ended).
pub async fn end(conn: &mut AnyConnection, id_hash: &str, reason: EndReason, now: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id_hash = $3 AND ended_at IS NULL")
        .bind(now)
        .bind(reason.as_str())
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Ends every live session of a user (password change, account disabled, admin "end all").
/// Returns the hashes of the sessions ended.
pub async fn end_all_of_user(conn: &mut AnyConnection, user_id: i64, reason: EndReason, now: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id_hash FROM sessions WHERE (user_id = $1 OR acting_user_id = $1) AND ended_at IS NULL")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut ended = Vec::new();
    for r in rows {
        let h: String = r.try_get(0)?;
        if end(conn, &h, reason, now).await? {
            ended.push(h);
        }
    }
    Ok(ended)
}

/// Records activity (for the idle timeout), at most once per TOUCH_EVERY_MS.
pub async fn touch<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, id_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND ended_at IS NULL AND last_seen_at <= $3")
        .bind(now)
        .bind(id_hash)
        .bind(now - TOUCH_EVERY_MS)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_at_their_limits() {
        let s = Settings::default(); // 30 min idle, 12 h absolute
        let t0 = 1_000_000;
        let min = 60_000;
        assert_eq!(check_timeouts(t0, t0, &s, t0 + 30 * min - 1), Ok(()));
        assert_eq!(check_timeouts(t0, t0, &s, t0 + 30 * min), Err(EndReason::IdleTimeout));
        // kept alive by activity, the absolute limit still applies
        assert_eq!(check_timeouts(t0, t0 + 720 * min - 5, &s, t0 + 720 * min - 1), Ok(()));
        assert_eq!(check_timeouts(t0, t0 + 720 * min - 5, &s, t0 + 720 * min), Err(EndReason::AbsoluteTimeout));
    }

    #[test]
    fn session_ids_are_256_bit_and_stored_hashed() {
        use secrecy::ExposeSecret;
        let (a, ha) = new_session_id();
        let (b, _) = new_session_id();
        assert_eq!(a.expose_secret().len(), 43); // 32 bytes, base64url
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(ha, sha256_hex(a.expose_secret()));
        assert_ne!(&ha, a.expose_secret());
    }
}
