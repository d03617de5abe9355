//! THE GATE. The single function through which dataset rows leave the server, for the browser
//! grid, the SQL page and the LabKey API alike (selectRows and executeSql): it checks the principal's declaration (complete, current),
//! role and PHI level, runs the query, writes the audit event and waits until it is durable,
//! and only then hands the rows back. If the event cannot be written, no rows are returned.

use app::types::{HiddenColumns, PhiLevel};

use super::catalog::{self, Catalog, DataType, Lookup};
use super::reader::{self, Limits, ReadError};
use super::select::{self, MaxRows, SelectRequest, MAX_ROWS};
use super::sql;
use super::values::Cell;
use crate::audit::EventType;
use crate::auth::principal::Principal;
use crate::compliance::{self, Missing};
use crate::state::AppState;

/// What a caller may ask the gate for.
#[derive(Clone, Debug)]
pub enum DataRequest {
    /// selectRows and the browser grid: one dataset, filters, sorts.
    Select(SelectRequest),
    /// executeSql and the browser's SQL page.
    Sql(SqlRequest),
}

#[derive(Clone, Debug)]
pub struct SqlRequest {
    pub study: String,
    /// The SQL text, already decoded.
    pub sql: String,
    pub offset: i64,
    pub max_rows: MaxRows,
    pub max_rows_param: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutColumn {
    pub name: String,
    pub data_type: DataType,
    pub phi: PhiLevel,
}

/// Rows that passed the gate, with the sequence number of the audit event that records them.
#[derive(Clone, Debug)]
pub struct Released {
    pub study: String,
    pub query_name: String,
    pub columns: Vec<OutColumn>,
    pub rows: Vec<Vec<Cell>>,
    /// Every row matching the filters (not just this page).
    pub total: i64,
    pub hidden: Vec<HiddenColumns>,
    pub declared: PhiLevel,
    /// The dataset's participant column, LabKey's key column.
    pub key_column: Option<String>,
    pub audit_seq: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{}", .0.message())]
    NotReady(Missing),
    #[error("your role ({0}) does not read study data")]
    RoleForbidden(String),
    #[error("no study named '{0}'")]
    NoStudy(String),
    #[error("the query '{dataset}' does not exist in study '{study}'")]
    NoDataset { study: String, dataset: String },
    #[error("{param}: {message}")]
    BadParameter { param: String, message: String },
    #[error("{} {} {}: {} {} {}, and this session declared {}. Sign in again and declare {} to use {}.",
        if columns.len() == 1 { "column" } else { "columns" }, columns.join(", "), usage,
        if columns.len() == 1 { "it" } else { "they" }, if columns.len() == 1 { "requires" } else { "require" },
        required.label(), declared.label(), required.as_str(), if columns.len() == 1 { "it" } else { "them" })]
    PhiAboveDeclared { columns: Vec<String>, required: PhiLevel, declared: PhiLevel, usage: String },
    #[error("{0}")]
    Query(String),
    #[error("the query took too long and was stopped; narrow it with filters or a smaller page")]
    Timeout,
    #[error("the audit log could not record this access, so no data was returned; try again later")]
    AuditUnavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl GateError {
    pub fn status(&self) -> u16 {
        match self {
            GateError::NotReady(_) | GateError::RoleForbidden(_) | GateError::PhiAboveDeclared { .. } => 403,
            GateError::NoStudy(_) | GateError::NoDataset { .. } => 404,
            GateError::BadParameter { .. } | GateError::Query(_) => 400,
            GateError::Timeout | GateError::AuditUnavailable => 503,
            GateError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            GateError::NotReady(m) => m.code(),
            GateError::RoleForbidden(_) => "role_forbidden",
            GateError::NoStudy(_) => "no_such_study",
            GateError::NoDataset { .. } => "no_such_dataset",
            GateError::BadParameter { .. } => "bad_parameter",
            GateError::PhiAboveDeclared { .. } => "phi_level_too_low",
            GateError::Query(_) => "bad_query",
            GateError::Timeout => "query_timeout",
            GateError::AuditUnavailable => "audit_unavailable",
            GateError::Internal(_) => "internal",
        }
    }
}

