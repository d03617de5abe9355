//! LabKey's error shape: `{"exception", "exceptionClass", "success": false, "errors": [...]}`,
//! always JSON (a 404 with a JSON body is what makes the Python client raise
//! QueryNotFoundError rather than ServerNotFoundError).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::principal::AuthError;
use crate::data::gate::GateError;

#[derive(Debug)]
pub struct LabKeyError {
    pub status: StatusCode,
    pub message: String,
    pub class: &'static str,
    pub field: Option<String>,
}

impl LabKeyError {
    pub fn new(status: StatusCode, message: &str, class: &'static str) -> Self {
        LabKeyError { status, message: message.to_string(), class, field: None }
    }

    pub fn bad_request(message: &str, field: Option<&str>) -> Self {
        LabKeyError { status: StatusCode::BAD_REQUEST, message: message.into(), class: "org.labkey.api.action.ApiUsageException", field: field.map(String::from) }
    }

    pub fn not_found(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, message, "org.labkey.api.view.NotFoundException")
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message, "org.labkey.api.view.UnauthorizedException")
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message, "org.labkey.api.view.UnauthorizedException")
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server; the error was logged.", "java.lang.RuntimeException")
    }
}

impl IntoResponse for LabKeyError {
    fn into_response(self) -> Response {
        let errors = match &self.field {
            Some(f) => serde_json::json!([{ "id": f, "field": f, "msg": self.message, "message": self.message, "severity": "ERROR" }]),
            None => serde_json::json!([]),
        };
        let body = serde_json::json!({ "exception": self.message, "exceptionClass": self.class, "success": false, "errors": errors });
        let mut r = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"attest\", charset=\"UTF-8\""));
        }
        r
    }
}

impl From<AuthError> for LabKeyError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Db(err) => {
                tracing::error!(error = %err, "database error during authentication");
                LabKeyError::internal()
            }
            AuthError::Audit(_) => LabKeyError::new(StatusCode::SERVICE_UNAVAILABLE, "The audit log is unavailable; try again later.", "java.lang.RuntimeException"),
            other => LabKeyError::unauthorized(&other.to_string()),
        }
    }
}

/// LabKey's words for an unknown container.
pub fn no_study_message(shown: &str) -> String {
    format!("No study (container) named '{shown}'")
}

impl From<GateError> for LabKeyError {
    fn from(e: GateError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let field = match &e {
            GateError::BadParameter { param, .. } => Some(param.clone()),
            _ => None,
        };
        let class = match status {
            StatusCode::NOT_FOUND => "org.labkey.api.view.NotFoundException",
            StatusCode::FORBIDDEN => "org.labkey.api.view.UnauthorizedException",
            StatusCode::BAD_REQUEST => "org.labkey.api.action.ApiUsageException",
            _ => "java.lang.RuntimeException",
        };
        let message = match &e {
            GateError::Internal(inner) => {
                tracing::error!(error = %inner, "internal error in a data request");
                "Something went wrong on the server; the error was logged.".to_string()
            }
            GateError::NoStudy(study) => no_study_message(study),
            GateError::NoDataset { study, dataset } => format!("The specified query '{dataset}' does not exist in schema 'study' of '{study}'"),
            other => other.to_string(),
        };
        LabKeyError { status, message, class, field }
    }
}

impl From<sqlx::Error> for LabKeyError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        LabKeyError::internal()
    }
}
