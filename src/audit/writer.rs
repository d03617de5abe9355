//! The only code that writes audit tables.
//!
//! `append` adds events to the chain inside a caller's transaction (so an admin change and its
//! event commit together). `AuditLog` is the group-commit writer for everything else: requests
//! hand it their event and wait; one task gathers whatever events are waiting into a single
//! transaction, commits, and only then answers each request. A request whose event could not be
//! made durable gets an error and must not release anything (fail closed).

use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio::sync::{mpsc, oneshot};

use super::chain::{chain_hash, genesis_hash};
use super::event::AuditEvent;
use crate::db::{placeholder, Db};

/// Most events in one transaction.
const MAX_BATCH: usize = 512;
/// How long a request waits for its event to be durable before failing.
const DURABLE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log could not record this request")]
    WriteFailed(#[source] sqlx::Error),
    #[error("the audit log is not accepting events")]
    Closed,
    #[error("the audit log did not confirm the event in time")]
    Timeout,
}

/// Appends `events` to the chain inside `tx`, serialised with every other writer (on any node)
/// by the lock row. Returns their sequence numbers.
pub async fn append(tx: &mut AnyConnection, events: &[AuditEvent]) -> Result<Vec<i64>, sqlx::Error> {
    // Take the chain-head lock first: on PostgreSQL this row lock orders writers from all
    // nodes; on SQLite the write transaction already holds the database lock.
    sqlx::query("UPDATE audit_writer_lock SET batches = batches + 1 WHERE id = 1").execute(&mut *tx).await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    let (mut seq, mut prev) = match head {
        Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?),
        None => (0, genesis_hash()),
    };
    let mut seqs = Vec::with_capacity(events.len());
    for e in events {
        seq += 1;
        let hash = chain_hash(&prev, seq, e);
        insert_event(tx, seq, e, &prev, &hash).await?;
        if let Some(participants) = &e.participants {
            insert_participants(tx, seq, participants).await?;
        }
        prev = hash;
        seqs.push(seq);
    }
    Ok(seqs)
}

async fn insert_event(tx: &mut AnyConnection, seq: i64, e: &AuditEvent, prev: &str, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (seq, at, event_type, outcome, user_id, user_email, impersonator_id, \
         impersonator_email, session_hash, declaration_id, activity, irb, phi_level, key_id, study, dataset, \
         columns_json, phi_columns_json, filter_text, sort_text, sql_text, row_count, participants_json, client_ip, \
         user_agent, detail_json, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
    )
    .bind(seq)
    .bind(e.at)
    .bind(&e.event_type)
    .bind(&e.outcome)
    .bind(e.user_id)
    .bind(&e.user_email)
    .bind(e.impersonator_id)
    .bind(&e.impersonator_email)
    .bind(&e.session_hash)
    .bind(e.declaration_id)
    .bind(&e.activity)
    .bind(&e.irb)
    .bind(&e.phi_level)
    .bind(&e.key_id)
    .bind(&e.study)
    .bind(&e.dataset)
    .bind(AuditEvent::json_list(&e.columns))
    .bind(AuditEvent::json_list(&e.phi_columns))
    .bind(&e.filter)
    .bind(&e.sort)
    .bind(&e.sql)
    .bind(e.row_count)
    .bind(AuditEvent::json_list(&e.participants))
    .bind(&e.client_ip)
    .bind(&e.user_agent)
    .bind(e.detail_text())
    .bind(prev)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_participants(tx: &mut AnyConnection, seq: i64, participants: &[String]) -> Result<(), sqlx::Error> {
    for chunk in participants.chunks(400) {
        let mut sql = String::from("INSERT INTO audit_participants (participant_id, seq) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({}, {})", placeholder(tx, 2 * i + 1), placeholder(tx, 2 * i + 2)));
        }
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q.bind(p).bind(seq);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

struct Pending {
    event: AuditEvent,
    done: oneshot::Sender<Result<i64, AuditError>>,
}

/// Handle to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Pending>>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> AuditLog {
        let (tx, rx) = mpsc::channel::<Pending>(8192);
        tokio::spawn(run_writer(db, rx));
        AuditLog { tx: Some(tx) }
    }

    /// A sink that drops events: only for the audit-cost benchmark (feature bench-noop-audit).
    #[cfg(feature = "bench-noop-audit")]
    pub fn noop() -> AuditLog {
        AuditLog { tx: None }
    }

    /// Records one event and returns once it is durable (committed), with its sequence number.
    pub async fn record(&self, event: AuditEvent) -> Result<i64, AuditError> {
        let Some(tx) = &self.tx else {
            // bench-noop-audit only: nothing is written.
            return Ok(0);
        };
        let (done, wait) = oneshot::channel();
        tx.send(Pending { event, done }).await.map_err(|_| AuditError::Closed)?;
        match tokio::time::timeout(DURABLE_TIMEOUT, wait).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(AuditError::Closed),
            Err(_) => Err(AuditError::Timeout),
        }
    }
}

async fn run_writer(db: Db, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let events: Vec<AuditEvent> = batch.iter().map(|p| p.event.clone()).collect();
        match write_batch(&db, &events).await {
            Ok(seqs) => {
                for (p, seq) in batch.drain(..).zip(seqs) {
                    let _ = p.done.send(Ok(seq));
                }
            }
            Err(e) if batch.len() == 1 => {
                tracing::error!(error = %e, "audit event could not be written");
                let p = batch.pop().expect("one");
                let _ = p.done.send(Err(AuditError::WriteFailed(e)));
            }
            Err(e) => {
                // One bad event must not fail its neighbours: retry each on its own.
                tracing::warn!(error = %e, size = batch.len(), "audit batch failed; retrying events one by one");
                for p in batch.drain(..) {
                    let r = write_batch(&db, std::slice::from_ref(&p.event)).await;
                    let _ = p.done.send(r.map(|s| s[0]).map_err(|e| {
                        tracing::error!(error = %e, "audit event could not be written");
                        AuditError::WriteFailed(e)
                    }));
                }
            }
        }
    }
}

async fn write_batch(db: &Db, events: &[AuditEvent]) -> Result<Vec<i64>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let seqs = append(&mut tx, events).await?;
    tx.commit().await?;
    Ok(seqs)
}
