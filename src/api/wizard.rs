//! `/api/login`, `/api/logout`, `/api/session`, `/api/declaration*`: the compliance wizard
//! without a browser.

use app::types::{DeclarationOptions, SessionView, StudyInfo, TermsView};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use crate::auth::principal;
use crate::auth::signin;
use crate::compliance::wizard;
use crate::data::catalog;
use crate::http::extract::{Auth, FormOrJson, Meta};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginBody {
    pub email: String,
    pub password: SecretString,
}

pub async fn login(State(state): State<AppState>, Meta(meta): Meta, headers: HeaderMap, FormOrJson(body): FormOrJson<LoginBody>) -> ApiResult<Response> {
    let previous = principal::session_cookie(&headers);
    let signed = signin::sign_in(&state, &body.email, &body.password, &meta, previous.as_ref()).await?;
    let p = principal::resolve(&state, principal::Credential::Cookie(signed.session_id.clone()), meta).await?;
    let view = wizard::session_view(&state, &p).await?;
    let mut res = Json(view).into_response();
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&signin::session_cookie(&signed.session_id)).map_err(ApiError::internal)?);
    Ok(res)
}

pub async fn logout(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Response> {
    signin::sign_out(&state, &p).await?;
    let mut res = Json(serde_json::json!({ "ok": true })).into_response();
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&signin::clear_session_cookie()).map_err(ApiError::internal)?);
    res.headers_mut().insert("clear-site-data", HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""));
    Ok(res)
}

pub async fn session(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<SessionView>> {
    Ok(Json(wizard::session_view(&state, &p).await?))
}

pub async fn options(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<DeclarationOptions>> {
    Ok(Json(wizard::options(&state, &p).await?))
}

#[derive(Deserialize)]
pub struct DeclareBody {
    pub activity: String,
    #[serde(default)]
    pub irb: Option<String>,
    pub phi_level: String,
}

pub async fn declare(State(state): State<AppState>, Auth(p): Auth, FormOrJson(b): FormOrJson<DeclareBody>) -> ApiResult<Json<TermsView>> {
    Ok(Json(wizard::declare(&state, &p, &b.activity, b.irb.as_deref(), &b.phi_level).await?))
}

pub async fn terms(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<TermsView>> {
    Ok(Json(wizard::current_terms(&state, &p).await?))
}

#[derive(Deserialize)]
pub struct AcceptBody {
    pub terms_hash: String,
}

pub async fn accept(State(state): State<AppState>, Auth(p): Auth, FormOrJson(b): FormOrJson<AcceptBody>) -> ApiResult<Json<SessionView>> {
    Ok(Json(wizard::accept(&state, &p, &b.terms_hash).await?))
}

/// Studies and their datasets (names and sizes only; no rows).
pub async fn studies(State(state): State<AppState>, Auth(_p): Auth) -> ApiResult<Json<Vec<StudyInfo>>> {
    Ok(Json(catalog::studies(&state.db).await?))
}
