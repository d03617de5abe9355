//! Terms of use: paragraphs tagged with the activities and PHI levels they apply to, published
//! in versions. The text a session sees is assembled from the paragraphs that match its
//! declaration, numbered; what it accepts is the SHA-256 of that exact text.

use app::types::{Activity, PhiLevel};
use sqlx::{AnyConnection, Row};

use crate::auth::token::sha256_hex;

pub use app::types::TermsParagraph as Paragraph;

/// Whether a paragraph applies to a declaration.
pub fn applies(p: &Paragraph, activity: Activity, phi: PhiLevel) -> bool {
    let any = |l: &Vec<String>, v: &str| l.iter().any(|x| x == "*" || x == v);
    any(&p.activities, activity.id()) && any(&p.phi_levels, phi.as_str())
}

/// What is wrong with a paragraph an admin wrote, if anything.
pub fn validate(p: &Paragraph) -> Result<(), String> {
    if p.body.trim().is_empty() {
        return Err(format!("paragraph {}: the text must not be empty", p.ordinal));
    }
    if p.activities.is_empty() || p.phi_levels.is_empty() {
        return Err(format!("paragraph {}: name at least one activity and one PHI level (or \"*\")", p.ordinal));
    }
    for a in &p.activities {
        if a != "*" && Activity::parse(a).is_none() {
            return Err(format!("paragraph {}: unknown activity '{a}'", p.ordinal));
        }
    }
    for l in &p.phi_levels {
        if l != "*" && PhiLevel::parse(l).is_none() {
            return Err(format!("paragraph {}: unknown PHI level '{l}'", p.ordinal));
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assembled {
    pub version: i64,
    pub paragraphs: Vec<String>,
    pub text: String,
    pub hash: String,
}

pub fn assemble(version: i64, all: &[Paragraph], activity: Activity, phi: PhiLevel) -> Assembled {
    let mut chosen: Vec<&Paragraph> = all.iter().filter(|p| applies(p, activity, phi)).collect();
    chosen.sort_by_key(|p| p.ordinal);
    let paragraphs: Vec<String> = chosen.iter().map(|p| p.body.trim().to_string()).collect();
    let text = paragraphs.iter().enumerate().map(|(i, p)| format!("{}. {}", i + 1, p)).collect::<Vec<_>>().join("\n\n");
    let hash = sha256_hex(&text);
    Assembled { version, paragraphs, text, hash }
}

pub async fn current_version<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E) -> Result<i64, sqlx::Error> {
    let v: Option<i64> = sqlx::query("SELECT MAX(version) FROM terms_versions").fetch_one(exec).await?.try_get(0)?;
    Ok(v.unwrap_or(0))
}

pub async fn paragraphs<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, version: i64) -> Result<Vec<Paragraph>, sqlx::Error> {
    let rows = sqlx::query("SELECT ordinal, body, activities, phi_levels FROM terms_paragraphs WHERE version = $1 ORDER BY ordinal, id")
        .bind(version)
        .fetch_all(exec)
        .await?;
    rows.iter()
        .map(|r| {
            let split = |s: String| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
            Ok(Paragraph {
                ordinal: r.try_get(0)?,
                body: r.try_get(1)?,
                activities: split(r.try_get(2)?),
                phi_levels: split(r.try_get(3)?),
            })
        })
        .collect()
}

pub async fn assemble_current(conn: &mut AnyConnection, activity: Activity, phi: PhiLevel) -> Result<Assembled, sqlx::Error> {
    let version = current_version(&mut *conn).await?;
    let all = paragraphs(&mut *conn, version).await?;
    Ok(assemble(version, &all, activity, phi))
}

/// Publishes a new version made of `paras`. Returns the version number.
pub async fn publish(conn: &mut AnyConnection, paras: &[Paragraph], by: Option<i64>, now: i64) -> Result<i64, sqlx::Error> {
    let version = current_version(&mut *conn).await? + 1;
    sqlx::query("INSERT INTO terms_versions (version, published_at, published_by) VALUES ($1, $2, $3)")
        .bind(version)
        .bind(now)
        .bind(by)
        .execute(&mut *conn)
        .await?;
    for p in paras {
        sqlx::query("INSERT INTO terms_paragraphs (version, ordinal, body, activities, phi_levels) VALUES ($1, $2, $3, $4, $5)")
            .bind(version)
            .bind(p.ordinal)
            .bind(p.body.trim())
            .bind(p.activities.join(","))
            .bind(p.phi_levels.join(","))
            .execute(&mut *conn)
            .await?;
    }
    Ok(version)
}

/// The terms a new installation starts with. Admins replace them from the Terms page.
pub fn default_paragraphs() -> Vec<Paragraph> {
    let p = |ordinal: i64, activities: &[&str], phi: &[&str], body: &str| Paragraph {
        ordinal,
        body: body.to_string(),
        activities: activities.iter().map(|s| s.to_string()).collect(),
        phi_levels: phi.iter().map(|s| s.to_string()).collect(),
    };
    const RESEARCH: &[&str] = &["research-waiver", "research-informed", "research-operations"];
    vec![
        p(10, &["*"], &["*"], "I will use the data only for the activity I declared when I signed in, and only as much of it as that activity needs (the minimum necessary)."),
        p(20, &["*"], &["*"], "I understand that every access I make, in the browser or with a session key, is recorded together with this declaration and may be reviewed by compliance auditors."),
        p(30, &["*"], &["*"], "I will keep the data, my password and any session key I create confidential. I will not share them, and I will keep extracts only on systems approved for protected health information."),
        p(40, RESEARCH, &["*"], "My use is covered by the IRB protocol I named, and I will follow the procedures it approves."),
        p(45, &["research-waiver"], &["*"], "I will use the data only within the waiver of HIPAA authorization that the IRB granted for this protocol."),
        p(46, &["research-informed"], &["*"], "I will use data only of participants whose HIPAA authorization covers this research."),
        p(50, &["healthcare-operations"], &["*"], "I will use the data only for the healthcare operations of the covered entity."),
        p(55, &["quality-improvement"], &["*"], "I will use the data only for quality improvement or quality assurance, not for research that is meant to produce generalisable knowledge."),
        p(60, &["public-health-reporting"], &["*"], "I will disclose data only to a public health authority, and only as the law requires or permits."),
        p(70, &["*"], &["not-phi", "limited"], "I will not try to identify, or contact, any person whose data I see."),
        p(80, &["*"], &["limited"], "Limited PHI (dates, ZIP codes, cities, counties) forms a limited data set: I will use it only under a data use agreement."),
        p(90, &["*"], &["full", "restricted"], "Full PHI includes direct identifiers such as names, addresses and identification numbers. I will not copy identifiers out of this system except as my approval allows."),
        p(100, &["*"], &["restricted"], "Restricted PHI is the most sensitive information held here (such as social security, passport and driver's licence numbers). I confirm that I hold the specific approval needed to see it."),
    ]
}

pub async fn seed_defaults_if_empty(conn: &mut AnyConnection, now: i64) -> Result<(), sqlx::Error> {
    if current_version(&mut *conn).await? == 0 {
        publish(conn, &default_paragraphs(), None, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembly_picks_matching_paragraphs_in_order_and_numbers_them() {
        let all = default_paragraphs();
        for p in &all {
            validate(p).unwrap();
        }
        let a = assemble(1, &all, Activity::ResearchWaiver, PhiLevel::Limited);
        assert!(a.text.starts_with("1. I will use the data only for the activity"));
        assert!(a.text.contains("waiver of HIPAA authorization"));
        assert!(a.text.contains("limited data set"));
        assert!(!a.text.contains("Restricted PHI is"));
        let b = assemble(1, &all, Activity::QualityImprovement, PhiLevel::Restricted);
        assert!(b.text.contains("Restricted PHI is"));
        assert!(!b.text.contains("IRB protocol I named"));
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.hash, sha256_hex(&a.text));
    }
}
