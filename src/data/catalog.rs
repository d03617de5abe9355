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

pub async fn study_name(db: &Db, study: &str) -> Result<Option<String>, sqlx::Error> {
    let r = sqlx::query("SELECT name FROM studies WHERE LOWER(name) = LOWER($1)").bind(study).fetch_optional(&db.pool).await?;
    r.map(|r| r.try_get(0)).transpose()
}

pub async fn dataset(db: &Db, study: &str, dataset: &str) -> Result<Lookup, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{DATASET_SELECT} WHERE LOWER(s.name) = LOWER($1) AND LOWER(d.name) = LOWER($2) ORDER BY d.id, c.ordinal"
    ))
    .bind(study)
    .bind(dataset)
    .fetch_all(&db.pool)
    .await?;
    let mut found = group(rows)?;
    if let Some(d) = found.pop() {
        return Ok(Lookup::Found(Box::new(d)));
    }
    Ok(if study_name(db, study).await?.is_some() { Lookup::NoDataset } else { Lookup::NoStudy })
}

pub async fn datasets_of(db: &Db, study: &str) -> Result<Vec<DatasetMeta>, sqlx::Error> {
    let rows = sqlx::query(&format!("{DATASET_SELECT} WHERE LOWER(s.name) = LOWER($1) ORDER BY d.name, d.id, c.ordinal"))
        .bind(study)
        .fetch_all(&db.pool)
        .await?;
    group(rows)
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
    let rows = sqlx::query("SELECT name FROM studies ORDER BY name").fetch_all(&db.pool).await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get(0)?;
        let datasets = datasets_of(db, &name).await?.iter().map(info).collect();
        out.push(StudyInfo { name, datasets });
    }
    Ok(out)
}