impl From<sqlx::Error> for GateError {
    fn from(e: sqlx::Error) -> Self {
        GateError::Internal(e.into())
    }
}

impl From<ReadError> for GateError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Timeout(_) => GateError::Timeout,
            ReadError::NotAuthorized => GateError::Query("the query reads something it may not".into()),
            ReadError::Refused { code, message } => GateError::Internal(anyhow::anyhow!("the database refused a statement (code {code}): {message}")),
            ReadError::Sqlite(e) => GateError::Internal(e.into()),
            ReadError::Db(e) => GateError::Internal(e.into()),
        }
    }
}

/// The one way to data. See the module comment.
pub async fn release(state: &AppState, p: &Principal, req: DataRequest) -> Result<Released, GateError> {
    let result = check_and_read(state, p, &req).await;
    if let Err(e) = &result {
        if matches!(e.status(), 403) {
            record_refusal(state, p, &req, e).await;
        }
    }
    result
}

async fn check_and_read(state: &AppState, p: &Principal, req: &DataRequest) -> Result<Released, GateError> {
    let now = state.now();
    // One catalog snapshot for the whole request. An unknown study is "not found" before
    // anything else, as LabKey answers for an unknown container.
    let catalog = catalog::at_generation(&state.db, p.catalog_generation).await?;
    let study = match req {
        DataRequest::Select(r) => &r.study,
        DataRequest::Sql(r) => &r.study,
    };
    if catalog.study_name(study).is_none() {
        return Err(GateError::NoStudy(select::shown(study)));
    }
    if let Some(missing) = compliance::readiness(state, p, &p.settings, now).await? {
        return Err(GateError::NotReady(missing));
    }
    if !p.user.role.may_read_data() {
        return Err(GateError::RoleForbidden(p.user.role.to_string()));
    }
    let declared = p.declaration.as_ref().map(|d| d.phi_level).expect("readiness implies a declaration");
    match req {
        DataRequest::Select(r) => select_rows(state, p, r, declared, &catalog).await,
        DataRequest::Sql(r) => run_sql(state, p, r, declared, &catalog).await,
    }
}

async fn select_rows(state: &AppState, p: &Principal, req: &SelectRequest, declared: PhiLevel, catalog: &Catalog) -> Result<Released, GateError> {
    let dataset = match catalog.dataset(&req.study, &req.dataset) {
        Lookup::Found(d) => *d,
        Lookup::NoStudy => return Err(GateError::NoStudy(select::shown(&req.study))),
        Lookup::NoDataset => return Err(GateError::NoDataset { study: select::shown(&req.study), dataset: select::shown(&req.dataset) }),
    };
    let plan = select::plan(dataset, req, declared)?;
    let limits = Limits { timeout: state.config.query_timeout };
    let backend = state.db.backend;

    // The page's size is known before the count, except that "all rows" is refused when more
    // than MAX_ROWS match: the count decides whether the page is read at all.
    let limit = page_size(req.max_rows);
    let page = (limit > 0).then(|| plan.page_statement(backend, req.offset, limit));
    let (max_rows, offset) = (req.max_rows, req.offset);
    let wanted = move |total: i64| refuse_too_many(max_rows, total, offset, "").is_ok();
    let (total, mut rows) = reader::count_and_page(&state.db, &plan.count_statement(backend), page, wanted, &limits).await?;
    refuse_too_many(req.max_rows, total, req.offset, &req.max_rows_param)?;

    let participants = distinct_participants(&rows, plan.participant_index());
    if plan.participant_extra().is_some() {
        for r in rows.iter_mut() {
            r.pop();
        }
    }

    let mut e = p.event(EventType::DataAccess, state.now());
    e.study = Some(plan.dataset.study.clone());
    e.dataset = Some(plan.dataset.name.clone());
    e.columns = Some(plan.columns.iter().map(|c| c.name.clone()).collect());
    e.phi_columns = Some(plan.phi_touched.clone());
    e.filter = plan.filter_text();
    e.sort = plan.sort_text();
    e.row_count = Some(rows.len() as i64);
    e.participants = plan.dataset.participant().map(|_| participants);
    e.detail = Some(serde_json::json!({ "offset": req.offset, "total": total }));
    // Fail closed: nothing leaves unless its event is durable.
    let audit_seq = state.audit.record(e).await.map_err(|err| {
        tracing::error!(error = %err, "data access refused: audit event not written");
        GateError::AuditUnavailable
    })?;

    Ok(Released {
        study: plan.dataset.study.clone(),
        query_name: plan.dataset.name.clone(),
        columns: plan.columns.iter().map(|c| OutColumn { name: c.name.clone(), data_type: c.data_type, phi: c.phi }).collect(),
        rows,
        total,
        hidden: plan.hidden.clone(),
        declared,
        key_column: plan.dataset.participant_column.clone(),
        audit_seq,
    })
}

