//! Sessions: sign-out, idle and absolute timeouts (with the injected clock), fixation.

use app::types::{PhiLevel, Role};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Browser, TestApp};

const MIN: i64 = 60;

#[tokio::test]
async fn sign_out_invalidates_the_cookie() {
    let app = TestApp::spawn().await;
    let pw = app.user("sam@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("sam@example.org", &pw).await;
    let cookie = b.cookie.clone();
    let res = b.raw(reqwest::Method::POST, "/api/logout", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("clear-site-data").is_some());
    let cleared = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let mut replay = Browser::new(&app);
    replay.cookie = cookie;
    let (s, e) = replay.get("/api/session").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(e["error"], "unauthenticated");
    assert_eq!(app.events_of("sign_out").await.len(), 1);
}

#[tokio::test]
async fn idle_timeout_ends_the_session_and_activity_keeps_it_alive() {
    let app = TestApp::spawn().await;
    let pw = app.user("idle@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("idle@example.org", &pw).await;

    // activity at 29 minutes keeps it alive for another 30
    app.clock.advance_secs(29 * MIN);
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    app.clock.advance_secs(29 * MIN);
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    // 30 minutes without activity: gone
    app.clock.advance_secs(30 * MIN);
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    // and it stays gone
    app.clock.advance_secs(-60 * MIN);
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    let t = app.events_of("session_timeout").await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["detail"]["reason"], "idle-timeout");
    assert_eq!(t[0]["user_email"], "idle@example.org");
}

#[tokio::test]
async fn absolute_timeout_applies_even_to_an_active_session() {
    let app = TestApp::spawn().await;
    let pw = app.user("abs@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("abs@example.org", &pw).await;
    // stay active every 20 minutes for 11 h 40 min
    for _ in 0..35 {
        app.clock.advance_secs(20 * MIN);
        assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    }
    app.clock.advance_secs(20 * MIN); // 12 h
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    let t = app.events_of("session_timeout").await;
    assert_eq!(t[0]["detail"]["reason"], "absolute-timeout");
}

#[tokio::test]
async fn a_cookie_set_before_sign_in_is_never_accepted_after_it() {
    let app = TestApp::spawn().await;
    let pw = app.user("fix@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let planted = "AttackerChosenValue_AttackerChosenValue_xyz".to_string();
    let mut b = Browser::new(&app);
    b.cookie = Some(planted.clone());
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    b.login("fix@example.org", &pw).await;
    assert_ne!(b.cookie.as_deref(), Some(planted.as_str()));
    let mut attacker = Browser::new(&app);
    attacker.cookie = Some(planted);
    assert_eq!(attacker.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_session_get_401_in_the_api_shape() {
    let app = TestApp::spawn().await;
    let b = Browser::new(&app);
    for path in ["/api/session", "/api/declaration/options", "/api/studies", "/api/session-keys"] {
        let (s, e) = b.get(path).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(e["error"], "unauthenticated", "{path}");
        assert!(e["message"].as_str().unwrap().contains("sign in"), "{path}: {e}");
    }
    let (s, _) = b.post("/api/declaration", json!({ "activity": "qi", "phi_level": "not-phi" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_answers_every_error_as_json() {
    let app = TestApp::spawn().await;
    let pw = app.user("json@example.org", Role::Admin, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("json@example.org", &pw).await;
    for (method, path, status) in [
        (reqwest::Method::DELETE, "/api/session", StatusCode::METHOD_NOT_ALLOWED),
        (reqwest::Method::PATCH, "/api/admin/users/not-a-number", StatusCode::BAD_REQUEST),
        (reqwest::Method::GET, "/api/nothing-here", StatusCode::NOT_FOUND),
    ] {
        let res = b.raw(method, path, Some(json!({}))).await;
        assert_eq!(res.status(), status, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert!(v["error"].is_string() && v["message"].is_string(), "{path}: {v}");
    }
}

#[tokio::test]
async fn lowering_a_users_maximum_phi_level_stops_a_higher_declaration_at_once() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "lowered@example.org", PhiLevel::Full, PhiLevel::Full).await;
    assert_eq!(b.grid("synthea", "patients", json!({})).await.0, StatusCode::OK);
    let admin_pw = app.user("lowerer@example.org", Role::Admin, PhiLevel::NotPhi).await;
    let mut admin = Browser::new(&app);
    admin.login("lowerer@example.org", &admin_pw).await;
    let (_, users) = admin.get("/api/admin/users?search=lowered@").await;
    let id = users[0]["id"].as_i64().unwrap();
    let (s, _) = admin.send(reqwest::Method::PATCH, &format!("/api/admin/users/{id}"), Some(json!({ "max_phi": "limited" }))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("declaration_above_maximum")));
    // declaring again within the new maximum works
    b.declare("research-operations", Some("IRB-2026-001"), "limited").await;
    assert_eq!(b.grid("synthea", "patients", json!({})).await.0, StatusCode::OK);
}

/// A server-function call whose arguments do not parse is the caller's mistake: 400 with the
/// `bad_arguments` code, not 500 (found by the adversarial review).
#[tokio::test]
async fn server_functions_answer_unreadable_arguments_with_400() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "rpc-args@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    for (path, body) in [("/rpc/grid", json!({})), ("/rpc/grid", json!({ "g": { "study": "synthea" } })), ("/rpc/run_sql", json!({ "sql": 5 }))] {
        let (s, v) = b.send(reqwest::Method::POST, path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path} {body}: {v}");
        assert_eq!(v["error"], "bad_arguments", "{v}");
    }
    let res = b.raw(reqwest::Method::POST, "/rpc/impersonate", None).await;
    assert!(res.status().is_client_error(), "{}", res.status());
}
