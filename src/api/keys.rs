//! `/api/session-keys`: create, list and revoke the keys of the caller's own session.

use app::types::{KeyInfo, NewKey};
use axum::extract::{Path, State};
use axum::Json;
use secrecy::ExposeSecret;

use super::error::{ApiError, ApiResult};
use crate::audit::EventType;
use crate::auth::key;
use crate::auth::principal::Principal;
use crate::compliance::readiness;
use crate::http::extract::Auth;
use crate::settings;
use crate::state::AppState;

/// Issues a key for the caller's browser session. Refused when keys are turned off (404, as
/// LabKey answers), before the declaration is complete, while impersonating, or from a key.
pub async fn issue(state: &AppState, p: &Principal) -> ApiResult<NewKey> {
    let now = state.now();
    let s = settings::load(&state.db.pool).await?;
    if !s.allow_session_keys {
        return Err(ApiError::not_found("session_keys_disabled", "Session keys are turned off on this server. An administrator can allow them in Site Settings."));
    }
    if p.key_id.is_some() {
        return Err(ApiError::forbidden("browser_only", "Session keys are created in the signed-in browser session, not with another key."));
    }
    if p.impersonator.is_some() {
        return Err(ApiError::forbidden("impersonating", "Session keys cannot be created while impersonating another user."));
    }
    if let Some(m) = readiness(state, p, &s, now).await? {
        return Err(ApiError::forbidden(m.code(), format!("A session key carries your declaration, so it needs a complete one. {}", m.message())));
    }
    let mut tx = state.db.begin_write().await?;
    let issued = key::insert(&mut tx, &p.session_hash, now).await?;
    let mut e = p.event(EventType::KeyCreated, now);
    e.key_id = Some(issued.id.clone());
    crate::audit::writer::append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(NewKey { key: issued.key.expose_secret().to_string(), id: issued.id })
}

pub async fn revoke_key(state: &AppState, p: &Principal, id: &str) -> ApiResult<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !key::revoke(&mut tx, &p.session_hash, id, now).await? {
        return Err(ApiError::not_found("no_such_key", "This session has no live key with that id."));
    }
    let mut e = p.event(EventType::KeyRevoked, now);
    e.key_id = Some(id.to_string());
    e.detail = Some(serde_json::json!({ "revoked_by_key": p.key_id }));
    crate::audit::writer::append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<(axum::http::StatusCode, Json<NewKey>)> {
    Ok((axum::http::StatusCode::CREATED, Json(issue(&state, &p).await?)))
}

pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<KeyInfo>>> {
    Ok(Json(key::list(&state.db.pool, &p.session_hash).await?))
}

pub async fn revoke(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    revoke_key(&state, &p, &id).await?;
    Ok(Json(serde_json::json!({ "ok": true, "id": id })))
}