/// The most rows a page of this request holds.
fn page_size(max_rows: MaxRows) -> i64 {
    match max_rows {
        MaxRows::MetadataOnly => 0,
        MaxRows::Limit(n) => n,
        MaxRows::All => MAX_ROWS,
    }
}

/// `MaxRows::All` is refused when more than MAX_ROWS rows match.
fn refuse_too_many(max_rows: MaxRows, total: i64, offset: i64, param: &str) -> Result<(), GateError> {
    if max_rows == MaxRows::All && total - offset > MAX_ROWS {
        return Err(GateError::BadParameter {
            param: param.to_string(),
            message: format!("{total} rows match, more than the {MAX_ROWS} one response may hold; page with maxRows and offset"),
        });
    }
    Ok(())
}

/// executeSql: checked and compiled (see `data::sql`), refused above the declared PHI level
/// before anything runs, run read-only behind the SQLite authorizer, and audited with its text,
/// the columns it read and the participants of the rows it returned.
async fn run_sql(state: &AppState, p: &Principal, req: &SqlRequest, declared: PhiLevel, catalog: &Catalog) -> Result<Released, GateError> {
    let Some(study) = catalog.study_name(&req.study) else {
        return Err(GateError::NoStudy(select::shown(&req.study)));
    };
    let datasets = catalog.datasets_of(&study);
    let backend = state.db.backend;
    let mut compiled = sql::compile_isolated(&req.sql, &datasets, backend, false).await.map_err(|e| GateError::Query(e.to_string()))?;
    if let Some((required, columns)) = sql::above_declared(&compiled.touched, declared) {
        return Err(GateError::PhiAboveDeclared { columns, required, declared, usage: "used by this query".into() });
    }
    let phi_touched: Vec<String> =
        compiled.touched.values().filter(|t| t.column.phi > PhiLevel::NotPhi).map(|t| format!("{}.{}", t.dataset, t.column.name)).collect();
    let attribute = compiled.touched.values().any(|t| t.column.phi >= PhiLevel::Limited);
    if attribute {
        compiled = sql::compile_isolated(&req.sql, &datasets, backend, true).await.map_err(|e| GateError::Query(e.to_string()))?;
    }
    let limits = Limits { timeout: state.config.query_timeout };
    let allow = (backend == crate::db::Backend::Sqlite).then(|| compiled.allow.clone());

    let count_sql = reader::Statement { sql: format!("SELECT COUNT(*) FROM ({}) AS \"q\"", compiled.sql), args: compiled.args.clone() };
    let count = reader::fetch(&state.db, &count_sql, &[reader::Kind::Int], &limits, allow.as_ref()).await.map_err(sql_read_error)?;
    let total = reader::first_int(&count);
    refuse_too_many(req.max_rows, total, req.offset, &req.max_rows_param)?;
    let limit = page_size(req.max_rows);
    let mut rows = if limit > 0 {
        let lp = compiled.push_arg(backend, Cell::Int(limit));
        let op = compiled.push_arg(backend, Cell::Int(req.offset));
        let st = reader::Statement { sql: format!("SELECT * FROM ({}) AS \"q\" LIMIT {lp} OFFSET {op}", compiled.sql), args: compiled.args.clone() };
        reader::fetch(&state.db, &st, &[], &limits, allow.as_ref()).await.map_err(sql_read_error)?
    } else {
        Vec::new()
    };

    // Participants: every value of the hidden columns, which are then dropped.
    let visible = compiled.columns.len();
    let mut participants = std::collections::BTreeSet::new();
    for r in rows.iter_mut() {
        for c in r.drain(visible..) {
            if let Some(v) = c.display() {
                participants.insert(v);
            }
        }
    }
    let columns: Vec<OutColumn> = compiled
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| OutColumn { name: c.name.clone(), data_type: c.data_type.unwrap_or_else(|| type_from_values(&rows, i)), phi: c.phi })
        .collect();

    let mut e = p.event(EventType::DataAccess, state.now());
    e.study = Some(study.clone());
    e.dataset = Some(compiled.datasets.iter().cloned().collect::<Vec<_>>().join(","));
    e.sql = Some(req.sql.clone());
    e.columns = Some(compiled.touched.values().map(|t| format!("{}.{}", t.dataset, t.column.name)).collect());
    e.phi_columns = Some(phi_touched);
    e.row_count = Some(rows.len() as i64);
    e.participants = attribute.then(|| participants.into_iter().collect());
    e.detail = Some(serde_json::json!({ "offset": req.offset, "total": total, "output_columns": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>() }));
    let audit_seq = state.audit.record(e).await.map_err(|err| {
        tracing::error!(error = %err, "data access refused: audit event not written");
        GateError::AuditUnavailable
    })?;
    Ok(Released { study, query_name: "sql".into(), columns, rows, total, hidden: Vec::new(), declared, key_column: None, audit_seq })
}

