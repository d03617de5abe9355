//! The IRB protocol registry, as admins keep it.

use app::types::IrbProtocol;

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::principal::Principal;
use crate::compliance::irb;
use crate::state::AppState;

pub async fn list(state: &AppState, p: &Principal) -> ApiResult<Vec<IrbProtocol>> {
    require_admin(p)?;
    Ok(irb::list(&state.db.pool).await?)
}

/// Adds or replaces a protocol (same number: replaced).
pub async fn save(state: &AppState, p: &Principal, proto: &IrbProtocol) -> ApiResult<IrbProtocol> {
    require_admin(p)?;
    let field = |code: &str, m: String, f: &str| {
        ApiError::field(axum::http::StatusCode::BAD_REQUEST, app::types::AppError::new(code, m).with_field(f))
    };
    let clean = IrbProtocol {
        number: irb::parse_number(&proto.number).map_err(|m| field("invalid_irb", m, "number"))?,
        title: proto.title.trim().to_string(),
        investigator: proto.investigator.trim().to_string(),
        approval_end: irb::parse_date(&proto.approval_end).map_err(|m| field("invalid_date", m, "approval_end"))?,
    };
    if clean.title.is_empty() {
        return Err(field("invalid_title", "Enter the protocol's title.".into(), "title"));
    }
    if clean.investigator.is_empty() {
        return Err(field("invalid_investigator", "Enter the principal investigator.".into(), "investigator"));
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let before = irb::find(&mut *tx, &clean.number).await?;
    irb::upsert(&mut tx, &clean, now).await?;
    let mut e = p.event(EventType::IrbChanged, now);
    e.detail = Some(serde_json::json!({ "old": before, "new": clean }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(clean)
}
