//! The LabKey-compatible API: URLs, parameters, response shapes and every error status.

use app::types::PhiLevel;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Browser, TestApp};

async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    let b = Browser::ready(&app, "lk@example.org", PhiLevel::Full, PhiLevel::Limited).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    (app, k["key"].as_str().unwrap().to_string())
}

async fn call(app: &TestApp, key: Option<&str>, method: reqwest::Method, path: &str, body: Option<(&str, String)>) -> (StatusCode, Value) {
    let mut r = reqwest::Client::new().request(method, app.url(path));
    if let Some(k) = key {
        r = r.header("apikey", k);
    }
    if let Some((ct, b)) = body {
        r = r.header("content-type", ct).body(b);
    }
    let res = r.send().await.unwrap();
    let s = res.status();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
    (s, res.json().await.unwrap())
}

fn assert_labkey_error(v: &Value) {
    assert_eq!(v["success"], false, "{v}");
    assert!(v["exception"].is_string(), "{v}");
    assert!(v["exceptionClass"].is_string(), "{v}");
    assert!(v["errors"].is_array(), "{v}");
}

#[tokio::test]
async fn urls_are_path_first_case_insensitive_with_any_extension_and_never_redirect() {
    let (app, key) = setup().await;
    let get = reqwest::Method::GET;
    let q = "?schemaName=study&query.queryName=patients&query.maxRows=1";
    for path in ["/synthea/query-selectRows.api", "/synthea/QUERY-SELECTROWS.view", "//synthea//query-getQuery.post", "/query/synthea/selectRows.api"] {
        let (s, v) = call(&app, Some(&key), get.clone(), &format!("{path}{q}"), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    }
    // Rlabkey's whoAmI: old-style, root container, mixed case, .view
    let (s, who) = call(&app, Some(&key), get.clone(), "/login/whoAmI.view", None).await;
    assert_eq!(s, StatusCode::OK);
    for k in ["id", "email", "displayName", "impersonated", "CSRF", "success"] {
        assert!(who.get(k).is_some(), "whoami lacks {k}");
    }
    // whoami works by POST too and sets the CSRF cookie
    let res = reqwest::Client::new().post(app.url("/synthea/login-whoami.api")).header("apikey", &key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    let who: Value = res.json().await.unwrap();
    assert!(cookie.starts_with(&format!("X-LABKEY-CSRF={}", who["CSRF"].as_str().unwrap())), "{cookie}");
}

#[tokio::test]
async fn parameters_by_query_string_form_and_json_and_the_three_formats() {
    let (app, key) = setup().await;
    let post = reqwest::Method::POST;
    // Rlabkey sends JSON with numbers and strings
    let body = json!({ "schemaName": "study", "query.queryName": "encounters", "apiVersion": "8.3", "query.maxRows": 2,
                       "query.ENCOUNTERCLASS~eq": "wellness", "query.sort": "-START", "query.columns": "Id,ENCOUNTERCLASS,START" });
    let (s, v) = call(&app, Some(&key), post.clone(), "/synthea/query-selectRows.api", Some(("application/json;charset=utf-8", body.to_string()))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["formatVersion"], 8.3);
    assert_eq!(v["schemaName"], "study");
    assert_eq!(v["queryName"], "encounters");
    assert_eq!(v["metaData"]["root"], "rows");
    assert_eq!(v["metaData"]["totalProperty"], "rowCount");
    assert_eq!(v["metaData"]["sortInfo"], json!({ "field": "START", "direction": "DESC" }));
    let fields: Vec<(&str, &str)> = v["metaData"]["fields"].as_array().unwrap().iter().map(|f| (f["name"].as_str().unwrap(), f["type"].as_str().unwrap())).collect();
    assert_eq!(fields, [("Id", "string"), ("ENCOUNTERCLASS", "string"), ("START", "date")]);
    assert_eq!(v["columnModel"].as_array().unwrap().len(), 3);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    let wellness = csv::Reader::from_path(crate::helpers::synthea_dir().join("encounters.csv")).unwrap().records().filter(|r| &r.as_ref().unwrap()[7] == "wellness").count();
    assert_eq!(v["rowCount"], wellness as i64, "rowCount counts every match, not the page");
    assert!(v["rows"][0]["START"].as_str().unwrap().ends_with(".000"), "LabKey date format");
    assert!(v.get("status").is_none(), "no top-level status (Rlabkey reads it as an HTTP status)");

    // 9.1: cells are objects
    let form = "schemaName=study&query.queryName=patients&query.maxRows=1&apiVersion=9.1&query.columns=Id&query.columns=GENDER";
    let (_, v) = call(&app, Some(&key), post.clone(), "/synthea/query-getQuery.api", Some(("application/x-www-form-urlencoded", form.into()))).await;
    assert_eq!(v["formatVersion"], 9.1);
    assert!(v["rows"][0]["GENDER"]["value"].is_string(), "{v}");
    // 17.1: rows[].data, schemaName as an array, no columnModel
    let form = "schemaName=study&query.queryName=patients&query.maxRows=1&apiVersion=17.1";
    let (_, v) = call(&app, Some(&key), post.clone(), "/synthea/query-selectRows.api", Some(("application/x-www-form-urlencoded", form.into()))).await;
    assert_eq!(v["schemaName"], json!(["study"]));
    assert!(v.get("columnModel").is_none());
    assert!(v["rows"][0]["data"]["Id"]["value"].is_string(), "{v}");

    // maxRows 0: metadata only, with the count
    let (_, v) = call(&app, Some(&key), post.clone(), "/synthea/query-selectRows.api", Some(("application/x-www-form-urlencoded", "schemaName=study&query.queryName=patients&query.maxRows=0".into()))).await;
    assert_eq!(v["rows"], json!([]));
    assert_eq!(v["rowCount"], 111);
    assert_eq!(v["metaData"]["fields"].as_array().unwrap().len(), 15);

    // in, between, contains, isblank
    let form = "schemaName=study&query.queryName=patients&query.maxRows=-1&query.GENDER~in=F%3BX&query.HEALTHCARE_EXPENSES~between=0%2C1000000000&query.CITY~contains=om&query.DEATHDATE~isblank=";
    let (s, v) = call(&app, Some(&key), post.clone(), "/synthea/query-selectRows.api", Some(("application/x-www-form-urlencoded", form.into()))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for r in v["rows"].as_array().unwrap() {
        assert_eq!(r["GENDER"], "F");
        assert!(r["CITY"].as_str().unwrap().to_lowercase().contains("om"));
        assert!(r["DEATHDATE"].is_null());
    }
    assert!(v["rowCount"].as_i64().unwrap() > 0);

    // getSchemas and getQueries list what the session may see
    let (_, v) = call(&app, Some(&key), reqwest::Method::GET, "/synthea/query-getSchemas.api", None).await;
    assert_eq!(v["schemas"], json!(["study"]));
    let (_, v) = call(&app, Some(&key), reqwest::Method::GET, "/synthea/query-getQueries.api?schemaName=study", None).await;
    let patients = v["queries"].as_array().unwrap().iter().find(|q| q["name"] == "patients").unwrap();
    let cols: Vec<&str> = patients["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(cols.contains(&"BIRTHDATE") && !cols.contains(&"SSN") && !cols.contains(&"FIRST"), "{cols:?}");
    assert_eq!(v["queries"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn every_error_status_and_body() {
    let (app, key) = setup().await;
    let get = reqwest::Method::GET;
    let sel = |q: &str| format!("/synthea/query-selectRows.api?schemaName=study&query.queryName=patients&{q}");

    // 401: no credential, a dead or unknown key
    let (s, v) = call(&app, None, get.clone(), &sel(""), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_labkey_error(&v);
    let unknown = attest::auth::key::generate();
    let (s, v) = call(&app, Some(secrecy::ExposeSecret::expose_secret(&unknown)), get.clone(), &sel(""), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_labkey_error(&v);

    // 403: a column above the declared level, naming the level required
    let (s, v) = call(&app, Some(&key), get.clone(), &sel("query.columns=Id,SSN"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_labkey_error(&v);
    assert_eq!(v["exceptionClass"], "org.labkey.api.view.UnauthorizedException");
    assert!(v["exception"].as_str().unwrap().contains("requires Restricted PHI, and this session declared Limited PHI"), "{v}");

    // 404 with a JSON body: unknown container, schema, query
    for (path, needle) in [
        ("/nostudy/query-selectRows.api?schemaName=study&query.queryName=patients", "No study"),
        ("/synthea/query-selectRows.api?schemaName=lists&query.queryName=patients", "The specified schema does not exist"),
        ("/synthea/query-selectRows.api?schemaName=study&query.queryName=nosuch", "The specified query 'nosuch' does not exist"),
        ("/synthea/query-frobnicate.api", "does not implement"),
    ] {
        let (s, v) = call(&app, Some(&key), get.clone(), path, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_labkey_error(&v);
        assert!(v["exception"].as_str().unwrap().contains(needle), "{path}: {v}");
    }

    // 400 naming the parameter
    for (q, param) in [
        ("query.GENDER~like=F", "query.GENDER~like"),
        ("query.NOPE~eq=1", "query.NOPE~eq"),
        ("query.columns=Id,NOPE", "query.columns"),
        ("query.sort=NOPE", "query.sort"),
        ("query.maxRows=ten", "query.maxRows"),
        ("query.maxRows=1000000000000", "query.maxRows"),
        ("query.offset=-5", "query.offset"),
        ("query.INCOME~gt=rich", "query.INCOME~gt"),
    ] {
        let (s, v) = call(&app, Some(&key), get.clone(), &sel(q), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert_labkey_error(&v);
        assert!(v["exception"].as_str().unwrap().starts_with(param), "{q}: {v}");
        assert_eq!(v["errors"][0]["field"], param, "{q}");
    }
    let (s, v) = call(&app, Some(&key), get.clone(), "/synthea/query-selectRows.api?schemaName=study", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["exception"].as_str().unwrap().starts_with("query.queryName"));
}

#[tokio::test]
async fn cookie_posts_need_the_csrf_double_submit_and_keys_do_not() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "csrf@example.org", PhiLevel::NotPhi, PhiLevel::NotPhi).await;
    let cookie = format!("__Host-attest_session={}", b.cookie.clone().unwrap());
    let c = reqwest::Client::new();
    let form = [("schemaName", "study"), ("query.queryName", "patients"), ("query.maxRows", "1")];
    let res = c.post(app.url("/synthea/query-selectRows.api")).header("cookie", &cookie).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let v: Value = res.json().await.unwrap();
    assert!(v["exception"].as_str().unwrap().contains("X-LABKEY-CSRF"));
    // the browser helper does the double submit: allowed
    assert_eq!(b.select_rows("synthea", &form).await.0, StatusCode::OK);
    // a cross-site POST is refused even with a valid token
    let res = c.post(app.url("/synthea/query-selectRows.api")).header("cookie", &cookie).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // GET with the cookie needs no token
    let res = c.get(app.url("/synthea/query-selectRows.api?schemaName=study&query.queryName=patients&query.maxRows=1")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
