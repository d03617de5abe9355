//! AppError as the error type of server functions: sent as JSON, so the browser gets the code,
//! the message and the field to show it next to.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::types::AppError;

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match &value {
            ServerFnErrorErr::Request(_) => "The server could not be reached. Check your connection and try again.".to_string(),
            _ => "The request failed; try again.".to_string(),
        };
        AppError::new("request_failed", message)
    }
}

/// The message for a field, if the error belongs to it.
pub fn field_message(err: &Option<AppError>, field: &str) -> Option<String> {
    err.as_ref().filter(|e| e.field.as_deref() == Some(field)).map(|e| e.message.clone())
}

/// The message for errors that belong to no field.
pub fn general_message(err: &Option<AppError>) -> Option<String> {
    err.as_ref().filter(|e| e.field.is_none()).map(|e| e.message.clone())
}
