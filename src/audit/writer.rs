//! The only code that writes audit tables.
//!
//! `append` adds events to the chain inside a caller's transaction (so an admin change and its
//! event commit together). `AuditLog` is the group-commit writer for everything else: requests
//! hand it their event and wait; one task gathers whatever events are waiting into a single
//! transaction, commits, and only then answers each request. A request whose event could not be
//! made durable gets an error and must not release anything (fail closed).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Row};
use tokio::sync::{mpsc, oneshot};

use super::chain::{chain_hash_of, genesis_hash};
use super::event::{AuditEvent, StoredText};
use crate::db::{placeholder, Db};

/// Most events in one transaction.
const MAX_BATCH: usize = 512;
/// How long a request waits for its event to be durable before failing.
const DURABLE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log could not record this request")]
    WriteFailed(#[source] WriteError),
    #[error("the audit log is not accepting events")]
    Closed,
    #[error("the audit log did not confirm the event in time")]
    Timeout,
}

/// Why a batch could not be written, from whichever connection wrote it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Pool(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    NoDeclaration(#[from] NoDeclaration),
    #[error("could not start the audit writer: {0}")]
    Start(#[source] std::io::Error),
}

/// Appends `events` to the chain inside `tx`, serialised with every other writer (on any node)
/// by the lock row. Returns their sequence numbers.
pub async fn append(tx: &mut AnyConnection, events: &[AuditEvent]) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<EventRow> = events.iter().cloned().map(EventRow::new).collect();
    let refs: Vec<&EventRow> = rows.iter().collect();
    Ok(append_with(tx, &refs, None).await?.0)
}

/// `append`, skipping participant-index rows `known` already holds; also returns the pairs it
/// added (to remember once the transaction has committed).
async fn append_with(tx: &mut AnyConnection, events: &[&EventRow], known: Option<&Known>) -> Result<(Vec<i64>, Learned), sqlx::Error> {
    // Take the chain-head lock first: on PostgreSQL this row lock orders writers from all
    // nodes; on SQLite the write transaction (BEGIN IMMEDIATE) already holds the database lock.
    if tx.backend_name() != "SQLite" {
        sqlx::query("UPDATE audit_writer_lock SET batches = batches + 1 WHERE id = 1").execute(&mut *tx).await?;
    }
    let head = sqlx::query(HEAD_QUERY).fetch_optional(&mut *tx).await?;
    let head = match head {
        Some(r) => Some((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)),
        None => None,
    };
    let chained = chain_batch(head, events, known).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    insert_lists(tx, &chained.new_lists).await?;
    insert_events(tx, &chained.events).await?;
    insert_pairs(tx, &chained.new_pairs).await?;
    Ok(chained.into_result())
}

/// The newest event: where the chain continues.
pub(super) const HEAD_QUERY: &str = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

#[derive(Debug, thiserror::Error)]
#[error("an audit event with participants has no declaration")]
pub struct NoDeclaration;

/// A batch chained onto the head: the rows to insert, whichever backend inserts them.
pub(super) struct ChainedBatch<'a> {
    pub events: Vec<Chained<'a>>,
    /// Shared participant lists to add (hash, list text), before the events that name them.
    pub new_lists: Vec<(&'a str, &'a str)>,
    /// Participant-index rows to add, with the sequence number of the event that first shows them.
    pub new_pairs: Vec<(Pair, i64)>,
}

impl ChainedBatch<'_> {
    /// The sequence numbers, in the order of the events, and what the batch added.
    pub fn into_result(self) -> (Vec<i64>, Learned) {
        let seqs = self.events.iter().map(|c| c.seq).collect();
        let learned = Learned {
            pairs: self.new_pairs.into_iter().map(|(p, _)| p).collect(),
            lists: self.new_lists.into_iter().map(|(h, _)| h.to_string()).collect(),
        };
        (seqs, learned)
    }
}

