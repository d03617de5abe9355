//! An admin acting as another user: the session's acting identity changes, the declaration is
//! set aside (the wizard is required again, within the target's limits), the audit records
//! both identities, and stopping restores the admin's own identity and declaration.

use app::types::SessionView;

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::principal::{self, Principal};
use crate::state::AppState;
use crate::users;

pub async fn start(state: &AppState, p: &Principal, target_id: i64) -> ApiResult<()> {
    require_admin(p)?;
    if p.key_id.is_some() {
        return Err(ApiError::forbidden("browser_only", "Impersonation starts in the browser session, not with a session key."));
    }
    if p.impersonator.is_some() {
        return Err(ApiError::forbidden("already_impersonating", "Stop the current impersonation first."));
    }
    let target = users::by_id(&state.db.pool, target_id).await?.ok_or_else(|| ApiError::not_found("no_such_user", "No user with this id."))?;
    if target.id == p.user.id {
        return Err(ApiError::bad_request("self_impersonation", "You cannot impersonate yourself."));
    }
    if target.disabled {
        return Err(ApiError::bad_request("user_disabled", "This account is disabled."));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "UPDATE sessions SET acting_user_id = $1, saved_declaration_id = declaration_id, declaration_id = NULL WHERE id_hash = $2 AND ended_at IS NULL",
    )
    .bind(target.id)
    .bind(&p.session_hash)
    .execute(&mut *tx)
    .await?;
    let mut e = p.event(EventType::ImpersonationStart, now);
    e.user_id = Some(target.id);
    e.user_email = Some(target.email.clone());
    e.impersonator_id = Some(p.user.id);
    e.impersonator_email = Some(p.user.email.clone());
    e.declaration_id = None;
    e.activity = None;
    e.irb = None;
    e.phi_level = None;
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn stop(state: &AppState, p: &Principal) -> ApiResult<()> {
    if p.key_id.is_some() {
        return Err(ApiError::forbidden("browser_only", "Impersonation stops in the browser session, not with a session key."));
    }
    let Some(admin) = &p.impersonator else {
        return Err(ApiError::bad_request("not_impersonating", "You are not impersonating anyone."));
    };
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let r = sqlx::query(
        "UPDATE sessions SET acting_user_id = NULL, declaration_id = saved_declaration_id, saved_declaration_id = NULL \
         WHERE id_hash = $1 AND ended_at IS NULL AND acting_user_id IS NOT NULL",
    )
    .bind(&p.session_hash)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(ApiError::bad_request("not_impersonating", "You are not impersonating anyone."));
    }
    let e = p.event(EventType::ImpersonationStop, now).detail(serde_json::json!({ "admin": admin.email }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

/// The session as it is after a change (re-resolved from the database).
pub async fn reload(state: &AppState, p: &Principal) -> ApiResult<Principal> {
    principal::by_session_hash(state, &p.session_hash, p.meta.clone()).await.map_err(Into::into)
}

pub async fn view_after(state: &AppState, p: &Principal) -> ApiResult<SessionView> {
    let p2 = reload(state, p).await?;
    crate::compliance::wizard::session_view(state, &p2).await
}
