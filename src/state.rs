//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::AuditLog;
use crate::auth::password::Hasher;
use crate::clock::SharedClock;
use crate::db::Db;

/// Server options that are not site settings (those live in the database).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Take the client IP from X-Forwarded-For (only behind a trusted proxy).
    pub trust_proxy: bool,
    /// Longest a dataset query may run.
    pub query_timeout: Duration,
    /// Where signing keys and checkpoints live.
    pub data_dir: PathBuf,
    /// Whether the server is reached over HTTPS (adds HSTS).
    pub tls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { trust_proxy: false, query_timeout: Duration::from_secs(10), data_dir: PathBuf::from("data"), tls: false }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub audit: AuditLog,
    pub clock: SharedClock,
    pub hasher: Hasher,
    pub config: Arc<ServerConfig>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
