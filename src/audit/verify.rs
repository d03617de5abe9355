//! Verifying the log: recompute every event's chain hash in order and name the first sequence
//! number where the log stops being the log that was written (an event edited, deleted,
//! reordered or inserted; the tail truncated; a checkpoint the log no longer extends).

use serde::Serialize;
use sqlx::Row;

use super::chain::{genesis_hash, leaf_of, link};
use super::checkpoint::Checkpoint;
use super::event::{canonical_bytes, encode, Fields, StoredEvent};
use super::store::EVENT_COLUMNS;
use crate::db::Db;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// The first sequence number that is not as written.
    pub seq: i64,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub events: i64,
    pub head: String,
    /// None when the log verifies.
    pub problem: Option<Problem>,
    pub checkpoints_checked: usize,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Walks events in order, keeping what a checkpoint check needs.
pub struct Walker {
    expected_seq: i64,
    prev: String,
    pub count: i64,
    pub problem: Option<Problem>,
    /// The chain hash at each size a checkpoint asks about.
    wanted: Vec<(i64, Option<String>)>,
}

impl Walker {
    pub fn new(checkpoint_sizes: &[i64]) -> Self {
        Walker { expected_seq: 1, prev: genesis_hash(), count: 0, problem: None, wanted: checkpoint_sizes.iter().map(|s| (*s, None)).collect() }
    }

    fn fail(&mut self, seq: i64, message: String) {
        if self.problem.is_none() {
            self.problem = Some(Problem { seq, message });
        }
    }

    /// Feeds the next event (in stored order). Returns false once a problem was found.
    pub fn feed(&mut self, e: &StoredEvent) -> bool {
        self.feed_raw(e.seq, &e.prev_hash, &e.hash, &canonical_bytes(e.seq, &e.event))
    }

    /// Feeds an event as stored: its sequence number, hashes and canonical bytes.
    pub fn feed_raw(&mut self, seq: i64, prev_hash: &str, hash: &str, canonical: &[u8]) -> bool {
        if !self.check_position(seq) {
            return false;
        }
        if prev_hash != self.prev {
            self.fail(seq, format!("event {} does not follow event {} (its previous hash differs): reordered or replaced", seq, seq - 1));
            return false;
        }
        let h = link(&self.prev, &leaf_of(canonical));
        if h != hash {
            self.fail(seq, format!("event {} was altered: its content does not match its hash", seq));
            return false;
        }
        self.prev = h;
        self.count = seq;
        self.expected_seq += 1;
        for w in self.wanted.iter_mut() {
            if w.0 == seq {
                w.1 = Some(self.prev.clone());
            }
        }
        true
    }

    /// Whether `seq` is the next event expected (records the problem when it is not).
    fn check_position(&mut self, seq: i64) -> bool {
        if self.problem.is_some() {
            return false;
        }
        if seq != self.expected_seq {
            if seq > self.expected_seq {
                self.fail(self.expected_seq, format!("event {} is missing (deleted): the log jumps from {} to {}", self.expected_seq, self.expected_seq - 1, seq));
            } else {
                self.fail(seq, format!("event {} is out of order (expected {})", seq, self.expected_seq));
            }
            return false;
        }
        true
    }

    pub fn head(&self) -> String {
        self.prev.clone()
    }

    /// After the walk: checks each checkpoint against the hashes seen.
    pub fn check_checkpoints(&mut self, checkpoints: &[Checkpoint]) {
        for cp in checkpoints {
            if self.problem.is_some() {
                return;
            }
            if cp.size == 0 {
                continue;
            }
            if cp.size > self.count {
                let seq = self.count + 1;
                self.fail(seq, format!(
                    "the log was truncated: checkpoint of {} says it had {} events, it has {}; event {seq} onwards is missing",
                    cp.time, cp.size, self.count
                ));
                return;
            }
            let seen = self.wanted.iter().find(|w| w.0 == cp.size).and_then(|w| w.1.clone());
            if seen.as_deref() != Some(cp.head.as_str()) {
                self.fail(cp.size, format!(
                    "the log does not extend the checkpoint of {} (size {}): events up to {} were rewritten (truncated and re-chained?)",
                    cp.time, cp.size, cp.size
                ));
            }
        }
    }
}

const PAGE: i64 = 20_000;

fn page_sql() -> String {
    format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT {PAGE}")
}

/// Feeds rows (EVENT_COLUMNS) to the walker; returns (rows seen, last seq, whether to go on).
fn feed_rows<'r, R>(w: &mut Walker, rows: &'r [R], buf: &mut Vec<u8>) -> Result<(usize, i64, bool), sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut last = 0;
    for r in rows {
        let seq: i64 = r.try_get(0)?;
        last = seq;
        let f = Fields {
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
            columns: r.try_get(16)?,
            phi_columns: r.try_get(17)?,
            filter: r.try_get(18)?,
            sort: r.try_get(19)?,
            sql: r.try_get(20)?,
            row_count: r.try_get(21)?,
            participants: r.try_get(22)?,
            client_ip: r.try_get(23)?,
            user_agent: r.try_get(24)?,
            detail: r.try_get(25)?,
        };
        encode(buf, seq, &f);
        let prev: &str = r.try_get(26)?;
        let hash: &str = r.try_get(27)?;
        if !w.feed_raw(seq, prev, hash, buf) {
            return Ok((rows.len(), last, false));
        }
    }
    Ok((rows.len(), last, true))
}

