//! Signing in and out. Every failure gives the same answer, whether the e-mail is unknown, the
//! password wrong, or the account locked, disabled or expired; the audit log records which.

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use super::principal::{Principal, RequestMeta};
use super::session::{self, EndReason, NewSession};
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{AuditEvent, EventType};
use crate::clock::date_of_ms;
use crate::settings;
use crate::state::AppState;
use crate::users::{self, User};

pub const SIGN_IN_FAILED: &str =
    "Sign-in failed: the e-mail address or password is wrong, or the account is locked, disabled or expired. \
     After repeated failures an account is locked for a while.";

pub struct SignedIn {
    /// The new session id, for the cookie. A new one at every sign-in.
    pub session_id: SecretString,
    pub session_hash: String,
    pub user: User,
}

fn failed() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_failed", SIGN_IN_FAILED)
}

pub async fn sign_in(state: &AppState, email: &str, password: &SecretString, meta: &RequestMeta, previous: Option<&SecretString>) -> ApiResult<SignedIn> {
    let now = state.now();
    let settings = settings::load(&state.db.pool).await?;
    let user = users::by_email(&state.db.pool, email).await?;
    // Verify even for unknown e-mails (against a dummy hash) so timing does not tell.
    let password_ok = state.hasher.verify(password, user.as_ref().map(|u| u.password_hash().to_string())).await?;

    let audit = |reason: &str, user: Option<&User>| {
        let mut e = AuditEvent::new(EventType::SignInFailed, now).outcome("refused");
        e.user_id = user.map(|u| u.id);
        e.user_email = Some(user.map(|u| u.email.clone()).unwrap_or_else(|| email.trim().to_lowercase().chars().take(254).collect()));
        e.client_ip = meta.ip.clone();
        e.user_agent = meta.user_agent.clone();
        e.detail = Some(serde_json::json!({ "reason": reason }));
        e
    };

    let Some(user) = user else {
        state.audit.record(audit("unknown e-mail", None)).await?;
        return Err(failed());
    };
    if user.locked_until.is_some_and(|t| t > now) {
        state.audit.record(audit("account locked", Some(&user))).await?;
        return Err(failed());
    }
    if !password_ok {
        let mut tx = state.db.begin_write().await?;
        sqlx::query("INSERT INTO failed_logins (user_id, at) VALUES ($1, $2)").bind(user.id).bind(now).execute(&mut *tx).await?;
        let since = now - settings.lockout_window_mins * 60_000;
        let recent: i64 = sqlx::query("SELECT COUNT(*) FROM failed_logins WHERE user_id = $1 AND at > $2")
            .bind(user.id)
            .bind(since.max(user.locked_until.unwrap_or(0)))
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut events = vec![audit("wrong password", Some(&user))];
        if recent >= settings.lockout_attempts {
            let until = now + settings.lockout_duration_mins * 60_000;
            sqlx::query("UPDATE users SET locked_until = $1 WHERE id = $2").bind(until).bind(user.id).execute(&mut *tx).await?;
            let mut e = AuditEvent::new(EventType::UserChanged, now).outcome("ok");
            e.user_id = Some(user.id);
            e.user_email = Some(user.email.clone());
            e.client_ip = meta.ip.clone();
            e.detail = Some(serde_json::json!({ "locked_until": crate::clock::format_ms(until), "failed_attempts": recent }));
            events.push(e);
        }
        crate::audit::writer::append(&mut tx, &events).await?;
        tx.commit().await?;
        return Err(failed());
    }
    let today = date_of_ms(now);
    if user.disabled || user.is_expired(&today) {
        let reason = if user.disabled { "account disabled" } else { "account expired" };
        state.audit.record(audit(reason, Some(&user))).await?;
        return Err(failed());
    }
    if settings.inactivity_disable_days > 0 {
        let last = user.last_login_at.unwrap_or(user.created_at);
        if now - last > settings.inactivity_disable_days * 86_400_000 {
            let mut tx = state.db.begin_write().await?;
            sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1").bind(user.id).execute(&mut *tx).await?;
            let mut e = AuditEvent::new(EventType::UserDisabled, now);
            e.user_id = Some(user.id);
            e.user_email = Some(user.email.clone());
            e.detail = Some(serde_json::json!({ "reason": "inactive", "days": settings.inactivity_disable_days }));
            crate::audit::writer::append(&mut tx, &[e, audit("account disabled for inactivity", Some(&user))]).await?;
            tx.commit().await?;
            return Err(failed());
        }
    }

    // Success: a fresh session id, whatever cookie came in (no fixation); the session that
    // cookie named, if any, is ended.
    let (session_id, session_hash) = session::new_session_id();
    let mut tx = state.db.begin_write().await?;
    let mut events = Vec::new();
    if let Some(old) = previous {
        let old_hash = super::token::sha256_hex(old.expose_secret());
        let owner = sqlx::query("SELECT user_id FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(&old_hash)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = owner {
            if session::end(&mut tx, &old_hash, EndReason::SignOut, now).await? {
                let mut e = AuditEvent::new(EventType::SignOut, now);
                e.user_id = Some(row.try_get(0)?);
                e.session_hash = Some(old_hash.clone());
                e.detail = Some(serde_json::json!({ "reason": "signed in again in the same browser" }));
                events.push(e);
            }
        }
    }
    session::insert(
        &mut tx,
        &NewSession { id_hash: &session_hash, user_id: user.id, client_ip: meta.ip.as_deref(), user_agent: meta.user_agent.as_deref() },
        now,
    )
    .await?;
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2").bind(now).bind(user.id).execute(&mut *tx).await?;
    let mut e = AuditEvent::new(EventType::SignIn, now);
    e.user_id = Some(user.id);
    e.user_email = Some(user.email.clone());
    e.session_hash = Some(session_hash.clone());
    e.client_ip = meta.ip.clone();
    e.user_agent = meta.user_agent.clone();
    events.push(e);
    crate::audit::writer::append(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(SignedIn { session_id, session_hash, user })
}

/// Ends the principal's session (sign-out) and records it.
pub async fn sign_out(state: &AppState, p: &Principal) -> ApiResult<()> {
    if p.key_id.is_some() {
        // A key has no authority of its own: it cannot end the session it belongs to.
        return Err(ApiError::forbidden("browser_only", "Sign out in the browser. To stop a key, revoke it there."));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if session::end(&mut tx, &p.session_hash, EndReason::SignOut, now).await? {
        let mut e = p.event(EventType::SignOut, now);
        e.key_id = p.key_id.clone();
        crate::audit::writer::append(&mut tx, &[e]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `Set-Cookie` for a new session: `__Host-` prefix, Secure, HttpOnly, SameSite=Lax, Path=/,
/// no Max-Age (a browser-session cookie; the server enforces the timeouts).
pub fn session_cookie(value: &SecretString) -> String {
    format!("{}={}; Path=/; Secure; HttpOnly; SameSite=Lax", session::COOKIE_NAME, value.expose_secret())
}

pub fn clear_session_cookie() -> String {
    format!("{}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0", session::COOKIE_NAME)
}
