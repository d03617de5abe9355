//! `/api/account/*`: a user's own sessions and password.

use app::types::SessionInfo;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use crate::admin;
use crate::auth::signin;
use crate::http::extract::{Auth, FormOrJson};
use crate::state::AppState;

pub async fn sessions(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(admin::sessions::list_own(&state, &p).await?))
}

pub async fn end_session(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    admin::sessions::end_one(&state, &p, &id, false).await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

#[derive(Deserialize)]
pub struct PasswordChange {
    pub current_password: SecretString,
    pub new_password: SecretString,
}

/// Changes the caller's password; every session of theirs ends, this one too.
pub async fn change_password(State(state): State<AppState>, Auth(p): Auth, FormOrJson(b): FormOrJson<PasswordChange>) -> ApiResult<Response> {
    admin::users::change_own_password(&state, &p, &b.current_password, &b.new_password).await?;
    let mut res = Json(serde_json::json!({ "ok": true, "message": "Password changed. All your sessions have ended; sign in again." })).into_response();
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&signin::clear_session_cookie()).map_err(ApiError::internal)?);
    Ok(res)
}
