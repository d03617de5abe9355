//! The adversarial suite: response headers, CSRF on every state-changing endpoint, body
//! limits, bounded password hashing, hostile query input, and a property test that no column
//! above the declared level ever reaches or changes a response.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use app::types::{PhiLevel, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{backend_is_postgres, synthea_dir, Browser, TestApp};

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_every_response_the_security_headers() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(app.url("/login")).await.unwrap();
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce in the CSP").to_string();
    assert!(nonce.len() >= 16);
    for directive in ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "style-src 'self'"] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("'unsafe-inline'") && !csp.contains(" 'unsafe-eval'"), "{csp}");
    let html = res.text().await.unwrap();
    // every script is either from this origin or carries this response's nonce
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(open.contains(&format!("nonce=\"{nonce}\"")) || open.contains("src=\""), "a script without the nonce: <script{open}>");
    }
    assert!(!html.contains(" style=\""), "inline styles would be blocked by the CSP");
    // a second page load gets another nonce
    let csp2 = reqwest::get(app.url("/login")).await.unwrap().headers()["content-security-policy"].to_str().unwrap().to_string();
    assert_ne!(csp, csp2);

    for path in ["/login", "/api/session", "/synthea/login-whoami.api", "/pkg/attest.css", "/nothing-here"] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.get("content-security-policy").unwrap().to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain HTTP: {path}");
    }
    let tls = TestApp::spawn_with(attest::state::ServerConfig { tls: true, ..Default::default() }).await;
    let r = reqwest::get(tls.url("/login")).await.unwrap();
    assert!(r.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age=31536000"));
}

