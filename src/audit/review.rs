//! Reading the log for people: the filtered, paged review (newest first), one full record,
//! the accounting of disclosures for a participant, and a user's activity.

use app::types::{AuditFilter, AuditPage, AuditRecord, DeclarationRecord, Disclosure, KeyRecord, SessionRecord, UserActivity};
use sqlx::Row;

use super::event::StoredEvent;
use super::store::{self, EVENT_COLUMNS};
use crate::clock::format_ms;
use crate::data::values::{parse_date, parse_timestamp};
use crate::db::{Backend, Db};
use crate::users;

pub fn record(e: &StoredEvent) -> AuditRecord {
    let ev = &e.event;
    AuditRecord {
        seq: e.seq,
        at: format_ms(ev.at),
        event_type: ev.event_type.clone(),
        outcome: ev.outcome.clone(),
        user_id: ev.user_id,
        user_email: ev.user_email.clone(),
        impersonator_email: ev.impersonator_email.clone(),
        session_hash: ev.session_hash.clone(),
        declaration_id: ev.declaration_id,
        activity: ev.activity.clone(),
        irb: ev.irb.clone(),
        phi_level: ev.phi_level.clone(),
        key_id: ev.key_id.clone(),
        study: ev.study.clone(),
        dataset: ev.dataset.clone(),
        columns: ev.columns.clone(),
        phi_columns: ev.phi_columns.clone(),
        filter: ev.filter.clone(),
        sort: ev.sort.clone(),
        sql: ev.sql.clone(),
        row_count: ev.row_count,
        participants: ev.participants.clone(),
        client_ip: ev.client_ip.clone(),
        user_agent: ev.user_agent.clone(),
        detail: ev.detail_text(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadFilter {
    pub field: &'static str,
    pub message: String,
}

/// A time filter as milliseconds. A bare date `to` means the end of that day.
fn time_bound(field: &'static str, raw: &str, end_of_day: bool) -> Result<i64, BadFilter> {
    let ts = parse_timestamp(raw.trim())
        .or_else(|| parse_date(raw.trim()).map(|d| format!("{d} {}", if end_of_day { "23:59:59.999" } else { "00:00:00.000" })))
        .ok_or_else(|| BadFilter { field, message: "use a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM:SSZ)".into() })?;
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]");
    let t = time::PrimitiveDateTime::parse(&ts, &f).map_err(|_| BadFilter { field, message: "not a time".into() })?;
    Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// The WHERE clause of a filter, with its bound values (placeholders start at `$1`).
#[derive(Clone, Debug, Default)]
pub struct Where {
    pub sql: String,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug)]
pub enum Arg {
    Int(i64),
    Text(String),
}

impl Where {
    /// Adds a condition; every `$?` in it is the new argument's placeholder.
    pub fn push(&mut self, cond: &str, arg: Arg) {
        self.args.push(arg);
        let cond = cond.replace("$?", &format!("${}", self.args.len()));
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(&cond);
    }

    pub fn bind<'q>(&'q self, mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for a in &self.args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn where_of(f: &AuditFilter, backend: Backend) -> Result<Where, BadFilter> {
    let mut w = Where::default();
    if let Some(v) = given(&f.from) {
        w.push("at >= $?", Arg::Int(time_bound("from", v, false)?));
    }
    if let Some(v) = given(&f.to) {
        w.push("at <= $?", Arg::Int(time_bound("to", v, true)?));
    }
    if let Some(v) = given(&f.user) {
        // either identity: the acting user or the admin impersonating
        w.push("(user_email = $? OR impersonator_email = $?)", Arg::Text(v.to_lowercase()));
    }
    if let Some(v) = given(&f.event_type) {
        if super::event::EventType::parse(v).is_none() {
            return Err(BadFilter { field: "event_type", message: format!("unknown event type '{v}'") });
        }
        w.push("event_type = $?", Arg::Text(v.to_string()));
    }
    if let Some(v) = given(&f.dataset) {
        w.push("dataset = $?", Arg::Text(v.to_string()));
    }
    if let Some(v) = given(&f.irb) {
        w.push("irb = $?", Arg::Text(v.to_string()));
    }
    if let Some(v) = given(&f.participant) {
        w.push(&disclosed(backend), Arg::Text(v.to_string()));
    }
    Ok(w)
}

/// "This event disclosed participant `$?`": the participant's declarations from the index,
/// then those declarations' events whose participant list holds it exactly.
fn disclosed(backend: Backend) -> String {
    let list = store::PARTICIPANTS_TEXT;
    let index = "declaration_id IN (SELECT declaration_id FROM audit_participant_declarations WHERE participant_id = $?)";
    match backend {
        Backend::Sqlite => format!("{index} AND EXISTS (SELECT 1 FROM json_each({list}) WHERE value = $?)"),
        Backend::Postgres => format!("{index} AND EXISTS (SELECT 1 FROM json_array_elements_text(({list})::json) AS p(v) WHERE p.v = $?)"),
    }
}

/// One page, newest first, before `before` (exclusive).
pub async fn page(db: &Db, f: &AuditFilter, before: Option<i64>, limit: i64) -> Result<Result<AuditPage, BadFilter>, sqlx::Error> {
    let mut w = match where_of(f, db.backend) {
        Ok(w) => w,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(b) = before {
        w.push("seq < $?", Arg::Int(b));
    }
    let limit = limit.clamp(1, 500);
    // The page's sequence numbers come from the indexes alone; only those rows are then read in
    // full (a wide row per event in a day's range would otherwise be read and sorted).
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq IN (SELECT seq FROM audit_events{} ORDER BY seq DESC LIMIT {}) ORDER BY seq DESC",
        w.sql,
        limit + 1
    );
    let rows = w.bind(sqlx::query(&sql)).fetch_all(&db.pool).await?;
    let mut events: Vec<AuditRecord> = rows.iter().map(|r| store::from_row(r).map(|e| record(&e))).collect::<Result<_, _>>()?;
    let next_before = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(Ok(AuditPage { events, next_before }))
}

pub async fn one(db: &Db, seq: i64) -> Result<Option<AuditRecord>, sqlx::Error> {
    let r = sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq = $1")).bind(seq).fetch_optional(&db.pool).await?;
    r.map(|r| store::from_row(&r).map(|e| record(&e))).transpose()
}

/// Every access to one participant's data: who, when, under which declaration, which columns.
pub async fn disclosures(db: &Db, participant: &str) -> Result<Vec<Disclosure>, sqlx::Error> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {} AND event_type = 'data_access' ORDER BY seq DESC",
        disclosed(db.backend).replace("$?", "$1")
    );
    let rows = sqlx::query(&sql).bind(participant).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            let e = store::from_row(r)?;
            let ev = e.event;
            Ok(Disclosure {
                seq: e.seq,
                at: format_ms(ev.at),
                via: if ev.key_id.is_some() { "session key".into() } else { "browser".into() },
                user_email: ev.user_email,
                impersonator_email: ev.impersonator_email,
                activity: ev.activity,
                irb: ev.irb,
                phi_level: ev.phi_level,
                study: ev.study,
                dataset: ev.dataset,
                columns: ev.columns,
                phi_columns: ev.phi_columns,
                key_id: ev.key_id,
                declaration_id: ev.declaration_id,
            })
        })
        .collect()
}

