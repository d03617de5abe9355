//! The one identity every request runs as. A session cookie or a session key (header
//! `apikey`, `Authorization: Basic apikey:KEY` or `Authorization: Bearer KEY`) becomes a
//! `Principal`: the session, the acting user, the impersonating admin, the declaration and the
//! key id. Browser and API take this same road.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use super::key;
use super::session::{self, EndReason};
use super::token::sha256_hex;
use crate::audit::{AuditEvent, EventType};
use crate::clock::date_of_ms;
use crate::compliance::declaration::{self, Declaration, DECLARATION_COLUMNS};
use crate::settings::{self, Settings};
use crate::state::AppState;
use crate::users::{self, User, USER_COLUMNS};

/// Where the request came from, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    pub fn from_headers(headers: &HeaderMap, peer: Option<std::net::SocketAddr>, trust_proxy: bool) -> Self {
        let forwarded = trust_proxy
            .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_string());
        let ip = forwarded.or_else(|| peer.map(|p| p.ip().to_string()));
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().filter(|c| !c.is_control()).take(400).collect());
        RequestMeta { ip, user_agent }
    }
}

pub enum Credential {
    Cookie(SecretString),
    Key(SecretString),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("sign in first (no session cookie or session key was sent)")]
    NoCredential,
    #[error("HTTP Basic authentication takes only the user name 'apikey' with a session key as the password")]
    BasicNotApiKey,
    #[error("the session key was not accepted: {0}")]
    KeyFormat(#[from] key::KeyFormatError),
    #[error("the session key is not valid (unknown, revoked, or its session has ended)")]
    KeyRefused,
    #[error("your session has ended; sign in again")]
    SessionEnded,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("the audit log could not record this request")]
    Audit(#[from] crate::audit::AuditError),
}

/// Reads the credential a request carries. LabKey's order: Basic first, then the `apikey`
/// header; then Bearer; the session cookie last.
pub fn credential(headers: &HeaderMap) -> Result<Option<Credential>, AuthError> {
    use base64::Engine;
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| AuthError::BasicNotApiKey)?;
            let text = String::from_utf8(decoded).map_err(|_| AuthError::BasicNotApiKey)?;
            return match text.split_once(':') {
                Some(("apikey", k)) => Ok(Some(Credential::Key(SecretString::from(k.to_string())))),
                _ => Err(AuthError::BasicNotApiKey),
            };
        }
    }
    if let Some(k) = headers.get("apikey").and_then(|v| v.to_str().ok()) {
        return Ok(Some(Credential::Key(SecretString::from(k.trim().to_string()))));
    }
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some((scheme, rest)) = auth.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Ok(Some(Credential::Key(SecretString::from(rest.trim().to_string()))));
            }
        }
    }
    Ok(session_cookie(headers).map(Credential::Cookie))
}

pub fn session_cookie(headers: &HeaderMap) -> Option<SecretString> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == session::COOKIE_NAME)
        .map(|(_, v)| SecretString::from(v.to_string()))
}

/// A signed-in session, as a request sees it.
#[derive(Clone, Debug)]
pub struct Principal {
    pub session_hash: String,
    /// The identity data access runs as: the impersonated user while impersonating.
    pub user: User,
    /// The admin behind an impersonation.
    pub impersonator: Option<User>,
    pub declaration: Option<Declaration>,
    /// Set when the request came with a session key.
    pub key_id: Option<String>,
    pub session_created_at: i64,
    pub session_last_seen_at: i64,
    pub meta: RequestMeta,
    /// The site settings this request runs under (read once, when the credential was checked,
    /// in the same statement as the session).
    pub settings: Settings,
    /// The current terms-of-use version and catalog generation, read in that statement too, so
    /// that a request costs one lookup before its data query.
    pub terms_version: i64,
    pub catalog_generation: i64,
}

impl Principal {
    /// The person who signed in (the admin, while impersonating).
    pub fn signed_in_user(&self) -> &User {
        self.impersonator.as_ref().unwrap_or(&self.user)
    }

