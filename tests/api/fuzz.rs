//! Bounded fuzzing with proptest (PROPTEST_CASES sets the number of cases): the key parser
//! and checksum, the filter parser, the CSV importer and the SQL compiler never panic, and
//! refuse what is malformed.

use app::types::PhiLevel;
use attest::auth::key;
use attest::data::catalog::{ColumnMeta, DataType, DatasetMeta};
use attest::data::filter::{self, FilterOp};
use proptest::prelude::*;
use secrecy::ExposeSecret;

fn dataset() -> DatasetMeta {
    let col = |name: &str, i: usize, dt, phi| ColumnMeta { name: name.into(), physical: format!("c{i}"), data_type: dt, phi };
    DatasetMeta {
        id: 1,
        study: "s".into(),
        name: "patients".into(),
        table: "ds_1".into(),
        participant_column: Some("Id".into()),
        row_count: 1,
        columns: vec![
            col("Id", 0, DataType::Text, PhiLevel::NotPhi),
            col("N", 1, DataType::Integer, PhiLevel::NotPhi),
            col("X", 2, DataType::Decimal, PhiLevel::Limited),
            col("D", 3, DataType::Date, PhiLevel::Limited),
            col("T", 4, DataType::Timestamp, PhiLevel::Full),
            col("SSN", 5, DataType::Text, PhiLevel::Restricted),
        ],
    }
}

proptest! {
    #[test]
    fn the_key_parser_never_panics(s in "\\PC{0,80}") {
        let _ = key::parse(&s);
    }

    #[test]
    fn a_key_with_any_one_character_changed_is_refused(pos in 10usize..59, c in "[0-9A-Za-z]") {
        let k = key::generate().expose_secret().to_string();
        let mut chars: Vec<char> = k.chars().collect();
        let c = c.chars().next().unwrap();
        prop_assume!(chars[pos] != c);
        chars[pos] = c;
        let typo: String = chars.into_iter().collect();
        prop_assert!(key::parse(&typo).is_err());
    }

    #[test]
    fn near_keys_are_refused(body in "[0-9A-Za-z]{49}") {
        // a random body passes only if its checksum happens to match (about 1 in 2^32)
        let text = format!("{}{body}", key::PREFIX);
        if key::parse(&text).is_ok() {
            prop_assert_eq!(text.len(), key::KEY_LEN);
        }
    }

    #[test]
    fn the_filter_parser_never_panics(col in 0usize..6, op in "[a-z]{0,12}", value in "\\PC{0,40}") {
        let d = dataset();
        let c = &d.columns[col];
        if let Some(op) = FilterOp::parse(&op) {
            if let Ok(f) = filter::check(c, op, &value) {
                let _ = f.condition();
                let _ = f.describe();
            }
        }
    }

    #[test]
    fn the_csv_importer_never_panics_and_names_the_file(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("d.csv"), &bytes).unwrap();
        std::fs::write(dir.path().join("m.toml"), "").unwrap();
        match attest::data::import::prepare(dir.path(), "fuzz", &dir.path().join("m.toml")) {
            Ok((plans, _)) => prop_assert_eq!(plans.len(), 1),
            Err(e) => prop_assert!(e.to_string().contains("d.csv"), "{}", e),
        }
    }

    #[test]
    fn the_sql_compiler_never_panics(sql in "\\PC{0,120}") {
        let _ = attest::data::sql::compile(&sql, &[dataset()], attest::db::Backend::Sqlite, true);
    }

    #[test]
    fn sql_made_of_real_words_never_panics_and_never_reads_ssn_below_restricted(
        words in proptest::collection::vec(prop::sample::select(vec![
            "SELECT", "FROM", "WHERE", "patients", "p", "Id", "N", "X", "SSN", "ssn", "\"SSN\"", "p.SSN", "*", ",", "(", ")", "count",
            "sum", "lower", "substring", "AS", "x", "=", "'a'", "1", "AND", "OR", "NOT", "IN", "UNION", "ALL", "GROUP", "BY", "ORDER",
            "HAVING", "JOIN", "ON", "LEFT", "LIMIT", "DISTINCT", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "INTEGER", ";", "--",
        ]), 1..24)
    ) {
        let sql = words.join(" ");
        if let Ok(c) = attest::data::sql::compile(&sql, &[dataset()], attest::db::Backend::Postgres, false) {
            // whatever compiles, its PHI level is what the gate compares with the declaration
            let touches_ssn = c.touched.values().any(|t| t.column.name == "SSN");
            let reads_c5 = c.sql.contains("\"c5\"");
            prop_assert_eq!(touches_ssn, reads_c5, "{} -> {}", sql, c.sql);
        }
    }
}