pub async fn user_activity(db: &Db, user_id: i64) -> Result<Option<UserActivity>, sqlx::Error> {
    let Some(user) = users::by_id(&db.pool, user_id).await? else { return Ok(None) };
    let sessions = sqlx::query(
        "SELECT id_hash, created_at, last_seen_at, ended_at, end_reason, client_ip, user_agent FROM sessions \
         WHERE user_id = $1 OR acting_user_id = $1 ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(SessionRecord {
            session_hash: r.try_get(0)?,
            started_at: format_ms(r.try_get(1)?),
            last_seen_at: format_ms(r.try_get(2)?),
            ended_at: r.try_get::<Option<i64>, _>(3)?.map(format_ms),
            end_reason: r.try_get(4)?,
            client_ip: r.try_get(5)?,
            user_agent: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let declarations = sqlx::query(
        "SELECT d.id, d.session_hash, d.activity, d.irb, d.phi_level, d.terms_hash, d.created_at, d.accepted_at, i.email \
         FROM declarations d LEFT JOIN users i ON i.id = d.impersonator_id WHERE d.user_id = $1 ORDER BY d.id DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(DeclarationRecord {
            id: r.try_get(0)?,
            session_hash: r.try_get(1)?,
            activity: r.try_get(2)?,
            irb: r.try_get(3)?,
            phi_level: r.try_get(4)?,
            terms_hash: r.try_get(5)?,
            created_at: format_ms(r.try_get(6)?),
            accepted_at: r.try_get::<Option<i64>, _>(7)?.map(format_ms),
            impersonator_email: r.try_get(8)?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let keys = sqlx::query(
        "SELECT k.id, k.session_hash, k.created_at, k.last_used_at, k.revoked_at FROM session_keys k \
         JOIN sessions s ON s.id_hash = k.session_hash WHERE s.user_id = $1 ORDER BY k.created_at DESC",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(KeyRecord {
            id: r.try_get(0)?,
            session_hash: r.try_get(1)?,
            created_at: format_ms(r.try_get(2)?),
            last_used_at: r.try_get::<Option<i64>, _>(3)?.map(format_ms),
            revoked_at: r.try_get::<Option<i64>, _>(4)?.map(format_ms),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let reads = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE user_id = $1 AND event_type = 'data_access' ORDER BY seq DESC LIMIT 1000"
    ))
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| store::from_row(r).map(|e| record(&e)))
    .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(UserActivity { user: user.view(), sessions, declarations, keys, reads }))
}
