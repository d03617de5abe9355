//! The compliance wizard through the JSON endpoints.

use app::types::{PhiLevel, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Browser, TestApp};

#[tokio::test]
async fn the_wizard_end_to_end_through_the_json_api() {
    let app = TestApp::spawn().await;
    let pw = app.user("ada@example.org", Role::Researcher, PhiLevel::Full).await;
    let mut b = Browser::new(&app);

    let session = b.login("Ada@Example.org", &pw).await;
    assert_eq!(session["user"]["email"], "ada@example.org");
    assert_eq!(session["needs"], "declaration");
    assert!(session["declaration"].is_null());

    let (s, opts) = b.get("/api/declaration/options").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = opts["activities"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["research-waiver", "research-informed", "research-operations", "healthcare-operations", "quality-improvement", "public-health-reporting"]);
    let irb: Vec<bool> = opts["activities"].as_array().unwrap().iter().map(|a| a["requires_irb"].as_bool().unwrap()).collect();
    assert_eq!(irb, [true, true, true, false, false, false]);
    let allowed: Vec<(String, bool)> = opts["phi_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_string(), l["allowed"].as_bool().unwrap()))
        .collect();
    assert_eq!(allowed, [("not-phi".into(), true), ("limited".into(), true), ("full".into(), true), ("restricted".into(), false)]);

    // errors name their field
    let (s, e) = b.post("/api/declaration", json!({ "activity": "research-waiver", "phi_level": "limited" })).await;
    assert_eq!((s, e["error"].as_str(), e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("irb_required"), Some("irb")));
    let (s, e) = b.post("/api/declaration", json!({ "activity": "research-waiver", "irb": "IRB-9", "phi_level": "restricted" })).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("phi_level")));
    let (s, e) = b.post("/api/declaration", json!({ "activity": "browsing", "phi_level": "limited" })).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("activity")));

    // form-encoded bodies work as well as JSON
    let res = b
        .client
        .post(app.url("/api/declaration"))
        .header("cookie", format!("__Host-attest_session={}", b.cookie.clone().unwrap()))
        .form(&[("activity", "research-waiver"), ("irb", "IRB-2026-017"), ("phi_level", "limited")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let terms: serde_json::Value = res.json().await.unwrap();
    let text = terms["text"].as_str().unwrap();
    assert!(text.starts_with("1. "), "numbered: {text}");
    assert!(text.contains("waiver of HIPAA authorization"));
    assert!(text.contains("limited data set"));
    assert_eq!(terms["terms_hash"].as_str().unwrap(), attest::auth::token::sha256_hex(text));

    let (_, s1) = b.get("/api/session").await;
    assert_eq!(s1["needs"], "terms");
    assert_eq!(s1["declaration"]["accepted"], false);

    let (s, e) = b.post("/api/declaration/accept", json!({ "terms_hash": "0".repeat(64) })).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::CONFLICT, Some("terms_changed")));

    let (s, ready) = b.post("/api/declaration/accept", json!({ "terms_hash": terms["terms_hash"] })).await;
    assert_eq!(s, StatusCode::OK, "{ready}");
    assert!(ready["needs"].is_null());
    assert_eq!(ready["declaration"]["activity"], "research-waiver");
    assert_eq!(ready["declaration"]["irb"], "IRB-2026-017");
    assert_eq!(ready["declaration"]["phi_level"], "limited");
    assert_eq!(ready["declaration"]["accepted"], true);

    // the declaration and the acceptance are audited with the exact terms hash
    let decl = app.events_of("declaration").await;
    assert_eq!(decl.len(), 1);
    assert_eq!(decl[0]["irb"], "IRB-2026-017");
    let acc = app.events_of("terms_accepted").await;
    assert_eq!(acc[0]["detail"]["terms_hash"], terms["terms_hash"]);
    assert_eq!(acc[0]["declaration_id"], ready["declaration"]["id"]);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let pw = app.user("grace@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let b = Browser::new(&app);
    let (s1, wrong) = b.post("/api/login", json!({ "email": "grace@example.org", "password": format!("{pw}x") })).await;
    let (s2, unknown) = b.post("/api/login", json!({ "email": "nobody@example.org", "password": pw })).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &wrong), (s2, &unknown));
    let failed = app.events_of("sign_in_failed").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["detail"]["reason"], "wrong password");
    assert_eq!(failed[1]["detail"]["reason"], "unknown e-mail");
    // and the success is audited
    let mut ok = Browser::new(&app);
    ok.login("grace@example.org", &pw).await;
    assert_eq!(app.events_of("sign_in").await.len(), 1);
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed_secure_httponly_lax_and_new_at_every_sign_in() {
    let app = TestApp::spawn().await;
    let pw = app.user("alan@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let b = Browser::new(&app);
    let res = b.raw(Method::POST, "/api/login", Some(json!({ "email": "alan@example.org", "password": pw }))).await;
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-attest_session="), "{cookie}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let value = cookie.split(';').next().unwrap().split('=').nth(1).unwrap().to_string();
    assert_eq!(value.len(), 43, "256 bits, base64url");
    // the stored id is a hash, not the cookie value
    use sqlx::Row;
    let stored: String = sqlx::query("SELECT id_hash FROM sessions").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_ne!(stored, value);
    assert_eq!(stored, attest::auth::token::sha256_hex(&value));

    // signing in again from the same browser: a new id, and the old one is dead
    let mut again = Browser::new(&app);
    again.cookie = Some(value.clone());
    again.login("alan@example.org", &pw).await;
    assert_ne!(again.cookie.as_deref(), Some(value.as_str()));
    let mut old = Browser::new(&app);
    old.cookie = Some(value);
    assert_eq!(old.get("/api/session").await.0, StatusCode::UNAUTHORIZED);
}
