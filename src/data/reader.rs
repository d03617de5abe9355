//! Runs dataset queries, read-only, with a time limit: on SQLite through read-only connections
//! with a progress handler (and, for executeSql, an authorizer); on PostgreSQL in a READ ONLY
//! transaction with a statement timeout. Only `data` calls this; rows leave through `gate`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sqlx::{Row, TypeInfo, ValueRef};

use super::values::Cell;
use crate::db::{Backend, Db};

/// How to decode each result column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Text,
    /// Decided per value (computed executeSql columns).
    Dynamic,
}

/// A statement ready to run: SQL with placeholders for the backend, and its values.
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: String,
    pub args: Vec<Cell>,
}

impl Statement {
    pub fn from_sea(built: (String, sea_query::Values)) -> Statement {
        let args = built.1 .0.into_iter().map(sea_to_cell).collect();
        Statement { sql: built.0, args }
    }
}

fn sea_to_cell(v: sea_query::Value) -> Cell {
    use sea_query::Value as V;
    match v {
        V::BigInt(Some(i)) => Cell::Int(i),
        V::Int(Some(i)) => Cell::Int(i as i64),
        V::SmallInt(Some(i)) => Cell::Int(i as i64),
        V::TinyInt(Some(i)) => Cell::Int(i as i64),
        V::BigUnsigned(Some(i)) => Cell::Int(i as i64),
        V::Unsigned(Some(i)) => Cell::Int(i as i64),
        V::Double(Some(f)) => Cell::Float(f),
        V::Float(Some(f)) => Cell::Float(f as f64),
        V::String(Some(s)) => Cell::Text(*s),
        V::Bool(Some(b)) => Cell::Int(b as i64),
        _ => Cell::Null,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the query took longer than {0:?} and was stopped")]
    Timeout(Duration),
    #[error("the query was refused by the database's read authorizer")]
    NotAuthorized,
    /// The database could not run the statement. Its message can quote values: for logs only.
    #[error("the database refused the statement (code {code})")]
    Refused { code: String, message: String },
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// What an executeSql query may read: physical table → physical columns. Installed as a SQLite
/// authorizer, behind the checker, so that a checker bug still cannot read other columns.
#[derive(Clone, Debug, Default)]
pub struct ReadAllowList {
    pub tables: HashMap<String, HashSet<String>>,
}

pub struct Limits {
    pub timeout: Duration,
}

/// Runs a query and decodes every row.
pub async fn fetch(db: &Db, st: &Statement, kinds: &[Kind], limits: &Limits, allow: Option<&ReadAllowList>) -> Result<Vec<Vec<Cell>>, ReadError> {
    match db.backend {
        Backend::Sqlite => sqlite::fetch(db.sqlite_reader.as_ref().expect("sqlite reader"), st, kinds, limits, allow).await,
        Backend::Postgres => postgres_fetch(db, st, kinds, limits).await,
    }
}

/// A filtered count and one page of rows, read in one transaction: one snapshot, so the total
/// and the page agree, and on SQLite one trip to a reader thread. The page is read only when
/// `wanted(total)` says so (a request for every row is refused when too many match).
pub async fn count_and_page(
    db: &Db,
    count: &Statement,
    page: Option<(Statement, Vec<Kind>)>,
    wanted: impl FnOnce(i64) -> bool + Send + 'static,
    limits: &Limits,
) -> Result<(i64, Vec<Vec<Cell>>), ReadError> {
    match db.backend {
        Backend::Sqlite => sqlite::count_and_page(db.sqlite_reader.as_ref().expect("sqlite reader"), count, page, wanted, limits).await,
        Backend::Postgres => {
            let mut tx = postgres_read_tx(db, limits, true).await?;
            let total = first_int(&postgres_rows(&mut tx, count, &[Kind::Int], limits).await?);
            let rows = match page {
                Some((st, kinds)) if wanted(total) => postgres_rows(&mut tx, &st, &kinds, limits).await?,
                _ => Vec::new(),
            };
            tx.commit().await?;
            Ok((total, rows))
        }
    }
}

/// The integer in the first cell of the first row (a count), or 0.
pub fn first_int(rows: &[Vec<Cell>]) -> i64 {
    match rows.first().and_then(|r| r.first()) {
        Some(Cell::Int(n)) => *n,
        _ => 0,
    }
}

async fn postgres_read_tx<'a>(db: &'a Db, limits: &Limits, snapshot: bool) -> Result<sqlx::Transaction<'a, sqlx::Any>, ReadError> {
    let mut tx = db.pool.begin().await?;
    let mode = if snapshot { "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" } else { "SET TRANSACTION READ ONLY" };
    sqlx::query(mode).execute(&mut *tx).await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {}", limits.timeout.as_millis().max(1))).execute(&mut *tx).await?;
    Ok(tx)
}

