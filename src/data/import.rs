//! `attest import DIR --study NAME --phi-map FILE`: every CSV in DIR becomes one dataset (named
//! after the file's stem, columns as in its header), types inferred, PHI levels from the map.
//! The whole study is replaced in one transaction: a bad file leaves nothing half-imported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use app::types::PhiLevel;
use sqlx::{AnyConnection, Row};

use super::catalog::{valid_study_name, DataType};
use super::phi_map::{looks_like_identifier, PhiMap};
use super::values::{parse_cell, Cell, Fits};
use crate::audit::{writer::append, AuditEvent, EventType};
use crate::db::{Backend, Db};

/// An import error that names the file and, where it can, the line.
#[derive(Debug)]
pub struct ImportError {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl ImportError {
    pub fn at(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        ImportError { file: Some(file.to_string()), line, message: message.into() }
    }

    pub fn general(message: impl Into<String>) -> Self {
        ImportError { file: None, line: None, message: message.into() }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::general(format!("database error: {e}"))
    }
}

/// One CSV file, checked: header, inferred types, levels, row count.
#[derive(Clone, Debug)]
pub struct FilePlan {
    pub path: PathBuf,
    pub display: String,
    pub dataset: String,
    pub columns: Vec<PlannedColumn>,
    pub rows: usize,
    pub participant: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct PlannedColumn {
    pub name: String,
    pub data_type: DataType,
    pub phi: PhiLevel,
    pub index: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DatasetSummary {
    pub name: String,
    pub rows: usize,
    pub columns_by_level: BTreeMap<PhiLevel, usize>,
    pub participants: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub datasets: Vec<DatasetSummary>,
    pub warnings: Vec<String>,
}

/// Progress of the insert phase, for a terminal.
pub struct Progress<'a> {
    pub file: &'a str,
    pub rows: usize,
    pub total: usize,
    pub elapsed_secs: f64,
    pub done: bool,
}

/// Lists the CSV files in `dir`, sorted.
fn csv_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ImportError::at(&dir.display().to_string(), None, format!("cannot read the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ImportError::at(&dir.display().to_string(), None, "no .csv files found"));
    }
    Ok(files)
}

fn open(path: &Path, display: &str) -> Result<csv::Reader<std::fs::File>, ImportError> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(|e| ImportError::at(display, None, format!("cannot open: {e}")))
}

fn csv_error(display: &str, e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line() as usize);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("ragged row: {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        _ => e.to_string(),
    };
    ImportError::at(display, line, message)
}

/// Pass 1: reads a whole file, checking its structure and inferring column types.
pub fn plan_file(path: &Path, display: &str, map: &PhiMap, warnings: &mut Vec<String>) -> Result<FilePlan, ImportError> {
    let dataset = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let mut rdr = open(path, display)?;
    let header = rdr.byte_headers().map_err(|e| csv_error(display, e))?.clone();
    let mut names: Vec<String> = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw).map_err(|_| ImportError::at(display, Some(1), "invalid UTF-8 in the header"))?;
        let name = name.trim_start_matches('\u{feff}').trim().to_string();
        if name.is_empty() {
            return Err(ImportError::at(display, Some(1), format!("column {} has an empty header", i + 1)));
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(ImportError::at(display, Some(1), format!("duplicate column header '{name}'")));
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err(ImportError::at(display, Some(1), "the header row is empty"));
    }
    let mut fits = vec![Fits::ALL; names.len()];
    let mut seen = vec![false; names.len()];
    let mut rows = 0usize;
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(display, e)),
        }
        rows += 1;
        let line = record.position().map(|p| p.line() as usize);
        for (i, raw) in record.iter().enumerate() {
            let v = std::str::from_utf8(raw).map_err(|_| ImportError::at(display, line, "invalid UTF-8"))?;
            if !v.is_empty() {
                seen[i] = true;
                fits[i].narrow(v);
            }
        }
    }

    let rules = map.datasets.get(&dataset);
    let mut columns = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let rule = rules.and_then(|r| r.columns.get(name));
        if rule.is_none() && looks_like_identifier(name) {
            warnings.push(format!("{display}: column '{name}' looks like an identifier but is not in the PHI map; it is imported as not-phi"));
        }
        columns.push(PlannedColumn {
            name: name.clone(),
            data_type: fits[i].data_type(seen[i]),
            phi: rule.map(|r| r.level).unwrap_or(PhiLevel::NotPhi),
            index: rule.is_some_and(|r| r.index || r.participant),
        });
    }
    let mut participant = None;
    if let Some(rules) = rules {
        for (col, rule) in &rules.columns {
            let Some(i) = names.iter().position(|n| n == col) else {
                return Err(ImportError::at(&map.file, Some(rule.line), format!("the map names column '{col}', which {display} does not have")));
            };
            if rule.participant {
                participant = Some(i);
            }
        }
    }
    if participant.is_none() && columns.iter().any(|c| c.phi > PhiLevel::NotPhi) {
        let line = rules.map(|r| r.line);
        return Err(ImportError::at(
            &map.file,
            line,
            format!("dataset '{dataset}' has PHI columns but no participant column: mark one with participant = true, so that every access can be attributed"),
        ));
    }
    Ok(FilePlan { path: path.to_path_buf(), display: display.to_string(), dataset, columns, rows, participant })
}

