//! The admin console through the HTTP API: each setting's effect, users, terms, IRB,
//! sessions and impersonation.

use app::types::{PhiLevel, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Browser, TestApp};

const MIN: i64 = 60;

async fn admin(app: &TestApp, email: &str) -> Browser {
    let pw = app.user(email, Role::Admin, PhiLevel::Restricted).await;
    let mut b = Browser::new(app);
    b.login(email, &pw).await;
    b
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&app.state.db.pool).await.unwrap().get(0)
}

async fn try_login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    Browser::new(app).post("/api/login", json!({ "email": email, "password": password })).await
}

#[tokio::test]
async fn lockout_after_n_failures_within_the_window_for_the_set_time() {
    let app = TestApp::spawn().await;
    let pw = app.user("lock@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    // 9 failures, then the window passes: no lockout
    for _ in 0..9 {
        assert_eq!(try_login(&app, "lock@example.org", "wrong").await.0, StatusCode::UNAUTHORIZED);
    }
    app.clock.advance_secs(16 * MIN);
    assert_eq!(try_login(&app, "lock@example.org", "wrong").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(try_login(&app, "lock@example.org", &pw).await.0, StatusCode::OK);
    // 10 failures within 15 minutes: locked for 15 minutes, even with the right password
    for _ in 0..10 {
        app.clock.advance_secs(30);
        try_login(&app, "lock@example.org", "wrong").await;
    }
    let (s, locked) = try_login(&app, "lock@example.org", &pw).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // the answer does not tell a locked account from an unknown one or a wrong password
    let (_, unknown) = try_login(&app, "nobody-here@example.org", &pw).await;
    assert_eq!(locked, unknown);
    app.clock.advance_secs(14 * MIN);
    assert_eq!(try_login(&app, "lock@example.org", &pw).await.0, StatusCode::UNAUTHORIZED);
    app.clock.advance_secs(2 * MIN);
    assert_eq!(try_login(&app, "lock@example.org", &pw).await.0, StatusCode::OK);
    let failed = app.events_of("sign_in_failed").await;
    assert!(failed.iter().any(|e| e["detail"]["reason"] == "account locked"));

    // the admin's own settings apply: 3 failures lock for 60 minutes
    let a = admin(&app, "lockadmin@example.org").await;
    let (s, _) = a.send(Method::PUT, "/api/admin/settings", Some(json!({ "lockout_attempts": 3, "lockout_duration_mins": 60 }))).await;
    assert_eq!(s, StatusCode::OK);
    for _ in 0..3 {
        try_login(&app, "lock@example.org", "wrong").await;
    }
    app.clock.advance_secs(59 * MIN);
    assert_eq!(try_login(&app, "lock@example.org", &pw).await.0, StatusCode::UNAUTHORIZED);
    app.clock.advance_secs(2 * MIN);
    assert_eq!(try_login(&app, "lock@example.org", &pw).await.0, StatusCode::OK);
    // more than 100 attempts an hour is never allowed
    let a = admin(&app, "lockadmin2@example.org").await;
    let (s, e) = a.send(Method::PUT, "/api/admin/settings", Some(json!({ "lockout_attempts": 60, "lockout_duration_mins": 5 }))).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("lockout_attempts")));
    assert!(e["message"].as_str().unwrap().contains("at most 100"), "{e}");
}

#[tokio::test]
async fn an_expired_account_cannot_sign_in_and_the_last_day_counts() {
    let app = TestApp::spawn().await;
    let pw = app.user("temp@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let a = admin(&app, "expadmin@example.org").await;
    let id = user_id(&app, "temp@example.org").await;
    let today = attest::clock::date_of_ms(app.clock_now());
    let yesterday = attest::clock::date_of_ms(app.clock_now() - 86_400_000);
    let (s, _) = a.send(Method::PATCH, &format!("/api/admin/users/{id}"), Some(json!({ "expires_on": today }))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(try_login(&app, "temp@example.org", &pw).await.0, StatusCode::OK);
    a.send(Method::PATCH, &format!("/api/admin/users/{id}"), Some(json!({ "expires_on": yesterday }))).await;
    let (s, expired) = try_login(&app, "temp@example.org", &pw).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(expired, try_login(&app, "nobody@example.org", "x").await.1, "an expired account looks like any failure");
    let (s, e) = a.send(Method::PATCH, &format!("/api/admin/users/{id}"), Some(json!({ "expires_on": "next week" }))).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("expires_on")));
}

