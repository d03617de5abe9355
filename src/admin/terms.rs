//! Terms of use, as admins edit them: the current version and publishing a new one. A session
//! that accepted an older text must accept the new one before its next data access (see
//! `compliance::readiness`).

use app::types::TermsDocument;
use sqlx::Row;

use super::require_admin;
use crate::api::error::{ApiError, ApiResult};
use crate::audit::{writer::append, EventType};
use crate::auth::principal::Principal;
use crate::auth::token::sha256_hex;
use crate::clock::format_ms;
use crate::compliance::terms::{self, Paragraph};
use crate::state::AppState;

pub async fn current(state: &AppState, p: &Principal) -> ApiResult<TermsDocument> {
    require_admin(p)?;
    let version = terms::current_version(&state.db.pool).await?;
    let published_at = sqlx::query("SELECT published_at FROM terms_versions WHERE version = $1")
        .bind(version)
        .fetch_optional(&state.db.pool)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?
        .map(format_ms);
    Ok(TermsDocument { version, published_at, paragraphs: terms::paragraphs(&state.db.pool, version).await? })
}

pub async fn publish(state: &AppState, p: &Principal, paragraphs: &[Paragraph]) -> ApiResult<TermsDocument> {
    require_admin(p)?;
    if paragraphs.is_empty() {
        return Err(ApiError::bad_request("empty_terms", "The terms need at least one paragraph."));
    }
    for para in paragraphs {
        terms::validate(para).map_err(|m| ApiError::bad_request("invalid_paragraph", m))?;
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let version = terms::publish(&mut tx, paragraphs, Some(p.user.id), now).await?;
    let digest = sha256_hex(&serde_json::to_string(paragraphs).expect("json"));
    let e = p.event(EventType::TermsPublished, now).detail(serde_json::json!({ "version": version, "paragraphs": paragraphs.len(), "sha256": digest }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    current(state, p).await
}
