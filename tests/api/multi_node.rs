//! Several nodes on one PostgreSQL: two server processes sharing nothing but the database.
//! A key made on one node works on the other and dies there at its next request when its
//! session ends; a setting changed on one applies on the other; under load from both, the
//! audit chain stays one valid chain with one data-access event per 200 response.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use app::types::{PhiLevel, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{backend_is_postgres, Browser, TestApp};

pub struct Node {
    child: Child,
    pub base: String,
}

impl Node {
    /// SIGKILL: no shutdown, no flushing, as in a crash.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `attest serve` on a free port and waits until it listens.
pub fn spawn_node(database_url: &str, data_dir: &std::path::Path) -> Node {
    // with a log directory, the node logs at trace level into it (see helpers::log_dir)
    let (level, stderr) = match crate::helpers::log_dir() {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            let name = format!("node-{}-{}.log", std::process::id(), attest::auth::token::public_id(6));
            ("trace", Stdio::from(std::fs::File::create(dir.join(name)).unwrap()))
        }
        None => ("warn", Stdio::null()),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["--database-url", database_url, "serve", "--no-demo", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("ATTEST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("attest starts");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let base = loop {
        let line = lines.next().expect("the node printed its address").expect("utf-8");
        if let Some(addr) = line.strip_prefix("Attest is listening on ") {
            break addr.trim().to_string();
        }
    };
    // keep draining stdout so the node never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    Node { child, base }
}

fn on(node: &Node, b: &Browser) -> Browser {
    let mut c = b.clone();
    c.base = node.base.clone();
    c
}

#[tokio::test]
async fn two_nodes_share_sessions_keys_settings_and_one_audit_chain() {
    if !backend_is_postgres() {
        return; // several nodes are a PostgreSQL deployment
    }
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let admin_pw = app.user("mn-admin@example.org", Role::Admin, PhiLevel::NotPhi).await;
    let pw = app.user("mn@example.org", Role::Researcher, PhiLevel::Limited).await;
    let a = spawn_node(&app.database_url, &app.dir.path().join("node-a"));
    let b = spawn_node(&app.database_url, &app.dir.path().join("node-b"));

    // a setting changed on B applies on A at once
    let mut admin_b = Browser::new(&app);
    admin_b.base = b.base.clone();
    admin_b.login("mn-admin@example.org", &admin_pw).await;
    let mut on_a = Browser::new(&app);
    on_a.base = a.base.clone();
    on_a.login("mn@example.org", &pw).await;
    on_a.declare("quality-improvement", None, "limited").await;
    assert_eq!(on_a.post("/api/session-keys", json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin_b.send(reqwest::Method::PUT, "/api/admin/settings", Some(json!({ "allow_session_keys": true }))).await.0, StatusCode::OK);
    let (s, k) = on_a.post("/api/session-keys", json!({})).await;
    assert_eq!(s, StatusCode::CREATED);
    let key = k["key"].as_str().unwrap().to_string();
    let key_id = k["id"].as_str().unwrap().to_string();

    // a key made on A works on B
    let key_b = on(&b, &Browser::with_key(&app, &key));
    let q = [("schemaName", "study"), ("query.queryName", "encounters"), ("query.maxRows", "5"), ("query.columns", "PATIENT,START")];
    assert_eq!(key_b.select_rows("synthea", &q).await.0, StatusCode::OK);

    // load from both nodes at once: 10,000 key-authenticated requests, 32 at a time
    let ok = Arc::new(AtomicUsize::new(0));
    let other = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for w in 0..32 {
        let (client, ok, other, key) = (client.clone(), ok.clone(), other.clone(), key.clone());
        let base = if w % 2 == 0 { a.base.clone() } else { b.base.clone() };
        tasks.push(tokio::spawn(async move {
            for i in 0..313 {
                let offset = ((w * 313 + i) % 7000).to_string();
                let res = client
                    .post(format!("{base}/synthea/query-selectRows.api"))
                    .header("apikey", &key)
                    .form(&[("schemaName", "study"), ("query.queryName", "encounters"), ("query.maxRows", "3"), ("query.offset", &offset)])
                    .send()
                    .await;
                match res.map(|r| r.status()) {
                    Ok(StatusCode::OK) => ok.fetch_add(1, Ordering::SeqCst),
                    _ => other.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let oks = ok.load(Ordering::SeqCst);
    assert!(oks + other.load(Ordering::SeqCst) >= 10_000);
    assert!(oks >= 9_900, "{oks} of 10,016 answered 200");
    use sqlx::Row;
    let events: i64 = sqlx::query("SELECT COUNT(*) FROM audit_events WHERE event_type = 'data_access' AND key_id = $1")
        .bind(&key_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(events as usize, oks + 1, "one data-access event per 200 response (plus the first check)");
    let out = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["--database-url", &app.database_url, "audit", "verify", "--no-local-checkpoints"])
        .env("ATTEST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // sign out on A: the key gets 401 on B at its very next request
    assert_eq!(on_a.raw(reqwest::Method::POST, "/api/logout", None).await.status(), StatusCode::OK);
    let (s, e) = key_b.select_rows("synthea", &q).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    let _: Value = e;
}

/// A query beyond the limits gets a clear answer and the node keeps answering others.
#[tokio::test]
async fn a_query_past_the_time_limit_is_stopped_and_the_node_stays_responsive() {
    let config = attest::state::ServerConfig { query_timeout: std::time::Duration::from_millis(300), ..Default::default() };
    let app = TestApp::spawn_with(config).await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let b = Browser::ready(&app, "slow@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    let key = k["key"].as_str().unwrap().to_string();
    let heavy = "SELECT count(*) FROM encounters a JOIN encounters b ON a.CODE <> b.CODE JOIN encounters c ON b.CODE <> c.CODE";
    let url = app.url("/synthea/query-executeSql.api");
    let client = reqwest::Client::new();
    let slow = {
        let (client, url, key) = (client.clone(), url.clone(), key.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = client.post(url).header("apikey", key).form(&[("schemaName", "study"), ("sql", heavy)]).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap(), started.elapsed())
        })
    };
    // meanwhile a light request is answered
    let light = client
        .post(&url)
        .header("apikey", &key)
        .form(&[("schemaName", "study"), ("sql", "SELECT count(*) AS n FROM patients")])
        .send()
        .await
        .unwrap();
    assert_eq!(light.status(), StatusCode::OK);
    let (status, body, took) = slow.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["exception"].as_str().unwrap().contains("took too long"), "{body}");
    assert!(took < std::time::Duration::from_secs(10), "stopped near its limit: {took:?}");
    // maxRows beyond the ceiling is refused, not truncated
    let r = client.post(&url).header("apikey", &key).form(&[("schemaName", "study"), ("sql", "SELECT Id FROM encounters"), ("maxRows", "100001")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
