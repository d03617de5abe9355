//! The PHI map an import takes: TOML, one table per dataset (the CSV file's stem), one key per
//! column. A value is a level (`SSN = "restricted"`) or an inline table that also marks the
//! participant-id column or asks for an index
//! (`PATIENT = { level = "not-phi", participant = true, index = true }`).
//! Columns not listed are not-phi.

use std::collections::BTreeMap;

use app::types::PhiLevel;
use serde::Deserialize;
use toml::Spanned;

use super::import::ImportError;

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnRule {
    pub level: PhiLevel,
    pub participant: bool,
    pub index: bool,
    pub line: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetRules {
    pub line: usize,
    pub columns: BTreeMap<String, ColumnRule>,
}

impl DatasetRules {
    pub fn participant(&self) -> Option<(&String, &ColumnRule)> {
        self.columns.iter().find(|(_, r)| r.participant)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhiMap {
    pub file: String,
    pub datasets: BTreeMap<String, DatasetRules>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRule {
    Level(String),
    Detailed {
        level: String,
        #[serde(default)]
        participant: bool,
        #[serde(default)]
        index: bool,
    },
}

type RawMap = BTreeMap<Spanned<String>, Spanned<BTreeMap<Spanned<String>, Spanned<RawRule>>>>;

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

pub fn parse(file: &str, text: &str) -> Result<PhiMap, ImportError> {
    let raw: RawMap = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        ImportError::at(file, line, format!("not a valid PHI map: {}", e.message()))
    })?;
    let mut map = PhiMap { file: file.to_string(), datasets: BTreeMap::new() };
    for (dataset, cols) in raw {
        let mut rules = DatasetRules { line: line_of(text, dataset.span().start), columns: BTreeMap::new() };
        let mut participants = 0;
        for (column, rule) in cols.into_inner() {
            let line = line_of(text, column.span().start);
            let (level, participant, index) = match rule.into_inner() {
                RawRule::Level(l) => (l, false, false),
                RawRule::Detailed { level, participant, index } => (level, participant, index),
            };
            let level = PhiLevel::parse(&level).ok_or_else(|| {
                ImportError::at(
                    file,
                    Some(line),
                    format!("unknown PHI level '{level}' for {}.{} (use not-phi, limited, full or restricted)", dataset.get_ref(), column.get_ref()),
                )
            })?;
            participants += participant as usize;
            rules.columns.insert(column.into_inner(), ColumnRule { level, participant, index, line });
        }
        if participants > 1 {
            return Err(ImportError::at(file, Some(rules.line), format!("dataset '{}' names more than one participant column", dataset.get_ref())));
        }
        map.datasets.insert(dataset.into_inner(), rules);
    }
    Ok(map)
}

/// Column names that look like HIPAA identifiers: the importer warns when such a column is not
/// in the map (and so would be imported as not-phi).
pub fn looks_like_identifier(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const SUBSTRINGS: &[&str] = &[
        "ssn", "social", "passport", "driver", "licen", "address", "street", "birth", "death", "phone", "email", "maiden",
        "zip", "postal", "latitude", "longitude", "surname", "given",
    ];
    const TOKENS: &[&str] = &["name", "first", "last", "city", "county", "lat", "lon", "lng", "ip", "url", "mrn", "dob", "fax", "fips", "prefix", "suffix"];
    if SUBSTRINGS.iter().any(|s| lower.contains(s)) {
        return true;
    }
    lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| TOKENS.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels_participants_and_lines() {
        let text = "# comment\n[patients]\nId = { level = \"not-phi\", participant = true }\nSSN = \"restricted\"\n\n[encounters]\nPATIENT = { level = \"not-phi\", participant = true, index = true }\n";
        let m = parse("phi.toml", text).unwrap();
        let p = &m.datasets["patients"];
        assert_eq!(p.line, 2);
        assert_eq!(p.participant().unwrap().0, "Id");
        assert_eq!(p.columns["SSN"], ColumnRule { level: PhiLevel::Restricted, participant: false, index: false, line: 4 });
        assert!(m.datasets["encounters"].columns["PATIENT"].index);
    }

    #[test]
    fn unknown_levels_name_file_and_line() {
        let e = parse("phi.toml", "[patients]\nId = \"not-phi\"\nSSN = \"secret\"\n").unwrap_err();
        assert_eq!(e.to_string(), "phi.toml:3: unknown PHI level 'secret' for patients.SSN (use not-phi, limited, full or restricted)");
        let e = parse("phi.toml", "[patients\n").unwrap_err();
        assert!(e.to_string().starts_with("phi.toml:1: not a valid PHI map"), "{e}");
    }

    #[test]
    fn identifier_like_names() {
        for n in ["SSN", "FIRST", "LAST", "BIRTHDATE", "ADDRESS", "ZIP", "LAT", "LON", "DRIVERS", "patient_name"] {
            assert!(looks_like_identifier(n), "{n}");
        }
        for n in ["DESCRIPTION", "CODE", "GENDER", "ENCOUNTERCLASS", "BASE_COST"] {
            assert!(!looks_like_identifier(n), "{n}");
        }
    }
}
