//! Live sessions: listed for admins (all) and users (their own), and ended on request.

use app::types::{PhiLevel, SessionInfo};
use sqlx::Row;

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::principal::Principal;
use crate::auth::session::{self, check_timeouts, EndReason};
use crate::clock::format_ms;
use crate::settings;
use crate::state::AppState;

async fn live(state: &AppState, only_user: Option<i64>, current: &str) -> ApiResult<Vec<SessionInfo>> {
    let settings = settings::load(&state.db.pool).await?;
    let now = state.now();
    let rows = sqlx::query(
        "SELECT s.id_hash, u.id, u.email, u.display_name, a.email, s.created_at, s.last_seen_at, d.activity, d.irb, d.phi_level, \
         d.accepted_at, (SELECT COUNT(*) FROM session_keys k WHERE k.session_hash = s.id_hash AND k.revoked_at IS NULL), \
         s.client_ip, s.user_agent \
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN users a ON a.id = s.acting_user_id \
         LEFT JOIN declarations d ON d.id = s.declaration_id \
         WHERE s.ended_at IS NULL AND ($1 < 0 OR s.user_id = $1) ORDER BY s.last_seen_at DESC",
    )
    .bind(only_user.unwrap_or(-1))
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let created: i64 = r.try_get(5)?;
        let last: i64 = r.try_get(6)?;
        // timed out but not yet noticed: not live
        if check_timeouts(created, last, &settings, now).is_err() {
            continue;
        }
        let id: String = r.try_get(0)?;
        out.push(SessionInfo {
            current: id == current,
            id,
            user_id: r.try_get(1)?,
            user_email: r.try_get(2)?,
            user_name: r.try_get(3)?,
            acting_as: r.try_get(4)?,
            started_at: format_ms(created),
            last_seen_at: format_ms(last),
            activity: r.try_get(7)?,
            irb: r.try_get(8)?,
            phi_level: r.try_get::<Option<String>, _>(9)?.and_then(|l| PhiLevel::parse(&l)),
            declaration_accepted: r.try_get::<Option<i64>, _>(10)?.is_some(),
            keys: r.try_get(11)?,
            client_ip: r.try_get(12)?,
            user_agent: r.try_get(13)?,
        });
    }
    Ok(out)
}

pub async fn list_all(state: &AppState, p: &Principal) -> ApiResult<Vec<SessionInfo>> {
    require_admin(p)?;
    live(state, None, &p.session_hash).await
}

pub async fn list_own(state: &AppState, p: &Principal) -> ApiResult<Vec<SessionInfo>> {
    live(state, Some(p.signed_in_user().id), &p.session_hash).await
}

/// Ends one session: any session for an admin, one's own sessions for a user.
pub async fn end_one(state: &AppState, p: &Principal, id_hash: &str, as_admin: bool) -> ApiResult<()> {
    if as_admin {
        require_admin(p)?;
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let owner = sqlx::query("SELECT user_id FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
        .bind(id_hash)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?;
    let Some(owner) = owner.filter(|o| as_admin || *o == p.signed_in_user().id) else {
        return Err(ApiError::not_found("no_such_session", "No live session with this id."));
    };
    let reason = if as_admin { EndReason::EndedByAdmin } else { EndReason::EndedByUser };
    session::end(&mut tx, id_hash, reason, now).await?;
    let mut e = p.event(EventType::SessionEnded, now);
    e.detail = Some(serde_json::json!({ "ended_session": id_hash, "owner_user_id": owner, "reason": reason.as_str() }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

/// "End all sessions of this user".
pub async fn end_all_of_user(state: &AppState, p: &Principal, user_id: i64) -> ApiResult<usize> {
    require_admin(p)?;
    if crate::users::by_id(&state.db.pool, user_id).await?.is_none() {
        return Err(ApiError::not_found("no_such_user", "No user with this id."));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let ended = session::end_all_of_user(&mut tx, user_id, EndReason::EndedByAdmin, now).await?;
    let e = p.event(EventType::SessionEnded, now).detail(serde_json::json!({ "owner_user_id": user_id, "sessions_ended": ended, "reason": "ended-by-admin" }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(ended.len())
}
