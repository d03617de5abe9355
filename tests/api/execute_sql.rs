//! executeSql: the language, the PHI check on every column a query touches, attribution to
//! participants, and hostile input refused without a trace of SQL error text.

use std::collections::{BTreeMap, BTreeSet};

use app::types::{PhiLevel, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

use crate::helpers::{backend_is_postgres, synthea_dir, Browser, TestApp};

async fn sql(b: &Browser, text: &str) -> (StatusCode, Value) {
    let res = b
        .client
        .post(format!("{}/synthea/query-executeSql.api", b.base))
        .header("apikey", b.key.as_deref().expect("key"))
        .form(&[("schemaName", "study"), ("sql", text), ("apiVersion", "8.3")])
        .send()
        .await
        .unwrap();
    let s = res.status();
    (s, res.json().await.unwrap())
}

/// A key-holding script at `level`.
async fn script(app: &TestApp, email: &str, level: PhiLevel) -> Browser {
    let b = Browser::ready(app, email, PhiLevel::Restricted, level).await;
    let (_, k) = b.post("/api/session-keys", json!({})).await;
    Browser::with_key(app, k["key"].as_str().unwrap())
}

async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.set_settings(json!({ "allow_session_keys": true })).await;
    app
}

fn csv_rows(file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(synthea_dir().join(file)).unwrap();
    let h = r.headers().unwrap().clone();
    r.records().map(|x| h.iter().zip(x.unwrap().iter()).map(|(a, b)| (a.to_string(), b.to_string())).collect()).collect()
}

#[tokio::test]
async fn the_language_answers_like_the_csv() {
    let app = setup().await;
    let s = script(&app, "lang@example.org", PhiLevel::NotPhi).await;
    let patients = csv_rows("patients.csv");
    let encounters = csv_rows("encounters.csv");

    let (st, v) = sql(&s, "SELECT GENDER, count(*) AS n FROM patients GROUP BY GENDER ORDER BY GENDER").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["queryName"], "sql");
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for p in &patients {
        *expected.entry(p["GENDER"].clone()).or_default() += 1;
    }
    let got: BTreeMap<String, i64> = v["rows"].as_array().unwrap().iter().map(|r| (r["GENDER"].as_str().unwrap().to_string(), r["n"].as_i64().unwrap())).collect();
    assert_eq!(got, expected);
    let types: Vec<&str> = v["metaData"]["fields"].as_array().unwrap().iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["string", "int"]);

    // a join, a filter, a literal, DISTINCT and a sub-query in IN
    let q = "SELECT DISTINCT p.RACE FROM patients p JOIN encounters e ON p.Id = e.PATIENT \
             WHERE e.ENCOUNTERCLASS = 'emergency' AND p.Id IN (SELECT PATIENT FROM encounters WHERE CODE > 0) ORDER BY 1";
    let (st, v) = sql(&s, q).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let emergency: BTreeSet<&str> = encounters.iter().filter(|e| e["ENCOUNTERCLASS"] == "emergency").map(|e| e["PATIENT"].as_str()).collect();
    let races: BTreeSet<String> = patients.iter().filter(|p| emergency.contains(p["Id"].as_str())).map(|p| p["RACE"].clone()).collect();
    let got: Vec<String> = v["rows"].as_array().unwrap().iter().map(|r| r["RACE"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, races.into_iter().collect::<Vec<_>>());

    // expressions and the function allow-list
    let q = "SELECT upper(ENCOUNTERCLASS) AS cls, round(avg(BASE_ENCOUNTER_COST), 2) AS mean, max(length(DESCRIPTION)) AS longest, \
             sum(CASE WHEN TOTAL_CLAIM_COST > 1000 THEN 1 ELSE 0 END) AS big, coalesce(min(REASONCODE), -1) AS r, \
             abs(-3) AS three, CAST(count(*) AS VARCHAR) AS n_text \
             FROM encounters GROUP BY ENCOUNTERCLASS HAVING count(*) > 10 ORDER BY cls LIMIT 3 OFFSET 1";
    let (st, v) = sql(&s, q).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["three"], 3);
    let mut classes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for e in &encounters {
        classes.entry(e["ENCOUNTERCLASS"].to_uppercase()).or_default().push(e["BASE_ENCOUNTER_COST"].parse().unwrap());
    }
    let big_classes: Vec<(&String, &Vec<f64>)> = classes.iter().filter(|(_, v)| v.len() > 10).collect();
    let (name, costs) = big_classes[1];
    assert_eq!(rows[0]["cls"], name.as_str());
    let mean = costs.iter().sum::<f64>() / costs.len() as f64;
    assert!((rows[0]["mean"].as_f64().unwrap() - (mean * 100.0).round() / 100.0).abs() < 0.006, "{} vs {mean}", rows[0]["mean"]);
    assert_eq!(rows[0]["n_text"], costs.len().to_string());

    // derived table and UNION ALL, and the total row count
    let q = "SELECT c, count(*) AS n FROM (SELECT ENCOUNTERCLASS AS c FROM encounters UNION ALL SELECT GENDER FROM patients) AS u GROUP BY c";
    let (st, v) = sql(&s, q).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let total: i64 = v["rows"].as_array().unwrap().iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(total, (encounters.len() + patients.len()) as i64);
    // maxRows and offset page; rowCount counts every row
    let res = s.client.post(format!("{}/synthea/query-executeSql.api", s.base)).header("apikey", s.key.clone().unwrap())
        .form(&[("schemaName", "study"), ("sql", "SELECT Id FROM encounters ORDER BY Id"), ("maxRows", "5"), ("offset", "10")]).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["rowCount"], encounters.len() as i64);
    let mut ids: Vec<&str> = encounters.iter().map(|e| e["Id"].as_str()).collect();
    ids.sort();
    let got: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["Id"].as_str().unwrap()).collect();
    assert_eq!(got, ids[10..15]);
}

