//! `/api/admin/*`: site administration. Every change is audited with old and new values, in
//! the same transaction as the change.

use crate::settings::SettingsRules;
use axum::extract::State;
use axum::Json;

use super::error::{ApiError, ApiResult};
use super::wizard::require_admin;
use crate::audit::EventType;
use crate::auth::principal::Principal;
use crate::http::extract::{Auth, FormOrJson};
use crate::settings::{self, Settings, SettingsPatch};
use crate::state::AppState;

pub async fn get_settings(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Settings>> {
    require_admin(&p)?;
    Ok(Json(settings::load(&state.db.pool).await?))
}

pub async fn update_settings(state: &AppState, p: &Principal, patch: &SettingsPatch) -> ApiResult<Settings> {
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
        let mut changes = serde_json::Map::new();
        for (k, v) in n.as_object().expect("object") {
            if o.get(k) != Some(v) {
                changes.insert(k.clone(), serde_json::json!({ "old": o[k], "new": v }));
            }
        }
        let e = p.event(EventType::SettingsChanged, now).detail(serde_json::Value::Object(changes));
        crate::audit::writer::append(&mut tx, &[e]).await?;
    }
    tx.commit().await?;
    Ok(new)
}

pub async fn put_settings(State(state): State<AppState>, Auth(p): Auth, FormOrJson(patch): FormOrJson<SettingsPatch>) -> ApiResult<Json<Settings>> {
    Ok(Json(update_settings(&state, &p, &patch).await?))
}
