//! Read-only connections to the SQLite file for bulk reads (dataset rows, audit verification).
//!
//! These go through rusqlite rather than sqlx: sqlx's SQLite driver copies every value into its
//! own allocation and hands each row from its worker thread to the async side separately, which
//! at 100 rows × 27 columns a request was most of a request's CPU time. Here a query runs on a
//! blocking thread and reads values in place. At most `MAX_READERS` run at once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

const MAX_READERS: usize = 4;

pub struct SqliteReadPool {
    file: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl SqliteReadPool {
    pub fn new(file: PathBuf) -> Arc<SqliteReadPool> {
        Arc::new(SqliteReadPool { file, idle: Mutex::new(Vec::new()), permits: Semaphore::new(MAX_READERS) })
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(&self.file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Pages are read through a memory map: SQLite drops a connection's page cache whenever
        // another connection has written, and re-reading every page with a system call after
        // each audit commit was a visible part of a request's time.
        conn.pragma_update(None, "mmap_size", 256i64 * 1024 * 1024)?;
        Ok(conn)
    }

    /// Runs `f` with a read-only connection on a blocking thread. Hooks `f` installs
    /// (authorizer, progress handler) are removed before the connection is reused.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> rusqlite::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.expect("the read pool is never closed");
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.idle.lock().expect("read pool lock").pop() {
                Some(c) => c,
                None => pool.open()?,
            };
            let out = f(&conn);
            conn.authorizer(None::<fn(rusqlite::hooks::AuthContext<'_>) -> rusqlite::hooks::Authorization>);
            conn.progress_handler(0, None::<fn() -> bool>);
            pool.idle.lock().expect("read pool lock").push(conn);
            out
        })
        .await
        .expect("a read on the SQLite file panicked")
    }
}