#[tokio::test]
async fn accounts_unused_for_the_inactivity_period_are_disabled() {
    let app = TestApp::spawn().await;
    let pw = app.user("sleepy@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let a = admin(&app, "inactadmin@example.org").await;
    assert_eq!(a.send(Method::PUT, "/api/admin/settings", Some(json!({ "inactivity_disable_days": 30 }))).await.0, StatusCode::OK);
    assert_eq!(try_login(&app, "sleepy@example.org", &pw).await.0, StatusCode::OK);
    app.clock.advance_secs(29 * 24 * 60 * MIN);
    assert_eq!(try_login(&app, "sleepy@example.org", &pw).await.0, StatusCode::OK);
    app.clock.advance_secs(31 * 24 * 60 * MIN);
    assert_eq!(try_login(&app, "sleepy@example.org", &pw).await.0, StatusCode::UNAUTHORIZED);
    let disabled = app.events_of("user_disabled").await;
    assert_eq!(disabled[0]["detail"]["reason"], "inactive");
}

#[tokio::test]
async fn the_password_policy_applies_to_new_users_and_resets() {
    let app = TestApp::spawn().await;
    let a = admin(&app, "policy@example.org").await;
    let new = |pw: &str| json!({ "email": "p1.longer.name@example.org", "name": "P One", "role": "researcher", "max_phi": "limited", "password": pw });
    for (pw, needle) in [
        ("fourteen-chars", "at least 15 characters"),
        ("passwordpassword", "commonly used"),
        ("p1.longer.name@example.org", "e-mail address or name"),
    ] {
        let (s, e) = a.post("/api/admin/users", new(pw)).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")), "{pw}");
        assert!(e["message"].as_str().unwrap().contains(needle), "{pw}: {e}");
    }
    let long = "x".repeat(20) + &"correct horse battery staple ".repeat(3);
    let (s, u) = a.post("/api/admin/users", new(&long)).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(try_login(&app, "p1.longer.name@example.org", &long).await.0, StatusCode::OK);
    let (s, _) = a.post("/api/admin/users", new(&long)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // a longer minimum applies at once
    a.send(Method::PUT, "/api/admin/settings", Some(json!({ "password_min_length": 20 }))).await;
    let id = u["id"].as_i64().unwrap();
    let (s, e) = a.send(Method::PATCH, &format!("/api/admin/users/{id}"), Some(json!({ "password": "only-sixteen-chr" }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("at least 20"));
    let created = app.events_of("user_created").await;
    assert!(created.iter().any(|e| e["detail"]["email"] == "p1.longer.name@example.org" && e["user_email"] == "policy@example.org"));
    assert!(!serde_json::to_string(&app.audit_events().await).unwrap().contains(&long), "no password in the audit log");
}

#[tokio::test]
async fn with_the_irb_registry_research_needs_a_registered_unexpired_protocol() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let a = admin(&app, "irbadmin@example.org").await;
    a.send(Method::PUT, "/api/admin/settings", Some(json!({ "irb_registry_enabled": true, "idle_timeout_mins": 1440, "absolute_timeout_mins": 43200 }))).await;
    let pw = app.user("irb-r@example.org", Role::Researcher, PhiLevel::Limited).await;
    let mut b = Browser::new(&app);
    b.login("irb-r@example.org", &pw).await;
    let (s, e) = b.post("/api/declaration", json!({ "activity": "research-waiver", "irb": "IRB-77", "phi_level": "limited" })).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("irb")));
    assert!(e["message"].as_str().unwrap().contains("not in the registry"));
    let today = attest::clock::date_of_ms(app.clock_now());
    let (s, p) = a.post("/api/admin/irb", json!({ "number": "IRB-77", "title": "Outcomes", "investigator": "Dr. Who", "approval_end": today })).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    b.declare("research-waiver", Some("IRB-77"), "limited").await;
    assert_eq!(b.grid("synthea", "patients", json!({})).await.0, StatusCode::OK);
    // non-research activities need no protocol
    // ...and when the approval ends, the session declared under it stops getting data
    let now = app.clock_now();
    let to_midnight = 86_400_000 - now.rem_euclid(86_400_000);
    app.clock.advance_ms(to_midnight + 60_000);
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("irb_not_valid")), "{e}");
    assert!(e["message"].as_str().unwrap().contains(&format!("ended on {today}")));
    assert!(app.events_of("irb_changed").await.len() == 1);
}

