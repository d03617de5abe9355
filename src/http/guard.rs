//! Middleware that every request passes: secrets in URLs are refused, cross-site state changes
//! are refused (CSRF), and every response carries the security headers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;
use crate::auth::key::{contains_key, is_key_like_param, redact};
use crate::state::AppState;

/// A session key or id must never travel in a URL (proxies, logs and history keep URLs).
pub async fn refuse_secrets_in_url(req: Request, next: Next) -> Response {
    let in_query = req.uri().query().is_some_and(|q| url_pairs(q).iter().any(|(name, value)| is_key_like_param(name, value)));
    let in_path = contains_key(&percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy());
    if in_query || in_path {
        return ApiError::bad_request(
            "credential_in_url",
            "Credentials are not accepted in the URL. Send a session key in the 'apikey' or 'Authorization' header.",
        )
        .into_response();
    }
    next.run(req).await
}

/// Leptos answers a server-function call whose arguments do not parse with 500; it is the
/// caller's mistake, so /rpc says 400 (the body already carries the `bad_arguments` code).
pub async fn rpc_bad_arguments_are_400(req: Request, next: Next) -> Response {
    let rpc = req.uri().path().starts_with("/rpc/");
    let res = next.run(req).await;
    if !rpc || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let code = serde_json::from_slice::<app::types::AppError>(&bytes).map(|e| e.error).unwrap_or_default();
    if code == app::error::BAD_ARGUMENTS {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Error bodies often echo what the client sent (a column name, a study, a line of SQL); a key
/// pasted into the wrong place must not come back in them (nor reach a proxy's log of them).
pub async fn redact_keys_in_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !(res.status().is_client_error() || res.status().is_server_error()) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return (parts.status, "error").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    match redact(&text) {
        std::borrow::Cow::Borrowed(_) => Response::from_parts(parts, axum::body::Body::from(bytes)),
        std::borrow::Cow::Owned(clean) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(clean))
        }
    }
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().to_string();
            (dec(n), dec(v))
        })
        .collect()
}

/// Whether the request authenticates with a session key (which a browser never sends by
/// itself), in which case the cookie is not what authenticates it.
fn carries_key(req: &Request) -> bool {
    let auth_scheme = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' ')).map(|(s, _)| s.to_ascii_lowercase());
    req.headers().contains_key("apikey") || matches!(auth_scheme.as_deref(), Some("basic" | "bearer"))
}

/// Whether the browser says this request comes from another site.
pub fn cross_site(req_headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = req_headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    if let Some(origin) = req_headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = req_headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        return origin == "null" || !origin_host.eq_ignore_ascii_case(host);
    }
    false
}

/// CSRF: a state-changing request that could ride on the session cookie is refused when the
/// browser says it comes from another origin (Sec-Fetch-Site, else Origin against Host).
/// Requests that carry a session key send no ambient credential and are not checked.
pub async fn refuse_cross_site_writes(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !carries_key(&req) && cross_site(req.headers()) {
        return ApiError::forbidden("cross_site_request", "Cross-site requests may not change anything here.").into_response();
    }
    next.run(req).await
}

/// Security headers on every response. Pages set their own CSP (with the hydration nonce);
/// everything else gets a CSP that allows nothing. Data and key responses are never cached.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let static_asset = req.uri().path().starts_with("/pkg/") || req.uri().path() == "/favicon.ico";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"));
    }
    if !static_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// The CSP for HTML pages: scripts only from this origin or with this response's nonce (the
/// hydration script), wasm allowed to compile, no inline styles, no framing.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(app::types::AppError::new("not_found", "No such endpoint."))).into_response()
}

/// Everything under /api answers errors as `{"error", "message"}` JSON, including the
/// framework's own rejections (a malformed path id, a wrong method, a body that is not JSON).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"));
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.map(|b| String::from_utf8_lossy(&b).to_string()).unwrap_or_default();
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match text.lines().next().map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) if !status.is_server_error() => line.chars().take(200).collect(),
        _ => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut out = (status, axum::Json(app::types::AppError::new(code, message))).into_response();
    for (k, v) in parts.headers.iter().filter(|(k, _)| *k != header::CONTENT_TYPE && *k != header::CONTENT_LENGTH) {
        out.headers_mut().insert(k.clone(), v.clone());
    }
    out
}