    /// An audit event pre-filled with who, which session, declaration and key, and from where.
    pub fn event(&self, t: EventType, now: i64) -> AuditEvent {
        let mut e = AuditEvent::new(t, now);
        e.user_id = Some(self.user.id);
        e.user_email = Some(self.user.email.clone());
        e.impersonator_id = self.impersonator.as_ref().map(|u| u.id);
        e.impersonator_email = self.impersonator.as_ref().map(|u| u.email.clone());
        e.session_hash = Some(self.session_hash.clone());
        if let Some(d) = &self.declaration {
            e.declaration_id = Some(d.id);
            e.activity = Some(d.activity.id().to_string());
            e.irb = d.irb.clone();
            e.phi_level = Some(d.phi_level.as_str().to_string());
        }
        e.key_id = self.key_id.clone();
        e.client_ip = self.meta.ip.clone();
        e.user_agent = self.meta.user_agent.clone();
        e
    }
}

fn select_principal(via_key: bool) -> String {
    let u = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    let a = USER_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
    let d = DECLARATION_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
    let (key_cols, key_join, filter) = if via_key {
        ("k.id, k.revoked_at", "JOIN session_keys k ON k.session_hash = s.id_hash", "k.key_hash = $1")
    } else {
        ("NULL, NULL", "", "s.id_hash = $1")
    };
    let key_used = if via_key { "k.last_used_at" } else { "NULL" };
    let st = settings::columns_of("st");
    format!(
        "SELECT s.id_hash, s.created_at, s.last_seen_at, s.ended_at, {key_cols}, {u}, {a}, {d}, {key_used}, {st}, \
         (SELECT MAX(version) FROM terms_versions), (SELECT generation FROM catalog_generation WHERE id = 1) \
         FROM sessions s {key_join} JOIN users u ON u.id = s.user_id \
         LEFT JOIN users a ON a.id = s.acting_user_id LEFT JOIN declarations d ON d.id = s.declaration_id \
         JOIN settings st ON st.id = 1 \
         WHERE {filter}"
    )
}

const U_AT: usize = 6;
const A_AT: usize = U_AT + 11;
const D_AT: usize = A_AT + 11;

/// A session row as found, before any liveness check.
struct Found {
    principal: Principal,
    key_last_used_at: Option<i64>,
    ended: bool,
    key_revoked: bool,
}

async fn load(state: &AppState, via_key: bool, lookup_hash: &str, meta: &RequestMeta) -> Result<Option<Found>, sqlx::Error> {
    let Some(row) = sqlx::query(&select_principal(via_key)).bind(lookup_hash).fetch_optional(&state.db.pool).await? else {
        return Ok(None);
    };
    let signed_in = users::from_row(&row, U_AT)?;
    let acting = match row.try_get::<Option<i64>, _>(A_AT)? {
        Some(_) => Some(users::from_row(&row, A_AT)?),
        None => None,
    };
    let (user, impersonator) = match acting {
        Some(a) => (a, Some(signed_in)),
        None => (signed_in, None),
    };
    let key_used_at = D_AT + DECLARATION_COLUMNS.split(", ").count();
    let settings_at = key_used_at + 1;
    let versions_at = settings_at + settings::column_count();
    Ok(Some(Found {
        key_last_used_at: row.try_get(key_used_at)?,
        ended: row.try_get::<Option<i64>, _>(3)?.is_some(),
        key_revoked: row.try_get::<Option<i64>, _>(5)?.is_some(),
        principal: Principal {
            session_hash: row.try_get(0)?,
            user,
            impersonator,
            declaration: declaration::from_row(&row, D_AT)?,
            key_id: row.try_get(4)?,
            session_created_at: row.try_get(1)?,
            session_last_seen_at: row.try_get(2)?,
            meta: meta.clone(),
            settings: settings::from_row(&row, settings_at)?,
            terms_version: row.try_get::<Option<i64>, _>(versions_at)?.unwrap_or(0),
            catalog_generation: row.try_get(versions_at + 1)?,
        },
    }))
}

/// Re-reads a live session the caller already holds (after it changed it).
pub async fn by_session_hash(state: &AppState, hash: &str, meta: RequestMeta) -> Result<Principal, AuthError> {
    match load(state, false, hash, &meta).await? {
        Some(f) if !f.ended => Ok(f.principal),
        _ => Err(AuthError::SessionEnded),
    }
}

