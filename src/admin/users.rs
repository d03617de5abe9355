//! Creating and changing user accounts. Disabling an account or resetting its password ends
//! all its sessions (and so all their keys).

use app::types::{fields, AppError, NewUserRequest, PhiLevel, Role, UserAdminView, UserPatch};
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::password::check_policy;
use crate::auth::principal::Principal;
use crate::auth::session::{self, EndReason};
use crate::clock::format_ms;
use crate::compliance::irb::parse_date;
use crate::settings;
use crate::state::AppState;
use crate::users::{self, NewUser, User, UserError};

pub fn view(u: &User) -> UserAdminView {
    UserAdminView {
        id: u.id,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role,
        max_phi: u.max_phi,
        disabled: u.disabled,
        expires_on: u.expires_on.clone(),
        locked_until: u.locked_until.map(format_ms),
        last_login_at: u.last_login_at.map(format_ms),
        created_at: format_ms(u.created_at),
    }
}

fn field_error(code: &str, message: impl Into<String>, field: &str) -> ApiError {
    ApiError::field(StatusCode::BAD_REQUEST, AppError::new(code, message).with_field(field))
}

fn parse_expiry(raw: &str) -> ApiResult<Option<String>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    parse_date(raw).map(Some).map_err(|m| field_error("invalid_date", m, "expires_on"))
}

pub async fn list(state: &AppState, p: &Principal, search: Option<&str>) -> ApiResult<Vec<UserAdminView>> {
    require_admin(p)?;
    Ok(users::list(&state.db, search).await?.iter().map(view).collect())
}

async fn hash_with_policy(state: &AppState, password: &str, email: &str, name: &str, field: &str) -> ApiResult<String> {
    let s = settings::load(&state.db.pool).await?;
    check_policy(password, &s, email, name).map_err(|e| field_error("weak_password", e.to_string(), field))?;
    Ok(state.hasher.hash(&SecretString::from(password.to_string())).await?)
}

