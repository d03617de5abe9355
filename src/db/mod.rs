//! The database: one `AnyPool` for the domain (sessions, keys, audit, catalog...) with the
//! same SQL on SQLite and PostgreSQL (`$n` placeholders, integer times), migrations per
//! backend, and the pool that reads dataset rows (see `data::reader`).

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AnyPool, ConnectOptions};
use std::sync::Arc;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

mod sqlite_read;
pub use sqlite_read::SqliteReadPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL (use sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
    #[error("cannot create the directory for the database file {0}: {1}")]
    CreateDir(String, std::io::Error),
    #[error("an in-memory SQLite database cannot be used: the server opens the database from several connections; give a file, e.g. sqlite://data/attest.db")]
    InMemory,
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The database handle shared by the whole server.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Read-only connections to the SQLite file, for dataset rows (where the query reader
    /// installs an authorizer and a progress handler) and audit verification.
    pub sqlite_reader: Option<Arc<SqliteReadPool>>,
    /// The SQLite file (none on PostgreSQL): the audit writer opens its own connection to it.
    pub sqlite_file: Option<PathBuf>,
    /// The catalog as last read (see `data::catalog::current`).
    pub catalog_cache: Arc<std::sync::Mutex<Option<Arc<crate::data::catalog::Catalog>>>>,
}

impl Db {
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = quiet(AnyConnectOptions::from_str(url)?);
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db { pool, backend: Backend::Postgres, sqlite_reader: None, sqlite_file: None, catalog_cache: Default::default() })
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Db, DbError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(DbError::InMemory);
        }
        let opts = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        let file = opts.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| DbError::CreateDir(dir.display().to_string(), e))?;
            }
        }
        // WAL and the pragmas are set once here through a typed connection; the Any pool then
        // opens the same file. synchronous=FULL: a commit (an audit event) is on disk when
        // it returns.
        let setup = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone().journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Full))
            .await?;
        setup.close().await;

        let any_opts = quiet(AnyConnectOptions::from_str(&sqlite_url_for(&file))?);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;")
                        .await?;
                    Ok(())
                })
            })
            .connect_with(any_opts)
            .await?;
        let reader = SqliteReadPool::new(file.clone());
        Ok(Db { pool, backend: Backend::Sqlite, sqlite_reader: Some(reader), sqlite_file: Some(file), catalog_cache: Default::default() })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// SQL for "a transaction that will write": SQLite must take the write lock at BEGIN, or
    /// two writers that read first deadlock into SQLITE_BUSY.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

/// Statements are logged at debug level only (never with their bound values); long imports
/// are not "slow statements" worth a warning.
fn quiet(o: AnyConnectOptions) -> AnyConnectOptions {
    o.log_statements(tracing::log::LevelFilter::Debug).log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(5))
}

fn sqlite_url_for(file: &Path) -> String {
    format!("sqlite://{}", file.display())
}

/// The n-th (1-based) placeholder of a statement with many parameters. SQLite looks named
/// parameters (`$n`) up by a linear scan, so thousands of them in one statement cost O(n²);
/// anonymous `?` do not. PostgreSQL needs `$n`.
pub fn placeholder(conn: &sqlx::AnyConnection, n: usize) -> String {
    if conn.backend_name() == "SQLite" {
        "?".to_string()
    } else {
        format!("${n}")
    }
}

/// Default database: `./data/attest.db`.
pub fn default_url() -> String {
    "sqlite://data/attest.db".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_sqlite_database_is_refused_with_a_reason() {
        for url in ["sqlite::memory:", "sqlite://:memory:", "sqlite://file:x?mode=memory"] {
            let err = Db::connect(url).await.err().unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(matches!(err, DbError::InMemory), "{url}: {err}");
            assert!(err.to_string().contains("give a file"), "{err}");
        }
    }
}
