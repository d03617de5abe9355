//! Compliance: activities and declarations, terms of use, the IRB registry, and the one
//! question the data gate asks: is this session's declaration complete and still current?

pub mod declaration;
pub mod irb;
pub mod terms;
pub mod wizard;

use crate::auth::principal::Principal;
use crate::clock::date_of_ms;
use crate::settings::Settings;
use crate::state::AppState;

/// What a session still needs before it may read data.
#[derive(Clone, Debug, PartialEq)]
pub enum Missing {
    /// No activity and PHI level declared in this session.
    Declaration,
    /// Declared, but the terms were not accepted.
    Terms,
    /// The terms changed since they were accepted: accept the new text in the browser.
    TermsChanged,
    /// The IRB registry does not cover the declared protocol (unregistered or expired).
    Irb(String),
    /// The declared PHI level is above the user's maximum (lowered since the declaration).
    AboveMaximum,
}

impl Missing {
    pub fn code(&self) -> &'static str {
        match self {
            Missing::Declaration => "declaration_required",
            Missing::Terms => "terms_not_accepted",
            Missing::TermsChanged => "terms_reacceptance_required",
            Missing::Irb(_) => "irb_not_valid",
            Missing::AboveMaximum => "declaration_above_maximum",
        }
    }

    /// The wizard step that fixes it.
    pub fn step(&self) -> &'static str {
        match self {
            Missing::Declaration | Missing::Irb(_) | Missing::AboveMaximum => "declaration",
            Missing::Terms | Missing::TermsChanged => "terms",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Missing::Declaration => {
                "No data before the compliance declaration: declare your activity, IRB number (for research) and PHI level, then accept the terms of use.".into()
            }
            Missing::Terms => "No data before the terms of use are accepted: accept the terms assembled for your declaration.".into(),
            Missing::TermsChanged => {
                "The terms of use have changed since you accepted them: sign in to the browser and accept the new terms; your session keys work again once you have.".into()
            }
            Missing::Irb(why) => format!("No data under this declaration: {why}. Declare again with a registered, approved IRB protocol."),
            Missing::AboveMaximum => {
                "Your account's maximum PHI level was lowered below the level this session declared: declare again.".into()
            }
        }
    }
}

/// Whether the principal's declaration is complete and current at `now`.
pub async fn readiness(state: &AppState, p: &Principal, settings: &Settings, now: i64) -> Result<Option<Missing>, sqlx::Error> {
    let Some(d) = &p.declaration else { return Ok(Some(Missing::Declaration)) };
    if d.phi_level > p.user.max_phi {
        return Ok(Some(Missing::AboveMaximum));
    }
    if d.accepted_at.is_none() {
        return Ok(Some(Missing::Terms));
    }
    // The version as read with the credential: one snapshot for the request.
    let current = p.terms_version;
    if d.terms_version != current {
        let mut conn = state.db.pool.acquire().await?;
        let now_text = terms::assemble_current(&mut conn, d.activity, d.phi_level).await?;
        if now_text.hash != d.terms_hash {
            return Ok(Some(Missing::TermsChanged));
        }
        declaration::carry_to_version(&mut *conn, d.id, current).await?;
    }
    if settings.irb_registry_enabled && d.activity.requires_irb() {
        let number = d.irb.clone().unwrap_or_default();
        let protocol = irb::find(&state.db.pool, &number).await?;
        if let Err(why) = irb::check(protocol.as_ref(), &number, &date_of_ms(now)) {
            return Ok(Some(Missing::Irb(why)));
        }
    }
    Ok(None)
}
