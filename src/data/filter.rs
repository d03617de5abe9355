//! LabKey's filter operators (`query.COL~OP=VALUE`) and how each becomes a SQL condition on a
//! catalog column, with every value bound.

use sea_query::{Alias, Cond, Expr, Func, LikeExpr, SimpleExpr};

use super::catalog::{ColumnMeta, DataType};
use super::values::{parse_cell, Cell};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Neq,
    NeqOrNull,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    NotIn,
    Contains,
    DoesNotContain,
    StartsWith,
    DoesNotStartWith,
    ContainsOneOf,
    ContainsNoneOf,
    IsBlank,
    IsNonBlank,
    Between,
    NotBetween,
    DateEq,
    DateNeq,
    DateGt,
    DateGte,
    DateLt,
    DateLte,
    HasAnyValue,
}

impl FilterOp {
    pub fn parse(op: &str) -> Option<FilterOp> {
        use FilterOp::*;
        Some(match op.to_ascii_lowercase().as_str() {
            "eq" => Eq,
            "neq" => Neq,
            "neqornull" => NeqOrNull,
            "gt" => Gt,
            "gte" => Gte,
            "lt" => Lt,
            "lte" => Lte,
            "in" => In,
            "notin" => NotIn,
            "contains" => Contains,
            "doesnotcontain" => DoesNotContain,
            "startswith" => StartsWith,
            "doesnotstartwith" => DoesNotStartWith,
            "containsoneof" => ContainsOneOf,
            "containsnoneof" => ContainsNoneOf,
            "isblank" => IsBlank,
            "isnonblank" => IsNonBlank,
            "between" => Between,
            "notbetween" => NotBetween,
            "dateeq" => DateEq,
            "dateneq" => DateNeq,
            "dategt" => DateGt,
            "dategte" => DateGte,
            "datelt" => DateLt,
            "datelte" => DateLte,
            "" => HasAnyValue,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "eq, neq, neqornull, gt, gte, lt, lte, in, notin, contains, doesnotcontain, startswith, \
        doesnotstartwith, containsoneof, containsnoneof, isblank, isnonblank, between, notbetween, dateeq, dateneq, dategt, \
        dategte, datelt, datelte";
}

/// A filter checked against its column: values parsed to the column's type.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub column: ColumnMeta,
    pub op: FilterOp,
    pub values: Vec<Cell>,
    /// Text patterns for LIKE-style operators.
    pub patterns: Vec<String>,
}

/// Parses the value of a filter for its column. Errors say what was expected, not the value.
pub fn check(column: &ColumnMeta, op: FilterOp, raw: &str) -> Result<Filter, String> {
    use FilterOp::*;
    let typed = |s: &str| parse_cell(column.data_type, s.trim()).map_err(|e| e.to_string());
    let date_only = |s: &str| {
        super::values::parse_date(s.trim()).map(Cell::Text).ok_or_else(|| "not a date (YYYY-MM-DD)".to_string())
    };
    let mut f = Filter { column: column.clone(), op, values: Vec::new(), patterns: Vec::new() };
    match op {
        HasAnyValue | IsBlank | IsNonBlank => {}
        Eq | Neq | NeqOrNull | Gt | Gte | Lt | Lte => {
            let v = typed(raw)?;
            if v == Cell::Null {
                return Err("needs a value".into());
            }
            f.values.push(v);
        }
        In | NotIn => {
            for part in raw.split([';', '\n']) {
                // an empty entry means "blank", as in LabKey
                f.values.push(if part.trim().is_empty() { Cell::Null } else { typed(part)? });
            }
            if f.values.len() > 1000 {
                return Err("at most 1000 values in a list".into());
            }
        }
        Contains | DoesNotContain | StartsWith | DoesNotStartWith => {
            if raw.is_empty() {
                return Err("needs a value".into());
            }
            f.patterns.push(raw.to_string());
        }
        ContainsOneOf | ContainsNoneOf => {
            f.patterns = raw.split([';', '\n']).filter(|p| !p.is_empty()).map(str::to_string).collect();
            if f.patterns.is_empty() || f.patterns.len() > 1000 {
                return Err("needs 1 to 1000 values separated by ';'".into());
            }
        }
        Between | NotBetween => {
            let parts: Vec<&str> = raw.split(',').collect();
            if parts.len() != 2 {
                return Err("needs two values separated by ','".into());
            }
            for p in parts {
                let v = typed(p)?;
                if v == Cell::Null {
                    return Err("needs two values separated by ','".into());
                }
                f.values.push(v);
            }
        }
        DateEq | DateNeq | DateGt | DateGte | DateLt | DateLte => {
            if !matches!(column.data_type, DataType::Date | DataType::Timestamp) {
                return Err("date operators apply only to date and timestamp columns".into());
            }
            f.values.push(date_only(raw)?);
        }
    }
    Ok(f)
}

fn value(c: &Cell) -> sea_query::Value {
    match c {
        Cell::Null => sea_query::Value::String(None),
        Cell::Int(i) => (*i).into(),
        Cell::Float(x) => (*x).into(),
        Cell::Text(s) => s.clone().into(),
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl Filter {
    /// The condition, on physical names only.
    pub fn condition(&self) -> SimpleExpr {
        use FilterOp::*;
        let col = || Expr::col(Alias::new(&self.column.physical));
        let lowered = || Expr::expr(Func::lower(Expr::col(Alias::new(&self.column.physical)).cast_as(Alias::new("text"))));
        let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
        let contains = |p: &String| lowered().like(like(format!("%{}%", escape_like(&p.to_lowercase()))));
        let starts = |p: &String| lowered().like(like(format!("{}%", escape_like(&p.to_lowercase()))));
        let date_part = || {
            Expr::expr(Func::cust(Alias::new("SUBSTR")).arg(Expr::col(Alias::new(&self.column.physical))).arg(1).arg(10))
        };
        let v0 = || value(&self.values[0]);
        match self.op {
            HasAnyValue => Expr::value(1).eq(1),
            IsBlank => col().is_null(),
            IsNonBlank => col().is_not_null(),
            Eq => col().eq(v0()),
            Neq => col().ne(v0()),
            NeqOrNull => Cond::any().add(col().ne(v0())).add(col().is_null()).into(),
            Gt => col().gt(v0()),
            Gte => col().gte(v0()),
            Lt => col().lt(v0()),
            Lte => col().lte(v0()),
            In | NotIn => {
                let vals: Vec<sea_query::Value> = self.values.iter().filter(|v| **v != Cell::Null).map(value).collect();
                let blank = self.values.contains(&Cell::Null);
                if self.op == In {
                    let mut c = Cond::any();
                    if !vals.is_empty() {
                        c = c.add(col().is_in(vals));
                    }
                    if blank {
                        c = c.add(col().is_null());
                    }
                    c.into()
                } else {
                    let mut c = Cond::all();
                    if !vals.is_empty() {
                        c = c.add(Cond::any().add(col().is_not_in(vals)).add(col().is_null()));
                    }
                    if blank {
                        c = c.add(col().is_not_null());
                    }
                    c.into()
                }
            }
            Contains => contains(&self.patterns[0]),
            DoesNotContain => Cond::any().add(contains(&self.patterns[0]).not()).add(col().is_null()).into(),
            StartsWith => starts(&self.patterns[0]),
            DoesNotStartWith => Cond::any().add(starts(&self.patterns[0]).not()).add(col().is_null()).into(),
            ContainsOneOf => self.patterns.iter().fold(Cond::any(), |c, p| c.add(contains(p))).into(),
            ContainsNoneOf => {
                let none = self.patterns.iter().fold(Cond::all(), |c, p| c.add(contains(p).not()));
                Cond::any().add(none).add(col().is_null()).into()
            }
            Between => col().between(value(&self.values[0]), value(&self.values[1])),
            NotBetween => col().not_between(value(&self.values[0]), value(&self.values[1])),
            DateEq => date_part().eq(v0()),
            DateNeq => date_part().ne(v0()),
            DateGt => date_part().gt(v0()),
            DateGte => date_part().gte(v0()),
            DateLt => date_part().lt(v0()),
            DateLte => date_part().lte(v0()),
        }
    }

    /// How the filter reads in the audit log: `COL~op=value`.
    pub fn describe(&self) -> String {
        let op = format!("{:?}", self.op).to_ascii_lowercase();
        let vals: Vec<String> = if self.patterns.is_empty() {
            self.values.iter().map(|v| v.display().unwrap_or_default()).collect()
        } else {
            self.patterns.clone()
        };
        format!("{}~{}={}", self.column.name, op, vals.join(";"))
    }
}
