//! Spawns Attest on a random port with a fresh database (SQLite in a temp dir by default;
//! PostgreSQL when ATTEST_TEST_BACKEND=postgres: a new database per test, dropped after) and
//! a manual clock; plus a tiny browser that keeps the session cookie.

use std::path::PathBuf;
use std::sync::Arc;

use app::types::{PhiLevel, Role};
use attest::clock::ManualClock;
use attest::startup::{Application, Options};
use attest::state::{AppState, ServerConfig};
use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// When ATTEST_TEST_LOG_DIR is set (scripts/test sets it), everything the servers log, at trace
/// level, goes to files there, and every secret the tests handle (passwords, session ids, keys)
/// is noted beside them: scripts/check-secrets.py then proves no secret reached a log.
pub fn log_dir() -> Option<PathBuf> {
    std::env::var_os("ATTEST_TEST_LOG_DIR").map(PathBuf::from)
}

fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(dir) = log_dir() else { return };
        std::fs::create_dir_all(&dir).unwrap();
        let backend = if backend_is_postgres() { "postgres" } else { "sqlite" };
        let file = std::fs::File::create(dir.join(format!("rust-tests-{backend}-{}.log", std::process::id()))).unwrap();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(attest::cli::log_filter("trace"))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    });
}

/// Notes a secret for the log check.
pub fn record_secret(secret: &str) {
    if let Some(dir) = log_dir() {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("secrets-rust-{}.txt", std::process::id()))).unwrap();
        writeln!(f, "{secret}").unwrap();
    }
}

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub state: AppState,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    pg_database: Option<String>,
}

pub fn backend_is_postgres() -> bool {
    std::env::var("ATTEST_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// ../shared/data/synthea, beside the checkout.
pub fn synthea_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/synthea");
    assert!(dir.join("patients.csv").exists(), "the Synthea extract is expected at {}", dir.display());
    dir
}

pub fn synthea_map() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/synthea/phi.toml")
}

