//! Changing site settings: validated, stored and audited with old and new values together.

use serde_json::{json, Map};

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::principal::Principal;
use crate::settings::{self, Settings, SettingsPatch, SettingsRules};
use crate::state::AppState;

pub async fn get(state: &AppState, p: &Principal) -> ApiResult<Settings> {
    require_admin(p)?;
    Ok(settings::load(&state.db.pool).await?)
}

pub async fn update(state: &AppState, p: &Principal, patch: &SettingsPatch) -> ApiResult<Settings> {
    require_admin(p)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let old = settings::load(&mut *tx).await?;
    let new = old.apply(patch).map_err(|e| {
        ApiError::field(axum::http::StatusCode::BAD_REQUEST, app::types::AppError::new("invalid_setting", e.to_string()).with_field(e.field))
    })?;
    if new != old {
        settings::store(&mut tx, &new, now).await?;
        let (o, n) = (serde_json::to_value(&old).expect("json"), serde_json::to_value(&new).expect("json"));
        let mut changes = Map::new();
        for (k, v) in n.as_object().expect("object") {
            if o.get(k) != Some(v) {
                changes.insert(k.clone(), json!({ "old": o[k], "new": v }));
            }
        }
        let e = p.event(EventType::SettingsChanged, now).detail(serde_json::Value::Object(changes));
        append(&mut tx, &[e]).await?;
    }
    tx.commit().await?;
    Ok(new)
}
