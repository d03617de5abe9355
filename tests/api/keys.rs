//! Session keys: created from a declared browser session, usable by scripts as that session,
//! and dead at their next use whenever the session ends, however it ends.

use app::types::{PhiLevel, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Browser, TestApp};

const MIN: i64 = 60;

async fn app_with_keys() -> TestApp {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    app
}

async fn new_key(b: &Browser) -> (String, String) {
    let (s, k) = b.post("/api/session-keys", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    (k["key"].as_str().unwrap().to_string(), k["id"].as_str().unwrap().to_string())
}

/// whoami with the key: the status.
async fn key_status(app: &TestApp, key: &str) -> StatusCode {
    Browser::with_key(app, key).get("/synthea/login-whoami.api").await.0
}

async fn select_with_key(app: &TestApp, key: &str) -> (StatusCode, Value) {
    Browser::with_key(app, key).select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.maxRows", "3")]).await
}

#[tokio::test]
async fn keys_are_off_by_default_and_then_404_as_in_labkey() {
    let app = TestApp::spawn().await;
    let b = Browser::ready(&app, "k0@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    let (s, e) = b.post("/api/session-keys", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::NOT_FOUND, Some("session_keys_disabled")));
    assert!(e["message"].as_str().unwrap().contains("turned off"));
}

#[tokio::test]
async fn a_key_is_a_recognisable_checksummed_secret_stored_only_as_its_hash() {
    let app = app_with_keys().await;
    let b = Browser::ready(&app, "k1@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (key, id) = new_key(&b).await;
    assert!(key.starts_with("attest_sk_") && key.len() == 59, "{key}");
    assert_eq!(attest::auth::key::parse(&key), Ok(()));
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT key_hash FROM session_keys WHERE id = $1").bind(&id).fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(stored, attest::auth::token::sha256_hex(&key));
    // the list shows ids and times, never the key
    let (_, list) = b.get("/api/session-keys").await;
    assert_eq!(list[0]["id"], id.as_str());
    assert!(!list.to_string().contains(&key));
    assert!(!serde_json::to_string(&app.audit_events().await).unwrap().contains(&key));
    let created = app.events_of("key_created").await;
    assert_eq!(created[0]["key_id"], id.as_str());
}

#[tokio::test]
async fn the_three_ways_to_send_a_key_and_never_in_the_url() {
    let app = app_with_keys().await;
    let b = Browser::ready(&app, "k2@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (key, _) = new_key(&b).await;
    let c = reqwest::Client::new();
    let url = app.url("/synthea/login-whoami.api");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("apikey:{key}"));
    for req in [
        c.get(&url).header("apikey", &key),
        c.get(&url).header("authorization", format!("Basic {basic}")),
        c.get(&url).header("authorization", format!("Bearer {key}")),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let who: Value = res.json().await.unwrap();
        assert_eq!(who["email"], "k2@example.org");
        assert_eq!(who["CSRF"].as_str().unwrap().len(), 64);
    }
    // Basic with any other user name is not a password login
    let other = base64::engine::general_purpose::STANDARD.encode("k2@example.org:whatever");
    let res = c.get(&url).header("authorization", format!("Basic {other}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // a key in a query string is refused, valid or not, before anything else
    // (anywhere in a value, in any case: the adversarial review got " KEY" and "Bearer KEY" through)
    for q in [
        format!("apikey={key}"),
        format!("x={key}"),
        "apikey=nonsense".to_string(),
        "token=abc".to_string(),
        "key=abc".to_string(),
        format!("x=%20{key}"),
        format!("x=+{key}"),
        format!("x=Bearer%20{key}"),
        format!("x={}", key.to_uppercase()),
        format!("{key}=1"),
    ] {
        let res = c.get(format!("{url}?{q}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        let body = res.text().await.unwrap();
        assert!(!body.contains(&key));
    }
    // nor in the path
    let res = c.get(app.url(&format!("/{key}/query-selectRows.api"))).header("apikey", &key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!res.text().await.unwrap().contains(&key));
    // a key pasted into a parameter whose error echoes it comes back redacted
    let kb = Browser::with_key(&app, &key);
    for param in ["query.columns", "query.queryName", "query.sort"] {
        let mut params = vec![("schemaName", "study"), (param, key.as_str())];
        if param != "query.queryName" {
            params.push(("query.queryName", "patients"));
        }
        let (s, e) = kb.select_rows("synthea", &params).await;
        assert!(s.is_client_error(), "{param}");
        let text = e.to_string();
        assert!(!text.contains(&key) && !text.contains(&key[..40]), "{param}: {text}");
    }
    let (s, e) = kb.post("/synthea/query-executeSql.api", serde_json::json!({ "schemaName": "study", "sql": format!("SELECT {key} FROM patients") })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!e.to_string().contains(&key[..40]), "{e}");
    assert!(e["exception"].as_str().unwrap().contains("attest_sk_[redacted]"), "{e}");
}

#[tokio::test]
async fn a_request_with_a_key_runs_as_its_session_and_is_audited_with_the_key_id() {
    let app = app_with_keys().await;
    let b = Browser::ready(&app, "k3@example.org", PhiLevel::Full, PhiLevel::Limited).await;
    let (key, id) = new_key(&b).await;
    let (s, res) = select_with_key(&app, &key).await;
    assert_eq!(s, StatusCode::OK, "{res}");
    // the declared level applies: SSN is not in the default columns, and naming it is refused
    assert!(res["rows"][0].get("SSN").is_none());
    let kb = Browser::with_key(&app, &key);
    let (s, e) = kb.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", "SSN")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["success"], false);
    assert!(e["exception"].as_str().unwrap().contains("Restricted PHI"));
    let ev = app.events_of("data_access").await.pop().unwrap();
    let (_, session) = b.get("/api/session").await;
    assert_eq!(ev["key_id"], id.as_str());
    assert_eq!(ev["declaration_id"], session["declaration"]["id"]);
    assert_eq!(ev["session_hash"], attest::auth::token::sha256_hex(b.cookie.as_ref().unwrap()));
    // keys cannot make keys, declare or accept terms
    assert_eq!(kb.post("/api/session-keys", json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(kb.post("/api/declaration", json!({ "activity": "quality-improvement", "phi_level": "full" })).await.0, StatusCode::FORBIDDEN);
    // the key list shows when it was used
    let (_, list) = b.get("/api/session-keys").await;
    assert!(list[0]["last_used_at"].is_string());
}

/// Signs in a fresh user, declares, creates a key and checks it works.
async fn live_key(app: &TestApp, email: &str) -> (Browser, String, String) {
    let pw = app.user(email, Role::Researcher, PhiLevel::Limited).await;
    let mut b = Browser::new(app);
    b.login(email, &pw).await;
    b.declare("quality-improvement", None, "limited").await;
    let (key, id) = new_key(&b).await;
    assert_eq!(key_status(app, &key).await, StatusCode::OK);
    (b, key, id)
}

async fn assert_dead(app: &TestApp, key: &str) {
    let (s, e) = select_with_key(app, key).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    assert_eq!(e["success"], false);
    assert_eq!(e["exceptionClass"], "org.labkey.api.view.UnauthorizedException");
    assert!(e["exception"].as_str().unwrap().contains("session key is not valid"));
    assert!(!e.to_string().contains(key));
    assert_eq!(key_status(app, key).await, StatusCode::UNAUTHORIZED);
    let refused = app.events_of("key_refused").await;
    let last = refused.last().unwrap();
    assert_eq!(last["outcome"], "refused");
    let prefix = &attest::auth::token::sha256_hex(key)[..12];
    assert_eq!(last["detail"]["key_sha256_prefix"], prefix);
}

#[tokio::test]
async fn a_key_dies_when_its_session_signs_out_and_signing_in_again_does_not_revive_it() {
    let app = app_with_keys().await;
    let pw = app.user("out@example.org", Role::Researcher, PhiLevel::Limited).await;
    let mut b = Browser::new(&app);
    b.login("out@example.org", &pw).await;
    b.declare("quality-improvement", None, "limited").await;
    let (key, _) = new_key(&b).await;
    assert_eq!(select_with_key(&app, &key).await.0, StatusCode::OK);
    assert_eq!(b.raw(Method::POST, "/api/logout", None).await.status(), StatusCode::OK);
    assert_dead(&app, &key).await;
    let mut again = Browser::new(&app);
    again.login("out@example.org", &pw).await;
    again.declare("quality-improvement", None, "limited").await;
    assert_dead(&app, &key).await;
}

#[tokio::test]
async fn a_key_dies_at_the_idle_timeout_and_key_use_counts_as_activity() {
    let app = app_with_keys().await;
    let (_b, key, _) = live_key(&app, "idlekey@example.org").await;
    // used every 20 minutes for an hour: the session stays alive (key use refreshes idle time)
    for _ in 0..3 {
        app.clock.advance_secs(20 * MIN);
        assert_eq!(select_with_key(&app, &key).await.0, StatusCode::OK);
    }
    app.clock.advance_secs(31 * MIN);
    assert_dead(&app, &key).await;
    assert_eq!(app.events_of("session_timeout").await[0]["detail"]["reason"], "idle-timeout");
}

#[tokio::test]
async fn when_key_use_does_not_refresh_idle_time_the_browser_must_stay_active() {
    let app = app_with_keys().await;
    app.set_settings(json!({ "key_use_refreshes_idle": false })).await;
    let (_b, key, _) = live_key(&app, "norefresh@example.org").await;
    app.clock.advance_secs(20 * MIN);
    assert_eq!(select_with_key(&app, &key).await.0, StatusCode::OK);
    app.clock.advance_secs(11 * MIN);
    assert_dead(&app, &key).await;
}

#[tokio::test]
async fn a_key_dies_at_the_absolute_timeout_however_busy_it_is() {
    let app = app_with_keys().await;
    let (_b, key, _) = live_key(&app, "abskey@example.org").await;
    // used every 30 minutes (less a second) for 12 hours (less 24 seconds): alive
    for _ in 0..24 {
        app.clock.advance_secs(30 * MIN - 1);
        assert_eq!(key_status(&app, &key).await, StatusCode::OK);
    }
    // 30 seconds later the session is 12 hours old: the absolute limit, whatever the activity
    app.clock.advance_secs(30);
    assert_dead(&app, &key).await;
    assert_eq!(app.events_of("session_timeout").await[0]["detail"]["reason"], "absolute-timeout");
}

#[tokio::test]
async fn a_key_dies_when_an_admin_ends_its_session() {
    let app = app_with_keys().await;
    let (b, key, _) = live_key(&app, "ended@example.org").await;
    let admin_pw = app.user("boss@example.org", Role::Admin, PhiLevel::NotPhi).await;
    let mut admin = Browser::new(&app);
    admin.login("boss@example.org", &admin_pw).await;
    let (_, sessions) = admin.get("/api/admin/sessions").await;
    let mine = sessions.as_array().unwrap().iter().find(|s| s["user_email"] == "ended@example.org").unwrap().clone();
    assert_eq!(mine["keys"], 1);
    assert_eq!(mine["phi_level"], "limited");
    let id = mine["id"].as_str().unwrap();
    assert_eq!(admin.send(Method::DELETE, &format!("/api/admin/sessions/{id}"), None).await.0, StatusCode::OK);
    assert_dead(&app, &key).await;
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    let ev = app.events_of("session_ended").await.pop().unwrap();
    assert_eq!(ev["user_email"], "boss@example.org");
    assert_eq!(ev["detail"]["reason"], "ended-by-admin");
}

#[tokio::test]
async fn a_key_dies_when_the_password_changes_or_the_account_is_disabled() {
    let app = app_with_keys().await;
    let admin_pw = app.user("chief@example.org", Role::Admin, PhiLevel::NotPhi).await;
    let mut admin = Browser::new(&app);
    admin.login("chief@example.org", &admin_pw).await;

    // an admin resets the password
    let (_b1, key1, _) = live_key(&app, "reset@example.org").await;
    let (_, users) = admin.get("/api/admin/users?search=reset@").await;
    let uid = users[0]["id"].as_i64().unwrap();
    let (s, _) = admin.send(Method::PATCH, &format!("/api/admin/users/{uid}"), Some(json!({ "password": "a brand new passphrase for reset" }))).await;
    assert_eq!(s, StatusCode::OK);
    assert_dead(&app, &key1).await;

    // the account is disabled
    let (_b3, key3, _) = live_key(&app, "gone@example.org").await;
    let (_, users) = admin.get("/api/admin/users?search=gone@").await;
    let gid = users[0]["id"].as_i64().unwrap();
    let (s, u) = admin.send(Method::PATCH, &format!("/api/admin/users/{gid}"), Some(json!({ "disabled": true }))).await;
    assert_eq!((s, u["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    assert_dead(&app, &key3).await;
    let dis = app.events_of("user_disabled").await;
    assert_eq!(dis[0]["detail"]["sessions_ended"], 1);
}

#[tokio::test]
async fn changing_ones_own_password_ends_every_session_and_its_keys() {
    let app = app_with_keys().await;
    let pw = app.user("mine@example.org", Role::Researcher, PhiLevel::Limited).await;
    let mut b = Browser::new(&app);
    b.login("mine@example.org", &pw).await;
    b.declare("quality-improvement", None, "limited").await;
    let (key, _) = new_key(&b).await;
    let (s, body) = b.post("/api/account/password", json!({ "current_password": pw, "new_password": "my fresh and long passphrase" })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_dead(&app, &key).await;
    assert_eq!(b.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
    let mut again = Browser::new(&app);
    again.login("mine@example.org", "my fresh and long passphrase").await;
}

#[tokio::test]
async fn two_sessions_of_one_user_are_independent() {
    let app = app_with_keys().await;
    let pw = app.user("two@example.org", Role::Researcher, PhiLevel::Full).await;
    let mut a = Browser::new(&app);
    a.login("two@example.org", &pw).await;
    a.declare("quality-improvement", None, "limited").await;
    let (key_a, _) = new_key(&a).await;
    let mut b = Browser::new(&app);
    b.login("two@example.org", &pw).await;
    b.declare("research-operations", Some("IRB-B"), "full").await;
    let (key_b, _) = new_key(&b).await;

    // A's key runs under A's declaration even though the user signed in elsewhere since
    let (s, _) = select_with_key(&app, &key_a).await;
    assert_eq!(s, StatusCode::OK);
    let ev = app.events_of("data_access").await.pop().unwrap();
    let (_, sa) = a.get("/api/session").await;
    assert_eq!(ev["declaration_id"], sa["declaration"]["id"]);
    assert_eq!(ev["phi_level"], "limited");
    assert_eq!(ev["activity"], "quality-improvement");
    assert!(ev["irb"].is_null());
    let kb = Browser::with_key(&app, &key_a);
    assert_eq!(kb.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", "FIRST")]).await.0, StatusCode::FORBIDDEN);
    let kb2 = Browser::with_key(&app, &key_b);
    assert_eq!(kb2.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", "FIRST")]).await.0, StatusCode::OK);

    // A signs out: A's key dies, B's lives
    a.raw(Method::POST, "/api/logout", None).await;
    assert_dead(&app, &key_a).await;
    assert_eq!(select_with_key(&app, &key_b).await.0, StatusCode::OK);
}

#[tokio::test]
async fn turning_keys_off_stops_new_keys_but_issued_keys_live_on() {
    let app = app_with_keys().await;
    let (b, key, _) = live_key(&app, "offlater@example.org").await;
    app.set_settings(json!({ "allow_session_keys": false })).await;
    assert_eq!(b.post("/api/session-keys", json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(select_with_key(&app, &key).await.0, StatusCode::OK);
    let changes = app.events_of("settings_changed").await;
    assert_eq!(changes.last().unwrap()["detail"]["allow_session_keys"], json!({ "old": true, "new": false }));
}

#[tokio::test]
async fn revoking_one_key_leaves_the_others_and_the_session() {
    let app = app_with_keys().await;
    let (b, k1, id1) = live_key(&app, "revoke@example.org").await;
    let (k2, _) = new_key(&b).await;
    assert_eq!(b.send(Method::DELETE, &format!("/api/session-keys/{id1}"), None).await.0, StatusCode::OK);
    assert_dead(&app, &k1).await;
    assert_eq!(key_status(&app, &k2).await, StatusCode::OK);
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    let (_, list) = b.get("/api/session-keys").await;
    assert_eq!(list.as_array().unwrap().iter().filter(|k| k["revoked"] == true).count(), 1);
    assert_eq!(b.send(Method::DELETE, &format!("/api/session-keys/{id1}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.events_of("key_revoked").await[0]["key_id"], id1.as_str());
}

#[tokio::test]
async fn keys_need_a_complete_declaration_and_are_refused_while_impersonating() {
    let app = app_with_keys().await;
    let pw = app.user("early-key@example.org", Role::Researcher, PhiLevel::Limited).await;
    let mut b = Browser::new(&app);
    b.login("early-key@example.org", &pw).await;
    let (s, e) = b.post("/api/session-keys", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("declaration_required")));

    let admin_pw = app.user("imp@example.org", Role::Admin, PhiLevel::Restricted).await;
    let mut admin = Browser::new(&app);
    admin.login("imp@example.org", &admin_pw).await;
    admin.declare("quality-improvement", None, "limited").await;
    let (_, users) = admin.get("/api/admin/users?search=early-key").await;
    let target = users[0]["id"].as_i64().unwrap();
    let (s, v) = admin.post("/api/admin/impersonate", json!({ "user_id": target })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["email"], "early-key@example.org");
    assert_eq!(v["impersonator"]["email"], "imp@example.org");
    assert_eq!(v["needs"], "declaration");
    admin.declare("quality-improvement", None, "limited").await;
    let (s, e) = admin.post("/api/session-keys", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("impersonating")));
}

#[tokio::test]
async fn a_mistyped_key_is_refused_before_any_lookup() {
    let app = app_with_keys().await;
    let (_b, key, _) = live_key(&app, "typo@example.org").await;
    let mut chars: Vec<char> = key.chars().collect();
    chars[20] = if chars[20] == 'x' { 'y' } else { 'x' };
    let typo: String = chars.into_iter().collect();
    let (s, e) = Browser::with_key(&app, &typo).get("/synthea/login-whoami.api").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(e["exception"].as_str().unwrap().contains("checksum"), "{e}");
    let refused = app.events_of("key_refused").await.pop().unwrap();
    assert_eq!(refused["detail"]["reason"], "malformed");
}

#[tokio::test]
async fn a_key_cannot_sign_its_session_out() {
    let app = app_with_keys().await;
    let (b, key, _) = live_key(&app, "nologout@example.org").await;
    let (s, e) = Browser::with_key(&app, &key).post("/api/logout", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("browser_only")));
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    assert_eq!(key_status(&app, &key).await, StatusCode::OK);
    // and its use on the JSON API is recorded as key use
    let used = app.events_of("key_used").await;
    assert!(used.iter().any(|e| e["detail"]["path"] == "/api/logout"));
}

/// The browser's server functions (/rpc) take the session cookie only: a key there would act
/// without the key-use record the JSON and LabKey APIs write (found by the adversarial review).
#[tokio::test]
async fn server_functions_do_not_take_a_session_key() {
    let app = app_with_keys().await;
    let b = Browser::ready(&app, "k-rpc@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (key, _) = new_key(&b).await;
    let kb = Browser::with_key(&app, &key);
    let (s, v) = kb.send(reqwest::Method::POST, "/rpc/run_sql", Some(serde_json::json!({ "study": "synthea", "sql": "SELECT GENDER FROM patients" }))).await;
    assert!(s.is_client_error(), "{s} {v}");
    assert!(v["rows"].is_null(), "{v}");
    let (s, v) = kb.send(reqwest::Method::POST, "/rpc/list_keys", Some(serde_json::json!({}))).await;
    assert!(s.is_client_error(), "{s} {v}");
    // the browser's own cookie still works there
    let (s, v) = b.send(reqwest::Method::POST, "/rpc/run_sql", Some(serde_json::json!({ "study": "synthea", "sql": "SELECT GENDER FROM patients" }))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