async fn fresh_database(dir: &std::path::Path) -> (String, Option<String>) {
    if backend_is_postgres() {
        use sqlx::Executor;
        let name = format!("attest_test_{}", attest::auth::token::public_id(12).to_lowercase());
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN_URL).await.expect("PostgreSQL on 127.0.0.1:5432");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
        (format!("postgres://postgres@127.0.0.1:5432/{name}"), Some(name))
    } else {
        (format!("sqlite://{}", dir.join("attest.db").display()), None)
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ServerConfig::default()).await
    }

    pub async fn spawn_with(mut config: ServerConfig) -> TestApp {
        init_logging();
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_database) = fresh_database(dir.path()).await;
        config.data_dir = dir.path().join("data");
        let clock = ManualClock::new();
        let app = Application::build(Options {
            addr: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            config,
            clock: Arc::new(clock.clone()),
            seed_demo: false,
            site_root: "target/site".into(),
        })
        .await
        .expect("app builds");
        let base = format!("http://{}", app.addr);
        let state = app.state.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp { base, clock, state, database_url, dir, pg_database }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a user and returns its password.
    pub async fn user(&self, email: &str, role: Role, max_phi: PhiLevel) -> String {
        let password = format!("pw-{}-{}", attest::auth::token::public_id(16), "long enough");
        record_secret(&password);
        attest::cli::user::create(&self.state.db, email, "Test User", role, max_phi, &SecretString::from(password.clone()))
            .await
            .expect("user created");
        password
    }

    pub async fn import_synthea(&self) {
        let (plans, _) = attest::data::import::prepare(&synthea_dir(), "synthea", &synthea_map()).expect("plan");
        attest::data::import::import(&self.state.db, self.clock_now(), "synthea", &plans, &mut |_| {}).await.expect("import");
    }

    pub fn clock_now(&self) -> i64 {
        use attest::clock::Clock;
        self.clock.now_ms()
    }

    pub async fn set_settings(&self, patch: Value) {
        let admin_email = format!("settings-admin-{}@example.org", attest::auth::token::public_id(6).to_lowercase());
        let pw = self.user(&admin_email, Role::Admin, PhiLevel::NotPhi).await;
        let mut b = Browser::new(self);
        b.login(&admin_email, &pw).await;
        let (s, body) = b.send(Method::PUT, "/api/admin/settings", Some(patch)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }

    /// Audit events, oldest first, as JSON objects (raw columns).
    pub async fn audit_events(&self) -> Vec<Value> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT seq, event_type, outcome, user_email, session_hash, declaration_id, activity, irb, phi_level, key_id, \
             study, dataset, columns_json, phi_columns_json, filter_text, sort_text, row_count, \
             COALESCE(participants_json, (SELECT list_json FROM audit_participant_lists WHERE hash = audit_events.participants_list)), client_ip, \
             user_agent, detail_json, impersonator_email, sql_text FROM audit_events ORDER BY seq",
        )
        .fetch_all(&self.state.db.pool)
        .await
        .unwrap();
        rows.iter()
            .map(|r| {
                let parse = |i: usize| r.try_get::<Option<String>, _>(i).unwrap().map(|s| serde_json::from_str::<Value>(&s).unwrap());
                json!({
                    "seq": r.try_get::<i64, _>(0).unwrap(), "event_type": r.try_get::<String, _>(1).unwrap(),
                    "outcome": r.try_get::<String, _>(2).unwrap(), "user_email": r.try_get::<Option<String>, _>(3).unwrap(),
                    "session_hash": r.try_get::<Option<String>, _>(4).unwrap(), "declaration_id": r.try_get::<Option<i64>, _>(5).unwrap(),
                    "activity": r.try_get::<Option<String>, _>(6).unwrap(), "irb": r.try_get::<Option<String>, _>(7).unwrap(),
                    "phi_level": r.try_get::<Option<String>, _>(8).unwrap(), "key_id": r.try_get::<Option<String>, _>(9).unwrap(),
                    "study": r.try_get::<Option<String>, _>(10).unwrap(), "dataset": r.try_get::<Option<String>, _>(11).unwrap(),
                    "columns": parse(12), "phi_columns": parse(13), "filter": r.try_get::<Option<String>, _>(14).unwrap(),
                    "sort": r.try_get::<Option<String>, _>(15).unwrap(), "row_count": r.try_get::<Option<i64>, _>(16).unwrap(),
                    "participants": parse(17), "client_ip": r.try_get::<Option<String>, _>(18).unwrap(),
                    "user_agent": r.try_get::<Option<String>, _>(19).unwrap(), "detail": parse(20),
                    "impersonator_email": r.try_get::<Option<String>, _>(21).unwrap(), "sql": r.try_get::<Option<String>, _>(22).unwrap(),
                })
            })
            .collect()
    }

    pub async fn events_of(&self, t: &str) -> Vec<Value> {
        self.audit_events().await.into_iter().filter(|e| e["event_type"] == t).collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            // Drop runs inside the test's runtime: do the clean-up on a thread and runtime of its
            // own (WITH (FORCE) ends the test's own connections, which that runtime would close).
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    use sqlx::Executor;
                    if let Ok(mut admin) = <sqlx::PgConnection as sqlx::Connection>::connect(PG_ADMIN_URL).await {
                        let _ = admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// A browser, for the JSON API: keeps the session cookie, sends same-origin headers.
#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    /// When set, requests carry this session key instead of the cookie.
    pub key: Option<String>,
    pub user_agent: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookie: None,
            key: None,
            user_agent: "attest-tests/1.0".into(),
        }
    }

    pub fn with_key(app: &TestApp, key: &str) -> Browser {
        let mut b = Browser::new(app);
        b.key = Some(key.to_string());
        b
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("user-agent", HeaderValue::from_str(&self.user_agent).unwrap());
        if let Some(k) = &self.key {
            h.insert("apikey", HeaderValue::from_str(k).unwrap());
        } else if let Some(c) = &self.cookie {
            h.insert(COOKIE, HeaderValue::from_str(&format!("__Host-attest_session={c}")).unwrap());
        }
        h
    }

    pub fn take_cookie(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let s = v.to_str().unwrap();
            if let Some(rest) = s.strip_prefix("__Host-attest_session=") {
                let value = rest.split(';').next().unwrap();
                if !value.is_empty() {
                    record_secret(value);
                }
                self.cookie = if value.is_empty() { None } else { Some(value.to_string()) };
            }
        }
    }

    pub async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self.client.request(method, format!("{}{}", self.base, path)).headers(self.headers());
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let res = self.raw(method, path, body).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Some(k) = v.get("key").and_then(|k| k.as_str()) {
            record_secret(k);
        }
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Value {
        let res = self.raw(Method::POST, "/api/login", Some(json!({ "email": email, "password": password }))).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        self.take_cookie(res.headers());
        res.json().await.unwrap()
    }

    /// Declares and accepts the terms.
    pub async fn declare(&self, activity: &str, irb: Option<&str>, phi: &str) -> Value {
        let (s, terms) = self.post("/api/declaration", json!({ "activity": activity, "irb": irb, "phi_level": phi })).await;
        assert_eq!(s, StatusCode::OK, "{terms}");
        let (s, session) = self.post("/api/declaration/accept", json!({ "terms_hash": terms["terms_hash"] })).await;
        assert_eq!(s, StatusCode::OK, "{session}");
        session
    }

    /// Signs in a new user of the given level and declares research at `phi`.
    pub async fn ready(app: &TestApp, email: &str, max: PhiLevel, phi: PhiLevel) -> Browser {
        let pw = app.user(email, Role::Researcher, max).await;
        let mut b = Browser::new(app);
        b.login(email, &pw).await;
        b.declare("research-operations", Some("IRB-2026-001"), phi.as_str()).await;
        b
    }

    /// LabKey selectRows with form parameters (with the CSRF double submit when the request
    /// rides on the cookie, as LabKey's JavaScript client does).
    pub async fn select_rows(&self, study: &str, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut headers = self.headers();
        if self.key.is_none() {
            let who = self.client.get(format!("{}/login-whoami.api", self.base)).headers(self.headers()).send().await.unwrap();
            let token = who.json::<Value>().await.unwrap()["CSRF"].as_str().unwrap().to_string();
            let cookie = format!("{}; X-LABKEY-CSRF={token}", headers.get(COOKIE).map(|c| c.to_str().unwrap().to_string()).unwrap_or_default());
            headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
            headers.insert("x-labkey-csrf", HeaderValue::from_str(&token).unwrap());
        }
        let res = self
            .client
            .post(format!("{}/{study}/query-selectRows.api", self.base))
            .headers(headers)
            .form(params)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The browser grid (the Leptos server function).
    pub async fn grid(&self, study: &str, dataset: &str, extra: Value) -> (StatusCode, Value) {
        let mut grid = json!({ "study": study, "dataset": dataset, "offset": 0, "limit": 100, "sort": [], "filters": [] });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                grid[k] = v;
            }
        }
        self.send(Method::POST, "/rpc/grid", Some(json!({ "grid": grid }))).await
    }
}
