//! Crash consistency: the server killed with SIGKILL under key-authenticated load. After a
//! restart every 200 response the client received has its audit event, the chain verifies, and
//! no session outlives its timeout.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::types::PhiLevel;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::helpers::{Browser, TestApp};
use crate::multi_node::spawn_node;

#[tokio::test]
async fn killed_under_load_every_200_has_its_event_and_no_session_outlives_its_timeout() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true, "idle_timeout_mins": 1 })).await;
    let b = Browser::ready(&app, "crash@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    let key = k["key"].as_str().unwrap().to_string();
    let key_id = k["id"].as_str().unwrap().to_string();

    let mut node = spawn_node(&app.database_url, &app.dir.path().join("crash-node"));
    let ok = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (client, ok, key, base) = (client.clone(), ok.clone(), key.clone(), node.base.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..100_000 {
                let offset = ((w * 97 + i) % 5000).to_string();
                let r = client
                    .post(format!("{base}/synthea/query-selectRows.api"))
                    .header("apikey", &key)
                    .form(&[("schemaName", "study"), ("query.queryName", "encounters"), ("query.maxRows", "2"), ("query.offset", &offset)])
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::OK => {
                        // a 200 counts only once its body arrived whole
                        if r.bytes().await.is_ok() {
                            ok.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let oks = ok.load(Ordering::SeqCst);
    assert!(oks > 20, "the load ran ({oks} responses)");

    let events: i64 = sqlx::query("SELECT COUNT(*) FROM audit_events WHERE event_type = 'data_access' AND key_id = $1")
        .bind(&key_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(events as usize >= oks, "{events} events for {oks} responses received");
    let out = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["--database-url", &app.database_url, "audit", "verify", "--no-local-checkpoints"])
        .env("ATTEST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // restarted, the session is alive within its idle time...
    let node2 = spawn_node(&app.database_url, &app.dir.path().join("crash-node"));
    let mut kb = Browser::with_key(&app, &key);
    kb.base = node2.base.clone();
    assert_eq!(kb.get("/synthea/login-whoami.api").await.0, StatusCode::OK);
    // ...and not a moment past it: the restart gave it no extra life
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(kb.get("/synthea/login-whoami.api").await.0, StatusCode::UNAUTHORIZED);
}
