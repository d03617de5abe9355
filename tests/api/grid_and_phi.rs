//! The gate: no data before the declaration, the PHI matrix (each declared level against each
//! Synthea column class), on both the browser grid and the LabKey API.

use std::collections::HashMap;

use app::types::PhiLevel;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{synthea_dir, Browser, TestApp};

fn patients_csv() -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(synthea_dir().join("patients.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records().map(|rec| headers.iter().zip(rec.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()).collect()
}

#[tokio::test]
async fn no_data_before_the_declaration_is_complete() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let pw = app.user("early@example.org", app::types::Role::Researcher, PhiLevel::Full).await;
    let mut b = Browser::new(&app);
    b.login("early@example.org", &pw).await;

    let (s, e) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(e["exception"].as_str().unwrap().contains("No data before the compliance declaration"), "{e}");
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("declaration_required")), "{e}");

    // declared but the terms not yet accepted
    let (_, terms) = b.post("/api/declaration", json!({ "activity": "quality-improvement", "phi_level": "limited" })).await;
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("terms_not_accepted")));
    assert!(e["message"].as_str().unwrap().contains("terms of use"));

    b.post("/api/declaration/accept", json!({ "terms_hash": terms["terms_hash"] })).await;
    let (s, page) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 111);
    // refusals are audited, and no data_access event was written for them
    assert_eq!(app.events_of("access_refused").await.len(), 3);
    assert_eq!(app.events_of("data_access").await.len(), 1);
}

/// One column of each class in patients.csv.
const CLASSES: [(&str, PhiLevel); 4] =
    [("GENDER", PhiLevel::NotPhi), ("BIRTHDATE", PhiLevel::Limited), ("FIRST", PhiLevel::Full), ("SSN", PhiLevel::Restricted)];

#[tokio::test]
async fn phi_matrix_each_declared_level_against_each_column_class() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let csv = patients_csv();
    let ssns: Vec<String> = csv.iter().map(|r| r["SSN"].clone()).collect();
    let first_names: Vec<String> = csv.iter().map(|r| r["FIRST"].clone()).collect();

    for (i, declared) in PhiLevel::ALL.into_iter().enumerate() {
        let b = Browser::ready(&app, &format!("matrix{i}@example.org"), PhiLevel::Restricted, declared).await;

        // default column set (LabKey API): exactly the columns at or below the declaration
        let (s, res) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.maxRows", "-1")]).await;
        assert_eq!(s, StatusCode::OK, "{res}");
        assert_eq!(res["rowCount"], 111);
        let fields: Vec<&str> = res["metaData"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        let text = res.to_string();
        for (col, class) in CLASSES {
            assert_eq!(fields.contains(&col), class <= declared, "{col} at {declared}");
        }
        if declared < PhiLevel::Restricted {
            assert!(!ssns.iter().any(|ssn| text.contains(ssn.as_str())), "an SSN leaked at {declared}");
        }
        if declared < PhiLevel::Full {
            assert!(!first_names.iter().any(|n| text.contains(&format!("\"{n}\""))), "a first name leaked at {declared}");
        }

        for (col, class) in CLASSES {
            let allowed = class <= declared;
            let expected = if allowed { StatusCode::OK } else { StatusCode::FORBIDDEN };
            // naming it in the columns
            let cols = format!("Id,{col}");
            let (s, r) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", &cols)]).await;
            assert_eq!(s, expected, "columns {col} at {declared}: {r}");
            if !allowed {
                let msg = r["exception"].as_str().unwrap();
                assert!(msg.contains(col) && msg.contains(class.label()), "{msg}");
                assert!(!ssns.iter().any(|v| msg.contains(v.as_str())));
            }
            // filtering on it (a filter is an oracle: refused, never silently ignored)
            let key = format!("query.{col}~isnonblank");
            let (s, _) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), (&key, "")]).await;
            assert_eq!(s, expected, "filter {col} at {declared}");
            // sorting on it
            let (s, _) = b.select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.sort", col)]).await;
            assert_eq!(s, expected, "sort {col} at {declared}");
            // the browser grid takes the same gate
            let (s, _) = b.grid("synthea", "patients", json!({ "sort": [{ "column": col, "descending": false }] })).await;
            assert_eq!(s, expected, "grid sort {col} at {declared}");
        }

        // the grid says how many columns were hidden, per level
        let (s, page) = b.grid("synthea", "patients", json!({})).await;
        assert_eq!(s, StatusCode::OK);
        let hidden: i64 = page["hidden"].as_array().unwrap().iter().map(|h| h["count"].as_i64().unwrap()).sum();
        let expected_hidden = [18, 12, 3, 0][i];
        assert_eq!(hidden, expected_hidden, "hidden at {declared}: {page}");
        assert_eq!(page["declared"], declared.as_str());
    }
}