/// SQLite: one read transaction over the whole log (a consistent snapshot), each value read
/// where SQLite keeps it. (Through sqlx every value of every row is copied into its own
/// allocation and rows cross threads one by one: at a million events that was most of the time.)
fn walk_sqlite(conn: &rusqlite::Connection, mut w: Walker) -> Result<Walker, rusqlite::Error> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare(&format!("SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY seq"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = stmt.query([])?;
    let mut buf = Vec::with_capacity(1024);

    /// A value of the wrong storage type is an alteration, reported with its column.
    struct Wrong(usize);
    fn text<'a>(v: ValueRef<'a>, i: usize) -> Result<Option<&'a str>, Wrong> {
        match v {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => std::str::from_utf8(t).map(Some).map_err(|_| Wrong(i)),
            _ => Err(Wrong(i)),
        }
    }
    fn int(v: ValueRef<'_>, i: usize) -> Result<Option<i64>, Wrong> {
        match v {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            _ => Err(Wrong(i)),
        }
    }
    fn required<T>(v: Option<T>, i: usize) -> Result<T, Wrong> {
        v.ok_or(Wrong(i))
    }

    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let v = |i: usize| r.get_ref_unwrap(i);
        let parsed = (|| -> Result<(Fields<'_>, &str, &str), Wrong> {
            let f = Fields {
                at: required(int(v(1), 1)?, 1)?,
                event_type: required(text(v(2), 2)?, 2)?,
                outcome: required(text(v(3), 3)?, 3)?,
                user_id: int(v(4), 4)?,
                user_email: text(v(5), 5)?,
                impersonator_id: int(v(6), 6)?,
                impersonator_email: text(v(7), 7)?,
                session_hash: text(v(8), 8)?,
                declaration_id: int(v(9), 9)?,
                activity: text(v(10), 10)?,
                irb: text(v(11), 11)?,
                phi_level: text(v(12), 12)?,
                key_id: text(v(13), 13)?,
                study: text(v(14), 14)?,
                dataset: text(v(15), 15)?,
                columns: text(v(16), 16)?,
                phi_columns: text(v(17), 17)?,
                filter: text(v(18), 18)?,
                sort: text(v(19), 19)?,
                sql: text(v(20), 20)?,
                row_count: int(v(21), 21)?,
                participants: text(v(22), 22)?,
                client_ip: text(v(23), 23)?,
                user_agent: text(v(24), 24)?,
                detail: text(v(25), 25)?,
            };
            Ok((f, required(text(v(26), 26)?, 26)?, required(text(v(27), 27)?, 27)?))
        })();
        match parsed {
            Ok((f, prev, hash)) => {
                encode(&mut buf, seq, &f);
                if !w.feed_raw(seq, prev, hash, &buf) {
                    break;
                }
            }
            Err(Wrong(i)) => {
                // Order problems come first: a deleted event before is the earlier fault.
                if w.check_position(seq) {
                    w.fail(seq, format!("event {seq} was altered: its {} holds a value of the wrong type", names[i]));
                }
                break;
            }
        }
    }
    Ok(w)
}

/// Verifies the whole log in the database, then each checkpoint (already signature-checked).
pub async fn verify_db(db: &Db, checkpoints: &[Checkpoint]) -> Result<Report, sqlx::Error> {
    let sizes: Vec<i64> = checkpoints.iter().map(|c| c.size).collect();
    let mut w = Walker::new(&sizes);
    // Page by page in order (memory stays flat however long the log is), reading the stored
    // text as is: what is verified is exactly what is in the database.
    let mut buf = Vec::with_capacity(1024);
    match &db.sqlite_reader {
        Some(reader) => {
            w = reader.run(move |conn| walk_sqlite(conn, w)).await.map_err(|e| sqlx::Error::Protocol(format!("reading the audit log: {e}")))?;
        }
        None => {
            // The next page is read while this one is hashed (the database works on its own
            // connection).
            let fetch = |after: i64| {
                let pool = db.pool.clone();
                tokio::spawn(async move { sqlx::query(&page_sql()).bind(after).fetch_all(&pool).await })
            };
            let mut next = fetch(0);
            loop {
                let rows = next.await.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
                let last = rows.last().map(|r| r.try_get::<i64, _>(0)).transpose()?;
                let full = rows.len() as i64 == PAGE;
                if let (Some(l), true) = (last, full) {
                    next = fetch(l);
                } else {
                    next = tokio::spawn(async { Ok(Vec::new()) });
                }
                let (_, _, go_on) = feed_rows(&mut w, &rows, &mut buf)?;
                if !full || !go_on {
                    break;
                }
            }
        }
    }
    if w.problem.is_none() {
        // Participant-index rows outlive a truncation unless the attacker was thorough.
        let dangling: Option<i64> = sqlx::query("SELECT MIN(first_seq) FROM audit_participant_declarations WHERE first_seq > $1")
            .bind(w.count)
            .fetch_one(&db.pool)
            .await?
            .try_get(0)?;
        if let Some(seq) = dangling {
            let first = w.count + 1;
            w.fail(first, format!("the log was truncated: event {seq} is referenced but the log ends at {}", w.count));
        }
    }
    w.check_checkpoints(checkpoints);
    Ok(Report { events: w.count, head: w.head(), problem: w.problem.clone(), checkpoints_checked: checkpoints.len() })
}

/// The current head: (size, hash), for checkpoints.
pub async fn head(db: &Db) -> Result<(i64, String), sqlx::Error> {
    let r = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetch_optional(&db.pool).await?;
    Ok(match r {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, genesis_hash()),
    })
}
