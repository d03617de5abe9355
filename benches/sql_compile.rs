//! Parse-and-check time of executeSql queries (target: under 1 ms for a 20-line query).
//! Run: cargo bench --bench sql_compile

use std::time::Instant;

use app::types::PhiLevel;
use attest::data::catalog::{ColumnMeta, DataType, DatasetMeta};
use attest::db::Backend;

fn ds(id: i64, name: &str, cols: &[(&str, DataType, PhiLevel)], participant: &str) -> DatasetMeta {
    DatasetMeta {
        id,
        study: "synthea".into(),
        name: name.into(),
        table: format!("ds_{id}"),
        participant_column: Some(participant.into()),
        row_count: 0,
        columns: cols.iter().enumerate().map(|(i, (n, t, p))| ColumnMeta { name: n.to_string(), physical: format!("c{i}"), data_type: *t, phi: *p }).collect(),
    }
}

const QUERY: &str = "SELECT p.Id,
       p.GENDER,
       year(p.BIRTHDATE) AS birth_year,
       e.ENCOUNTERCLASS,
       count(*) AS visits,
       round(avg(e.BASE_ENCOUNTER_COST), 2) AS mean_cost,
       max(e.START) AS last_visit,
       sum(CASE WHEN e.ENCOUNTERCLASS = 'emergency' THEN 1 ELSE 0 END) AS emergencies
FROM patients p
JOIN encounters e ON e.PATIENT = p.Id
LEFT JOIN conditions c ON c.ENCOUNTER = e.Id AND c.PATIENT = p.Id
WHERE p.GENDER IN ('F', 'M')
  AND e.START BETWEEN '2015-01-01' AND '2025-12-31'
  AND lower(e.DESCRIPTION) LIKE '%visit%'
  AND p.Id IN (SELECT PATIENT FROM encounters WHERE BASE_ENCOUNTER_COST > 100)
  AND coalesce(c.CODE, 0) >= 0
GROUP BY p.Id, p.GENDER, year(p.BIRTHDATE), e.ENCOUNTERCLASS
HAVING count(*) > 1
ORDER BY visits DESC, p.Id
LIMIT 500";

fn main() {
    use DataType::*;
    use PhiLevel::*;
    let datasets = vec![
        ds(1, "patients", &[("Id", Text, NotPhi), ("BIRTHDATE", Date, Limited), ("GENDER", Text, NotPhi), ("SSN", Text, Restricted)], "Id"),
        ds(
            2,
            "encounters",
            &[("Id", Text, NotPhi), ("START", Timestamp, Limited), ("PATIENT", Text, NotPhi), ("ENCOUNTERCLASS", Text, NotPhi), ("DESCRIPTION", Text, NotPhi), ("BASE_ENCOUNTER_COST", Decimal, NotPhi)],
            "PATIENT",
        ),
        ds(3, "conditions", &[("PATIENT", Text, NotPhi), ("ENCOUNTER", Text, NotPhi), ("CODE", Integer, NotPhi)], "PATIENT"),
    ];
    assert_eq!(QUERY.lines().count(), 20);
    let c = attest::data::sql::compile(QUERY, &datasets, Backend::Sqlite, true).expect("compiles");
    assert!(c.hidden > 0);
    let n = 2000;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let started = Instant::now();
        for _ in 0..n {
            // both passes the gate makes: the check, then the attributed compile
            std::hint::black_box(attest::data::sql::compile(QUERY, &datasets, backend, false).unwrap());
            std::hint::black_box(attest::data::sql::compile(QUERY, &datasets, backend, true).unwrap());
        }
        let per = started.elapsed().as_secs_f64() / n as f64;
        println!("sql_compile {backend:?}: 20-line query, parse + check + generate, both passes: {:.1} µs per query", per * 1e6);
    }
}