/// Checks every file and the map against each other, without touching the database.
pub fn plan(dir: &Path, study: &str, map: &PhiMap) -> Result<(Vec<FilePlan>, Vec<String>), ImportError> {
    if !valid_study_name(study) {
        return Err(ImportError::general(format!(
            "invalid study name '{study}': use 1 to 64 letters, digits, '_' or '-'"
        )));
    }
    let files = csv_files(dir)?;
    let stems: BTreeSet<String> = files.iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().to_string())).collect();
    for (name, rules) in &map.datasets {
        if !stems.contains(name) {
            return Err(ImportError::at(&map.file, Some(rules.line), format!("the map names dataset '{name}', but there is no {name}.csv in {}", dir.display())));
        }
    }
    let mut warnings = Vec::new();
    let mut plans = Vec::new();
    for f in files {
        let display = f.display().to_string();
        plans.push(plan_file(&f, &display, map, &mut warnings)?);
    }
    Ok((plans, warnings))
}

fn sql_type(dt: DataType, backend: Backend) -> &'static str {
    match (dt, backend) {
        (DataType::Integer, Backend::Sqlite) => "INTEGER",
        (DataType::Integer, Backend::Postgres) => "BIGINT",
        (DataType::Decimal, Backend::Sqlite) => "REAL",
        (DataType::Decimal, Backend::Postgres) => "DOUBLE PRECISION",
        _ => "TEXT",
    }
}

