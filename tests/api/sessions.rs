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