#[tokio::test]
async fn every_phi_bypass_attempt_at_limited_is_refused() {
    let app = setup().await;
    let s = script(&app, "bypass@example.org", PhiLevel::Limited).await;
    let attempts = [
        "SELECT SSN AS x FROM patients",
        "SELECT SSN || '' FROM patients",
        "SELECT lower(SSN) FROM patients",
        "SELECT Id FROM patients WHERE SSN LIKE '999%'",
        "SELECT Id FROM patients ORDER BY SSN",
        "SELECT count(*) FROM patients GROUP BY SSN",
        "SELECT GENDER FROM patients GROUP BY GENDER HAVING max(SSN) > '0'",
        "SELECT p.Id FROM patients p JOIN patients q ON p.SSN = q.SSN",
        "SELECT x FROM (SELECT SSN AS x FROM patients) AS s",
        "SELECT Id FROM patients WHERE Id IN (SELECT Id FROM patients WHERE SSN LIKE '9%')",
        "SELECT Id FROM patients UNION ALL SELECT SSN FROM patients",
        "SELECT * FROM patients",
        "SELECT p.* FROM patients p",
        "SELECT count(distinct SSN) FROM patients",
        "SELECT substring(SSN, 1, 3) FROM patients",
        "SELECT CASE WHEN SSN LIKE '999%' THEN 1 ELSE 0 END FROM patients",
        "SELECT \"SSN\" FROM patients",
        "SELECT \"ssn\" FROM patients",
        "SELECT sSn FROM patients",
        "SELECT patients.SSN FROM patients",
        "SELECT p.SSN FROM study.patients p",
        "SELECT Id FROM patients WHERE length(SSN) = 11",
        "SELECT coalesce(NULL, SSN) FROM patients",
        "SELECT CAST(SSN AS VARCHAR) FROM patients",
        "SELECT Id FROM patients WHERE SSN BETWEEN '0' AND '9'",
        "SELECT Id FROM patients WHERE SSN IN ('999-49-3983')",
        "SELECT Id FROM patients WHERE SSN IS NOT NULL",
        "SELECT FIRST FROM patients",
        "SELECT Id FROM patients WHERE DRIVERS IS NULL",
    ];
    let ssns: Vec<String> = csv_rows("patients.csv").iter().map(|p| p["SSN"].clone()).collect();
    for q in attempts {
        let (st, v) = sql(&s, q).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{q}: {v}");
        let msg = v["exception"].as_str().unwrap();
        assert!(msg.contains("PHI") && msg.contains("declared Limited PHI"), "{q}: {msg}");
        assert!(!ssns.iter().any(|x| v.to_string().contains(x.as_str())), "{q} leaked");
    }
    // refused before anything ran: no data_access event, one refusal each
    assert_eq!(app.events_of("data_access").await.len(), 0);
    assert_eq!(app.events_of("access_refused").await.len(), attempts.len());
    // and the message names the columns and the level required
    let (_, v) = sql(&s, "SELECT SSN, FIRST FROM patients").await;
    assert!(v["exception"].as_str().unwrap().starts_with("columns patients.FIRST, patients.SSN used by this query: they require Restricted PHI"), "{v}");
}

