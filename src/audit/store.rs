//! Reading stored events back: one row decoder for review, export and verification.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::event::{AuditEvent, StoredEvent};

/// An event's participant list as text: in its own row (short lists, and every list written
/// before lists were shared), else the shared list it names (see migration 0005).
macro_rules! participants_text {
    () => {
        "COALESCE(participants_json, (SELECT list_json FROM audit_participant_lists WHERE hash = audit_events.participants_list))"
    };
}
pub const PARTICIPANTS_TEXT: &str = participants_text!();

pub const EVENT_COLUMNS: &str = concat!(
    "seq, at, event_type, outcome, user_id, user_email, impersonator_id, impersonator_email, \
    session_hash, declaration_id, activity, irb, phi_level, key_id, study, dataset, columns_json, phi_columns_json, \
    filter_text, sort_text, sql_text, row_count, ",
    participants_text!(),
    " AS participants, client_ip, user_agent, detail_json, prev_hash, hash"
);

fn list(r: &AnyRow, i: usize) -> Result<Option<Vec<String>>, sqlx::Error> {
    r.try_get::<Option<String>, _>(i)?
        .map(|s| serde_json::from_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

pub fn from_row(r: &AnyRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        seq: r.try_get(0)?,
        event: AuditEvent {
            at: r.try_get(1)?,
            event_type: r.try_get(2)?,
            outcome: r.try_get(3)?,
            user_id: r.try_get(4)?,
            user_email: r.try_get(5)?,
            impersonator_id: r.try_get(6)?,
            impersonator_email: r.try_get(7)?,
            session_hash: r.try_get(8)?,
            declaration_id: r.try_get(9)?,
            activity: r.try_get(10)?,
            irb: r.try_get(11)?,
            phi_level: r.try_get(12)?,
            key_id: r.try_get(13)?,
            study: r.try_get(14)?,
            dataset: r.try_get(15)?,
            columns: list(r, 16)?,
            phi_columns: list(r, 17)?,
            filter: r.try_get(18)?,
            sort: r.try_get(19)?,
            sql: r.try_get(20)?,
            row_count: r.try_get(21)?,
            participants: list(r, 22)?,
            client_ip: r.try_get(23)?,
            user_agent: r.try_get(24)?,
            detail: r
                .try_get::<Option<String>, _>(25)?
                .map(|s| serde_json::from_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e))))
                .transpose()?,
        },
        prev_hash: r.try_get(26)?,
        hash: r.try_get(27)?,
    })
}