pub async fn create(state: &AppState, p: &Principal, req: &NewUserRequest) -> ApiResult<UserAdminView> {
    require_admin(p)?;
    let email = users::normalize_email(&req.email).map_err(|e| field_error("invalid_email", e.to_string(), fields::EMAIL))?;
    if req.name.trim().is_empty() {
        return Err(field_error("invalid_name", "Enter the user's name.", "name"));
    }
    let expires_on = parse_expiry(req.expires_on.as_deref().unwrap_or(""))?;
    let hash = hash_with_policy(state, &req.password, &email, &req.name, fields::PASSWORD).await?;
    let role = req.role.unwrap_or(Role::Researcher);
    let max_phi = req.max_phi.unwrap_or(PhiLevel::NotPhi);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = users::insert(
        &mut tx,
        &NewUser { email: email.clone(), name: req.name.clone(), role, max_phi, password_hash: hash, expires_on: expires_on.clone() },
        now,
    )
    .await
    .map_err(|e| match e {
        UserError::Duplicate => ApiError::field(StatusCode::CONFLICT, AppError::new("duplicate_email", e.to_string()).with_field(fields::EMAIL)),
        UserError::Db(d) => ApiError::internal(d),
        other => field_error("invalid_user", other.to_string(), fields::EMAIL),
    })?;
    let mut e = p.event(EventType::UserCreated, now);
    e.detail = Some(json!({ "user_id": id, "email": email, "role": role.as_str(), "max_phi": max_phi.as_str(), "expires_on": expires_on }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    let u = users::by_id(&state.db.pool, id).await?.ok_or_else(|| ApiError::internal("user vanished"))?;
    Ok(view(&u))
}

pub async fn update(state: &AppState, p: &Principal, id: i64, patch: &UserPatch) -> ApiResult<UserAdminView> {
    require_admin(p)?;
    let before = users::by_id(&state.db.pool, id).await?.ok_or_else(|| ApiError::not_found("no_such_user", "No user with this id."))?;
    let myself = p.signed_in_user().id == id;
    if myself && patch.disabled == Some(true) {
        return Err(field_error("self_lockout", "You cannot disable your own account.", "disabled"));
    }
    if myself && patch.role.is_some_and(|r| r != Role::Admin) {
        return Err(field_error("self_lockout", "You cannot remove your own administrator role.", "role"));
    }
    let new_hash = match &patch.password {
        Some(pw) => Some(hash_with_policy(state, pw, &before.email, &before.name, fields::PASSWORD).await?),
        None => None,
    };
    let expires_on = match &patch.expires_on {
        Some(raw) => Some(parse_expiry(raw)?),
        None => None,
    };
    if patch.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(field_error("invalid_name", "The name must not be empty.", "name"));
    }

    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let mut changes = Map::new();
    let mut change = |k: &str, old: Value, new: Value| {
        if old != new {
            changes.insert(k.to_string(), json!({ "old": old, "new": new }));
        }
    };
    if let Some(n) = &patch.name {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2").bind(n.trim()).bind(id).execute(&mut *tx).await?;
        change("name", json!(before.name), json!(n.trim()));
    }
    if let Some(r) = patch.role {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2").bind(r.as_str()).bind(id).execute(&mut *tx).await?;
        change("role", json!(before.role), json!(r));
    }
    if let Some(l) = patch.max_phi {
        sqlx::query("UPDATE users SET max_phi = $1 WHERE id = $2").bind(l.as_str()).bind(id).execute(&mut *tx).await?;
        change("max_phi", json!(before.max_phi), json!(l));
    }
    if let Some(exp) = &expires_on {
        sqlx::query("UPDATE users SET expires_on = $1 WHERE id = $2").bind(exp).bind(id).execute(&mut *tx).await?;
        change("expires_on", json!(before.expires_on), json!(exp));
    }
    if let Some(d) = patch.disabled {
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(d as i64).bind(id).execute(&mut *tx).await?;
        change("disabled", json!(before.disabled), json!(d));
    }
    if patch.unlock == Some(true) {
        sqlx::query("UPDATE users SET locked_until = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM failed_logins WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        change("locked_until", json!(before.locked_until.map(format_ms)), Value::Null);
    }
    let mut ended = Vec::new();
    if let Some(h) = &new_hash {
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3").bind(h).bind(now).bind(id).execute(&mut *tx).await?;
        changes.insert("password".into(), json!("reset"));
        ended.extend(session::end_all_of_user(&mut tx, id, EndReason::PasswordChanged, now).await?);
    }
    if patch.disabled == Some(true) && !before.disabled {
        ended.extend(session::end_all_of_user(&mut tx, id, EndReason::AccountDisabled, now).await?);
    }
    let t = if patch.disabled == Some(true) && !before.disabled { EventType::UserDisabled } else { EventType::UserChanged };
    let mut e = p.event(t, now);
    e.detail = Some(json!({ "user_id": id, "email": before.email, "changes": changes, "sessions_ended": ended.len() }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    let u = users::by_id(&state.db.pool, id).await?.ok_or_else(|| ApiError::internal("user vanished"))?;
    Ok(view(&u))
}

/// A user changes their own password (knowing the current one). All their sessions end,
/// this one included: they sign in again with the new password.
pub async fn change_own_password(state: &AppState, p: &Principal, current: &SecretString, new: &SecretString) -> ApiResult<()> {
    if p.key_id.is_some() || p.impersonator.is_some() {
        return Err(ApiError::forbidden("browser_only", "Change your password in your own browser session."));
    }
    let me = users::by_id(&state.db.pool, p.user.id).await?.ok_or_else(|| ApiError::internal("user vanished"))?;
    if !state.hasher.verify(current, Some(me.password_hash().to_string())).await? {
        return Err(field_error("wrong_password", "The current password is not correct.", "current_password"));
    }
    let hash = hash_with_policy(state, new.expose_secret(), &me.email, &me.name, "new_password").await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3").bind(&hash).bind(now).bind(me.id).execute(&mut *tx).await?;
    let ended = session::end_all_of_user(&mut tx, me.id, EndReason::PasswordChanged, now).await?;
    let e = p.event(EventType::UserChanged, now).detail(json!({ "user_id": me.id, "changes": { "password": "changed by the user" }, "sessions_ended": ended.len() }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}
