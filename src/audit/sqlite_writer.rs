//! The audit writer on SQLite: a thread of its own holding its own read-write connection.
//!
//! Through sqlx a batch was five hand-offs to sqlx's worker thread (BEGIN, head, events, index,
//! COMMIT), each a wake-up and a copy of every bound value; under load that was more of a
//! request's latency than the fsync the commit waits for. Here the loop runs on a dedicated
//! thread (a current-thread runtime, only to await the channel) and writes with cached prepared
//! statements. Durability is unchanged: WAL with `synchronous=FULL`, so a commit is on disk when
//! it returns, and only then are requests answered. The database lock (BEGIN IMMEDIATE)
//! serialises this writer with every other one (sqlx's pool, the command line).

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use tokio::sync::mpsc;

use super::writer::{chain_batch, run_writer, BatchStore, EventRow, Known, Learned, Pending, WriteError, EVENT_FIELDS, EVENT_INSERT, HEAD_QUERY, INSERT_LIST_SQL};

/// The pool writer's INSERT with one row of numbered parameters.
static INSERT_EVENT: LazyLock<String> =
    LazyLock::new(|| format!("{EVENT_INSERT}({})", (1..=EVENT_FIELDS).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")));
/// Another writer may have added the list or the pair since this one last looked.
static INSERT_LIST: LazyLock<String> = LazyLock::new(|| format!("{INSERT_LIST_SQL} (?1, ?2) ON CONFLICT DO NOTHING"));
const INSERT_PAIR: &str =
    "INSERT INTO audit_participant_declarations (participant_id, declaration_id, first_seq) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

/// Opens the writer's connection (so a database that cannot be written to stops the server at
/// start) and starts its thread, which ends when every `AuditLog` handle is gone.
pub(super) fn start(file: &Path, rx: mpsc::Receiver<Pending>) -> Result<(), WriteError> {
    let conn = open(file)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(WriteError::Start)?;
    std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || runtime.block_on(run_writer(SqliteStore { conn }, rx)))
        .map_err(WriteError::Start)?;
    Ok(())
}

fn open(file: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Per connection, like the pool's: a commit returns only once it is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(8);
    Ok(conn)
}

struct SqliteStore {
    conn: Connection,
}

impl BatchStore for SqliteStore {
    async fn write(&mut self, events: &[&EventRow], known: &Known) -> Result<(Vec<i64>, Learned), WriteError> {
        write_batch(&mut self.conn, events, known)
    }

    /// The writer has this thread to itself: a plain sleep is precise to tens of microseconds,
    /// where the runtime's timer ticks in milliseconds.
    async fn linger(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

fn write_batch(conn: &mut Connection, events: &[&EventRow], known: &Known) -> Result<(Vec<i64>, Learned), WriteError> {
    // IMMEDIATE: take the write lock before reading the head, so no other writer can chain
    // onto the same head in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let head = {
        let mut q = tx.prepare_cached(HEAD_QUERY)?;
        let mut rows = q.query([])?;
        match rows.next()? {
            Some(r) => Some((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            None => None,
        }
    };
    let batch = chain_batch(head, events, Some(known))?;
    {
        let mut list = tx.prepare_cached(&INSERT_LIST)?;
        for (hash, text) in &batch.new_lists {
            list.execute(params![hash, text])?;
        }
        let mut insert = tx.prepare_cached(&INSERT_EVENT)?;
        for c in &batch.events {
            let (e, text) = (&c.row.event, &c.row.text);
            insert.execute(params![
                c.seq,
                e.at,
                e.event_type,
                e.outcome,
                e.user_id,
                e.user_email,
                e.impersonator_id,
                e.impersonator_email,
                e.session_hash,
                e.declaration_id,
                e.activity,
                e.irb,
                e.phi_level,
                e.key_id,
                e.study,
                e.dataset,
                text.columns,
                text.phi_columns,
                e.filter,
                e.sort,
                e.sql,
                e.row_count,
                c.row.inline_participants(),
                c.row.shared_list,
                e.client_ip,
                e.user_agent,
                text.detail,
                c.prev,
                c.hash,
            ])?;
        }
        let mut pair = tx.prepare_cached(INSERT_PAIR)?;
        for ((declaration, participant), seq) in &batch.new_pairs {
            pair.execute(params![participant, declaration, seq])?;
        }
    }
    tx.commit()?;
    Ok(batch.into_result())
}