/// Gives each event its sequence number and hash after `head` (the newest stored `(seq, hash)`,
/// none for an empty log), and lists the shared participant lists and participant-index rows
/// neither `known` nor an earlier event of the batch holds.
pub(super) fn chain_batch<'a>(head: Option<(i64, String)>, events: &[&'a EventRow], known: Option<&Known>) -> Result<ChainedBatch<'a>, NoDeclaration> {
    let (mut seq, mut prev) = head.unwrap_or_else(|| (0, genesis_hash()));
    let mut chained = Vec::with_capacity(events.len());
    let mut new_pairs: Vec<(Pair, i64)> = Vec::new();
    let mut in_batch: HashSet<Pair> = HashSet::new();
    let mut new_lists: Vec<(&'a str, &'a str)> = Vec::new();
    let mut buf = Vec::with_capacity(1024);
    for row in events {
        let e = &row.event;
        seq += 1;
        let hash = chain_hash_of(&prev, seq, e, &row.text, &mut buf);
        if let (Some(list), Some(text)) = (row.shared_list.as_deref(), row.text.participants.as_deref()) {
            if !known.is_some_and(|k| k.lists.contains(list)) && !new_lists.iter().any(|(h, _)| *h == list) {
                new_lists.push((list, text));
            }
        }
        if let Some(participants) = e.participants.as_ref().filter(|p| !p.is_empty()) {
            // Data accesses always run under a declaration; the index is keyed by it.
            let declaration = e.declaration_id.ok_or(NoDeclaration)?;
            for p in participants {
                let pair = (declaration, p.clone());
                if known.is_some_and(|k| k.pairs.contains(&pair)) || in_batch.contains(&pair) {
                    continue;
                }
                in_batch.insert(pair.clone());
                new_pairs.push((pair, seq));
            }
        }
        chained.push(Chained { seq, row, prev: std::mem::replace(&mut prev, hash.clone()), hash });
    }
    Ok(ChainedBatch { events: chained, new_lists, new_pairs })
}

/// (declaration id, participant id): one row of the participant index.
pub(super) type Pair = (i64, String);

/// What a committed batch added: participant-index rows and shared lists (by hash).
#[derive(Default)]
pub(super) struct Learned {
    pairs: Vec<Pair>,
    lists: Vec<String>,
}

/// Participant-index rows and shared participant lists this node has seen committed. Most data
/// accesses repeat a page already read and then write neither. Bounded: each set is emptied
/// when full (the database's ON CONFLICT keeps re-inserting harmless).
#[derive(Default)]
pub struct Known {
    pairs: HashSet<Pair>,
    lists: HashSet<String>,
}

const MAX_KNOWN: usize = 200_000;

impl Known {
    pub(super) fn remember(&mut self, learned: Learned) {
        add_bounded(&mut self.pairs, learned.pairs, MAX_KNOWN);
        add_bounded(&mut self.lists, learned.lists, MAX_KNOWN / 4);
    }
}

fn add_bounded<T: std::hash::Hash + Eq>(set: &mut HashSet<T>, new: Vec<T>, max: usize) {
    if set.len() + new.len() > max {
        set.clear();
    }
    set.extend(new);
}

/// One chained event ready to insert.
pub(super) struct Chained<'a> {
    pub seq: i64,
    pub row: &'a EventRow,
    pub prev: String,
    pub hash: String,
}

pub(super) const EVENT_INSERT: &str = "INSERT INTO audit_events (seq, at, event_type, outcome, user_id, user_email, impersonator_id, \
     impersonator_email, session_hash, declaration_id, activity, irb, phi_level, key_id, study, dataset, \
     columns_json, phi_columns_json, filter_text, sort_text, sql_text, row_count, participants_json, participants_list, \
     client_ip, user_agent, detail_json, prev_hash, hash) VALUES ";
pub(super) const EVENT_FIELDS: usize = 29;

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
            let (e, text) = (&c.row.event, &c.row.text);
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
                .bind(&text.columns)
                .bind(&text.phi_columns)
                .bind(&e.filter)
                .bind(&e.sort)
                .bind(&e.sql)
                .bind(e.row_count)
                .bind(c.row.inline_participants())
                .bind(&c.row.shared_list)
                .bind(&e.client_ip)
                .bind(&e.user_agent)
                .bind(&text.detail)
                .bind(&c.prev)
                .bind(&c.hash);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

async fn insert_lists(tx: &mut AnyConnection, lists: &[(&str, &str)]) -> Result<(), sqlx::Error> {
    // Another node may have added the list since this one last looked.
    let sql = format!("{INSERT_LIST_SQL} ({}, {}) ON CONFLICT DO NOTHING", placeholder(tx, 1), placeholder(tx, 2));
    for (hash, text) in lists {
        sqlx::query(&sql).bind(*hash).bind(*text).execute(&mut *tx).await?;
    }
    Ok(())
}

pub(super) const INSERT_LIST_SQL: &str = "INSERT INTO audit_participant_lists (hash, list_json) VALUES";

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

/// A participant list longer than this is stored once, in `audit_participant_lists`, and the
/// event names it by hash: a script paging through the same rows writes each page's list once,
/// and an event row stays within one database page.
const INLINE_LIST_MAX: usize = 256;

/// An event with its stored text (see `StoredText`), ready to chain and insert.
pub(super) struct EventRow {
    pub event: AuditEvent,
    pub text: StoredText,
    /// SHA-256 (hex) of the participant list's text, when the list is stored shared.
    pub shared_list: Option<String>,
}

