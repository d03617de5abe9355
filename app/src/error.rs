//! AppError as the error type of server functions: sent as JSON, so the browser gets the code,
//! the message and the field to show it next to.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

use crate::types::AppError;

/// The code of a server-function call whose arguments did not parse.
pub const BAD_ARGUMENTS: &str = "bad_arguments";

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match &value {
            // the arguments of a call did not parse: the caller's mistake (the server answers 400)
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::new(BAD_ARGUMENTS, "The request's arguments could not be read.")
            }
            ServerFnErrorErr::Request(_) => AppError::new("request_failed", "The server could not be reached. Check your connection and try again."),
            _ => AppError::new("request_failed", "The request failed; try again."),
        }
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
