//! selectRows (and the browser grid): a request checked against the catalog and the declared
//! PHI level, then turned into SQL with sea-query. Identifiers come only from the catalog;
//! every value is bound.

use app::types::{HiddenColumns, PhiLevel};
use sea_query::{Alias, Expr, NullOrdering, Order, PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder};

use super::catalog::{ColumnMeta, DataType, DatasetMeta};
use super::filter::{self, Filter, FilterOp};
use super::gate::GateError;
use super::reader::{Kind, Statement};
use crate::db::Backend;

/// The largest page a response may hold (LabKey's API default and our ceiling).
pub const MAX_ROWS: i64 = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRows {
    /// -1: every matching row (refused if more than MAX_ROWS match).
    All,
    /// 0: column metadata only.
    MetadataOnly,
    Limit(i64),
}

/// A filter as it arrived: `param` is how the caller named it, for error messages.
#[derive(Clone, Debug, PartialEq)]
pub struct RawFilter {
    pub param: String,
    pub column: String,
    pub op: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RawSort {
    pub column: String,
    pub descending: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SelectRequest {
    pub study: String,
    pub dataset: String,
    /// None: every column the declaration allows.
    pub columns: Option<Vec<String>>,
    pub columns_param: String,
    pub filters: Vec<RawFilter>,
    pub sort: Vec<RawSort>,
    pub sort_param: String,
    pub offset: i64,
    pub max_rows: MaxRows,
    /// How the caller named the row limit, for error messages.
    pub max_rows_param: String,
}

/// A request checked against one dataset and one declared PHI level.
#[derive(Clone, Debug)]
pub struct Plan {
    pub dataset: DatasetMeta,
    pub columns: Vec<ColumnMeta>,
    pub hidden: Vec<HiddenColumns>,
    pub filters: Vec<Filter>,
    pub sort: Vec<(ColumnMeta, bool)>,
    /// Every column above not-phi that the request touches (returned, filtered or sorted).
    pub phi_touched: Vec<String>,
}

/// User text as echoed in an error: at most 64 characters, no control characters.
pub fn shown(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() > 64 {
        format!("{}…", clean.chars().take(64).collect::<String>())
    } else {
        clean
    }
}

fn above(c: &ColumnMeta, declared: PhiLevel) -> bool {
    c.phi > declared
}

fn refuse_phi(cols: Vec<&ColumnMeta>, declared: PhiLevel, what: &str) -> GateError {
    let required = cols.iter().map(|c| c.phi).max().unwrap_or(PhiLevel::Restricted);
    GateError::PhiAboveDeclared {
        columns: cols.iter().map(|c| c.name.clone()).collect(),
        required,
        declared,
        usage: what.to_string(),
    }
}

pub fn plan(dataset: DatasetMeta, req: &SelectRequest, declared: PhiLevel) -> Result<Plan, GateError> {
    let lookup = |name: &str, param: &str| {
        dataset.column(name).cloned().ok_or_else(|| GateError::BadParameter {
            param: shown(param),
            message: format!("unknown column '{}' in dataset '{}'", shown(name), dataset.name),
        })
    };

    // Columns: the default set leaves out (and counts) what is above the declared level;
    // naming such a column is refused, never silently blanked.
    let columns: Vec<ColumnMeta> = match &req.columns {
        None => dataset.columns.iter().filter(|c| !above(c, declared)).cloned().collect(),
        Some(names) => {
            let mut cols = Vec::new();
            for n in names {
                let c = lookup(n, &req.columns_param)?;
                if !cols.iter().any(|x: &ColumnMeta| x.physical == c.physical) {
                    cols.push(c);
                }
            }
            let blocked: Vec<&ColumnMeta> = cols.iter().filter(|c| above(c, declared)).collect();
            if !blocked.is_empty() {
                return Err(refuse_phi(blocked, declared, "requested"));
            }
            cols
        }
    };
    let mut hidden: Vec<HiddenColumns> = Vec::new();
    if req.columns.is_none() {
        for level in PhiLevel::ALL.into_iter().filter(|l| *l > declared) {
            let count = dataset.columns.iter().filter(|c| c.phi == level).count() as i64;
            if count > 0 {
                hidden.push(HiddenColumns { level, count });
            }
        }
    }

    // Every named column is checked against the declared level before anything about a
    // filter's operator or value is looked at: a refusal says nothing about those.
    let filter_columns: Vec<ColumnMeta> = req.filters.iter().map(|f| lookup(&f.column, &f.param)).collect::<Result<_, _>>()?;
    let sort_columns: Vec<ColumnMeta> = req.sort.iter().map(|s| lookup(&s.column, &req.sort_param)).collect::<Result<_, _>>()?;
    let blocked: Vec<&ColumnMeta> = filter_columns.iter().filter(|c| above(c, declared)).collect();
    if !blocked.is_empty() {
        return Err(refuse_phi(blocked, declared, "filtered on"));
    }
    let blocked: Vec<&ColumnMeta> = sort_columns.iter().filter(|c| above(c, declared)).collect();
    if !blocked.is_empty() {
        return Err(refuse_phi(blocked, declared, "sorted on"));
    }

    let mut filters = Vec::new();
    for (f, column) in req.filters.iter().zip(filter_columns) {
        let op = FilterOp::parse(&f.op).ok_or_else(|| GateError::BadParameter {
            param: shown(&f.param),
            message: format!("unknown filter operator '{}' (known: {})", shown(&f.op), FilterOp::NAMES),
        })?;
        let checked = filter::check(&column, op, &f.value)
            .map_err(|m| GateError::BadParameter { param: shown(&f.param), message: format!("{}: {m}", column.name) })?;
        filters.push(checked);
    }

    let sort: Vec<(ColumnMeta, bool)> = sort_columns.into_iter().zip(&req.sort).map(|(c, s)| (c, s.descending)).collect();

    let mut phi_touched: Vec<String> = Vec::new();
    let touched = columns.iter().chain(filters.iter().map(|f| &f.column)).chain(sort.iter().map(|(c, _)| c));
    for c in touched {
        if c.phi > PhiLevel::NotPhi && !phi_touched.contains(&c.name) {
            phi_touched.push(c.name.clone());
        }
    }
    Ok(Plan { dataset, columns, hidden, filters, sort, phi_touched })
}

pub fn kind(dt: DataType) -> Kind {
    match dt {
        DataType::Integer => Kind::Int,
        DataType::Decimal => Kind::Float,
        _ => Kind::Text,
    }
}

fn build(q: &SelectStatement, backend: Backend) -> Statement {
    Statement::from_sea(match backend {
        Backend::Sqlite => q.build(SqliteQueryBuilder),
        Backend::Postgres => q.build(PostgresQueryBuilder),
    })
}

impl Plan {
    fn base(&self) -> SelectStatement {
        let mut q = Query::select();
        q.from(Alias::new(&self.dataset.table));
        for f in &self.filters {
            q.and_where(f.condition());
        }
        q
    }

    pub fn count_statement(&self, backend: Backend) -> Statement {
        let mut q = self.base();
        q.expr(Expr::col(sea_query::Asterisk).count());
        build(&q, backend)
    }

    /// The page: the returned columns, then the participant column (for the audit log) when it
    /// is not among them. Returns the statement and how to decode each column.
    pub fn page_statement(&self, backend: Backend, offset: i64, limit: i64) -> (Statement, Vec<Kind>) {
        let mut q = self.base();
        let mut kinds = Vec::new();
        for c in &self.columns {
            q.column(Alias::new(&c.physical));
            kinds.push(kind(c.data_type));
        }
        if let Some(p) = self.participant_extra() {
            q.column(Alias::new(&p.physical));
            kinds.push(kind(p.data_type));
        }
        for (c, desc) in &self.sort {
            // The same NULL order on both backends: first when ascending, last when descending.
            let (order, nulls) = if *desc { (Order::Desc, NullOrdering::Last) } else { (Order::Asc, NullOrdering::First) };
            q.order_by_with_nulls(Alias::new(&c.physical), order, nulls);
        }
        q.order_by(Alias::new("_row"), Order::Asc);
        q.limit(limit as u64).offset(offset as u64);
        (build(&q, backend), kinds)
    }

    /// The participant column, when it is needed for the audit but not returned.
    pub fn participant_extra(&self) -> Option<&ColumnMeta> {
        let p = self.dataset.participant()?;
        (!self.columns.iter().any(|c| c.physical == p.physical)).then_some(p)
    }

    /// Index of the participant id in a fetched row, if the dataset has one.
    pub fn participant_index(&self) -> Option<usize> {
        let p = self.dataset.participant()?;
        Some(self.columns.iter().position(|c| c.physical == p.physical).unwrap_or(self.columns.len()))
    }

    pub fn filter_text(&self) -> Option<String> {
        (!self.filters.is_empty()).then(|| self.filters.iter().map(|f| f.describe()).collect::<Vec<_>>().join("&"))
    }

    pub fn sort_text(&self) -> Option<String> {
        (!self.sort.is_empty()).then(|| {
            self.sort.iter().map(|(c, d)| format!("{}{}", if *d { "-" } else { "" }, c.name)).collect::<Vec<_>>().join(",")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds() -> DatasetMeta {
        let col = |name: &str, i: usize, dt, phi| ColumnMeta { name: name.into(), physical: format!("c{i}"), data_type: dt, phi };
        DatasetMeta {
            id: 1,
            study: "s".into(),
            name: "patients".into(),
            table: "ds_1".into(),
            participant_column: Some("Id".into()),
            row_count: 3,
            columns: vec![
                col("Id", 0, DataType::Text, PhiLevel::NotPhi),
                col("BIRTHDATE", 1, DataType::Date, PhiLevel::Limited),
                col("SSN", 2, DataType::Text, PhiLevel::Restricted),
                col("GENDER", 3, DataType::Text, PhiLevel::NotPhi),
            ],
        }
    }

    fn req() -> SelectRequest {
        SelectRequest {
            study: "s".into(),
            dataset: "patients".into(),
            columns: None,
            columns_param: "query.columns".into(),
            filters: vec![],
            sort: vec![],
            sort_param: "query.sort".into(),
            offset: 0,
            max_rows: MaxRows::Limit(100),
            max_rows_param: "query.maxRows".into(),
        }
    }

    #[test]
    fn default_columns_leave_out_what_is_above_the_declaration() {
        let p = plan(ds(), &req(), PhiLevel::Limited).unwrap();
        let names: Vec<_> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Id", "BIRTHDATE", "GENDER"]);
        assert_eq!(p.hidden, vec![HiddenColumns { level: PhiLevel::Restricted, count: 1 }]);
        assert_eq!(p.phi_touched, vec!["BIRTHDATE".to_string()]);
        let p = plan(ds(), &req(), PhiLevel::NotPhi).unwrap();
        assert_eq!(p.columns.len(), 2);
    }

    #[test]
    fn naming_a_column_above_the_declaration_is_refused_everywhere() {
        let mut r = req();
        r.columns = Some(vec!["Id".into(), "ssn".into()]);
        assert!(matches!(plan(ds(), &r, PhiLevel::Full), Err(GateError::PhiAboveDeclared { required: PhiLevel::Restricted, .. })));
        let mut r = req();
        r.filters = vec![RawFilter { param: "query.SSN~eq".into(), column: "SSN".into(), op: "eq".into(), value: "1".into() }];
        assert!(matches!(plan(ds(), &r, PhiLevel::Full), Err(GateError::PhiAboveDeclared { .. })));
        let mut r = req();
        r.sort = vec![RawSort { column: "SSN".into(), descending: true }];
        assert!(matches!(plan(ds(), &r, PhiLevel::Full), Err(GateError::PhiAboveDeclared { .. })));
        // at Restricted all is allowed
        let mut r = req();
        r.sort = vec![RawSort { column: "SSN".into(), descending: true }];
        assert!(plan(ds(), &r, PhiLevel::Restricted).is_ok());
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        let mut r = req();
        r.filters = vec![RawFilter { param: "query.GENDER~like".into(), column: "GENDER".into(), op: "like".into(), value: "F".into() }];
        match plan(ds(), &r, PhiLevel::Full) {
            Err(GateError::BadParameter { param, message }) => {
                assert_eq!(param, "query.GENDER~like");
                assert!(message.contains("unknown filter operator"));
            }
            other => panic!("{other:?}"),
        }
        let mut r = req();
        r.columns = Some(vec!["NOPE".into()]);
        assert!(matches!(plan(ds(), &r, PhiLevel::Full), Err(GateError::BadParameter { param, .. }) if param == "query.columns"));
    }

    #[test]
    fn sql_uses_catalog_names_and_binds_values() {
        let mut r = req();
        r.filters = vec![RawFilter {
            param: "query.GENDER~eq".into(),
            column: "GENDER".into(),
            op: "eq".into(),
            value: "F'; DROP TABLE users; --".into(),
        }];
        let p = plan(ds(), &r, PhiLevel::NotPhi).unwrap();
        let (st, kinds) = p.page_statement(Backend::Postgres, 0, 10);
        assert_eq!(
            st.sql,
            r#"SELECT "c0", "c3" FROM "ds_1" WHERE "c3" = $1 ORDER BY "_row" ASC LIMIT $2 OFFSET $3"#
        );
        assert_eq!(kinds.len(), 2);
        assert!(!st.sql.contains("DROP"));
    }
}