#[tokio::test]
async fn data_and_key_responses_are_never_cached_and_sign_out_clears_the_site() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let b = Browser::ready(&app, "cache@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    let res = b.raw(Method::POST, "/api/session-keys", Some(json!({}))).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let key = res.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string();
    let kb = Browser::with_key(&app, &key);
    for (m, path) in [(Method::GET, "/synthea/query-selectRows.api?schemaName=study&query.queryName=patients&query.maxRows=1"), (Method::GET, "/api/session")] {
        let r = kb.raw(m, path, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    let r = b.raw(Method::POST, "/rpc/grid", Some(json!({ "grid": { "study": "synthea", "dataset": "patients", "offset": 0, "limit": 1, "sort": [], "filters": [] } }))).await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let out = b.raw(Method::POST, "/api/logout", None).await;
    assert_eq!(out.headers()["clear-site-data"], "\"cache\", \"cookies\", \"storage\"");
}

/// Every state-changing route of the JSON API, read from its route table.
fn state_changing_api_routes() -> Vec<(Method, String)> {
    let table = include_str!("../../src/api/mod.rs");
    let mut out = Vec::new();
    for line in table.lines().map(str::trim).filter(|l| l.starts_with(".route(\"")) {
        let path = line.split('"').nth(1).unwrap().replace("{id}", "1").replace("{seq}", "1");
        for (name, m) in [("post(", Method::POST), ("put(", Method::PUT), ("patch(", Method::PATCH), ("delete(", Method::DELETE)] {
            if line.contains(name) {
                out.push((m, path.clone()));
            }
        }
    }
    assert!(out.len() >= 15, "{out:?}");
    out
}

/// Every server function of the browser, read from their declarations.
fn rpc_endpoints() -> Vec<String> {
    include_str!("../../app/src/rpc.rs")
        .split("endpoint = \"")
        .skip(1)
        .map(|s| format!("/rpc/{}", s.split('"').next().unwrap()))
        .collect()
}

#[tokio::test]
async fn cross_site_posts_with_the_session_cookie_are_refused_everywhere() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let pw = app.user("csrf-admin@example.org", Role::Admin, PhiLevel::Restricted).await;
    let mut b = Browser::new(&app);
    b.login("csrf-admin@example.org", &pw).await;
    b.declare("quality-improvement", None, "not-phi").await;
    let cookie = format!("__Host-attest_session={}", b.cookie.clone().unwrap());
    let c = reqwest::Client::new();
    let mut targets = state_changing_api_routes();
    targets.extend(rpc_endpoints().into_iter().map(|p| (Method::POST, p)));
    targets.push((Method::POST, "/synthea/query-selectRows.api".into()));
    targets.push((Method::POST, "/synthea/query-executeSql.api".into()));
    let events_before = app.audit_events().await.len();
    for (m, path) in &targets {
        for (ctype, body) in [("text/plain", "x=1"), ("application/x-www-form-urlencoded", "activity=qi&phi_level=full&email=a&password=b")] {
            for (origin, site) in [("https://evil.example", "cross-site"), ("https://evil.example", ""), ("null", "")] {
                let mut r = c.request(m.clone(), app.url(path)).header("cookie", &cookie).header("content-type", ctype).header("origin", origin).body(body);
                if !site.is_empty() {
                    r = r.header("sec-fetch-site", site);
                }
                let res = r.send().await.unwrap();
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{m} {path} ({ctype}, origin {origin}, sec-fetch-site '{site}')");
            }
        }
    }
    // nothing happened: the session lives and no event was written for any of those
    assert_eq!(b.get("/api/session").await.0, StatusCode::OK);
    assert_eq!(app.audit_events().await.len(), events_before);
    // the app's own same-origin requests work
    let res = c
        .post(app.url("/api/declaration"))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "activity": "quality-improvement", "phi_level": "not-phi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn ten_megabyte_bodies_are_refused_on_every_route() {
    let app = TestApp::spawn().await;
    let big = "a".repeat(10 * 1024 * 1024);
    let c = reqwest::Client::new();
    let mut paths: Vec<String> = state_changing_api_routes().into_iter().map(|(_, p)| p).collect();
    paths.extend(rpc_endpoints());
    paths.extend(["/synthea/query-selectRows.api".to_string(), "/synthea/query-executeSql.api".to_string(), "/login".to_string()]);
    for path in paths {
        let res = c.post(app.url(&path)).header("content-type", "application/json").body(big.clone()).send().await;
        // the server may also close the connection while the client still sends
        if let Ok(res) = res {
            assert!(matches!(res.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::METHOD_NOT_ALLOWED), "{path}: {}", res.status());
        }
    }
}

#[tokio::test]
async fn a_flood_of_sign_ins_gets_429_and_does_not_starve_other_requests() {
    let app = TestApp::spawn().await;
    let pw = app.user("steady@example.org", Role::Researcher, PhiLevel::NotPhi).await;
    let mut steady = Browser::new(&app);
    steady.login("steady@example.org", &pw).await;
    let c = reqwest::Client::new();
    let mut flood = Vec::new();
    for i in 0..80 {
        let (c, url) = (c.clone(), app.url("/api/login"));
        flood.push(tokio::spawn(async move {
            c.post(url).json(&json!({ "email": format!("nobody{i}@example.org"), "password": "not the password at all" })).send().await.map(|r| r.status())
        }));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    assert_eq!(steady.get("/api/session").await.0, StatusCode::OK);
    let during = started.elapsed();
    let mut busy = 0;
    for f in flood {
        match f.await.unwrap() {
            Ok(StatusCode::TOO_MANY_REQUESTS) => busy += 1,
            Ok(StatusCode::UNAUTHORIZED) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(busy > 0, "the hashing queue is bounded");
    assert!(during < Duration::from_secs(3), "a session request took {during:?} during the flood");
}

async fn db_fingerprint(app: &TestApp) -> (Vec<String>, i64, i64) {
    let q = if backend_is_postgres() {
        "SELECT table_name || ':' || column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1"
    } else {
        "SELECT type || ':' || name FROM sqlite_master ORDER BY name"
    };
    let schema = sqlx::query(q).fetch_all(&app.state.db.pool).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect();
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    let datasets: i64 = sqlx::query("SELECT COUNT(*) FROM datasets").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    (schema, users, datasets)
}

#[tokio::test]
async fn hostile_query_parameters_get_4xx_without_sql_traces_or_phi() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let b = Browser::ready(&app, "hostile-params@example.org", PhiLevel::Restricted, PhiLevel::Limited).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    let key = k["key"].as_str().unwrap().to_string();
    let before = db_fingerprint(&app).await;
    let ssns: Vec<String> = csv::Reader::from_path(synthea_dir().join("patients.csv")).unwrap().records().map(|r| r.unwrap()[3].to_string()).collect();
    let long = "X".repeat(10_000);
    let huge_in = (0..100_000).map(|i| i.to_string()).collect::<Vec<_>>().join(";");
    let inj = "' OR '1'='1'; DROP TABLE users; --";
    let cases: Vec<Vec<(String, String)>> = vec![
        vec![("query.queryName".into(), format!("patients{inj}"))],
        vec![("query.queryName".into(), "../../../etc/passwd".into())],
        vec![("query.queryName".into(), "pa\u{0}tients".into())],
        vec![("query.queryName".into(), "患者 🧬".into())],
        vec![("query.queryName".into(), long.clone())],
        vec![("schemaName".into(), format!("study{inj}"))],
        vec![("query.columns".into(), format!("Id,SSN{inj}"))],
        vec![("query.columns".into(), "Id); DROP TABLE users;--".into())],
        vec![("query.columns".into(), long.clone())],
        vec![("query.columns".into(), "Ｉｄ".into())],
        vec![("query.sort".into(), format!("Id{inj}"))],
        vec![("query.sort".into(), "--Id".into())],
        vec![(format!("query.Id{inj}~eq"), "x".into())],
        vec![(format!("query.{long}~eq"), "x".into())],
        vec![("query.Id~eq".into(), inj.into()), ("query.Id~like".into(), "%".into())],
        vec![("query.GENDER~in".into(), huge_in.clone())],
        vec![("query.maxRows".into(), "1000000000000".into())],
        vec![("query.maxRows".into(), "-2".into())],
        vec![("query.maxRows".into(), "1e400".into())],
        vec![("query.offset".into(), "-5".into())],
        vec![("query.offset".into(), "99999999999999999999".into())],
        vec![("query.INCOME~gt".into(), inj.into())],
        vec![("query.BIRTHDATE~dateeq".into(), "2020-13-45".into())],
        vec![("query.SSN~eq".into(), ssns[0].clone())],
    ];
    let c = reqwest::Client::new();
    for case in &cases {
        let mut form: Vec<(String, String)> = vec![("schemaName".into(), "study".into()), ("query.queryName".into(), "patients".into())];
        for (k, v) in case {
            form.retain(|(fk, _)| fk != k);
            form.push((k.clone(), v.clone()));
        }
        let res = c.post(app.url("/synthea/query-selectRows.api")).header("apikey", &key).form(&form).send().await.unwrap_or_else(|e| panic!("{case:?}: {e:?}"));
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_client_error(), "{case:?}: {status} {}", &text[..text.len().min(300)]);
        for trace in ["SELECT", "sqlite", "SQLITE", "syntax error", "panicked", "src/", "\"ds_", "stack"] {
            assert!(!text.contains(trace), "{case:?} leaked '{trace}': {}", &text[..text.len().min(300)]);
        }
        assert!(!ssns.iter().any(|s| text.contains(s.as_str())), "{case:?} leaked an SSN");
        assert!(text.len() < 2_000, "{case:?}: the error does not echo huge input ({} bytes)", text.len());
    }
    // bodies: deeply nested JSON, broken JSON, the wrong content type
    let nested = "[".repeat(10_000) + &"]".repeat(10_000);
    for (ctype, body) in [
        ("application/json", format!("{{\"schemaName\": {nested}}}")),
        ("application/json", "{\"schemaName\": \"study\", ".to_string()),
        ("application/json", "[1, 2, 3]".to_string()),
        ("application/xml", "<x/>".to_string()),
    ] {
        // (the error's whole chain if the connection fails: a reset would mean the server
        // answered without reading the body)
        let res = c
            .post(app.url("/synthea/query-selectRows.api"))
            .header("apikey", &key)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{ctype}: {e:?}"));
        assert!(res.status().is_client_error(), "{ctype}");
    }
    assert_eq!(db_fingerprint(&app).await, before, "the database is unchanged");
}

/// For random requests at each declared level: a request naming (in columns, filters or sorts)
/// a column above the level is refused with nothing of the data; any other answer holds only
/// columns at or below the level.
#[test]
fn property_no_column_above_the_declared_level_reaches_or_changes_a_response() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, keys) = rt.block_on(async {
        let app = TestApp::spawn().await;
        app.import_synthea().await;
        app.set_settings(json!({ "allow_session_keys": true })).await;
        let mut keys = Vec::new();
        for level in PhiLevel::ALL {
            let b = Browser::ready(&app, &format!("prop-{}@example.org", level.as_str()), PhiLevel::Restricted, level).await;
            let (_, k) = b.post("/api/session-keys", json!({})).await;
            keys.push(k["key"].as_str().unwrap().to_string());
        }
        (app, keys)
    });
    let catalog: Vec<(String, PhiLevel)> = rt.block_on(async {
        use attest::data::catalog::{dataset, Lookup};
        let Lookup::Found(d) = dataset(&app.state.db, "synthea", "patients").await.unwrap() else { panic!() };
        d.columns.iter().map(|c| (c.name.clone(), c.phi)).collect()
    });
    let n = catalog.len();
    let ops = ["eq", "neq", "isblank", "isnonblank", "contains", "startswith", "in", "gt"];
    let strategy = (
        0usize..4,
        proptest::option::of(proptest::collection::vec((0..n, any::<bool>()), 1..4)),
        proptest::collection::vec((0..n, 0..ops.len(), "[a-z0-9 ]{0,6}"), 0..3),
        proptest::collection::vec((0..n, any::<bool>()), 0..2),
    );
    let mut runner = TestRunner::new(Config { cases: 120, failure_persistence: None, ..Config::default() });
    let client = reqwest::Client::new();
    runner
        .run(&strategy, |(li, cols, filters, sorts)| {
            let level = PhiLevel::ALL[li];
            let name = |i: usize, lower: bool| if lower { catalog[i].0.to_lowercase() } else { catalog[i].0.clone() };
            let mut form: Vec<(String, String)> = vec![("schemaName".into(), "study".into()), ("query.queryName".into(), "patients".into()), ("query.maxRows".into(), "20".into())];
            let mut named: Vec<usize> = Vec::new();
            if let Some(cols) = &cols {
                form.push(("query.columns".into(), cols.iter().map(|(i, l)| name(*i, *l)).collect::<Vec<_>>().join(",")));
                named.extend(cols.iter().map(|(i, _)| *i));
            }
            for (i, op, v) in &filters {
                form.push((format!("query.{}~{}", catalog[*i].0, ops[*op]), v.clone()));
                named.push(*i);
            }
            if !sorts.is_empty() {
                form.push(("query.sort".into(), sorts.iter().map(|(i, d)| format!("{}{}", if *d { "-" } else { "" }, catalog[*i].0)).collect::<Vec<_>>().join(",")));
                named.extend(sorts.iter().map(|(i, _)| *i));
            }
            let above = named.iter().any(|i| catalog[*i].1 > level);
            let (status, body): (StatusCode, Value) = rt.block_on(async {
                let r = client.post(app.url("/synthea/query-selectRows.api")).header("apikey", &keys[li]).form(&form).send().await.unwrap();
                (r.status(), r.json().await.unwrap())
            });
            if above {
                prop_assert_eq!(status, StatusCode::FORBIDDEN, "{:?}", form);
                prop_assert!(body.get("rows").is_none());
            } else if status == StatusCode::OK {
                let fields: BTreeSet<String> = body["metaData"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
                for f in &fields {
                    let phi = catalog.iter().find(|(c, _)| c == f).unwrap().1;
                    prop_assert!(phi <= level, "{} ({}) returned at {}", f, phi, level);
                }
                if cols.is_none() {
                    let allowed: BTreeSet<String> = catalog.iter().filter(|(_, p)| *p <= level).map(|(c, _)| c.clone()).collect();
                    prop_assert_eq!(fields, allowed);
                }
            } else {
                // a value that does not parse for its column: refused as a bad parameter
                prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{:?} {}", form, body);
            }
            Ok(())
        })
        .unwrap();
    drop(app);
}
