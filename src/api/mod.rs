//! The JSON API under /api: the wizard (sign-in, declaration, terms), session keys, and the
//! admin endpoints. Documented in docs/http-api.md. Bodies may be JSON or form-encoded.

pub mod admin;
pub mod error;
pub mod keys;
pub mod wizard;

use axum::routing::{delete, get, post};
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(wizard::login))
        .route("/api/logout", post(wizard::logout))
        .route("/api/session", get(wizard::session))
        .route("/api/declaration/options", get(wizard::options))
        .route("/api/declaration", post(wizard::declare))
        .route("/api/declaration/terms", get(wizard::terms))
        .route("/api/declaration/accept", post(wizard::accept))
        .route("/api/studies", get(wizard::studies))
        .route("/api/session-keys", post(keys::create).get(keys::list))
        .route("/api/session-keys/{id}", delete(keys::revoke))
        .route("/api/admin/settings", get(admin::get_settings).put(admin::put_settings))
}