/// Loads a study (pass 2), replacing any study of the same name atomically.
pub async fn import(
    db: &Db,
    now: i64,
    study: &str,
    plans: &[FilePlan],
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ImportReport, ImportError> {
    let mut tx = db.begin_write().await?;
    drop_study(&mut tx, study).await?;
    let study_id: i64 = sqlx::query("INSERT INTO studies (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(study)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let mut report = ImportReport::default();
    for plan in plans {
        report.datasets.push(load_file(&mut tx, db.backend, study_id, plan, progress).await?);
    }
    let mut e = AuditEvent::new(EventType::StudyImported, now);
    e.study = Some(study.to_string());
    e.detail = Some(serde_json::json!({
        "datasets": report.datasets.iter().map(|d| serde_json::json!({"name": d.name, "rows": d.rows})).collect::<Vec<_>>()
    }));
    append(&mut tx, &[e]).await?;
    tx.commit().await?;
    Ok(report)
}

async fn drop_study(tx: &mut AnyConnection, study: &str) -> Result<(), sqlx::Error> {
    let Some(row) = sqlx::query("SELECT id FROM studies WHERE name = $1").bind(study).fetch_optional(&mut *tx).await? else {
        return Ok(());
    };
    let id: i64 = row.try_get(0)?;
    let tables = sqlx::query("SELECT id, table_name FROM datasets WHERE study_id = $1").bind(id).fetch_all(&mut *tx).await?;
    for t in tables {
        let did: i64 = t.try_get(0)?;
        let table: String = t.try_get(1)?;
        // table names are generated (ds_<id>), never user text
        sqlx::query(&format!("DROP TABLE IF EXISTS \"{table}\"")).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM dataset_columns WHERE dataset_id = $1").bind(did).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM datasets WHERE study_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM studies WHERE id = $1").bind(id).execute(&mut *tx).await?;
    Ok(())
}

async fn load_file(
    tx: &mut AnyConnection,
    backend: Backend,
    study_id: i64,
    plan: &FilePlan,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<DatasetSummary, ImportError> {
    let participant_name = plan.participant.map(|i| plan.columns[i].name.clone());
    let dataset_id: i64 = sqlx::query(
        "INSERT INTO datasets (study_id, name, table_name, participant_column, row_count) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(study_id)
    .bind(&plan.dataset)
    .bind(format!("pending_{study_id}_{}", plan.dataset))
    .bind(&participant_name)
    .bind(plan.rows as i64)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let table = format!("ds_{dataset_id}");
    sqlx::query("UPDATE datasets SET table_name = $1 WHERE id = $2").bind(&table).bind(dataset_id).execute(&mut *tx).await?;

    let mut ddl = format!("CREATE TABLE \"{table}\" (\"_row\" {} PRIMARY KEY", if backend == Backend::Sqlite { "INTEGER" } else { "BIGINT" });
    for (i, c) in plan.columns.iter().enumerate() {
        sqlx::query(
            "INSERT INTO dataset_columns (dataset_id, ordinal, name, physical_name, data_type, phi_level) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(dataset_id)
        .bind(i as i64)
        .bind(&c.name)
        .bind(format!("c{i}"))
        .bind(c.data_type.as_str())
        .bind(c.phi.as_str())
        .execute(&mut *tx)
        .await?;
        ddl.push_str(&format!(", \"c{i}\" {}", sql_type(c.data_type, backend)));
    }
    ddl.push(')');
    sqlx::query(&ddl).execute(&mut *tx).await?;

    // Multi-row inserts, staying well under both backends' bound-parameter limits.
    let per_row = plan.columns.len() + 1;
    let batch = (30_000 / per_row).clamp(1, 1000);
    let started = Instant::now();
    let mut rdr = open(&plan.path, &plan.display)?;
    let mut record = csv::StringRecord::new();
    let mut pending: Vec<(i64, Vec<Cell>)> = Vec::with_capacity(batch);
    let mut row_no: i64 = 0;
    loop {
        let more = rdr.read_record(&mut record).map_err(|e| csv_error(&plan.display, e))?;
        if more {
            row_no += 1;
            let line = record.position().map(|p| p.line() as usize);
            let mut cells = Vec::with_capacity(plan.columns.len());
            for (i, c) in plan.columns.iter().enumerate() {
                let raw = record.get(i).unwrap_or("");
                let cell = parse_cell(c.data_type, raw)
                    .map_err(|m| ImportError::at(&plan.display, line, format!("column {}: {m}", c.name)))?;
                cells.push(cell);
            }
            pending.push((row_no, cells));
        }
        if pending.len() >= batch || (!more && !pending.is_empty()) {
            insert_rows(tx, &table, plan, &pending).await?;
            pending.clear();
            progress(Progress {
                file: &plan.display,
                rows: row_no as usize,
                total: plan.rows,
                elapsed_secs: started.elapsed().as_secs_f64(),
                done: false,
            });
        }
        if !more {
            break;
        }
    }
    progress(Progress { file: &plan.display, rows: row_no as usize, total: plan.rows, elapsed_secs: started.elapsed().as_secs_f64(), done: true });

    for (i, c) in plan.columns.iter().enumerate() {
        if c.index {
            sqlx::query(&format!("CREATE INDEX \"{table}_c{i}\" ON \"{table}\" (\"c{i}\")")).execute(&mut *tx).await?;
        }
    }
    let participants = match plan.participant {
        Some(i) => Some(
            sqlx::query(&format!("SELECT COUNT(DISTINCT \"c{i}\") FROM \"{table}\""))
                .fetch_one(&mut *tx)
                .await?
                .try_get::<i64, _>(0)?,
        ),
        None => None,
    };
    let mut by_level = BTreeMap::new();
    for c in &plan.columns {
        *by_level.entry(c.phi).or_insert(0) += 1;
    }
    Ok(DatasetSummary { name: plan.dataset.clone(), rows: plan.rows, columns_by_level: by_level, participants })
}

async fn insert_rows(tx: &mut AnyConnection, table: &str, plan: &FilePlan, rows: &[(i64, Vec<Cell>)]) -> Result<(), sqlx::Error> {
    let ncols = plan.columns.len();
    let mut sql = format!("INSERT INTO \"{table}\" (\"_row\"");
    for i in 0..ncols {
        sql.push_str(&format!(", \"c{i}\""));
    }
    sql.push_str(") VALUES ");
    let mut n = 0;
    for (r, _) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for i in 0..=ncols {
            n += 1;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&crate::db::placeholder(tx, n));
        }
        sql.push(')');
    }
    let mut q = sqlx::query(&sql);
    for (row_no, cells) in rows {
        q = q.bind(*row_no);
        for (c, cell) in plan.columns.iter().zip(cells) {
            // NULLs are typed for their column (PostgreSQL will not put a text NULL in a BIGINT).
            q = match (cell, c.data_type) {
                (Cell::Null, DataType::Integer) => q.bind(Option::<i64>::None),
                (Cell::Null, DataType::Decimal) => q.bind(Option::<f64>::None),
                (Cell::Null, _) => q.bind(Option::<String>::None),
                (Cell::Int(i), _) => q.bind(*i),
                (Cell::Float(f), _) => q.bind(*f),
                (Cell::Text(s), _) => q.bind(s.clone()),
            };
        }
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Reads the map file and plans the import: everything that can fail before the database.
pub fn prepare(dir: &Path, study: &str, map_path: &Path) -> Result<(Vec<FilePlan>, Vec<String>), ImportError> {
    let display = map_path.display().to_string();
    let text = std::fs::read_to_string(map_path).map_err(|e| ImportError::at(&display, None, format!("cannot read the PHI map: {e}")))?;
    let map = super::phi_map::parse(&display, &text)?;
    plan(dir, study, &map)
}