#[tokio::test]
async fn values_match_the_csv_at_restricted() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "r@example.org", PhiLevel::Restricted, PhiLevel::Restricted).await;
    let (s, res) = b
        .select_rows("synthea", &[("schemaName", "study"), ("query.queryName", "patients"), ("query.columns", "Id,SSN,BIRTHDATE,LAT,ZIP"), ("query.maxRows", "-1")])
        .await;
    assert_eq!(s, StatusCode::OK);
    let rows = res["rows"].as_array().unwrap();
    let csv = patients_csv();
    assert_eq!(rows.len(), csv.len());
    for (row, rec) in rows.iter().zip(&csv) {
        assert_eq!(row["Id"], rec["Id"].as_str());
        assert_eq!(row["SSN"], rec["SSN"].as_str());
        assert_eq!(row["BIRTHDATE"], format!("{} 00:00:00.000", rec["BIRTHDATE"]).as_str());
        assert_eq!(row["LAT"].as_f64().unwrap(), rec["LAT"].parse::<f64>().unwrap());
        assert_eq!(row["ZIP"].to_string().trim_matches('"'), rec["ZIP"]);
    }
}

#[tokio::test]
async fn grid_paging_sorting_and_filters() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let b = Browser::ready(&app, "g@example.org", PhiLevel::Limited, PhiLevel::Limited).await;
    let (s, p1) = b.grid("synthea", "encounters", json!({ "limit": 100 })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p1["total"], 7584);
    assert_eq!(p1["rows"].as_array().unwrap().len(), 100);
    let (_, p2) = b.grid("synthea", "encounters", json!({ "offset": 7500, "limit": 100 })).await;
    assert_eq!(p2["rows"].as_array().unwrap().len(), 84);

    let filters = json!([{ "column": "ENCOUNTERCLASS", "op": "eq", "value": "emergency" }]);
    let (_, f) = b.grid("synthea", "encounters", json!({ "filters": filters, "sort": [{ "column": "START", "descending": true }] })).await;
    let col = |name: &str| f["columns"].as_array().unwrap().iter().position(|c| c["name"] == name).unwrap();
    let (ci, si) = (col("ENCOUNTERCLASS"), col("START"));
    let rows = f["rows"].as_array().unwrap();
    let expected = {
        let mut r = csv::Reader::from_path(synthea_dir().join("encounters.csv")).unwrap();
        r.records().filter(|x| &x.as_ref().unwrap()[7] == "emergency").count()
    };
    assert_eq!(f["total"], expected as i64);
    assert!(rows.iter().all(|r| r[ci] == "emergency"));
    let starts: Vec<&str> = rows.iter().map(|r| r[si].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "sorted descending");

    // a filter value that does not parse for its column type names the column, not the value
    let bad = json!([{ "column": "BASE_ENCOUNTER_COST", "op": "gt", "value": "lots" }]);
    let (s, e) = b.grid("synthea", "encounters", json!({ "filters": bad })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("BASE_ENCOUNTER_COST: not a decimal number"), "{e}");
    let (s, e) = b.grid("synthea", "nope", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
}

#[tokio::test]
async fn auditors_read_no_data() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    let pw = app.user("aud@example.org", app::types::Role::Auditor, PhiLevel::NotPhi).await;
    let mut b = Browser::new(&app);
    b.login("aud@example.org", &pw).await;
    b.declare("quality-improvement", None, "not-phi").await;
    let (s, e) = b.grid("synthea", "patients", json!({})).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("role_forbidden")));
    let _: Value = e;
}

/// maxRows=-1 asks for every row: refused (naming the parameter and the count) when more than
/// 100,000 match, with nothing released and no data-access event; answered in full when the
/// offset brings it within the limit; the total is the count of every matching row.
#[tokio::test]
async fn every_row_is_refused_above_the_limit_and_the_total_counts_every_match() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("Id,VALUE\n");
    for i in 0..100_005 {
        csv.push_str(&format!("p{},{}\n", i % 50, i));
    }
    std::fs::write(dir.path().join("big.csv"), csv).unwrap();
    std::fs::write(dir.path().join("phi.toml"), "[big]\nId = { level = \"not-phi\", participant = true }\nVALUE = \"not-phi\"\n").unwrap();
    let (plans, _) = attest::data::import::prepare(dir.path(), "big", &dir.path().join("phi.toml")).unwrap();
    attest::data::import::import(&app.state.db, app.clock_now(), "big", &plans, &mut |_| {}).await.unwrap();
    let b = Browser::ready(&app, "all-rows@example.org", PhiLevel::Restricted, PhiLevel::NotPhi).await;
    let before = app.events_of("data_access").await.len();

    let (s, res) = b.select_rows("big", &[("schemaName", "study"), ("query.queryName", "big"), ("query.maxRows", "-1")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        res["exception"],
        "query.maxRows: 100005 rows match, more than the 100000 one response may hold; page with maxRows and offset"
    );
    assert_eq!(app.events_of("data_access").await.len(), before, "a refused request releases nothing and records no access");

    let (s, res) = b.select_rows("big", &[("schemaName", "study"), ("query.queryName", "big"), ("query.maxRows", "-1"), ("query.offset", "5")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(res["rows"].as_array().unwrap().len(), 100_000);
    assert_eq!(res["rowCount"], 100_005);
    assert_eq!(res["rows"][0]["VALUE"], 5);

    let (s, res) = b.select_rows("big", &[("schemaName", "study"), ("query.queryName", "big"), ("query.VALUE~gte", "99990"), ("query.maxRows", "3")]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(res["rowCount"], 15, "the total counts every match, not the page");
    assert_eq!(res["rows"].as_array().unwrap().len(), 3);
}