/// Database errors of user SQL are reported without their text (it can quote values).
fn sql_read_error(e: ReadError) -> GateError {
    match e {
        ReadError::Refused { code, .. } => {
            tracing::info!(code, "a checked query failed in the database");
            GateError::Query("the database could not run this query (check the types of compared values, e.g. numbers against text)".into())
        }
        other => other.into(),
    }
}

fn type_from_values(rows: &[Vec<Cell>], i: usize) -> DataType {
    for r in rows {
        match r.get(i) {
            Some(Cell::Int(_)) => return DataType::Integer,
            Some(Cell::Float(_)) => return DataType::Decimal,
            Some(Cell::Text(_)) => return DataType::Text,
            _ => {}
        }
    }
    DataType::Text
}

fn distinct_participants(rows: &[Vec<Cell>], index: Option<usize>) -> Vec<String> {
    let Some(i) = index else { return Vec::new() };
    // Sorted and deduplicated in a vector: a page's ids are few, and a tree of strings cost
    // more than the rest of the event.
    let mut ids: Vec<String> = rows.iter().filter_map(|r| r.get(i).and_then(Cell::display)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

async fn record_refusal(state: &AppState, p: &Principal, req: &DataRequest, err: &GateError) {
    let mut e = p.event(EventType::AccessRefused, state.now()).outcome("refused");
    match req {
        DataRequest::Select(r) => {
            e.study = Some(r.study.clone());
            e.dataset = Some(r.dataset.clone());
        }
        DataRequest::Sql(r) => {
            e.study = Some(r.study.clone());
            e.sql = Some(r.sql.clone());
        }
    }
    e.detail = Some(serde_json::json!({ "code": err.code(), "reason": err.to_string() }));
    if let Err(a) = state.audit.record(e).await {
        tracing::error!(error = %a, "could not record a refused data access");
    }
}