#[tokio::test]
async fn hostile_sql_is_refused_without_sql_error_text_and_changes_nothing() {
    let app = setup().await;
    let s = script(&app, "hostile@example.org", PhiLevel::Restricted).await;
    let schema_before = schema_fingerprint(&app).await;
    let attacks = [
        ("SELECT 1; DROP TABLE users", "exactly one SELECT statement"),
        ("SELECT Id FROM patients; SELECT * FROM users", "exactly one SELECT statement"),
        ("DELETE FROM audit_events", "only SELECT queries are allowed, not DELETE"),
        ("UPDATE users SET role = 'admin'", "only SELECT queries are allowed, not UPDATE"),
        ("INSERT INTO users (email) VALUES ('x')", "only SELECT queries are allowed, not INSERT"),
        ("PRAGMA writable_schema = 1", "only SELECT queries are allowed"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "only SELECT queries are allowed"),
        ("DROP TABLE users", "only SELECT queries are allowed, not DROP TABLE"),
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r", "WITH RECURSIVE"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "WITH"),
        ("SELECT * FROM users", "unknown dataset 'users'"),
        ("SELECT * FROM sqlite_master", "unknown dataset 'sqlite_master'"),
        ("SELECT * FROM main.users", "unknown dataset"),
        ("SELECT password_hash FROM patients", "unknown column 'password_hash'"),
        ("SELECT Id FROM patients WHERE Id = '' OR 1=1 --'", ""),
        ("SELECT Id FROM patients /* comment */ WHERE GENDER = 'F' -- trailing", ""),
        ("SELECT load_extension('x')", "function load_extension() is not allowed"),
        ("SELECT sqlite_version()", "function sqlite_version() is not allowed"),
        ("SELECT randomblob(1000000000)", "function randomblob() is not allowed"),
        ("SELECT Id FROM patients PIVOT (count(*) FOR GENDER IN ('F'))", ""),
        ("SELECT (SELECT email FROM users)", "sub-query here"),
        ("SELECT Id FROM patients WHERE EXISTS (SELECT 1)", "sub-query here"),
        ("SELECT Id FROM patients INTERSECT SELECT Id FROM patients", "INTERSECT"),
        ("SELECT Id FROM patients p, patients p", "used twice"),
        ("SELECT 'a'' UNION SELECT password_hash FROM users --'", ""),
    ];
    for (q, needle) in attacks {
        let (st, v) = sql(&s, q).await;
        let text = v.to_string();
        if needle.is_empty() {
            // harmless once parsed: either it runs as the SELECT it is, or it is refused
            assert!(st == StatusCode::OK || st == StatusCode::BAD_REQUEST, "{q}: {st} {v}");
        } else {
            assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {v}");
            assert!(v["exception"].as_str().unwrap().contains(needle), "{q}: {v}");
        }
        for leak in ["sqlite", "SQLITE", "syntax error", "pg_", "ERROR:", "ds_", "\"c1\"", "password_hash\":"] {
            assert!(!text.contains(leak) || q.contains(leak) || leak == "sqlite" && text.contains("'sqlite_"), "{q} leaked '{leak}': {text}");
        }
    }
    assert_eq!(schema_fingerprint(&app).await, schema_before, "the database is unchanged");
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(users, 2);
}

async fn schema_fingerprint(app: &TestApp) -> Vec<String> {
    let q = if backend_is_postgres() {
        "SELECT table_name || ':' || column_name FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1"
    } else {
        "SELECT type || ':' || name || ':' || COALESCE(sql, '') FROM sqlite_master ORDER BY name"
    };
    sqlx::query(q).fetch_all(&app.state.db.pool).await.unwrap().iter().map(|r| r.get::<String, _>(0)).collect()
}