#[tokio::test]
async fn new_terms_stop_a_live_key_until_accepted_in_the_browser() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let b = Browser::ready(&app, "terms-key@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    let kb = Browser::with_key(&app, k["key"].as_str().unwrap());
    let q = [("schemaName", "study"), ("query.queryName", "patients"), ("query.maxRows", "1")];
    assert_eq!(kb.select_rows("synthea", &q).await.0, StatusCode::OK);

    let a = admin(&app, "terms-admin@example.org").await;
    let (_, doc) = a.get("/api/admin/terms").await;
    // publishing text that does not change what this declaration sees: nothing to re-accept
    let mut same = doc["paragraphs"].as_array().unwrap().clone();
    same.push(json!({ "ordinal": 500, "body": "Only for public health reporting.", "activities": ["public-health-reporting"], "phi_levels": ["*"] }));
    assert_eq!(a.post("/api/admin/terms", json!({ "paragraphs": same })).await.0, StatusCode::CREATED);
    assert_eq!(kb.select_rows("synthea", &q).await.0, StatusCode::OK);
    // text that does change it: the key stops until the user accepts in the browser
    let mut changed = same.clone();
    changed.push(json!({ "ordinal": 1, "body": "New rule for everyone.", "activities": ["*"], "phi_levels": ["*"] }));
    let (s, published) = a.post("/api/admin/terms", json!({ "paragraphs": changed })).await;
    assert_eq!((s, published["version"].as_i64()), (StatusCode::CREATED, Some(3)));
    let (s, e) = kb.select_rows("synthea", &q).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(e["exception"].as_str().unwrap().contains("terms of use have changed"), "{e}");
    let (_, sv) = b.get("/api/session").await;
    assert_eq!(sv["needs"], "terms");
    let (_, terms) = b.get("/api/declaration/terms").await;
    assert!(terms["text"].as_str().unwrap().starts_with("1. New rule for everyone."));
    let (s, _) = b.post("/api/declaration/accept", json!({ "terms_hash": terms["terms_hash"] })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kb.select_rows("synthea", &q).await.0, StatusCode::OK);
    assert_eq!(app.events_of("terms_published").await.len(), 2);
}

