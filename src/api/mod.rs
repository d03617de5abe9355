//! The JSON API under /api: the wizard (sign-in, declaration, terms), session keys, the audit
//! review, and the
//! admin and account endpoints. Documented in docs/http-api.md. Bodies may be JSON or form-encoded.

pub mod account;
pub mod admin;
pub mod audit;
pub mod error;
pub mod keys;
pub mod wizard;

use axum::routing::{delete, get, patch, post};
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
        .route("/api/account/sessions", get(account::sessions))
        .route("/api/account/sessions/{id}", delete(account::end_session))
        .route("/api/account/password", post(account::change_password))
        .route("/api/audit/events", get(audit::events))
        .route("/api/audit/events/{seq}", get(audit::event))
        .route("/api/audit/disclosures", get(audit::disclosures))
        .route("/api/audit/users/{id}", get(audit::user_activity))
        .route("/api/audit/export", get(audit::export_log))
        .route("/api/audit/verify", post(audit::verify_log))
        .route("/api/admin/settings", get(admin::get_settings).put(admin::put_settings))
        .route("/api/admin/users", get(admin::list_users).post(admin::create_user))
        .route("/api/admin/users/{id}", patch(admin::patch_user))
        .route("/api/admin/users/{id}/sessions", delete(admin::end_user_sessions))
        .route("/api/admin/sessions", get(admin::list_sessions))
        .route("/api/admin/sessions/{id}", delete(admin::end_session))
        .route("/api/admin/terms", get(admin::get_terms).post(admin::publish_terms))
        .route("/api/admin/irb", get(admin::list_irb).post(admin::save_irb))
        .route("/api/admin/impersonate", post(admin::impersonate).delete(admin::stop_impersonating))
}
