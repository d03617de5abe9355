//! Export of the (filtered) log as CSV or JSON Lines, oldest first, streamed page by page so
//! that a million events never sit in memory. A JSON Lines export carries every field and both
//! hashes: it can be verified offline (`attest audit verify --jsonl FILE`).

use bytes::Bytes;
use futures::Stream;

use super::review::{record, Arg, Where};
use super::store::{self, EVENT_COLUMNS};
use crate::db::Db;

const PAGE: i64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

pub const CSV_HEADER: [&str; 27] = [
    "seq", "at", "event_type", "outcome", "user_id", "user_email", "impersonator_email", "session_hash", "declaration_id",
    "activity", "irb", "phi_level", "key_id", "study", "dataset", "columns", "phi_columns", "filter", "sort", "sql",
    "row_count", "participants", "client_ip", "user_agent", "detail", "prev_hash", "hash",
];

struct State {
    db: Db,
    filter: Where,
    after: i64,
    format: Format,
    header: bool,
    done: bool,
}

/// The export as a stream of chunks (one page of events each).
pub fn stream(db: Db, filter: Where, format: Format) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(State { db, filter, after: 0, format, header: format == Format::Csv, done: false }, |mut st| async move {
        if st.done {
            return None;
        }
        let mut w = st.filter.clone();
        w.push("seq > $?", Arg::Int(st.after));
        let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events{} ORDER BY seq LIMIT {PAGE}", w.sql);
        let rows = match w.bind(sqlx::query(&sql)).fetch_all(&st.db.pool).await {
            Ok(r) => r,
            Err(e) => {
                st.done = true;
                return Some((Err(std::io::Error::other(e)), st));
            }
        };
        if (rows.len() as i64) < PAGE {
            st.done = true;
        }
        let mut out: Vec<u8> = Vec::with_capacity(rows.len() * 600);
        let mut csv = (st.format == Format::Csv).then(|| csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new()));
        if st.header {
            if let Some(w) = csv.as_mut() {
                let _ = w.write_record(CSV_HEADER);
            }
            st.header = false;
        }
        for r in &rows {
            let e = match store::from_row(r) {
                Ok(e) => e,
                Err(err) => {
                    st.done = true;
                    return Some((Err(std::io::Error::other(err)), st));
                }
            };
            st.after = e.seq;
            match csv.as_mut() {
                None => {
                    out.extend_from_slice(serde_json::to_string(&e).expect("json").as_bytes());
                    out.push(b'\n');
                }
                Some(w) => {
                    let rec = record(&e);
                    let list = |l: &Option<Vec<String>>| l.as_ref().map(|v| neutralised(serde_json::to_string(v).expect("json"))).unwrap_or_default();
                    let opt = |v: &Option<String>| neutralised(v.clone().unwrap_or_default());
                    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                    let _ = w.write_record([
                        rec.seq.to_string(), rec.at, rec.event_type, rec.outcome, num(rec.user_id), opt(&rec.user_email),
                        opt(&rec.impersonator_email), opt(&rec.session_hash), num(rec.declaration_id), opt(&rec.activity),
                        opt(&rec.irb), opt(&rec.phi_level), opt(&rec.key_id), opt(&rec.study), opt(&rec.dataset),
                        list(&rec.columns), list(&rec.phi_columns), opt(&rec.filter), opt(&rec.sort), opt(&rec.sql),
                        num(rec.row_count), list(&rec.participants), opt(&rec.client_ip), opt(&rec.user_agent),
                        opt(&rec.detail), rec.prev_hash, rec.hash,
                    ]);
                }
            }
        }
        if let Some(w) = csv {
            out = w.into_inner().unwrap_or_default();
        }
        Some((Ok(Bytes::from(out)), st))
    })
}

/// A text cell as a spreadsheet may safely open it: one that starts like a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'` (OWASP's advice for CSV injection).
/// A user agent or a filter is whatever a client sent; opening the export must not run it. The
/// JSON Lines export is the faithful one (it is what `audit verify --jsonl` checks).
fn neutralised(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}
