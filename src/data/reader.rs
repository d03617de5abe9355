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

async fn postgres_fetch(db: &Db, st: &Statement, kinds: &[Kind], limits: &Limits) -> Result<Vec<Vec<Cell>>, ReadError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {}", limits.timeout.as_millis().max(1))).execute(&mut *tx).await?;
    let mut q = sqlx::query(&st.sql);
    for a in &st.args {
        q = match a {
            Cell::Null => q.bind(Option::<String>::None),
            Cell::Int(i) => q.bind(*i),
            Cell::Float(f) => q.bind(*f),
            Cell::Text(s) => q.bind(s.clone()),
        };
    }
    let rows = match q.fetch_all(&mut *tx).await {
        Ok(r) => r,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("57014") => return Err(ReadError::Timeout(limits.timeout)),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
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
    use sqlx::sqlite::{SqliteArguments, SqliteRow};
    use sqlx::{Arguments, SqlitePool};
    use std::ffi::{c_char, c_int, c_void, CStr};
    use std::sync::atomic::{AtomicBool, Ordering};

    pub async fn fetch(
        pool: &SqlitePool,
        st: &Statement,
        kinds: &[Kind],
        limits: &Limits,
        allow: Option<&ReadAllowList>,
    ) -> Result<Vec<Vec<Cell>>, ReadError> {
        let mut conn = pool.acquire().await?;
        let deadline = Instant::now() + limits.timeout;
        // Boxed so its address is stable while SQLite holds it.
        let allow_box: Option<Box<AuthorizerState>> =
            allow.map(|a| Box::new(AuthorizerState { allow: a.clone(), denied: AtomicBool::new(false) }));
        {
            let mut h = conn.lock_handle().await?;
            h.set_progress_handler(1000, move || Instant::now() < deadline);
            if let Some(state) = &allow_box {
                let ptr = &**state as *const AuthorizerState as *mut c_void;
                // SAFETY: the handle is valid while locked; `state` outlives the query (the
                // authorizer is removed below before `allow_box` is dropped).
                unsafe {
                    libsqlite3_sys::sqlite3_set_authorizer(h.as_raw_handle().as_ptr(), Some(authorize), ptr);
                }
            }
        }
        let mut args = SqliteArguments::default();
        for a in &st.args {
            let r = match a {
                Cell::Null => args.add(Option::<String>::None),
                Cell::Int(i) => args.add(*i),
                Cell::Float(f) => args.add(*f),
                Cell::Text(s) => args.add(s.clone()),
            };
            r.map_err(sqlx::Error::Encode)?;
        }
        let result = sqlx::query_with(&st.sql, args).persistent(false).fetch_all(&mut *conn).await;
        let denied = allow_box.as_ref().is_some_and(|s| s.denied.load(Ordering::SeqCst));
        {
            let mut h = conn.lock_handle().await?;
            h.remove_progress_handler();
            if allow_box.is_some() {
                // SAFETY: as above; clearing the authorizer before the state is freed.
                unsafe {
                    libsqlite3_sys::sqlite3_set_authorizer(h.as_raw_handle().as_ptr(), None, std::ptr::null_mut());
                }
            }
        }
        drop(allow_box);
        let rows = match result {
            Ok(r) => r,
            Err(_) if denied => return Err(ReadError::NotAuthorized),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("9") || Instant::now() >= deadline => {
                let _ = e;
                return Err(ReadError::Timeout(limits.timeout));
            }
            Err(e) => return Err(e.into()),
        };
        rows.iter().map(|r| decode_row(r, kinds)).collect::<Result<_, _>>().map_err(ReadError::from)
    }

    fn decode_row(r: &SqliteRow, kinds: &[Kind]) -> Result<Vec<Cell>, sqlx::Error> {
        (0..r.columns().len())
            .map(|i| {
                let raw = r.try_get_raw(i)?;
                if raw.is_null() {
                    return Ok(Cell::Null);
                }
                let ty = raw.type_info().name().to_string();
                let kind = kinds.get(i).copied().unwrap_or(Kind::Dynamic);
                Ok(match (kind, ty.as_str()) {
                    (Kind::Float, "INTEGER") => Cell::Float(r.try_get::<i64, _>(i)? as f64),
                    (_, "INTEGER") => Cell::Int(r.try_get(i)?),
                    (_, "REAL") => Cell::Float(r.try_get(i)?),
                    (_, "BLOB") => Cell::Text("(binary)".into()),
                    _ => Cell::Text(r.try_get(i)?),
                })
            })
            .collect()
    }

    struct AuthorizerState {
        allow: ReadAllowList,
        denied: AtomicBool,
    }

    const SQLITE_OK: c_int = 0;
    const SQLITE_DENY: c_int = 1;
    const SQLITE_SELECT: c_int = 21;
    const SQLITE_READ: c_int = 20;
    const SQLITE_FUNCTION: c_int = 31;
    const SQLITE_RECURSIVE: c_int = 33;

    unsafe fn text(p: *const c_char) -> Option<String> {
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    }

    /// Allows SELECT, reads of allowed (table, column) pairs, and functions; denies everything
    /// else (writes, PRAGMA, ATTACH, reading any other table or column).
    unsafe extern "C" fn authorize(
        data: *mut c_void,
        action: c_int,
        a1: *const c_char,
        a2: *const c_char,
        _db: *const c_char,
        _trigger: *const c_char,
    ) -> c_int {
        let state = &*(data as *const AuthorizerState);
        let ok = match action {
            SQLITE_SELECT | SQLITE_FUNCTION | SQLITE_RECURSIVE => true,
            SQLITE_READ => match (text(a1), text(a2)) {
                // an empty column name: the table is read without naming a column (count(*))
                (Some(table), Some(column)) => state.allow.tables.get(&table).is_some_and(|cols| column.is_empty() || cols.contains(&column)),
                _ => false,
            },
            _ => false,
        };
        if ok {
            SQLITE_OK
        } else {
            state.denied.store(true, Ordering::SeqCst);
            SQLITE_DENY
        }
    }
}