/// Resolves a credential to its live session, or says why not. A timeout noticed here ends the
/// session and is audited; a refused key is audited with a short hash prefix, never the key.
pub async fn resolve(state: &AppState, cred: Credential, meta: RequestMeta) -> Result<Principal, AuthError> {
    let now = state.clock.now_ms();
    let (via_key, secret) = match &cred {
        Credential::Key(k) => (true, k),
        Credential::Cookie(c) => (false, c),
    };
    if via_key {
        if let Err(e) = key::parse(secret.expose_secret()) {
            refuse_key(state, secret, "malformed", None, &meta, now).await?;
            return Err(AuthError::KeyFormat(e));
        }
    }
    let Some(found) = load(state, via_key, &sha256_hex(secret.expose_secret()), &meta).await? else {
        if via_key {
            refuse_key(state, secret, "unknown", None, &meta, now).await?;
            return Err(AuthError::KeyRefused);
        }
        return Err(AuthError::SessionEnded);
    };
    let key_last_used_at = found.key_last_used_at;
    let principal = found.principal;
    if found.key_revoked {
        refuse_key(state, secret, "revoked", Some(&principal), &meta, now).await?;
        return Err(AuthError::KeyRefused);
    }
    if found.ended {
        if via_key {
            refuse_key(state, secret, "session ended", Some(&principal), &meta, now).await?;
            return Err(AuthError::KeyRefused);
        }
        return Err(AuthError::SessionEnded);
    }
    let settings = &principal.settings;
    if let Err(reason) = alive(&principal, settings, now) {
        end_noticed(state, &principal, reason, now).await?;
        if via_key {
            refuse_key(state, secret, "session ended", Some(&principal), &meta, now).await?;
            return Err(AuthError::KeyRefused);
        }
        return Err(AuthError::SessionEnded);
    }
    // Activity is recorded at most once a second (decided here, so that a busy session does
    // not ask for the database's write lock on every request).
    if (!via_key || settings.key_use_refreshes_idle) && now - principal.session_last_seen_at >= session::TOUCH_EVERY_MS {
        session::touch(&state.db.pool, &principal.session_hash, now).await?;
    }
    if let Some(id) = &principal.key_id {
        if key_last_used_at.is_none_or(|t| now - t >= key::MARK_USED_EVERY_MS) {
            key::mark_used(&state.db.pool, id, now).await?;
        }
    }
    Ok(principal)
}

/// Account state and timeouts: why this session can no longer be used, if it cannot.
fn alive(p: &Principal, settings: &Settings, now: i64) -> Result<(), EndReason> {
    let today = date_of_ms(now);
    let signed_in = p.signed_in_user();
    if signed_in.disabled || signed_in.is_expired(&today) || p.user.disabled || p.user.is_expired(&today) {
        return Err(EndReason::AccountDisabled);
    }
    session::check_timeouts(p.session_created_at, p.session_last_seen_at, settings, now)
}

/// Ends a session whose end was noticed during a request (timeout, disabled account) and
/// records it. Another request may have noticed first; only one records it.
async fn end_noticed(state: &AppState, p: &Principal, reason: EndReason, now: i64) -> Result<(), AuthError> {
    let mut conn = state.db.pool.acquire().await?;
    if session::end(&mut conn, &p.session_hash, reason, now).await? {
        let t = if reason.is_timeout() { EventType::SessionTimeout } else { EventType::SessionEnded };
        let mut e = p.event(t, now).detail(serde_json::json!({ "reason": reason.as_str() }));
        e.key_id = None;
        state.audit.record(e).await?;
    }
    Ok(())
}

async fn refuse_key(
    state: &AppState,
    secret: &SecretString,
    reason: &str,
    p: Option<&Principal>,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), AuthError> {
    let mut e = match p {
        Some(p) => p.event(EventType::KeyRefused, now),
        None => AuditEvent::new(EventType::KeyRefused, now),
    };
    e.outcome = "refused".into();
    e.client_ip = meta.ip.clone();
    e.user_agent = meta.user_agent.clone();
    e.detail = Some(serde_json::json!({ "reason": reason, "key_sha256_prefix": key::refused_fingerprint(secret.expose_secret()) }));
    state.audit.record(e).await?;
    Ok(())
}
