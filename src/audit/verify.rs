//! Verifying the log: recompute every event's chain hash in order and name the first sequence
//! number where the log stops being the log that was written (an event edited, deleted,
//! reordered or inserted; the tail truncated; a checkpoint the log no longer extends).

use futures::TryStreamExt;
use serde::Serialize;
use sqlx::Row;

use super::chain::{chain_hash, genesis_hash};
use super::checkpoint::Checkpoint;
use super::event::StoredEvent;
use super::store::{self, EVENT_COLUMNS};
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
        if self.problem.is_some() {
            return false;
        }
        if e.seq != self.expected_seq {
            if e.seq > self.expected_seq {
                self.fail(self.expected_seq, format!("event {} is missing (deleted): the log jumps from {} to {}", self.expected_seq, self.expected_seq - 1, e.seq));
            } else {
                self.fail(e.seq, format!("event {} is out of order (expected {})", e.seq, self.expected_seq));
            }
            return false;
        }
        if e.prev_hash != self.prev {
            self.fail(e.seq, format!("event {} does not follow event {} (its previous hash differs): reordered or replaced", e.seq, e.seq - 1));
            return false;
        }
        let h = chain_hash(&self.prev, e.seq, &e.event);
        if h != e.hash {
            self.fail(e.seq, format!("event {} was altered: its content does not match its hash", e.seq));
            return false;
        }
        self.prev = h;
        self.count = e.seq;
        self.expected_seq += 1;
        for w in self.wanted.iter_mut() {
            if w.0 == e.seq {
                w.1 = Some(self.prev.clone());
            }
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

/// Verifies the whole log in the database, then each checkpoint (already signature-checked).
pub async fn verify_db(db: &Db, checkpoints: &[Checkpoint]) -> Result<Report, sqlx::Error> {
    let sizes: Vec<i64> = checkpoints.iter().map(|c| c.size).collect();
    let mut w = Walker::new(&sizes);
    // Streamed in order: memory stays flat however long the log is.
    let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY seq");
    let mut rows = sqlx::query(&sql).fetch(&db.pool);
    while let Some(r) = rows.try_next().await? {
        let e = store::from_row(&r)?;
        if !w.feed(&e) {
            break;
        }
    }
    drop(rows);
    if w.problem.is_none() {
        // Participant rows outlive a truncation unless the attacker was thorough.
        let dangling: Option<i64> = sqlx::query("SELECT MIN(seq) FROM audit_participants WHERE seq > $1")
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
