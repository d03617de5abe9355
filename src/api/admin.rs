//! `/api/admin/*`: site administration over JSON. Thin: each handler calls `crate::admin`.

use app::types::{IrbProtocol, NewUserRequest, SessionInfo, SessionView, TermsDocument, TermsParagraph, UserAdminView, UserPatch};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::error::ApiResult;
use crate::admin;
use crate::http::extract::{Auth, FormOrJson};
use crate::settings::{Settings, SettingsPatch};
use crate::state::AppState;

pub async fn get_settings(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Settings>> {
    Ok(Json(admin::settings::get(&state, &p).await?))
}

pub async fn put_settings(State(state): State<AppState>, Auth(p): Auth, FormOrJson(patch): FormOrJson<SettingsPatch>) -> ApiResult<Json<Settings>> {
    Ok(Json(admin::settings::update(&state, &p, &patch).await?))
}

#[derive(Deserialize)]
pub struct Search {
    pub search: Option<String>,
}

pub async fn list_users(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<Search>) -> ApiResult<Json<Vec<UserAdminView>>> {
    Ok(Json(admin::users::list(&state, &p, q.search.as_deref()).await?))
}

pub async fn create_user(State(state): State<AppState>, Auth(p): Auth, FormOrJson(req): FormOrJson<NewUserRequest>) -> ApiResult<(StatusCode, Json<UserAdminView>)> {
    Ok((StatusCode::CREATED, Json(admin::users::create(&state, &p, &req).await?)))
}

pub async fn patch_user(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<i64>, FormOrJson(patch): FormOrJson<UserPatch>) -> ApiResult<Json<UserAdminView>> {
    Ok(Json(admin::users::update(&state, &p, id, &patch).await?))
}

pub async fn end_user_sessions(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<i64>) -> ApiResult<Json<serde_json::Value>> {
    let n = admin::sessions::end_all_of_user(&state, &p, id).await?;
    Ok(Json(serde_json::json!({ "ok": true, "sessions_ended": n })))
}

pub async fn list_sessions(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(admin::sessions::list_all(&state, &p).await?))
}

pub async fn end_session(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    admin::sessions::end_one(&state, &p, &id, true).await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

pub async fn get_terms(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<TermsDocument>> {
    Ok(Json(admin::terms::current(&state, &p).await?))
}

#[derive(Deserialize)]
pub struct Publish {
    pub paragraphs: Vec<TermsParagraph>,
}

pub async fn publish_terms(State(state): State<AppState>, Auth(p): Auth, FormOrJson(body): FormOrJson<Publish>) -> ApiResult<(StatusCode, Json<TermsDocument>)> {
    Ok((StatusCode::CREATED, Json(admin::terms::publish(&state, &p, &body.paragraphs).await?)))
}

pub async fn list_irb(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<IrbProtocol>>> {
    Ok(Json(admin::irb::list(&state, &p).await?))
}

pub async fn save_irb(State(state): State<AppState>, Auth(p): Auth, FormOrJson(proto): FormOrJson<IrbProtocol>) -> ApiResult<Json<IrbProtocol>> {
    Ok(Json(admin::irb::save(&state, &p, &proto).await?))
}

#[derive(Deserialize)]
pub struct Target {
    pub user_id: i64,
}

pub async fn impersonate(State(state): State<AppState>, Auth(p): Auth, FormOrJson(t): FormOrJson<Target>) -> ApiResult<Json<SessionView>> {
    admin::impersonation::start(&state, &p, t.user_id).await?;
    Ok(Json(admin::impersonation::view_after(&state, &p).await?))
}

pub async fn stop_impersonating(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<SessionView>> {
    admin::impersonation::stop(&state, &p).await?;
    Ok(Json(admin::impersonation::view_after(&state, &p).await?))
}
