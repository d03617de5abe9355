//! Extractors: the signed-in principal, request metadata, and bodies that may be JSON or
//! form-encoded.

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;
use crate::audit::EventType;
use crate::auth::principal::{self, AuthError, Principal, RequestMeta};
use crate::state::AppState;

/// Who and where from.
pub struct Meta(pub RequestMeta);

pub fn meta_of(parts: &Parts, state: &AppState) -> RequestMeta {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    RequestMeta::from_headers(&parts.headers, peer, state.config.trust_proxy)
}

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Meta(meta_of(parts, state)))
    }
}

/// A request from a live, signed-in session (by cookie or by session key).
pub struct Auth(pub Principal);

/// Resolves the principal of a request, by cookie or key.
/// The browser's own session only (the /rpc server functions): a session key is for scripts,
/// which use the JSON and LabKey APIs, where each use of a key is recorded.
pub async fn browser_principal_of(parts: &Parts, state: &AppState) -> Result<Principal, AuthError> {
    let cookie = principal::session_cookie(&parts.headers).ok_or(AuthError::NoCredential)?;
    principal::resolve(state, principal::Credential::Cookie(cookie), meta_of(parts, state)).await
}

pub async fn principal_of(parts: &Parts, state: &AppState) -> Result<Principal, AuthError> {
    let cred = principal::credential(&parts.headers)?.ok_or(AuthError::NoCredential)?;
    principal::resolve(state, cred, meta_of(parts, state)).await
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let p = principal_of(parts, state).await?;
        // The JSON API reads no study data: a key used here is recorded as key use.
        if p.key_id.is_some() {
            let e = p.event(EventType::KeyUsed, state.now()).detail(serde_json::json!({ "method": parts.method.as_str(), "path": parts.uri.path() }));
            state.audit.record(e).await?;
        }
        Ok(Auth(p))
    }
}

/// A body as JSON (`application/json`) or a form (`application/x-www-form-urlencoded`).
pub struct FormOrJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for FormOrJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let bytes = axum::body::to_bytes(req.into_body(), 1024 * 1024)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "The request body is too large."))?;
        let parsed = if ctype.starts_with("application/json") {
            serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request("bad_body", format!("The JSON body does not fit: {}", clean(&e.to_string()))))
        } else if ctype.starts_with("application/x-www-form-urlencoded") || bytes.is_empty() {
            serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::bad_request("bad_body", format!("The form does not fit: {}", clean(&e.to_string()))))
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json or application/x-www-form-urlencoded.",
            ))
        }?;
        Ok(FormOrJson(parsed))
    }
}

/// serde messages can quote input; keep them to their first line and bounded.
fn clean(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}