#[tokio::test]
async fn participants_are_audited_and_unattributable_queries_refused() {
    let app = setup().await;
    let s = script(&app, "attrib@example.org", PhiLevel::Limited).await;
    // limited columns: the participants of the returned rows are logged
    let (st, v) = sql(&s, "SELECT e.START, p.CITY FROM encounters e JOIN patients p ON p.Id = e.PATIENT WHERE e.ENCOUNTERCLASS = 'emergency' ORDER BY e.START LIMIT 5").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["rows"][0].get("p1").is_none(), "hidden columns are not returned: {v}");
    let ev = app.events_of("data_access").await.pop().unwrap();
    let logged: BTreeSet<String> = ev["participants"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    let encounters = csv_rows("encounters.csv");
    let mut emerg: Vec<&BTreeMap<String, String>> = encounters.iter().filter(|e| e["ENCOUNTERCLASS"] == "emergency").collect();
    emerg.sort_by(|a, b| a["START"].cmp(&b["START"]));
    let expected: BTreeSet<String> = emerg.iter().take(5).map(|e| e["PATIENT"].clone()).collect();
    assert_eq!(logged, expected);
    assert_eq!(ev["sql"].as_str().unwrap(), "SELECT e.START, p.CITY FROM encounters e JOIN patients p ON p.Id = e.PATIENT WHERE e.ENCOUNTERCLASS = 'emergency' ORDER BY e.START LIMIT 5");
    let phi: BTreeSet<&str> = ev["phi_columns"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(phi, BTreeSet::from(["encounters.START", "patients.CITY"]));

    // an aggregate over PHI across participants cannot be attributed: refused, nothing runs
    for q in [
        "SELECT min(BIRTHDATE) FROM patients",
        "SELECT CITY, count(*) FROM patients GROUP BY CITY",
        "SELECT DISTINCT CITY FROM patients",
        "SELECT year(START) FROM encounters UNION SELECT year(BIRTHDATE) FROM patients",
    ] {
        let (st, v) = sql(&s, q).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(v["exception"].as_str().unwrap().contains("cannot be attributed") || v["exception"].as_str().unwrap().contains("cannot be determined"), "{q}: {v}");
    }
    // grouped by the participant it can
    let (st, v) = sql(&s, "SELECT PATIENT, min(START) AS first_visit FROM encounters GROUP BY PATIENT").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ev = app.events_of("data_access").await.pop().unwrap();
    assert_eq!(ev["participants"].as_array().unwrap().len(), 111);
    // not-phi only: no attribution needed, aggregates welcome
    let (st, _) = sql(&s, "SELECT GENDER, count(*) FROM patients GROUP BY GENDER").await;
    assert_eq!(st, StatusCode::OK);
    assert!(app.events_of("data_access").await.pop().unwrap()["participants"].is_null());

    // a PHI column without its participant column in the query: the hidden participant column
    // is read too (the SQLite authorizer allows it) and logged
    let (st, v) = sql(&s, "SELECT BIRTHDATE FROM patients ORDER BY BIRTHDATE DESC, Id LIMIT 1").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut patients = csv_rows("patients.csv");
    patients.sort_by(|a, b| b["BIRTHDATE"].cmp(&a["BIRTHDATE"]).then(a["Id"].cmp(&b["Id"])));
    assert!(v["rows"][0]["BIRTHDATE"].as_str().unwrap().starts_with(patients[0]["BIRTHDATE"].as_str()), "{v}");
    let ev = app.events_of("data_access").await.pop().unwrap();
    assert_eq!(ev["participants"], json!([patients[0]["Id"]]));

    // PHI read inside a sub-query after IN filters rows without returning them: whose PHI it
    // read could not be recorded, so it is refused (found by the adversarial review: a birth
    // date could be learnt by bisection while the event named no participant)
    let before = app.events_of("data_access").await.len();
    let pid = &patients[0]["Id"];
    for q in [
        format!("SELECT count(*) AS n FROM organizations o WHERE 1 IN (SELECT 1 FROM patients p WHERE p.Id = '{pid}' AND p.BIRTHDATE < '2022-07-21')"),
        format!("SELECT 1 AS yes WHERE '{pid}' IN (SELECT p.Id FROM patients p WHERE p.BIRTHDATE >= '2022-07-01')"),
        "SELECT o.Id FROM organizations o WHERE o.ZIP IN (SELECT p.ZIP FROM patients p)".to_string(),
    ] {
        let (st, v) = sql(&s, &q).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert!(v["exception"].as_str().unwrap().contains("the sub-query after IN reads PHI (patients."), "{q}: {v}");
    }
    assert_eq!(app.events_of("data_access").await.len(), before, "nothing ran");
    // a sub-query over columns that are not PHI is fine
    let (st, v) = sql(&s, "SELECT count(*) AS n FROM encounters WHERE PATIENT IN (SELECT Id FROM patients WHERE GENDER = 'F')").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let female: BTreeSet<String> = csv_rows("patients.csv").iter().filter(|p| p["GENDER"] == "F").map(|p| p["Id"].clone()).collect();
    assert_eq!(v["rows"][0]["n"], csv_rows("encounters.csv").iter().filter(|e| female.contains(&e["PATIENT"])).count());
}

/// A long chain of operators was parsed and compiled one stack frame per operator: a 6 KB query
/// overflowed the stack and aborted the server. Now refused before parsing; the server lives.
#[tokio::test]
async fn a_long_operator_chain_is_refused_and_the_server_lives() {
    let app = setup().await;
    let s = script(&app, "chain@example.org", PhiLevel::NotPhi).await;
    for q in [
        format!("SELECT {}1 AS x FROM patients", "1+".repeat(3000)),
        format!("SELECT GENDER FROM patients WHERE {}1=1", "GENDER='F' AND ".repeat(3000)),
        format!("SELECT {}1 AS x FROM patients", "1+".repeat(129)),
    ] {
        let (st, v) = sql(&s, &q).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["exception"].as_str().unwrap().contains("more than 128 operators"), "{v}");
    }
    let (st, v) = sql(&s, &format!("SELECT {}1 AS x FROM patients LIMIT 1", "1+".repeat(128))).await;
    assert_eq!(st, StatusCode::OK, "128 operators are allowed: {v}");
    assert_eq!(v["rows"][0]["x"], 129);
}