async fn postgres_fetch(db: &Db, st: &Statement, kinds: &[Kind], limits: &Limits) -> Result<Vec<Vec<Cell>>, ReadError> {
    let mut tx = postgres_read_tx(db, limits, false).await?;
    let rows = postgres_rows(&mut tx, st, kinds, limits).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn postgres_rows(tx: &mut sqlx::Transaction<'_, sqlx::Any>, st: &Statement, kinds: &[Kind], limits: &Limits) -> Result<Vec<Vec<Cell>>, ReadError> {
    let mut q = sqlx::query(&st.sql);
    for a in &st.args {
        q = match a {
            Cell::Null => q.bind(Option::<String>::None),
            Cell::Int(i) => q.bind(*i),
            Cell::Float(f) => q.bind(*f),
            Cell::Text(s) => q.bind(s.clone()),
        };
    }
    let rows = match q.fetch_all(&mut **tx).await {
        Ok(r) => r,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("57014") => return Err(ReadError::Timeout(limits.timeout)),
        Err(sqlx::Error::Database(e)) => {
            return Err(ReadError::Refused { code: e.code().map(|c| c.into_owned()).unwrap_or_default(), message: e.message().to_string() })
        }
        Err(e) => return Err(e.into()),
    };
    rows.iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| {
                    let raw = r.try_get_raw(i)?;
                    if raw.is_null() {
                        return Ok(Cell::Null);
                    }
                    let kind = kinds.get(i).copied().unwrap_or(Kind::Dynamic);
                    let ty = raw.type_info().name().to_ascii_uppercase();
                    decode_any(r, i, kind, &ty)
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
        .collect::<Result<_, _>>()
        .map_err(ReadError::from)
}

fn decode_any(r: &sqlx::any::AnyRow, i: usize, kind: Kind, ty: &str) -> Result<Cell, sqlx::Error> {
    if ty.contains("BOOL") {
        return Ok(Cell::Int(r.try_get::<bool, _>(i)? as i64));
    }
    let int_like = ty.contains("INT");
    let float_like = ty.contains("FLOAT") || ty.contains("DOUBLE") || ty.contains("REAL");
    Ok(match kind {
        Kind::Int if int_like => Cell::Int(r.try_get(i)?),
        Kind::Float if float_like => Cell::Float(r.try_get(i)?),
        Kind::Float if int_like => Cell::Float(r.try_get::<i64, _>(i)? as f64),
        _ if int_like => Cell::Int(r.try_get(i)?),
        _ if float_like => Cell::Float(r.try_get(i)?),
        _ => Cell::Text(r.try_get(i)?),
    })
}

mod sqlite {
    use super::*;
    use crate::db::SqliteReadPool;
    use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
    use rusqlite::types::{Value, ValueRef};
    use rusqlite::ErrorCode;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    pub async fn fetch(
        pool: &Arc<SqliteReadPool>,
        st: &Statement,
        kinds: &[Kind],
        limits: &Limits,
        allow: Option<&ReadAllowList>,
    ) -> Result<Vec<Vec<Cell>>, ReadError> {
        let (st, kinds, allow) = (st.clone(), kinds.to_vec(), allow.cloned());
        let timeout = limits.timeout;
        let denied = Arc::new(AtomicBool::new(false));
        let seen_denied = denied.clone();
        let result = pool
            .run(move |conn| {
                time_limit(conn, timeout);
                match allow {
                    Some(allow) => {
                        // executeSql: prepared fresh under the authorizer (never from the cache,
                        // where a statement would have been authorized for someone else), which
                        // stays installed while it runs: a schema change makes SQLite prepare
                        // the statement again, and that is checked too. `run` removes it.
                        conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&allow, &denied, ctx)));
                        let mut stmt = conn.prepare(&st.sql)?;
                        read_all(&mut stmt, &st.args, &kinds)
                    }
                    None => {
                        let mut stmt = conn.prepare_cached(&st.sql)?;
                        read_all(&mut stmt, &st.args, &kinds)
                    }
                }
            })
            .await;
        match result {
            Ok(rows) => Ok(rows),
            Err(_) if seen_denied.load(Ordering::SeqCst) => Err(ReadError::NotAuthorized),
            Err(e) => Err(read_error(e, timeout)),
        }
    }

    pub async fn count_and_page(
        pool: &Arc<SqliteReadPool>,
        count: &Statement,
        page: Option<(Statement, Vec<Kind>)>,
        wanted: impl FnOnce(i64) -> bool + Send + 'static,
        limits: &Limits,
    ) -> Result<(i64, Vec<Vec<Cell>>), ReadError> {
        let count = count.clone();
        let timeout = limits.timeout;
        pool.run(move |conn| {
            time_limit(conn, timeout);
            // one read transaction: the count and the page see the same snapshot
            let tx = conn.unchecked_transaction()?;
            let total = {
                let mut stmt = tx.prepare_cached(&count.sql)?;
                first_int(&read_all(&mut stmt, &count.args, &[Kind::Int])?)
            };
            let rows = match page {
                Some((st, kinds)) if wanted(total) => {
                    let mut stmt = tx.prepare_cached(&st.sql)?;
                    read_all(&mut stmt, &st.args, &kinds)?
                }
                _ => Vec::new(),
            };
            tx.commit()?;
            Ok((total, rows))
        })
        .await
        .map_err(|e| read_error(e, timeout))
    }

    /// Interrupts a statement that runs past its time.
    fn time_limit(conn: &rusqlite::Connection, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        // true = interrupt
        conn.progress_handler(1000, Some(move || Instant::now() >= deadline));
    }

    fn read_error(e: rusqlite::Error, timeout: Duration) -> ReadError {
        match e {
            rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::OperationInterrupted => ReadError::Timeout(timeout),
            rusqlite::Error::SqliteFailure(e, message) => {
                ReadError::Refused { code: e.extended_code.to_string(), message: message.unwrap_or_else(|| e.to_string()) }
            }
            e => ReadError::Sqlite(e),
        }
    }

    fn read_all(stmt: &mut rusqlite::Statement<'_>, args: &[Cell], kinds: &[Kind]) -> rusqlite::Result<Vec<Vec<Cell>>> {
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter().map(to_value)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                let kind = kinds.get(i).copied().unwrap_or(Kind::Dynamic);
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) if kind == Kind::Float => Cell::Float(v as f64),
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Float(v),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Cell::Text("(binary)".into()),
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn to_value(c: &Cell) -> Value {
        match c {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Integer(*i),
            Cell::Float(f) => Value::Real(*f),
            Cell::Text(s) => Value::Text(s.clone()),
        }
    }

    /// Allows SELECT, reads of allowed (table, column) pairs, and functions; denies everything
    /// else (writes, PRAGMA, ATTACH, reading any other table or column).
    fn authorize(allow: &ReadAllowList, denied: &AtomicBool, ctx: AuthContext<'_>) -> Authorization {
        let ok = match ctx.action {
            AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => true,
            // an empty column name: the table is read without naming a column (count(*))
            AuthAction::Read { table_name, column_name } => {
                allow.tables.get(table_name).is_some_and(|cols| column_name.is_empty() || cols.contains(column_name))
            }
            _ => false,
        };
        if ok {
            Authorization::Allow
        } else {
            denied.store(true, Ordering::SeqCst);
            Authorization::Deny
        }
    }
}
