//! Declarations: what a session says it is doing (activity, IRB, PHI level) and the terms it
//! accepted. Created by the wizard, bound to the session, needed before any data.

use app::types::{fields, Activity, AppError, DeclarationView, PhiLevel};
use sqlx::{AnyConnection, Row};

use super::irb;
use super::terms::Assembled;

#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub id: i64,
    pub activity: Activity,
    pub irb: Option<String>,
    pub phi_level: PhiLevel,
    pub terms_hash: String,
    pub terms_version: i64,
    pub accepted_at: Option<i64>,
}

impl Declaration {
    pub fn view(&self) -> DeclarationView {
        DeclarationView {
            id: self.id,
            activity: self.activity,
            activity_label: self.activity.label().to_string(),
            irb: self.irb.clone(),
            phi_level: self.phi_level,
            terms_hash: self.terms_hash.clone(),
            accepted: self.accepted_at.is_some(),
        }
    }
}

/// The wizard's answers, parsed once: each error names the field it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub activity: Activity,
    pub irb: Option<String>,
    pub phi_level: PhiLevel,
}

pub fn parse_answers(activity: &str, irb_raw: Option<&str>, phi: &str, max_phi: PhiLevel) -> Result<Answers, AppError> {
    let activity = Activity::parse(activity.trim()).ok_or_else(|| {
        AppError::new("invalid_activity", "Choose one of the listed activities.").with_field(fields::ACTIVITY)
    })?;
    let irb = match irb_raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) if activity.requires_irb() => {
            Some(irb::parse_number(raw).map_err(|m| AppError::new("invalid_irb", m).with_field(fields::IRB))?)
        }
        // An IRB number given for a non-research activity is ignored, not stored.
        Some(_) => None,
        None if activity.requires_irb() => {
            return Err(AppError::new("irb_required", format!("{} requires an IRB protocol number.", activity.label()))
                .with_field(fields::IRB))
        }
        None => None,
    };
    let phi_level = PhiLevel::parse(phi.trim()).ok_or_else(|| {
        AppError::new("invalid_phi_level", "Choose a PHI level: not-phi, limited, full or restricted.").with_field(fields::PHI_LEVEL)
    })?;
    if phi_level > max_phi {
        return Err(AppError::new(
            "phi_level_not_allowed",
            format!("Your account allows PHI up to {}; {} is not available to you.", max_phi.label(), phi_level.label()),
        )
        .with_field(fields::PHI_LEVEL));
    }
    Ok(Answers { activity, irb, phi_level })
}

pub struct NewDeclaration<'a> {
    pub session_hash: &'a str,
    pub user_id: i64,
    pub impersonator_id: Option<i64>,
    pub answers: &'a Answers,
    pub terms: &'a Assembled,
}

/// Stores a declaration and makes it the session's current one (replacing any earlier one).
pub async fn insert(conn: &mut AnyConnection, d: &NewDeclaration<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO declarations (session_hash, user_id, impersonator_id, activity, irb, phi_level, terms_text, \
         terms_hash, terms_version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(d.session_hash)
    .bind(d.user_id)
    .bind(d.impersonator_id)
    .bind(d.answers.activity.id())
    .bind(&d.answers.irb)
    .bind(d.answers.phi_level.as_str())
    .bind(&d.terms.text)
    .bind(&d.terms.hash)
    .bind(d.terms.version)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    sqlx::query("UPDATE sessions SET declaration_id = $1 WHERE id_hash = $2")
        .bind(id)
        .bind(d.session_hash)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Marks the declaration accepted with (possibly re-assembled) terms.
pub async fn accept(conn: &mut AnyConnection, id: i64, terms: &Assembled, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE declarations SET accepted_at = $1, terms_text = $2, terms_hash = $3, terms_version = $4 WHERE id = $5")
        .bind(now)
        .bind(&terms.text)
        .bind(&terms.hash)
        .bind(terms.version)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that a newer terms version assembles to the same text this declaration accepted.
pub async fn carry_to_version<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, id: i64, version: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE declarations SET terms_version = $1 WHERE id = $2").bind(version).bind(id).execute(exec).await?;
    Ok(())
}

pub const DECLARATION_COLUMNS: &str = "id, activity, irb, phi_level, terms_hash, terms_version, accepted_at";

pub fn from_row(r: &sqlx::any::AnyRow, at: usize) -> Result<Option<Declaration>, sqlx::Error> {
    let Some(id) = r.try_get::<Option<i64>, _>(at)? else { return Ok(None) };
    let activity: String = r.try_get(at + 1)?;
    let phi: String = r.try_get(at + 3)?;
    Ok(Some(Declaration {
        id,
        activity: Activity::parse(&activity).ok_or_else(|| sqlx::Error::Decode(format!("bad activity {activity}").into()))?,
        irb: r.try_get(at + 2)?,
        phi_level: PhiLevel::parse(&phi).ok_or_else(|| sqlx::Error::Decode(format!("bad PHI level {phi}").into()))?,
        terms_hash: r.try_get(at + 4)?,
        terms_version: r.try_get(at + 5)?,
        accepted_at: r.try_get(at + 6)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_field_by_field() {
        let ok = parse_answers("research-waiver", Some(" IRB-1 "), "limited", PhiLevel::Full).unwrap();
        assert_eq!(ok.irb.as_deref(), Some("IRB-1"));
        let e = parse_answers("research-waiver", None, "limited", PhiLevel::Full).unwrap_err();
        assert_eq!((e.error.as_str(), e.field.as_deref()), ("irb_required", Some("irb")));
        let e = parse_answers("research-waiver", Some("IRB-1"), "restricted", PhiLevel::Full).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("phi_level"));
        let e = parse_answers("browsing", None, "limited", PhiLevel::Full).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("activity"));
        // non-research activities need no IRB and do not keep one
        let qi = parse_answers("quality-improvement", Some("IRB-1"), "not-phi", PhiLevel::NotPhi).unwrap();
        assert_eq!(qi.irb, None);
    }
}