impl EventRow {
    fn new(event: AuditEvent) -> EventRow {
        let text = StoredText::of(&event);
        let shared_list = text.participants.as_deref().filter(|t| t.len() > INLINE_LIST_MAX).map(crate::auth::token::sha256_hex);
        EventRow { text, shared_list, event }
    }

    /// The list text stored in the event's own row: none when the list is shared.
    pub(super) fn inline_participants(&self) -> Option<&str> {
        match self.shared_list {
            Some(_) => None,
            None => self.text.participants.as_deref(),
        }
    }
}

pub(super) struct Pending {
    row: EventRow,
    done: oneshot::Sender<Result<i64, AuditError>>,
}

/// Handle to the group-commit writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: Option<mpsc::Sender<Pending>>,
}

impl AuditLog {
    /// Starts the writer. On SQLite it is a thread of its own with its own connection (see
    /// `sqlite_writer`); on PostgreSQL a task on the current runtime using the pool.
    pub fn start(db: Db) -> Result<AuditLog, WriteError> {
        let (tx, rx) = mpsc::channel::<Pending>(8192);
        match &db.sqlite_file {
            Some(file) => super::sqlite_writer::start(file, rx)?,
            None => {
                tokio::spawn(run_writer(PoolStore { db }, rx));
            }
        }
        Ok(AuditLog { tx: Some(tx) })
    }

    /// A sink that drops events: only for the audit-cost benchmark (feature bench-noop-audit).
    #[cfg(feature = "bench-noop-audit")]
    pub fn noop() -> AuditLog {
        AuditLog { tx: None }
    }

    /// Records one event and returns once it is durable (committed), with its sequence number.
    pub async fn record(&self, event: AuditEvent) -> Result<i64, AuditError> {
        let Some(tx) = &self.tx else {
            // bench-noop-audit only: the event is handed over and dropped. (black_box: the
            // event is still built, as the audited build builds it.)
            std::hint::black_box(&event);
            return Ok(0);
        };
        let (done, wait) = oneshot::channel();
        tx.send(Pending { row: EventRow::new(event), done }).await.map_err(|_| AuditError::Closed)?;
        match tokio::time::timeout(DURABLE_TIMEOUT, wait).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(AuditError::Closed),
            Err(_) => Err(AuditError::Timeout),
        }
    }
}

/// Where the writer makes a batch durable: one transaction that chains and inserts the events.
pub(super) trait BatchStore {
    async fn write(&mut self, events: &[&EventRow], known: &Known) -> Result<(Vec<i64>, Learned), WriteError>;

    /// Waits about `d` for more events to arrive.
    async fn linger(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// While requests are arriving together (the previous batch held more than one event and was
/// committed less than `QUIET` ago), the writer gathers events for `LINGER` after the first before
/// committing: a commit writes every index page it touches and waits for an fsync (each about
/// 100 µs of CPU on this machine's virtual disk), so two events a commit cost nearly twice
/// what ten do. A request arriving alone, or after a quiet spell, never waits. The wait is in
/// steps of `LINGER_STEP` up to a deadline (on PostgreSQL a step is the runtime timer's
/// millisecond, so the wait is one or two milliseconds there).
const LINGER: Duration = Duration::from_micros(1000);
const LINGER_STEP: Duration = Duration::from_micros(250);
const QUIET: Duration = Duration::from_millis(10);

/// Adds the events already waiting to `batch`, up to `MAX_BATCH`.
fn drain(rx: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
}

/// The group-commit loop: gathers whatever events are waiting (up to `MAX_BATCH`) into one
/// write and answers each request only once its event is committed. A batch that fails is
/// retried event by event, so one bad event does not fail its neighbours.
pub(super) async fn run_writer<S: BatchStore>(mut store: S, mut rx: mpsc::Receiver<Pending>) {
    let mut known = Known::default();
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    let mut last_batch = 0;
    let mut last_commit = Instant::now();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        drain(&mut rx, &mut batch);
        if last_batch > 1 && last_commit.elapsed() < QUIET {
            let deadline = Instant::now() + LINGER;
            while batch.len() < MAX_BATCH {
                let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
                store.linger(left.min(LINGER_STEP)).await;
                drain(&mut rx, &mut batch);
            }
        }
        last_batch = batch.len();
        let events: Vec<&EventRow> = batch.iter().map(|p| &p.row).collect();
        let written = store.write(&events, &known).await;
        match written {
            Ok((seqs, learned)) => {
                known.remember(learned);
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
                tracing::warn!(error = %e, size = batch.len(), "audit batch failed; retrying events one by one");
                // What this node remembers as stored may be why (a database restored under a
                // running server): forget it, so the retries write lists and pairs again.
                known = Known::default();
                for p in batch.drain(..) {
                    let answer = match store.write(&[&p.row], &known).await {
                        Ok((seqs, learned)) => {
                            known.remember(learned);
                            Ok(seqs[0])
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "audit event could not be written");
                            Err(AuditError::WriteFailed(e))
                        }
                    };
                    let _ = p.done.send(answer);
                }
            }
        }
        last_commit = Instant::now();
    }
}