#[tokio::test]
async fn errors_say_where() {
    let app = setup().await;
    let s = script(&app, "where@example.org", PhiLevel::NotPhi).await;
    let (st, v) = sql(&s, "SELECT GENDER,\n       foo\nFROM patients").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["exception"], "line 2, column 8: unknown column 'foo'");
    let (_, v) = sql(&s, "SELECT GENDER\nFROM patients WHERE").await;
    assert!(v["exception"].as_str().unwrap().starts_with("line 2, column 20: "), "the end of the text: {v}");
    assert!(v["exception"].as_str().unwrap().contains("does not parse"), "{v}");
    let (_, v) = sql(&s, "SELECT Id FROM patients p JOIN encounters e ON Id = PATIENT").await;
    assert!(v["exception"].as_str().unwrap().contains("ambiguous") || v["exception"].as_str().unwrap().starts_with("line"), "{v}");
    let (_, v) = sql(&s, "SELECT pi() FROM patients").await;
    assert_eq!(v["exception"], "line 1, column 8: the function pi() is not allowed (allowed: count, sum, avg, min, max, lower, upper, substring, length, coalesce, round, abs, cast, year, month, day)");
}

#[tokio::test]
async fn waf_encoded_sql_as_the_clients_send_it() {
    let app = setup().await;
    let s = script(&app, "waf@example.org", PhiLevel::NotPhi).await;
    use base64::Engine;
    let text = "SELECT count(*) AS n FROM patients WHERE GENDER = 'F'";
    let encoded = format!("/*{{{{base64/x-www-form-urlencoded/wafText}}}}*/{}", base64::engine::general_purpose::STANDARD.encode(
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()));
    let (st, v) = sql(&s, &encoded).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let f = csv_rows("patients.csv").iter().filter(|p| p["GENDER"] == "F").count() as i64;
    assert_eq!(v["rows"][0]["n"], f);
    assert_eq!(app.events_of("data_access").await.pop().unwrap()["sql"], text);
}

