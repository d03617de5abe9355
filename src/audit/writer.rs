//! The only code that writes audit tables.
//!
//! `append` adds events to the chain inside a caller's transaction (so an admin change and its
//! event commit together). `AuditLog` is the group-commit writer for everything else: requests
//! hand it their event and wait; one task gathers whatever events are waiting into a single
//! transaction, commits, and only then answers each request. A request whose event could not be
//! made durable gets an error and must not release anything (fail closed).

use std::collections::HashSet;
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
    let refs: Vec<&AuditEvent> = events.iter().collect();
    Ok(append_with(tx, &refs, None).await?.0)
}

/// `append`, skipping participant-index rows `known` already holds; also returns the pairs it
/// added (to remember once the transaction has committed).
async fn append_with(tx: &mut AnyConnection, events: &[&AuditEvent], known: Option<&KnownPairs>) -> Result<(Vec<i64>, Vec<Pair>), sqlx::Error> {
    // Take the chain-head lock first: on PostgreSQL this row lock orders writers from all
    // nodes; on SQLite the write transaction (BEGIN IMMEDIATE) already holds the database lock.
    if tx.backend_name() != "SQLite" {
        sqlx::query("UPDATE audit_writer_lock SET batches = batches + 1 WHERE id = 1").execute(&mut *tx).await?;
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    let (mut seq, mut prev) = match head {
        Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?),
        None => (0, genesis_hash()),
    };
    let mut seqs = Vec::with_capacity(events.len());
    let mut chained = Vec::with_capacity(events.len());
    let mut new_pairs: Vec<(Pair, i64)> = Vec::new();
    let mut in_batch: HashSet<Pair> = HashSet::new();
    for e in events {
        seq += 1;
        let hash = chain_hash(&prev, seq, e);
        chained.push(Chained { seq, event: e, prev: prev.clone(), hash: hash.clone() });
        if let Some(participants) = e.participants.as_ref().filter(|p| !p.is_empty()) {
            // Data accesses always run under a declaration; the index is keyed by it.
            let declaration = e.declaration_id.ok_or_else(|| sqlx::Error::Protocol("an audit event with participants has no declaration".into()))?;
            for p in participants {
                let pair = (declaration, p.clone());
                if known.is_some_and(|k| k.contains(&pair)) || in_batch.contains(&pair) {
                    continue;
                }
                in_batch.insert(pair.clone());
                new_pairs.push((pair, seq));
            }
        }
        prev = hash;
        seqs.push(seq);
    }
    insert_events(tx, &chained).await?;
    insert_pairs(tx, &new_pairs).await?;
    Ok((seqs, new_pairs.into_iter().map(|(p, _)| p).collect()))
}

/// (declaration id, participant id): one row of the participant index.
type Pair = (i64, String);

/// Pairs this node has seen committed to the participant index. Most data accesses repeat
/// pairs already there and then write no index rows at all. Bounded: emptied when full (the
/// database's ON CONFLICT keeps re-inserting harmless).
#[derive(Default)]
pub struct KnownPairs {
    set: HashSet<Pair>,
}

const MAX_KNOWN_PAIRS: usize = 200_000;

impl KnownPairs {
    fn contains(&self, p: &Pair) -> bool {
        self.set.contains(p)
    }

    fn remember(&mut self, pairs: Vec<Pair>) {
        if self.set.len() + pairs.len() > MAX_KNOWN_PAIRS {
            self.set.clear();
        }
        self.set.extend(pairs);
    }
}

/// One chained event ready to insert.
struct Chained<'a> {
    seq: i64,
    event: &'a AuditEvent,
    prev: String,
    hash: String,
}

const EVENT_INSERT: &str = "INSERT INTO audit_events (seq, at, event_type, outcome, user_id, user_email, impersonator_id, \
     impersonator_email, session_hash, declaration_id, activity, irb, phi_level, key_id, study, dataset, \
     columns_json, phi_columns_json, filter_text, sort_text, sql_text, row_count, participants_json, client_ip, \
     user_agent, detail_json, prev_hash, hash) VALUES ";
const EVENT_FIELDS: usize = 28;

/// Inserts a batch's events, many to a statement (one statement per event was most of the
/// writer's time).
async fn insert_events(tx: &mut AnyConnection, events: &[Chained<'_>]) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(64) {
        let mut sql = String::from(EVENT_INSERT);
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for f in 0..EVENT_FIELDS {
                if f > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&placeholder(tx, i * EVENT_FIELDS + f + 1));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for c in chunk {
            let e = c.event;
            q = q
                .bind(c.seq)
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
                .bind(&c.prev)
                .bind(&c.hash);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

async fn insert_pairs(tx: &mut AnyConnection, pairs: &[(Pair, i64)]) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(300) {
        let mut sql = String::from("INSERT INTO audit_participant_declarations (participant_id, declaration_id, first_seq) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({}, {}, {})", placeholder(tx, 3 * i + 1), placeholder(tx, 3 * i + 2), placeholder(tx, 3 * i + 3)));
        }
        // Another node may have added the pair since this one last looked.
        sql.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(&sql);
        for ((declaration, participant), seq) in chunk {
            q = q.bind(participant).bind(*declaration).bind(*seq);
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
    let mut known = KnownPairs::default();
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let events: Vec<&AuditEvent> = batch.iter().map(|p| &p.event).collect();
        let written = write_batch(&db, &events, &mut known).await;
        match written {
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
                    let r = write_batch(&db, &[&p.event], &mut known).await;
                    let _ = p.done.send(r.map(|s| s[0]).map_err(|e| {
                        tracing::error!(error = %e, "audit event could not be written");
                        AuditError::WriteFailed(e)
                    }));
                }
            }
        }
    }
}

async fn write_batch(db: &Db, events: &[&AuditEvent], known: &mut KnownPairs) -> Result<Vec<i64>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let (seqs, pairs) = append_with(&mut tx, events, Some(known)).await?;
    tx.commit().await?;
    known.remember(pairs);
    Ok(seqs)
}
