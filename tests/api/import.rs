//! `attest import`: the Synthea extract with exact row counts, and every kind of bad input
//! refused with file and line, leaving nothing half-imported.

use std::path::Path;

use attest::data::import;
use sqlx::Row;

use crate::helpers::{synthea_dir, synthea_map, TestApp};

fn csv_rows(path: &Path) -> i64 {
    csv::Reader::from_path(path).unwrap().records().count() as i64
}

#[tokio::test]
async fn synthea_loads_all_eight_files_with_exact_row_counts() {
    let app = TestApp::spawn().await;
    let (plans, warnings) = import::prepare(&synthea_dir(), "synthea", &synthea_map()).unwrap();
    assert!(warnings.is_empty(), "the shipped map covers every identifier-like column: {warnings:?}");
    let report = import::import(&app.state.db, app.clock_now(), "synthea", &plans, &mut |_| {}).await.unwrap();
    assert_eq!(report.datasets.len(), 8);
    for d in &report.datasets {
        let expected = csv_rows(&synthea_dir().join(format!("{}.csv", d.name)));
        assert_eq!(d.rows as i64, expected, "{}", d.name);
        let table: String = sqlx::query("SELECT d.table_name FROM datasets d JOIN studies s ON s.id = d.study_id WHERE s.name = 'synthea' AND d.name = $1")
            .bind(&d.name)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
            .get(0);
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM \"{table}\"")).fetch_one(&app.state.db.pool).await.unwrap().get(0);
        assert_eq!(n, expected, "{}", d.name);
    }
    let patients = report.datasets.iter().find(|d| d.name == "patients").unwrap();
    assert_eq!(patients.participants, Some(111));
    use app::types::PhiLevel::*;
    assert_eq!(patients.columns_by_level.get(&Restricted), Some(&3));
    // types were inferred
    let types: Vec<(String, String)> = sqlx::query(
        "SELECT c.name, c.data_type FROM dataset_columns c JOIN datasets d ON d.id = c.dataset_id WHERE d.name = 'patients' ORDER BY c.ordinal",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let ty = |n: &str| types.iter().find(|(c, _)| c == n).unwrap().1.clone();
    assert_eq!(ty("BIRTHDATE"), "date");
    assert_eq!(ty("SSN"), "text");
    assert_eq!(ty("LAT"), "decimal");
    assert_eq!(ty("INCOME"), "integer");
    let enc_start: String = sqlx::query("SELECT c.data_type FROM dataset_columns c JOIN datasets d ON d.id = c.dataset_id WHERE d.name = 'encounters' AND c.name = 'START'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(enc_start, "timestamp");
}

#[tokio::test]
async fn reimporting_replaces_the_study_atomically() {
    let app = TestApp::spawn().await;
    app.import_synthea().await;
    app.import_synthea().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM datasets").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(n, 8);
    // a failing re-import leaves the previous study as it was
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("patients.csv"), "Id,SSN\n1,2\n3\n").unwrap();
    std::fs::write(dir.path().join("map.toml"), "[patients]\nId = { level = \"not-phi\", participant = true }\n").unwrap();
    let err = import::prepare(dir.path(), "synthea", &dir.path().join("map.toml")).unwrap_err();
    assert!(err.to_string().contains(":3: ragged row"), "{err}");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM datasets").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(n, 8);
}

/// Writes `files` and a map into a temp dir and returns the import error text.
fn import_error(files: &[(&str, &[u8])], map: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::write(dir.path().join("phi.toml"), map).unwrap();
    let e = import::prepare(dir.path(), "bad", &dir.path().join("phi.toml")).unwrap_err();
    let text = e.to_string();
    // make paths stable for the assertions
    text.replace(&format!("{}/", dir.path().display()), "")
}

#[test]
fn bad_input_names_file_and_line() {
    let ok_map = "[p]\nId = { level = \"not-phi\", participant = true }\n";
    assert_eq!(import_error(&[("p.csv", b"Id,A\n1,x\n2\n")], ok_map), "p.csv:3: ragged row: 1 fields where the header has 2");
    assert_eq!(import_error(&[("p.csv", b"Id,A\n1,x\n2,\xff\xfe\n")], ok_map), "p.csv:3: invalid UTF-8");
    assert_eq!(import_error(&[("p.csv", b"Id,A,a\n1,2,3\n")], ok_map), "p.csv:1: duplicate column header 'a'");
    assert_eq!(import_error(&[("p.csv", b"Id,,B\n1,2,3\n")], ok_map), "p.csv:1: column 2 has an empty header");
    let missing_file = import_error(&[("p.csv", b"Id,A\n1,2\n")], "[p]\nId = { level = \"not-phi\", participant = true }\n\n[q]\nX = \"full\"\n");
    assert!(missing_file.starts_with("phi.toml:4: the map names dataset 'q', but there is no q.csv in "), "{missing_file}");
    assert_eq!(
        import_error(&[("p.csv", b"Id,A\n1,2\n")], "[p]\nId = { level = \"not-phi\", participant = true }\nSSN = \"restricted\"\n"),
        "phi.toml:3: the map names column 'SSN', which p.csv does not have"
    );
    assert_eq!(
        import_error(&[("p.csv", b"Id,A\n1,2\n")], "[p]\nId = { level = \"not-phi\", participant = true }\nA = \"secret\"\n"),
        "phi.toml:3: unknown PHI level 'secret' for p.A (use not-phi, limited, full or restricted)"
    );
    assert_eq!(
        import_error(&[("p.csv", b"Id,A\n1,2\n")], "[p]\nA = \"limited\"\n"),
        "phi.toml:1: dataset 'p' has PHI columns but no participant column: mark one with participant = true, so that every access can be attributed"
    );
}

#[tokio::test]
async fn a_failure_while_loading_rolls_everything_back() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "Id,N\n1,5\n2,6\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "Id,N\n1,5\n").unwrap();
    std::fs::write(dir.path().join("map.toml"), "").unwrap();
    let (plans, _) = import::prepare(dir.path(), "half", &dir.path().join("map.toml")).unwrap();
    // the second file changes between planning and loading: its value no longer fits its type
    std::fs::write(dir.path().join("b.csv"), "Id,N\n1,five\n").unwrap();
    let e = import::import(&app.state.db, app.clock_now(), "half", &plans, &mut |_| {}).await.unwrap_err();
    assert!(e.to_string().ends_with("b.csv:2: column N: not an integer"), "{e}");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM studies").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(n, 0, "nothing half-imported");
    let tables: i64 = sqlx::query("SELECT COUNT(*) FROM datasets").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert_eq!(tables, 0);
}