#[tokio::test]
async fn an_auditor_cannot_run_sql_and_the_sql_page_takes_the_same_gate() {
    let app = setup().await;
    let pw = app.user("audsql@example.org", Role::Auditor, PhiLevel::NotPhi).await;
    let mut a = Browser::new(&app);
    a.login("audsql@example.org", &pw).await;
    a.declare("healthcare-operations", None, "not-phi").await;
    let (st, v) = a.send(reqwest::Method::POST, "/rpc/run_sql", Some(json!({ "study": "synthea", "sql": "SELECT GENDER FROM patients" }))).await;
    assert_eq!((st, v["error"].as_str()), (StatusCode::FORBIDDEN, Some("role_forbidden")), "{v}");
    let b = Browser::ready(&app, "page@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (st, v) = b.send(reqwest::Method::POST, "/rpc/run_sql", Some(json!({ "study": "synthea", "sql": "SELECT Id, BIRTHDATE FROM patients ORDER BY BIRTHDATE LIMIT 3" }))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["rows"].as_array().unwrap().len(), 3);
    let (st, v) = b.send(reqwest::Method::POST, "/rpc/run_sql", Some(json!({ "study": "synthea", "sql": "SELECT SSN FROM patients" }))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = b.send(reqwest::Method::POST, "/rpc/run_sql", Some(json!({ "study": "synthea", "sql": "SELECT nope FROM patients" }))).await;
    assert_eq!((st, v["message"].as_str()), (StatusCode::BAD_REQUEST, Some("line 1, column 8: unknown column 'nope'")));
}

/// The second wall: even SQL that got past the checker cannot read a column the authorizer
/// was not told about (SQLite only; PostgreSQL's wall is the READ ONLY transaction).
#[tokio::test]
async fn the_sqlite_authorizer_refuses_what_the_checker_did_not_allow() {
    if backend_is_postgres() {
        return;
    }
    use attest::data::catalog::{self, Lookup};
    use attest::data::reader::{fetch, Kind, Limits, ReadAllowList, ReadError, Statement};
    let app = setup().await;
    let Lookup::Found(d) = catalog::dataset(&app.state.db, "synthea", "patients").await.unwrap() else { panic!() };
    let ssn = d.column("SSN").unwrap().physical.clone();
    let gender = d.column("GENDER").unwrap().physical.clone();
    let mut allow = ReadAllowList::default();
    allow.tables.entry(d.table.clone()).or_default().insert(gender.clone());
    let limits = Limits { timeout: std::time::Duration::from_secs(5) };
    let ok = Statement { sql: format!("SELECT \"{gender}\" FROM \"{}\"", d.table), args: vec![] };
    assert_eq!(fetch(&app.state.db, &ok, &[Kind::Text], &limits, Some(&allow)).await.unwrap().len(), 111);
    for sql in [
        format!("SELECT \"{ssn}\" FROM \"{}\"", d.table),
        format!("SELECT \"{gender}\" FROM \"{}\" WHERE \"{ssn}\" IS NOT NULL", d.table),
        "SELECT email FROM users".to_string(),
        "SELECT 1 FROM sqlite_master".to_string(),
    ] {
        let st = Statement { sql: sql.clone(), args: vec![] };
        assert!(matches!(fetch(&app.state.db, &st, &[], &limits, Some(&allow)).await, Err(ReadError::NotAuthorized)), "{sql}");
    }
    // and a runaway query is stopped by the progress handler
    let spin = Statement {
        sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r".into(),
        args: vec![],
    };
    let quick = Limits { timeout: std::time::Duration::from_millis(200) };
    let started = std::time::Instant::now();
    assert!(matches!(fetch(&app.state.db, &spin, &[], &quick, None).await, Err(ReadError::Timeout(_))));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn counting_rows_touches_no_column_and_is_allowed_at_any_level() {
    let app = setup().await;
    let s = script(&app, "count@example.org", PhiLevel::NotPhi).await;
    let (st, v) = sql(&s, "SELECT count(*) AS n FROM patients").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["rows"][0]["n"], 111);
    let ev = app.events_of("data_access").await.pop().unwrap();
    assert_eq!(ev["dataset"], "patients");
    assert_eq!(ev["columns"], json!([]));
}

#[tokio::test]
async fn grouping_by_one_side_of_a_join_on_the_participant_attributes_both() {
    let app = setup().await;
    let s = script(&app, "joingroup@example.org", PhiLevel::Limited).await;
    let (st, v) = sql(&s, "SELECT p.Id, min(e.START) AS first FROM patients p JOIN encounters e ON e.PATIENT = p.Id GROUP BY p.Id").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["rowCount"], 111);
    // without the equality, the encounters' participants are not determined
    let (st, _) = sql(&s, "SELECT p.Id, min(e.START) AS first FROM patients p JOIN encounters e ON e.START > p.BIRTHDATE GROUP BY p.Id").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}
