//! The compliance wizard's server side (browser and `/api/declaration*` alike): the choices
//! offered, declaring, and accepting the terms assembled for the declaration.

use crate::settings::SettingsRules;
use app::types::{fields, Activity, ActivityOption, AppError, DeclarationOptions, PhiLevel, PhiOption, SessionView, TermsView};
use axum::http::StatusCode;

use super::declaration::{self, NewDeclaration};
use super::{irb, readiness, terms};
use crate::api::error::{ApiError, ApiResult};
use crate::audit::EventType;
use crate::auth::principal::Principal;
use crate::clock::{date_of_ms, format_ms};
use crate::settings;
use crate::state::AppState;

pub async fn options(state: &AppState, p: &Principal) -> ApiResult<DeclarationOptions> {
    let settings = settings::load(&state.db.pool).await?;
    Ok(DeclarationOptions {
        activities: Activity::ALL
            .into_iter()
            .map(|a| ActivityOption { id: a.id().into(), label: a.label().into(), requires_irb: a.requires_irb() })
            .collect(),
        phi_levels: PhiLevel::ALL
            .into_iter()
            .map(|l| PhiOption { id: l, label: l.label().into(), allowed: l <= p.user.max_phi })
            .collect(),
        max_phi: p.user.max_phi,
        irb_registry: settings.irb_registry_enabled,
    })
}

/// Records the activity, IRB and PHI level for this session and returns the terms to accept.
pub async fn declare(state: &AppState, p: &Principal, activity: &str, irb_number: Option<&str>, phi: &str) -> ApiResult<TermsView> {
    if p.key_id.is_some() {
        return Err(ApiError::forbidden("browser_only", "The declaration is made in the signed-in browser session, not with a session key."));
    }
    let now = state.now();
    let answers = declaration::parse_answers(activity, irb_number, phi, p.user.max_phi).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, e))?;
    let settings = settings::load(&state.db.pool).await?;
    if settings.irb_registry_enabled && answers.activity.requires_irb() {
        let number = answers.irb.clone().unwrap_or_default();
        let protocol = irb::find(&state.db.pool, &number).await?;
        irb::check(protocol.as_ref(), &number, &date_of_ms(now))
            .map_err(|m| ApiError::field(StatusCode::BAD_REQUEST, AppError::new("irb_not_valid", m).with_field(fields::IRB)))?;
    }
    let mut tx = state.db.begin_write().await?;
    let assembled = terms::assemble_current(&mut tx, answers.activity, answers.phi_level).await?;
    let id = declaration::insert(
        &mut tx,
        &NewDeclaration {
            session_hash: &p.session_hash,
            user_id: p.user.id,
            impersonator_id: p.impersonator.as_ref().map(|u| u.id),
            answers: &answers,
            terms: &assembled,
        },
        now,
    )
    .await?;
    let mut e = p.event(EventType::Declaration, now);
    e.declaration_id = Some(id);
    e.activity = Some(answers.activity.id().into());
    e.irb = answers.irb.clone();
    e.phi_level = Some(answers.phi_level.as_str().into());
    e.detail = Some(serde_json::json!({ "terms_hash": assembled.hash, "terms_version": assembled.version }));
    crate::audit::writer::append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(TermsView { declaration_id: id, paragraphs: assembled.paragraphs, text: assembled.text, terms_hash: assembled.hash, version: assembled.version })
}

/// The current terms for this session's declaration (re-assembled: they may have changed).
pub async fn current_terms(state: &AppState, p: &Principal) -> ApiResult<TermsView> {
    let d = p.declaration.as_ref().ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "declaration_required", "Declare your activity and PHI level first."))?;
    let mut conn = state.db.pool.acquire().await?;
    let a = terms::assemble_current(&mut conn, d.activity, d.phi_level).await?;
    Ok(TermsView { declaration_id: d.id, paragraphs: a.paragraphs, text: a.text, terms_hash: a.hash, version: a.version })
}

/// Accepts the terms whose hash the caller read. If the text changed in between, the caller
/// must read it again.
pub async fn accept(state: &AppState, p: &Principal, terms_hash: &str) -> ApiResult<SessionView> {
    if p.key_id.is_some() {
        return Err(ApiError::forbidden("browser_only", "Terms are accepted in the signed-in browser session, not with a session key."));
    }
    let now = state.now();
    let d = p.declaration.as_ref().ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "declaration_required", "Declare your activity and PHI level first."))?;
    let mut tx = state.db.begin_write().await?;
    let current = terms::assemble_current(&mut tx, d.activity, d.phi_level).await?;
    if terms_hash.trim() != current.hash {
        return Err(ApiError::field(
            StatusCode::CONFLICT,
            AppError::new("terms_changed", "These are not the current terms for your declaration: read them again and accept the text shown.")
                .with_field(fields::TERMS),
        ));
    }
    declaration::accept(&mut tx, d.id, &current, now).await?;
    let mut e = p.event(EventType::TermsAccepted, now);
    e.detail = Some(serde_json::json!({ "terms_hash": current.hash, "terms_version": current.version }));
    crate::audit::writer::append(&mut tx, &[e]).await?;
    tx.commit().await?;
    let mut p2 = p.clone();
    if let Some(d2) = p2.declaration.as_mut() {
        d2.accepted_at = Some(now);
        d2.terms_hash = current.hash.clone();
        d2.terms_version = current.version;
    }
    session_view(state, &p2).await
}

/// What `GET /api/session` answers: who, acting as whom, under which declaration, until when,
/// and what is still needed before data.
pub async fn session_view(state: &AppState, p: &Principal) -> ApiResult<SessionView> {
    let now = state.now();
    let settings = settings::load(&state.db.pool).await?;
    let needs = readiness(state, p, &settings, now).await?.map(|m| m.step().to_string());
    let last_seen = p.session_last_seen_at.max(if p.key_id.is_none() || settings.key_use_refreshes_idle { now } else { 0 });
    Ok(SessionView {
        user: p.user.view(),
        impersonator: p.impersonator.as_ref().map(|u| u.view()),
        declaration: p.declaration.as_ref().map(|d| d.view()),
        needs,
        created_at: format_ms(p.session_created_at),
        idle_expires_at: format_ms(last_seen + settings.idle_ms()),
        absolute_expires_at: format_ms(p.session_created_at + settings.absolute_ms()),
    })
}
