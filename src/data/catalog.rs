//! The catalog: studies, their datasets, and each column's type and PHI level. The physical
//! table (`ds_<id>`) and column (`c<n>`) names used in SQL come only from here.

use app::types::{DatasetInfo, PhiLevel, StudyInfo};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::Db;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Integer,
    Decimal,
    Date,
    Timestamp,
    Text,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Integer => "integer",
            DataType::Decimal => "decimal",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp",
            DataType::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<DataType> {
        [DataType::Integer, DataType::Decimal, DataType::Date, DataType::Timestamp, DataType::Text]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMeta {
    pub name: String,
    pub physical: String,
    pub data_type: DataType,
    pub phi: PhiLevel,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DatasetMeta {
    pub id: i64,
    pub study: String,
    pub name: String,
    pub table: String,
    pub participant_column: Option<String>,
    pub row_count: i64,
    pub columns: Vec<ColumnMeta>,
}

impl DatasetMeta {
    /// Column names match case-insensitively, as LabKey's field keys do.
    pub fn column(&self, name: &str) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.name == name).or_else(|| self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
    }

    pub fn participant(&self) -> Option<&ColumnMeta> {
        self.participant_column.as_deref().and_then(|n| self.column(n))
    }
}

/// Study names are container names in URLs: short, plain.
pub fn valid_study_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub enum Lookup {
    Found(Box<DatasetMeta>),
    NoStudy,
    NoDataset,
}

const DATASET_SELECT: &str = "SELECT s.name, d.id, d.name, d.table_name, d.participant_column, d.row_count, \
     c.name, c.physical_name, c.data_type, c.phi_level \
     FROM studies s JOIN datasets d ON d.study_id = s.id JOIN dataset_columns c ON c.dataset_id = d.id";

fn group(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<DatasetMeta>, sqlx::Error> {
    let mut out: Vec<DatasetMeta> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(1)?;
        if out.last().map(|d| d.id) != Some(id) {
            out.push(DatasetMeta {
                id,
                study: r.try_get(0)?,
                name: r.try_get(2)?,
                table: r.try_get(3)?,
                participant_column: r.try_get(4)?,
                row_count: r.try_get(5)?,
                columns: Vec::new(),
            });
        }
        let dt: String = r.try_get(8)?;
        let phi: String = r.try_get(9)?;
        out.last_mut().expect("pushed").columns.push(ColumnMeta {
            name: r.try_get(6)?,
            physical: r.try_get(7)?,
            data_type: DataType::parse(&dt).ok_or_else(|| sqlx::Error::Decode(format!("bad type {dt}").into()))?,
            phi: PhiLevel::parse(&phi).ok_or_else(|| sqlx::Error::Decode(format!("bad PHI level {phi}").into()))?,
        });
    }
    Ok(out)
}

/// The whole catalog as of one generation (see migration 0004: a counter the database moves
/// on every change to studies, datasets or columns). Each node keeps the latest in memory and
/// checks the counter, one small query, instead of reading the catalog for every request.
#[derive(Debug, Default)]
pub struct Catalog {
    generation: i64,
    studies: Vec<StudyEntry>,
}

#[derive(Debug)]
struct StudyEntry {
    name: String,
    /// Ordered by name.
    datasets: Vec<DatasetMeta>,
}

impl Catalog {
    /// Study names are matched as LabKey matches containers: exactly, else ignoring case.
    fn study(&self, name: &str) -> Option<&StudyEntry> {
        self.studies.iter().find(|s| s.name == name).or_else(|| {
            let lower = name.to_lowercase();
            self.studies.iter().find(|s| s.name.to_lowercase() == lower)
        })
    }

    pub fn study_name(&self, study: &str) -> Option<String> {
        self.study(study).map(|s| s.name.clone())
    }

    pub fn dataset(&self, study: &str, dataset: &str) -> Lookup {
        let Some(s) = self.study(study) else { return Lookup::NoStudy };
        let lower = dataset.to_lowercase();
        match s.datasets.iter().find(|d| d.name == dataset).or_else(|| s.datasets.iter().find(|d| d.name.to_lowercase() == lower)) {
            Some(d) => Lookup::Found(Box::new(d.clone())),
            None => Lookup::NoDataset,
        }
    }

    pub fn datasets_of(&self, study: &str) -> Vec<DatasetMeta> {
        self.study(study).map(|s| s.datasets.clone()).unwrap_or_default()
    }

    pub fn study_names(&self) -> Vec<String> {
        self.studies.iter().map(|s| s.name.clone()).collect()
    }
}

async fn generation(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT generation FROM catalog_generation WHERE id = 1").fetch_one(&db.pool).await?.try_get(0)
}

async fn load(db: &Db, generation: i64) -> Result<Catalog, sqlx::Error> {
    let names = sqlx::query("SELECT name FROM studies ORDER BY name").fetch_all(&db.pool).await?;
    let rows = sqlx::query(&format!("{DATASET_SELECT} ORDER BY s.name, d.name, d.id, c.ordinal")).fetch_all(&db.pool).await?;
    let mut datasets = group(rows)?.into_iter().peekable();
    let mut studies = Vec::new();
    for r in names {
        let name: String = r.try_get(0)?;
        let mut mine = Vec::new();
        while let Some(d) = datasets.next_if(|d| d.study == name) {
            mine.push(d);
        }
        studies.push(StudyEntry { name, datasets: mine });
    }
    Ok(Catalog { generation, studies })
}

/// The catalog as it is now: the cached one while the database's counter has not moved.
pub async fn current(db: &Db) -> Result<std::sync::Arc<Catalog>, sqlx::Error> {
    let g = generation(db).await?;
    at_generation(db, g).await
}

/// The catalog at a generation the caller has just read (the principal lookup reads it with
/// the session, which saves a statement on every data request).
pub async fn at_generation(db: &Db, generation_read: i64) -> Result<std::sync::Arc<Catalog>, sqlx::Error> {
    let mut g = generation_read;
    // The counter only grows, so a cached catalog at least as new as what the caller read will do.
    if let Some(c) = db.catalog_cache.lock().expect("catalog cache").as_ref().filter(|c| c.generation >= g) {
        return Ok(c.clone());
    }
    // Read until the counter holds still across the read (an import may land in between).
    for _ in 0..5 {
        let c = load(db, g).await?;
        let after = generation(db).await?;
        if after == g {
            let c = std::sync::Arc::new(c);
            *db.catalog_cache.lock().expect("catalog cache") = Some(c.clone());
            return Ok(c);
        }
        g = after;
    }
    Err(sqlx::Error::Protocol("the catalog kept changing while it was read".into()))
}

pub async fn study_name(db: &Db, study: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(current(db).await?.study_name(study))
}

pub async fn dataset(db: &Db, study: &str, dataset: &str) -> Result<Lookup, sqlx::Error> {
    Ok(current(db).await?.dataset(study, dataset))
}

pub async fn datasets_of(db: &Db, study: &str) -> Result<Vec<DatasetMeta>, sqlx::Error> {
    Ok(current(db).await?.datasets_of(study))
}

pub fn info(d: &DatasetMeta) -> DatasetInfo {
    DatasetInfo {
        name: d.name.clone(),
        row_count: d.row_count,
        column_count: d.columns.len() as i64,
        participant_column: d.participant_column.clone(),
    }
}

pub async fn studies(db: &Db) -> Result<Vec<StudyInfo>, sqlx::Error> {
    let c = current(db).await?;
    Ok(c.studies.iter().map(|s| StudyInfo { name: s.name.clone(), datasets: s.datasets.iter().map(info).collect() }).collect())
}
