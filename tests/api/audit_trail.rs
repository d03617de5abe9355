//! What a grid load writes to the audit log, and that data does not leave when it cannot.

use std::collections::BTreeSet;

use app::types::PhiLevel;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::helpers::{backend_is_postgres, Browser, TestApp};

#[tokio::test]
async fn a_grid_load_writes_one_event_with_the_declaration() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let mut b = Browser::ready(&app, "aud1@example.org", PhiLevel::Full, PhiLevel::Limited).await;
    b.user_agent = "Mozilla/5.0 (audit test)".into();
    let before = app.events_of("data_access").await.len();
    let filters = json!([{ "column": "GENDER", "op": "eq", "value": "F" }]);
    let (s, page) = b.grid("synthea", "patients", json!({ "filters": filters, "sort": [{ "column": "BIRTHDATE", "descending": true }], "limit": 10 })).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let events = app.events_of("data_access").await;
    assert_eq!(events.len(), before + 1, "exactly one event per page");
    let e = events.last().unwrap();
    let (_, session) = b.get("/api/session").await;
    assert_eq!(e["user_email"], "aud1@example.org");
    assert_eq!(e["declaration_id"], session["declaration"]["id"]);
    assert_eq!(e["activity"], "research-operations");
    assert_eq!(e["irb"], "IRB-2026-001");
    assert_eq!(e["phi_level"], "limited");
    assert_eq!(e["study"], "synthea");
    assert_eq!(e["dataset"], "patients");
    assert_eq!(e["filter"], "GENDER~eq=F");
    assert_eq!(e["sort"], "-BIRTHDATE");
    assert_eq!(e["row_count"], 10);
    assert_eq!(e["client_ip"], "127.0.0.1");
    assert_eq!(e["user_agent"], "Mozilla/5.0 (audit test)");
    assert!(e["key_id"].is_null());
    // the session by the hash of its id, never the id
    let cookie = b.cookie.clone().unwrap();
    assert_eq!(e["session_hash"], attest::auth::token::sha256_hex(&cookie));
    assert!(!serde_json::to_string(&app.audit_events().await).unwrap().contains(&cookie));
    // columns returned, and the PHI columns among them (and in the sort)
    let returned: Vec<String> = page["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(e["columns"], json!(returned));
    let phi: BTreeSet<&str> = e["phi_columns"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(phi, BTreeSet::from(["BIRTHDATE", "DEATHDATE", "CITY", "COUNTY", "FIPS", "ZIP"]));
    // the distinct participants returned
    let id_col = returned.iter().position(|c| c == "Id").unwrap();
    let mut shown: Vec<String> = page["rows"].as_array().unwrap().iter().map(|r| r[id_col].as_str().unwrap().to_string()).collect();
    shown.sort();
    shown.dedup();
    let mut logged: Vec<String> = e["participants"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    logged.sort();
    assert_eq!(logged, shown);
}

#[tokio::test]
async fn participants_are_logged_even_when_their_column_is_not_returned() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "aud2@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (s, res) = b
        .select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "encounters"), ("query.columns", "CODE,START"), ("query.maxRows", "5")])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(res["rows"][0].get("PATIENT").is_none());
    let e = app.events_of("data_access").await.pop().unwrap();
    assert!(!e["participants"].as_array().unwrap().is_empty());
    assert_eq!(e["phi_columns"], json!(["START"]));
}

#[tokio::test]
async fn when_the_audit_event_cannot_be_written_no_rows_leave() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "failclosed@example.org", PhiLevel::Restricted, PhiLevel::Restricted).await;
    let (s, _) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!(s, StatusCode::OK);

    // Make every data-access event fail at the database, as a full disk or a broken table would.
    let trigger = if backend_is_postgres() {
        vec![
            "CREATE FUNCTION refuse_data_access() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.event_type = 'data_access') EXECUTE FUNCTION refuse_data_access()",
        ]
    } else {
        vec!["CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.event_type = 'data_access' BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
    };
    for t in trigger {
        sqlx::query(t).execute(&app.state.db.pool).await.unwrap();
    }
    let csv_ssn = "999-49-3983";
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(e["error"], "audit_unavailable");
    assert!(!e.to_string().contains(csv_ssn));
    let (s, e) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", "Id,SSN")]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let text = e.to_string();
    assert!(!text.contains(csv_ssn) && !text.contains("\"rows\""), "{text}");
    assert!(!text.contains("disk full"), "internal causes are not sent: {text}");
}

#[tokio::test]
async fn audit_tables_refuse_update_and_delete() {
    let app = TestApp::spawn().await;
    let _ = Browser::ready(&app, "append@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    let upd = sqlx::query("UPDATE audit_events SET user_email = 'someone-else' WHERE seq = 1").execute(&app.state.db.pool).await;
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = sqlx::query("DELETE FROM audit_events").execute(&app.state.db.pool).await;
    assert!(del.unwrap_err().to_string().contains("append-only"));
}

/// The group-commit writer (its own thread and connection on SQLite) and admin changes, which
/// append their event inside their own transaction, write one chain with no gap, no repeated
/// sequence number and no broken link, however their commits interleave.
#[tokio::test]
async fn concurrent_data_accesses_and_admin_changes_make_one_unbroken_chain() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let mut readers = Vec::new();
    for i in 0..3 {
        readers.push(Browser::ready(&app, &format!("chain{i}@example.org"), PhiLevel::Limited, PhiLevel::Limited).await);
    }
    let before = app.events_of("data_access").await.len();
    let loads = readers.iter().flat_map(|b| (0..15).map(move |n| async move {
        b.grid("synthea", "patients", json!({ "limit": 1 + n })).await.0
    }));
    let changes = (0..6).map(|i| app.set_settings(json!({ "lockout_attempts": 20 + i })));
    let (statuses, _) = tokio::join!(futures::future::join_all(loads), futures::future::join_all(changes));
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(app.events_of("data_access").await.len(), before + 45);
    assert_eq!(app.events_of("settings_changed").await.len(), 6);

    let row = sqlx::query("SELECT MIN(seq), MAX(seq), COUNT(*), COUNT(DISTINCT seq) FROM audit_events").fetch_one(&app.state.db.pool).await.unwrap();
    let (min, max, n, distinct): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((min, max, distinct), (1, n, n), "sequence numbers 1..{n} with no gap or repeat");
    let report = attest::audit::verify::verify_db(&app.state.db, &[]).await.unwrap();
    assert!(report.problem.is_none(), "{:?}", report.problem);
}