/// PostgreSQL: a transaction on the shared pool; the lock row orders the nodes' writers.
struct PoolStore {
    db: Db,
}

impl BatchStore for PoolStore {
    async fn write(&mut self, events: &[&EventRow], known: &Known) -> Result<(Vec<i64>, Learned), WriteError> {
        let mut tx = self.db.begin_write().await?;
        let written = append_with(&mut tx, events, Some(known)).await?;
        tx.commit().await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::audit::event::EventType;

    /// Batch sizes, and how many pauses.
    type Seen = Arc<Mutex<(Vec<usize>, usize)>>;

    /// Records each batch's size and each pause; on its first pause, sends `arrive_while_lingering`
    /// more events, as requests finishing meanwhile would.
    struct Recorder {
        seen: Seen,
        tx: mpsc::Sender<Pending>,
        arrive_while_lingering: usize,
        seq: i64,
    }

    impl BatchStore for Recorder {
        async fn write(&mut self, events: &[&EventRow], _known: &Known) -> Result<(Vec<i64>, Learned), WriteError> {
            self.seen.lock().unwrap().0.push(events.len());
            let seqs = events.iter().map(|_| {
                self.seq += 1;
                self.seq
            });
            Ok((seqs.collect(), Learned::default()))
        }

        async fn linger(&mut self, d: Duration) {
            self.seen.lock().unwrap().1 += 1;
            for _ in 0..std::mem::take(&mut self.arrive_while_lingering) {
                let _ = self.tx.try_send(pending().0);
            }
            std::thread::sleep(d);
        }
    }

    fn pending() -> (Pending, oneshot::Receiver<Result<i64, AuditError>>) {
        let (done, wait) = oneshot::channel();
        (Pending { row: EventRow::new(AuditEvent::new(EventType::SignIn, 1)), done }, wait)
    }

    /// Three requests at once, answered in one batch.
    async fn three_at_once(tx: &mpsc::Sender<Pending>) {
        let waits: Vec<_> = (0..3).map(|_| pending()).map(|(p, w)| (tx.try_send(p).unwrap(), w).1).collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
    }

    fn start(arrive_while_lingering: usize) -> (mpsc::Sender<Pending>, Seen) {
        let (tx, rx) = mpsc::channel(64);
        let seen = Arc::new(Mutex::new((Vec::new(), 0)));
        tokio::spawn(run_writer(Recorder { seen: seen.clone(), tx: tx.clone(), arrive_while_lingering, seq: 0 }, rx));
        (tx, seen)
    }

    #[tokio::test]
    async fn a_lone_event_is_committed_without_waiting() {
        let (tx, seen) = start(5);
        for expected in [1, 2] {
            let (p, wait) = pending();
            tx.send(p).await.unwrap();
            assert_eq!(wait.await.unwrap().unwrap(), expected);
        }
        assert_eq!(*seen.lock().unwrap(), (vec![1, 1], 0));
    }

    #[tokio::test]
    async fn after_a_batch_of_several_the_writer_gathers_what_arrives_while_it_waits() {
        let (tx, seen) = start(2);
        // one batch of three, and no waiting (the batch before it was empty)
        three_at_once(&tx).await;
        // the next event waits up to LINGER, in steps; the two that arrive meanwhile join its batch
        let (p, wait) = pending();
        tx.send(p).await.unwrap();
        assert_eq!(wait.await.unwrap().unwrap(), 4);
        let (batches, pauses) = seen.lock().unwrap().clone();
        assert_eq!(batches, vec![3, 3]);
        assert!((1..=(LINGER.as_micros() / LINGER_STEP.as_micros()) as usize + 1).contains(&pauses), "{pauses}");
    }

    #[tokio::test]
    async fn after_a_quiet_spell_a_request_does_not_wait() {
        let (tx, seen) = start(2);
        three_at_once(&tx).await;
        tokio::time::sleep(QUIET * 3).await;
        let (p, wait) = pending();
        tx.send(p).await.unwrap();
        assert_eq!(wait.await.unwrap().unwrap(), 4);
        assert_eq!(*seen.lock().unwrap(), (vec![3, 1], 0));
    }
}
