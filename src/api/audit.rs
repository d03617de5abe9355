//! `/api/audit/*`: the review of the audit log, for auditors and admins (never researchers),
//! under a complete declaration like any other access.

use app::types::{AuditFilter, AuditPage, AuditRecord, Disclosure, UserActivity, VerifyResult};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use crate::audit::checkpoint::{self, CHECKPOINT_DIR};
use crate::audit::export::{self, Format};
use crate::audit::{review, verify, EventType};
use crate::auth::principal::Principal;
use crate::compliance::readiness;
use crate::http::extract::Auth;
use crate::settings;
use crate::state::AppState;

/// Auditors and admins read the log, with a complete declaration.
pub async fn require_reviewer(state: &AppState, p: &Principal) -> ApiResult<()> {
    if !p.user.role.may_read_audit() {
        return Err(ApiError::forbidden("auditors_only", "Only auditors and administrators read the audit log."));
    }
    let s = settings::load(&state.db.pool).await?;
    if let Some(m) = readiness(state, p, &s, state.now()).await? {
        return Err(ApiError::forbidden(m.code(), m.message()));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(flatten)]
    pub filter: AuditFilter,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

fn bad_filter(e: review::BadFilter) -> ApiError {
    ApiError::field(StatusCode::BAD_REQUEST, app::types::AppError::new("bad_filter", e.to_string()).with_field(e.field))
}

pub async fn page(state: &AppState, p: &Principal, f: &AuditFilter, before: Option<i64>, limit: Option<i64>) -> ApiResult<AuditPage> {
    require_reviewer(state, p).await?;
    review::page(&state.db, f, before, limit.unwrap_or(50)).await?.map_err(bad_filter)
}

pub async fn events(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<PageQuery>) -> ApiResult<Json<AuditPage>> {
    Ok(Json(page(&state, &p, &q.filter, q.before, q.limit).await?))
}

pub async fn event(State(state): State<AppState>, Auth(p): Auth, Path(seq): Path<i64>) -> ApiResult<Json<AuditRecord>> {
    require_reviewer(&state, &p).await?;
    review::one(&state.db, seq).await?.map(Json).ok_or_else(|| ApiError::not_found("no_such_event", "No audit event with this sequence number."))
}

#[derive(Deserialize)]
pub struct ParticipantQuery {
    pub participant: String,
}

pub async fn disclosures(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ParticipantQuery>) -> ApiResult<Json<Vec<Disclosure>>> {
    require_reviewer(&state, &p).await?;
    Ok(Json(review::disclosures(&state.db, q.participant.trim()).await?))
}

pub async fn user_activity(State(state): State<AppState>, Auth(p): Auth, Path(id): Path<i64>) -> ApiResult<Json<UserActivity>> {
    require_reviewer(&state, &p).await?;
    review::user_activity(&state.db, id).await?.map(Json).ok_or_else(|| ApiError::not_found("no_such_user", "No user with this id."))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(flatten)]
    pub filter: AuditFilter,
    pub format: Option<String>,
}

/// Streams the filtered log. The export itself is audited first (fail closed).
pub async fn export_log(State(state): State<AppState>, Auth(p): Auth, Query(q): Query<ExportQuery>) -> ApiResult<Response> {
    require_reviewer(&state, &p).await?;
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, app::types::AppError::new("bad_format", "format: use csv or jsonl").with_field("format")))?;
    let w = review::where_of(&q.filter, state.db.backend).map_err(bad_filter)?;
    let e = p.event(EventType::AuditExport, state.now()).detail(serde_json::json!({ "format": format.extension(), "filter": q.filter }));
    state.audit.record(e).await?;
    let mut res = Body::from_stream(export::stream(state.db.clone(), w, format)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    let name = format!("attachment; filename=\"attest-audit.{}\"", format.extension());
    res.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&name).map_err(ApiError::internal)?);
    Ok(res)
}

/// Verifies the chain (and the server's checkpoints) and records that it was done.
pub async fn run_verify(state: &AppState, p: &Principal) -> ApiResult<VerifyResult> {
    require_reviewer(state, p).await?;
    let dir = state.config.data_dir.join(CHECKPOINT_DIR);
    let mut checkpoints = checkpoint::read_dir(&dir).map_err(ApiError::internal)?;
    if let Ok(public) = checkpoint::load_public(&state.config.data_dir) {
        for cp in &checkpoints {
            if let Err(m) = cp.verify_signature(&public) {
                return Ok(VerifyResult { ok: false, events: 0, head: String::new(), first_bad_seq: None, message: format!("checkpoint of {}: {m}", cp.time) });
            }
        }
    } else {
        checkpoints.clear();
    }
    let report = verify::verify_db(&state.db, &checkpoints).await?;
    let message = match &report.problem {
        None => format!("The log verifies: {} events, {} checkpoints.", report.events, report.checkpoints_checked),
        Some(pb) => pb.message.clone(),
    };
    let e = p.event(EventType::AuditVerify, state.now()).outcome(if report.ok() { "ok" } else { "failed" }).detail(serde_json::json!({
        "events": report.events, "head": report.head, "first_bad_seq": report.problem.as_ref().map(|x| x.seq), "message": message
    }));
    state.audit.record(e).await?;
    Ok(VerifyResult { ok: report.ok(), events: report.events, head: report.head, first_bad_seq: report.problem.map(|x| x.seq), message })
}

pub async fn verify_log(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<VerifyResult>> {
    Ok(Json(run_verify(&state, &p).await?))
}
