//! Errors of the JSON API: `{"error": CODE, "message": TEXT}` (plus `field` for form errors)
//! with a fitting status. Internal causes are logged, never sent.

use app::types::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::password::PasswordError;
use crate::auth::principal::AuthError;
use crate::data::gate::GateError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: AppError,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: AppError::new(code, message) }
    }

    pub fn field(status: StatusCode, e: AppError) -> Self {
        ApiError { status, body: e }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on the server; the error was logged.")
    }

    pub fn audit_unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable", "The audit log could not record this action, so it was not done. Try again later.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Basic realm=\"attest\", charset=\"UTF-8\""));
        }
        r
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        tracing::error!(error = %e, "audit write failed");
        ApiError::audit_unavailable()
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string()),
            PasswordError::Hash => ApiError::internal(e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(e) => ApiError::internal(e),
            AuthError::Audit(_) => ApiError::audit_unavailable(),
            other => ApiError::unauthenticated(other.to_string()),
        }
    }
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> Self {
        if let GateError::Internal(inner) = &e {
            return ApiError::internal(inner);
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        AppError { status: Some(e.status.as_u16()), ..e.body }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