#[tokio::test]
async fn impersonation_records_both_identities_and_stopping_restores_the_admin() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let target_pw = app.user("target@example.org", Role::Researcher, PhiLevel::Limited).await;
    let _ = target_pw;
    let mut a = admin(&app, "imp-admin@example.org").await;
    a.declare("quality-improvement", None, "full").await;
    let target = user_id(&app, "target@example.org").await;
    let (s, v) = a.post("/api/admin/impersonate", json!({ "user_id": target })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["needs"], "declaration");
    // the wizard is required, within the target's limits
    let (_, opts) = a.get("/api/declaration/options").await;
    assert_eq!(opts["max_phi"], "limited");
    let (s, _) = a.post("/api/declaration", json!({ "activity": "quality-improvement", "phi_level": "full" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    a.declare("quality-improvement", None, "limited").await;
    // admin powers are the target's now
    assert_eq!(a.get("/api/admin/users").await.0, StatusCode::FORBIDDEN);
    assert_eq!(a.grid("synthea", "patients", json!({ "limit": 2 })).await.0, StatusCode::OK);
    let ev = app.events_of("data_access").await.pop().unwrap();
    assert_eq!(ev["user_email"], "target@example.org");
    assert_eq!(ev["impersonator_email"], "imp-admin@example.org");
    assert_eq!(ev["phi_level"], "limited");
    let (s, v) = a.send(Method::DELETE, "/api/admin/impersonate", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["email"], "imp-admin@example.org");
    assert!(v["impersonator"].is_null());
    assert_eq!(v["declaration"]["phi_level"], "full", "the admin's own declaration is back");
    assert_eq!(a.get("/api/admin/users").await.0, StatusCode::OK);
    let start = app.events_of("impersonation_start").await;
    assert_eq!((start[0]["user_email"].as_str(), start[0]["impersonator_email"].as_str()), (Some("target@example.org"), Some("imp-admin@example.org")));
    assert_eq!(app.events_of("impersonation_stop").await.len(), 1);
    a.declare("quality-improvement", None, "not-phi").await;
    let _ = &mut a;
}

#[tokio::test]
async fn users_see_and_end_their_own_sessions_and_only_theirs() {
    let app = TestApp::spawn().await;
    let pw = app.user("many@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut one = Browser::new(&app);
    one.login("many@example.org", &pw).await;
    let mut two = Browser::new(&app);
    two.user_agent = "second-browser".into();
    two.login("many@example.org", &pw).await;
    let other_pw = app.user("other@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut other = Browser::new(&app);
    other.login("other@example.org", &other_pw).await;
    let (s, list) = one.get("/api/account/sessions").await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let second = list.iter().find(|s| s["user_agent"] == "second-browser").unwrap()["id"].as_str().unwrap().to_string();
    // another user's session cannot be ended from here
    let (_, theirs) = other.get("/api/account/sessions").await;
    let their_id = theirs[0]["id"].as_str().unwrap();
    assert_eq!(one.send(Method::DELETE, &format!("/api/account/sessions/{their_id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/session").await.0, StatusCode::OK);
    assert_eq!(one.send(Method::DELETE, &format!("/api/account/sessions/{second}"), None).await.0, StatusCode::OK);
    assert_eq!(two.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(one.get("/api/session").await.0, StatusCode::OK);
    assert_eq!(app.events_of("session_ended").await[0]["detail"]["reason"], "ended-by-user");
}

#[tokio::test]
async fn settings_changes_are_audited_with_old_and_new_values_and_refused_out_of_range() {
    let app = TestApp::spawn().await;
    let a = admin(&app, "settings@example.org").await;
    let (s, v) = a.send(Method::PUT, "/api/admin/settings", Some(json!({ "idle_timeout_mins": 15, "absolute_timeout_mins": 480 }))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((v["idle_timeout_mins"].as_i64(), v["absolute_timeout_mins"].as_i64()), (Some(15), Some(480)));
    let ev = app.events_of("settings_changed").await.pop().unwrap();
    assert_eq!(ev["detail"]["idle_timeout_mins"], json!({ "old": 30, "new": 15 }));
    assert_eq!(ev["detail"]["absolute_timeout_mins"], json!({ "old": 720, "new": 480 }));
    for (patch, field) in [
        (json!({ "idle_timeout_mins": 0 }), "idle_timeout_mins"),
        (json!({ "absolute_timeout_mins": 10, "idle_timeout_mins": 20 }), "absolute_timeout_mins"),
        (json!({ "password_min_length": 7 }), "password_min_length"),
        (json!({ "inactivity_disable_days": -1 }), "inactivity_disable_days"),
    ] {
        let (s, e) = a.send(Method::PUT, "/api/admin/settings", Some(patch.clone())).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{patch}");
    }
    let (s, _) = a.send(Method::PUT, "/api/admin/settings", Some(json!({ "no_such_setting": 1 }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // the new idle timeout applies at once
    let pw = app.user("short-idle@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("short-idle@example.org", &pw).await;
    app.clock.advance_secs(16 * MIN);
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    // researchers cannot change settings
    let researcher = Browser::ready(&app, "not-admin@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    assert_eq!(researcher.send(Method::PUT, "/api/admin/settings", Some(json!({ "allow_session_keys": true }))).await.0, StatusCode::FORBIDDEN);
}

/// Server-rendered forms come with their submit button disabled, enabled once the page is
/// hydrated (Playwright clicks them then): a form sent before the wasm (and, on a lazy page, its
/// chunk) is live would post natively to the page's URL and lose what was typed.
#[tokio::test]
async fn server_rendered_submit_buttons_wait_for_hydration() {
    let app = TestApp::spawn().await;
    let b = admin(&app, "hydrate-admin@example.org").await;
    b.declare("research-operations", Some("IRB-2026-001"), "restricted").await;
    for (path, button) in [("/admin/users", "create-user"), ("/admin/settings", "save-settings"), ("/admin/terms", "publish-terms")] {
        let res = b.raw(reqwest::Method::GET, path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        let at = html.find(&format!("id=\"{button}\"")).unwrap_or_else(|| panic!("{path}: no #{button} in {}", &html[html.find("<main").unwrap_or(0)..]));
        let tag_start = html[..at].rfind("<button").unwrap();
        let tag = &html[tag_start..at + html[at..].find('>').unwrap()];
        assert!(tag.contains("disabled"), "{path}: {tag}");
    }
}
