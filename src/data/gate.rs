//! THE GATE. The single function through which dataset rows leave the server, for the browser
//! grid and the LabKey API alike: it checks the principal's declaration (complete, current),
//! role and PHI level, runs the query, writes the audit event and waits until it is durable,
//! and only then hands the rows back. If the event cannot be written, no rows are returned.

use app::types::{HiddenColumns, PhiLevel};

use super::catalog::{self, DataType, Lookup};
use super::reader::{self, Limits, ReadError};
use super::select::{self, MaxRows, SelectRequest, MAX_ROWS};
use super::values::Cell;
use crate::audit::EventType;
use crate::auth::principal::Principal;
use crate::compliance::{self, Missing};
use crate::settings;
use crate::state::AppState;

/// What a caller may ask the gate for.
#[derive(Clone, Debug)]
pub enum DataRequest {
    Select(SelectRequest),
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
    let settings = settings::load(&state.db.pool).await?;
    if let Some(missing) = compliance::readiness(state, p, &settings, now).await? {
        return Err(GateError::NotReady(missing));
    }
    if !p.user.role.may_read_data() {
        return Err(GateError::RoleForbidden(p.user.role.to_string()));
    }
    let declared = p.declaration.as_ref().map(|d| d.phi_level).expect("readiness implies a declaration");
    match req {
        DataRequest::Select(r) => select_rows(state, p, r, declared).await,
    }
}

async fn select_rows(state: &AppState, p: &Principal, req: &SelectRequest, declared: PhiLevel) -> Result<Released, GateError> {
    let dataset = match catalog::dataset(&state.db, &req.study, &req.dataset).await? {
        Lookup::Found(d) => *d,
        Lookup::NoStudy => return Err(GateError::NoStudy(req.study.clone())),
        Lookup::NoDataset => return Err(GateError::NoDataset { study: req.study.clone(), dataset: req.dataset.clone() }),
    };
    let plan = select::plan(dataset, req, declared)?;
    let limits = Limits { timeout: state.config.query_timeout };
    let backend = state.db.backend;

    let count = reader::fetch(&state.db, &plan.count_statement(backend), &[reader::Kind::Int], &limits, None).await?;
    let total = match count.first().and_then(|r| r.first()) {
        Some(Cell::Int(n)) => *n,
        _ => 0,
    };
    let limit = match req.max_rows {
        MaxRows::MetadataOnly => 0,
        MaxRows::Limit(n) => n,
        MaxRows::All if total - req.offset > MAX_ROWS => {
            return Err(GateError::BadParameter {
                param: req.max_rows_param.clone(),
                message: format!("{total} rows match, more than the {MAX_ROWS} one response may hold; page with maxRows and offset"),
            })
        }
        MaxRows::All => MAX_ROWS,
    };
    let mut rows = if limit > 0 {
        let (st, kinds) = plan.page_statement(backend, req.offset, limit);
        reader::fetch(&state.db, &st, &kinds, &limits, None).await?
    } else {
        Vec::new()
    };

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

fn distinct_participants(rows: &[Vec<Cell>], index: Option<usize>) -> Vec<String> {
    let Some(i) = index else { return Vec::new() };
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        if let Some(id) = r.get(i).and_then(Cell::display) {
            seen.insert(id);
        }
    }
    seen.into_iter().collect()
}

async fn record_refusal(state: &AppState, p: &Principal, req: &DataRequest, err: &GateError) {
    let mut e = p.event(EventType::AccessRefused, state.now()).outcome("refused");
    match req {
        DataRequest::Select(r) => {
            e.study = Some(r.study.clone());
            e.dataset = Some(r.dataset.clone());
        }
    }
    e.detail = Some(serde_json::json!({ "code": err.code(), "reason": err.to_string() }));
    if let Err(a) = state.audit.record(e).await {
        tracing::error!(error = %a, "could not record a refused data access");
    }
}
