//! The optional IRB protocol registry: when enabled, research activities need a registered
//! protocol whose approval has not ended, at declaration and at every data access.

use sqlx::{AnyConnection, Row};

pub use app::types::IrbProtocol as Protocol;

/// IRB numbers are free text typed by people: keep them short and printable, so they cannot
/// smuggle line breaks or control characters into logs and exports.
pub fn parse_number(raw: &str) -> Result<String, String> {
    let n = raw.trim();
    if n.is_empty() {
        return Err("enter the IRB protocol number".into());
    }
    if n.chars().count() > 64 {
        return Err("an IRB number has at most 64 characters".into());
    }
    if !n.chars().all(|c| c.is_ascii_alphanumeric() || " ._/#:-".contains(c)) {
        return Err("an IRB number may hold letters, digits, spaces and . _ / # : -".into());
    }
    Ok(n.to_string())
}

pub fn parse_date(raw: &str) -> Result<String, String> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw.trim(), &f).map(|_| raw.trim().to_string()).map_err(|_| format!("'{}' is not a date (YYYY-MM-DD)", raw.trim()))
}

pub async fn find<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E, number: &str) -> Result<Option<Protocol>, sqlx::Error> {
    let r = sqlx::query("SELECT number, title, investigator, approval_end FROM irb_protocols WHERE number = $1")
        .bind(number)
        .fetch_optional(exec)
        .await?;
    r.map(|r| Ok(Protocol { number: r.try_get(0)?, title: r.try_get(1)?, investigator: r.try_get(2)?, approval_end: r.try_get(3)? }))
        .transpose()
}

pub async fn list<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(exec: E) -> Result<Vec<Protocol>, sqlx::Error> {
    let rows = sqlx::query("SELECT number, title, investigator, approval_end FROM irb_protocols ORDER BY number")
        .fetch_all(exec)
        .await?;
    rows.iter()
        .map(|r| Ok(Protocol { number: r.try_get(0)?, title: r.try_get(1)?, investigator: r.try_get(2)?, approval_end: r.try_get(3)? }))
        .collect()
}

/// Adds or replaces a protocol.
pub async fn upsert(conn: &mut AnyConnection, p: &Protocol, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM irb_protocols WHERE number = $1").bind(&p.number).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO irb_protocols (number, title, investigator, approval_end, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&p.number)
        .bind(&p.title)
        .bind(&p.investigator)
        .bind(&p.approval_end)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Why an IRB number does not cover data access today (`today` is YYYY-MM-DD, UTC).
pub fn check(p: Option<&Protocol>, number: &str, today: &str) -> Result<(), String> {
    match p {
        None => Err(format!("IRB protocol {number} is not in the registry")),
        Some(p) if p.approval_end.as_str() < today => Err(format!("the approval of IRB protocol {number} ended on {}", p.approval_end)),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_printable_and_short() {
        assert_eq!(parse_number(" IRB-2024/017 ").unwrap(), "IRB-2024/017");
        assert!(parse_number("").is_err());
        assert!(parse_number("IRB\n2024").is_err());
        assert!(parse_number(&"9".repeat(65)).is_err());
    }

    #[test]
    fn approval_ends_at_the_end_of_its_last_day() {
        let p = Protocol { number: "X".into(), title: "t".into(), investigator: "i".into(), approval_end: "2026-12-03".into() };
        assert!(check(Some(&p), "X", "2026-12-03").is_ok());
        assert!(check(Some(&p), "X", "2026-12-04").unwrap_err().contains("ended on 2026-12-03"));
        assert!(check(None, "X", "2026-12-03").unwrap_err().contains("not in the registry"));
    }
}
