//! From the user's SQL text to the SQL that runs. One pass over the parsed tree checks each
//! construct against an allow-list, resolves every name in the catalog (recording each base
//! column touched), and writes new SQL with generated aliases (`t1`, `o1`, `p1`), physical names
//! (`ds_5`, `c3`) and numbered placeholders for every literal. Anything not understood is refused
//! with its position; nothing of the user's text is copied into the result.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use app::types::PhiLevel;
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Distinct, DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, GroupByExpr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, OrderByKind, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier, Spanned, Statement, TableFactor, TableWithJoins,
    UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Span;

use super::{SqlError, Touched};
use crate::data::catalog::{DataType, DatasetMeta};
use crate::data::reader::ReadAllowList;
use crate::data::values::Cell;
use crate::db::Backend;

/// Longest SQL text accepted.
pub const MAX_SQL_LEN: usize = 100_000;
/// Most operators (AND, OR, NOT, +, =, ||, …) in one query. A chain of operators is parsed and
/// compiled recursively, one stack frame per operator: without this bound a few kilobytes of
/// `1+1+1…` overflowed the stack and took the whole server down. Real queries use a few dozen;
/// a long OR of equalities is better written as IN (…), which has no such depth.
pub const MAX_OPERATORS: usize = 128;

/// A column of the result.
#[derive(Clone, Debug, PartialEq)]
pub struct OutCol {
    pub name: String,
    pub data_type: Option<DataType>,
    pub phi: PhiLevel,
}

#[derive(Debug)]
pub struct Compiled {
    /// The query to run: the visible columns, then `hidden` participant columns.
    pub sql: String,
    pub args: Vec<Cell>,
    pub columns: Vec<OutCol>,
    pub hidden: usize,
    pub touched: BTreeMap<(String, String), Touched>,
    pub datasets: BTreeSet<String>,
    /// What the SQLite authorizer lets the statement read.
    pub allow: ReadAllowList,
}

impl Compiled {
    /// Placeholder for the next extra argument (the caller's row cap and offset).
    pub fn push_arg(&mut self, backend: Backend, v: Cell) -> String {
        self.args.push(v);
        placeholder(backend, self.args.len())
    }
}

fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        // numbered: arguments may be pushed in another order than they appear in the text
        Backend::Sqlite => format!("?{n}"),
        Backend::Postgres => format!("${n}"),
    }
}

fn err(span: Span, message: impl Into<String>) -> SqlError {
    SqlError { message: message.into(), line: span.start.line, column: span.start.column }
}

fn not_allowed(span: Span, what: &str) -> SqlError {
    err(span, format!("{what} is not allowed here (Attest runs read-only SELECT queries over the study's datasets)"))
}

/// Parses and compiles one query. With `attribute`, every output row carries the ids of the
/// participants whose rows it comes from (hidden columns), or the query is refused.
pub fn compile(text: &str, datasets: &[DatasetMeta], backend: Backend, attribute: bool) -> Result<Compiled, SqlError> {
    if text.len() > MAX_SQL_LEN {
        return Err(SqlError { message: format!("the SQL text is longer than {MAX_SQL_LEN} characters"), line: 0, column: 0 });
    }
    check_operator_count(text)?;
    let statements = Parser::new(&GenericDialect {})
        .with_recursion_limit(40)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| parse_error(e, text))?;
    let query = match statements.as_slice() {
        [Statement::Query(q)] => q,
        [] => return Err(SqlError { message: "no SQL statement was given".into(), line: 0, column: 0 }),
        [one] => return Err(err(one.span(), format!("only SELECT queries are allowed, not {}", statement_kind(one)))),
        many => {
            return Err(err(
                many[1].span(),
                format!("exactly one SELECT statement is allowed; found {} statements (a second one is not allowed)", many.len()),
            ))
        }
    };
    let mut cx = Cx {
        datasets,
        backend,
        args: Vec::new(),
        touched: BTreeMap::new(),
        allow: ReadAllowList::default(),
        read: BTreeSet::new(),
        next_alias: 0,
        attribute,
        scopes: Vec::new(),
    };
    let out = cx.query(query)?;
    Ok(Compiled {
        sql: out.sql,
        args: cx.args,
        columns: out.cols.into_iter().map(|c| OutCol { name: c.name, data_type: c.dtype, phi: c.phi }).collect(),
        hidden: out.pids.len(),
        touched: cx.touched,
        datasets: cx.read,
        allow: cx.allow,
    })
}

/// Counts operators with the tokenizer (which is not recursive) before anything recursive runs.
fn check_operator_count(text: &str) -> Result<(), SqlError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize_with_location().map_err(|e| SqlError {
        message: e.message.clone(),
        line: e.location.line,
        column: e.location.column,
    })?;
    let mut count = 0;
    for t in &tokens {
        let operator = match &t.token {
            Token::Word(w) => matches!(w.keyword, Keyword::AND | Keyword::OR | Keyword::NOT | Keyword::IS | Keyword::LIKE | Keyword::ILIKE | Keyword::BETWEEN | Keyword::IN),
            Token::Whitespace(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Comma
            | Token::Period
            | Token::LParen
            | Token::RParen
            | Token::SemiColon
            | Token::EOF => false,
            _ => true,
        };
        if operator {
            count += 1;
            if count > MAX_OPERATORS {
                return Err(err_at(
                    t.span.start.line,
                    t.span.start.column,
                    format!("the query has more than {MAX_OPERATORS} operators (AND, OR, +, =, …); split it, or write a long OR of equalities as IN (…)"),
                ));
            }
        }
    }
    Ok(())
}

fn err_at(line: u64, column: u64, message: String) -> SqlError {
    SqlError { message, line, column }
}

fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    let first: Vec<&str> = text.split_whitespace().take(2).collect();
    match first.first().map(|w| w.to_ascii_uppercase()) {
        Some(w) if w == "CREATE" || w == "DROP" || w == "ALTER" => format!("{} {}", w, first.get(1).unwrap_or(&"").to_ascii_uppercase()),
        Some(w) => w,
        None => "this statement".into(),
    }
}

fn parse_error(e: sqlparser::parser::ParserError, text: &str) -> SqlError {
    let raw = e.to_string();
    // "sql parser error: Expected: ..., found: ... at Line: 1, Column: 8"
    let msg = raw.trim_start_matches("sql parser error: ").to_string();
    let (line, column) = msg
        .rsplit_once(" at Line: ")
        .and_then(|(_, rest)| rest.split_once(", Column: "))
        .and_then(|(l, c)| Some((l.trim().parse().ok()?, c.trim().parse().ok()?)))
        // no position: the text ended too early; point just past its end
        .unwrap_or_else(|| {
            let lines: Vec<&str> = text.split('\n').collect();
            (lines.len() as u64, lines.last().map(|l| l.chars().count() as u64 + 1).unwrap_or(1))
        });
    let message = msg.split(" at Line: ").next().unwrap_or(&msg).to_string();
    SqlError { message: format!("the SQL does not parse: {message}"), line, column }
}

#[derive(Clone, Debug)]
struct Col {
    name: String,
    sql: String,
    phi: PhiLevel,
    dtype: Option<DataType>,
}

#[derive(Clone, Debug)]
enum SourceKind {
    Dataset(DatasetMeta),
    Derived { cols: Vec<Col>, pids: Vec<String> },
}

#[derive(Clone, Debug)]
struct Source {
    /// The name queries use for it (its alias, or the dataset's name), lower-cased.
    name: String,
    /// The generated alias in the SQL that runs.
    sql: String,
    kind: SourceKind,
}

/// A compiled expression.
#[derive(Clone, Debug)]
struct Ex {
    sql: String,
    phi: PhiLevel,
    dtype: Option<DataType>,
    aggregate: bool,
    /// The catalog name, when the expression is a plain column reference.
    column_name: Option<String>,
}

/// One SELECT, ready to be written out with its hidden participant columns in any slots.
struct Part {
    head: String,
    pids: Vec<String>,
    tail: String,
}

enum Body {
    Part(Part),
    Union { all: bool, left: Box<Body>, right: Box<Body> },
}

impl Body {
    fn pid_count(&self) -> usize {
        match self {
            Body::Part(p) => p.pids.len(),
            Body::Union { left, right, .. } => left.pid_count() + right.pid_count(),
        }
    }

    /// Writes the body; this branch's participant columns go in slots `before..`, NULL elsewhere.
    fn render(&self, before: usize, total: usize) -> String {
        match self {
            Body::Part(p) => {
                let mut s = p.head.clone();
                for slot in 0..total {
                    let v = if slot >= before && slot < before + p.pids.len() { p.pids[slot - before].as_str() } else { "NULL" };
                    s.push_str(&format!(", {v} AS \"p{}\"", slot + 1));
                }
                s.push_str(&p.tail);
                s
            }
            Body::Union { all, left, right } => format!(
                "{} UNION {}{}",
                left.render(before, total),
                if *all { "ALL " } else { "" },
                right.render(before + left.pid_count(), total)
            ),
        }
    }
}

struct QueryOut {
    sql: String,
    cols: Vec<Col>,
    pids: Vec<String>,
}

struct Cx<'a> {
    datasets: &'a [DatasetMeta],
    backend: Backend,
    args: Vec<Cell>,
    touched: BTreeMap<(String, String), Touched>,
    allow: ReadAllowList,
    read: BTreeSet<String>,
    next_alias: usize,
    attribute: bool,
    /// Name scopes, innermost last (sub-queries in WHERE see their outer query).
    scopes: Vec<Vec<Source>>,
}

/// The `a = b` conjuncts of a condition (its top-level ANDs).
fn conjunct_equalities(e: &Expr) -> Vec<(&Expr, &Expr)> {
    match e {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut v = conjunct_equalities(left);
            v.extend(conjunct_equalities(right));
            v
        }
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => vec![(left.as_ref(), right.as_ref())],
        Expr::Nested(inner) => conjunct_equalities(inner),
        _ => Vec::new(),
    }
}

fn ident_name(i: &Ident) -> String {
    i.value.to_lowercase()
}

fn object_parts(name: &ObjectName) -> Vec<&Ident> {
    name.0.iter().map(|p| match p {
        ObjectNamePart::Identifier(i) => i,
    }).collect()
}

impl<'a> Cx<'a> {
    fn param(&mut self, v: Cell) -> String {
        self.args.push(v);
        placeholder(self.backend, self.args.len())
    }

    fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("t{}", self.next_alias)
    }

    fn int_type(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "INTEGER",
            Backend::Postgres => "BIGINT",
        }
    }

    fn real_type(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "REAL",
            Backend::Postgres => "DOUBLE PRECISION",
        }
    }

    // ---- queries ----------------------------------------------------------------------

    fn query(&mut self, q: &Query) -> Result<QueryOut, SqlError> {
        let span = q.span();
        if let Some(w) = &q.with {
            let what = if w.recursive { "WITH RECURSIVE (a recursive common table expression)" } else { "WITH (a common table expression)" };
            return Err(not_allowed(w.span(), what));
        }
        if !q.limit_by.is_empty() || q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() || q.settings.is_some() || q.format_clause.is_some() {
            return Err(not_allowed(span, "this clause (FETCH, FOR, LIMIT BY, SETTINGS, FORMAT)"));
        }
        let (body, cols, mut tail) = match q.body.as_ref() {
            SetExpr::Select(s) => {
                let (part, cols) = self.select(s, q.order_by.as_ref())?;
                (Body::Part(part), cols, String::new())
            }
            other => {
                let (body, cols) = self.set_expr(other)?;
                let mut tail = String::new();
                if let Some(ob) = &q.order_by {
                    tail.push_str(&self.order_by_outputs(ob, &cols)?);
                }
                (body, cols, tail)
            }
        };
        if let Some(limit) = &q.limit {
            let n = self.count_literal(limit, "LIMIT")?;
            let p = self.param(Cell::Int(n));
            tail.push_str(&format!(" LIMIT {p}"));
        }
        if let Some(offset) = &q.offset {
            let n = self.count_literal(&offset.value, "OFFSET")?;
            if q.limit.is_none() {
                // SQLite needs a LIMIT before OFFSET
                tail.push_str(" LIMIT -1");
            }
            let p = self.param(Cell::Int(n));
            tail.push_str(&format!(" OFFSET {p}"));
        }
        let total = body.pid_count();
        let sql = body.render(0, total) + &tail;
        Ok(QueryOut { sql, cols, pids: (1..=total).map(|i| format!("p{i}")).collect() })
    }

    fn count_literal(&self, e: &Expr, what: &str) -> Result<i64, SqlError> {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Number(s, _) => s.parse::<i64>().ok().filter(|n| (0..=1_000_000_000).contains(n)),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| err(e.span(), format!("{what} takes a whole number from 0 to 1000000000")))
    }

    fn set_expr(&mut self, s: &SetExpr) -> Result<(Body, Vec<Col>), SqlError> {
        match s {
            SetExpr::Select(sel) => {
                let (part, cols) = self.select(sel, None)?;
                Ok((Body::Part(part), cols))
            }
            SetExpr::Query(q) => {
                if q.order_by.is_some() || q.limit.is_some() || q.offset.is_some() || q.with.is_some() {
                    return Err(not_allowed(q.span(), "ORDER BY, LIMIT or WITH inside a UNION branch"));
                }
                self.set_expr(&q.body)
            }
            SetExpr::SetOperation { op, set_quantifier, left, right } => {
                if *op != SetOperator::Union {
                    return Err(not_allowed(s.span(), &format!("{op} (only UNION and UNION ALL are)")));
                }
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::None | SetQuantifier::Distinct => false,
                    _ => return Err(not_allowed(s.span(), "this UNION form")),
                };
                let (lb, lcols) = self.set_expr(left)?;
                let (rb, rcols) = self.set_expr(right)?;
                if lcols.len() != rcols.len() {
                    return Err(err(right.span(), format!("the branches of a UNION must have the same number of columns ({} and {})", lcols.len(), rcols.len())));
                }
                if self.attribute && !all && (lb.pid_count() + rb.pid_count()) > 0 {
                    return Err(err(
                        s.span(),
                        "UNION without ALL over PHI columns cannot be attributed to participants (rows of different participants would merge): use UNION ALL",
                    ));
                }
                let cols = lcols.iter().zip(&rcols).map(|(l, r)| Col { phi: l.phi.max(r.phi), dtype: if l.dtype == r.dtype { l.dtype } else { None }, ..l.clone() }).collect();
                Ok((Body::Union { all, left: Box::new(lb), right: Box::new(rb) }, cols))
            }
            other => Err(not_allowed(other.span(), "this kind of query (VALUES, TABLE, INSERT, UPDATE)")),
        }
    }

    fn select(&mut self, s: &Select, order_by: Option<&sqlparser::ast::OrderBy>) -> Result<(Part, Vec<Col>), SqlError> {
        let span = s.span();
        if s.top.is_some() || s.into.is_some() || !s.lateral_views.is_empty() || s.prewhere.is_some() || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty() || !s.sort_by.is_empty() || !s.named_window.is_empty() || s.qualify.is_some()
            || s.value_table_mode.is_some() || s.connect_by.is_some()
        {
            return Err(not_allowed(span, "this SELECT clause (TOP, INTO, LATERAL VIEW, WINDOW, QUALIFY, CONNECT BY...)"));
        }
        let distinct = match &s.distinct {
            None => false,
            Some(Distinct::Distinct) => true,
            Some(Distinct::On(_)) => return Err(not_allowed(span, "DISTINCT ON")),
        };

        // FROM first: it makes the names the rest of the SELECT can use.
        let mut sources = Vec::new();
        let mut from_sql = String::new();
        self.scopes.push(Vec::new());
        for (i, twj) in s.from.iter().enumerate() {
            if i > 0 {
                from_sql.push_str(", ");
            }
            from_sql.push_str(&self.from_item(twj, &mut sources)?);
        }

        let mut cols: Vec<Col> = Vec::new();
        let mut items: Vec<String> = Vec::new();
        let mut any_aggregate = false;
        for (i, item) in s.projection.iter().enumerate() {
            match item {
                SelectItem::Wildcard(opts) => {
                    if opts.opt_ilike.is_some() || opts.opt_exclude.is_some() || opts.opt_except.is_some() || opts.opt_replace.is_some() || opts.opt_rename.is_some() {
                        return Err(not_allowed(item.span(), "a * with options"));
                    }
                    if sources.is_empty() {
                        return Err(err(item.span(), "* needs a FROM clause"));
                    }
                    for src in sources.clone() {
                        self.expand(&src, &mut cols, &mut items);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(not_allowed(item.span(), "this form of qualified *"));
                    };
                    let parts = object_parts(name);
                    let wanted = parts.last().map(|i| ident_name(i)).unwrap_or_default();
                    let src = sources.iter().find(|x| x.name == wanted).cloned().ok_or_else(|| err(item.span(), format!("no table or alias '{wanted}' in FROM")))?;
                    self.expand(&src, &mut cols, &mut items);
                }
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    let x = self.expr(e, true)?;
                    any_aggregate |= x.aggregate;
                    let name = match item {
                        SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => x.column_name.clone().unwrap_or_else(|| match e {
                            Expr::Function(f) => object_parts(&f.name).last().map(|i| i.value.to_lowercase()).unwrap_or_default(),
                            _ => format!("expr{}", i + 1),
                        }),
                    };
                    items.push(x.sql.clone());
                    cols.push(Col { name, sql: String::new(), phi: x.phi, dtype: x.dtype });
                }
            }
        }
        // unique output names, case-insensitively
        let mut seen: HashSet<String> = HashSet::new();
        for c in cols.iter_mut() {
            let base = c.name.clone();
            let mut n = 2;
            while !seen.insert(c.name.to_lowercase()) {
                c.name = format!("{base}_{n}");
                n += 1;
            }
        }
        for (i, c) in cols.iter_mut().enumerate() {
            c.sql = format!("o{}", i + 1);
        }
        let head = format!(
            "SELECT {}{}",
            if distinct { "DISTINCT " } else { "" },
            items.iter().zip(&cols).map(|(e, c)| format!("{e} AS \"{}\"", c.sql)).collect::<Vec<_>>().join(", ")
        );

        let mut tail = String::new();
        if !from_sql.is_empty() {
            tail.push_str(" FROM ");
            tail.push_str(&from_sql);
        }
        if let Some(w) = &s.selection {
            let x = self.expr(w, false)?;
            tail.push_str(&format!(" WHERE {}", x.sql));
        }
        let mut group_sql: Vec<String> = Vec::new();
        match &s.group_by {
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(not_allowed(span, "GROUP BY modifiers (ROLLUP, CUBE, TOTALS)"));
                }
                for e in exprs {
                    group_sql.push(self.expr(e, false)?.sql);
                }
            }
            GroupByExpr::All(_) => return Err(not_allowed(span, "GROUP BY ALL")),
        }
        if !group_sql.is_empty() {
            tail.push_str(&format!(" GROUP BY {}", group_sql.join(", ")));
        }
        if let Some(h) = &s.having {
            let x = self.expr(h, true)?;
            any_aggregate |= x.aggregate;
            tail.push_str(&format!(" HAVING {}", x.sql));
        }
        if let Some(ob) = order_by {
            tail.push_str(&self.order_by_in_select(ob, &cols)?);
        }

        let pids = if self.attribute {
            // Columns equated by JOIN ... ON and WHERE (top-level AND): grouping or selecting one
            // of them determines the others (e.GROUP BY p.Id with e.PATIENT = p.Id).
            let mut equal: Vec<(String, String)> = Vec::new();
            let mut conds: Vec<&Expr> = s.selection.iter().collect();
            for twj in &s.from {
                for j in &twj.joins {
                    if let JoinOperator::Join(JoinConstraint::On(e)) | JoinOperator::Inner(JoinConstraint::On(e)) | JoinOperator::Left(JoinConstraint::On(e)) | JoinOperator::LeftOuter(JoinConstraint::On(e)) = &j.join_operator {
                        conds.push(e);
                    }
                }
            }
            for c in conds {
                for (l, r) in conjunct_equalities(c) {
                    if let (Ok(a), Ok(b)) = (self.column_ref(l), self.column_ref(r)) {
                        equal.push((a, b));
                    }
                }
            }
            let pids = self.attribution(span, &sources, distinct, any_aggregate || !group_sql.is_empty(), &items, &group_sql, &equal)?;
            // The hidden participant columns are read too: the SQLite authorizer must let them.
            for src in &sources {
                if let SourceKind::Dataset(d) = &src.kind {
                    if let Some(p) = d.participant() {
                        self.allow.tables.entry(d.table.clone()).or_default().insert(p.physical.clone());
                    }
                }
            }
            pids
        } else {
            Vec::new()
        };
        self.scopes.pop();
        Ok((Part { head, pids, tail }, cols))
    }

    /// The SQL of a plain column reference, if `e` is one.
    fn column_ref(&mut self, e: &Expr) -> Result<String, SqlError> {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => Ok(self.expr(e, false)?.sql),
            _ => Err(err(e.span(), "not a column")),
        }
    }

    /// The participant-id expressions that go with each output row of a SELECT.
    #[allow(clippy::too_many_arguments)]
    fn attribution(
        &self,
        span: Span,
        sources: &[Source],
        distinct: bool,
        grouped: bool,
        items: &[String],
        groups: &[String],
        equal: &[(String, String)],
    ) -> Result<Vec<String>, SqlError> {
        // everything known equal to `x` through the equalities (their transitive closure)
        let class = |x: &str| {
            let mut c: Vec<String> = vec![x.to_string()];
            let mut grew = true;
            while grew {
                grew = false;
                for (a, b) in equal {
                    for (from, to) in [(a, b), (b, a)] {
                        if c.contains(from) && !c.contains(to) {
                            c.push(to.clone());
                            grew = true;
                        }
                    }
                }
            }
            c
        };
        let groups: Vec<String> = groups.to_vec();
        let items: Vec<String> = items.to_vec();
        let in_groups = |x: &str| class(x).iter().any(|e| groups.contains(e));
        let in_items = |x: &str| class(x).iter().any(|e| items.contains(e));
        let mut pids = Vec::new();
        for src in sources {
            match &src.kind {
                SourceKind::Dataset(d) => {
                    let Some(p) = d.participant() else { continue };
                    let expr = format!("\"{}\".\"{}\"", src.sql, p.physical);
                    if grouped && !in_groups(&expr) {
                        return Err(err(span, format!(
                            "the participants whose rows this query reads cannot be determined: it aggregates rows of several participants of '{}' over PHI columns. Group by its participant column ({}) or leave PHI columns out",
                            d.name, p.name
                        )));
                    }
                    if distinct && !in_items(&expr) {
                        return Err(err(span, format!(
                            "the participants whose rows this query reads cannot be determined: DISTINCT over PHI columns of '{}' needs its participant column ({}) in the select list",
                            d.name, p.name
                        )));
                    }
                    // Under GROUP BY (or DISTINCT) the participant is read through the grouped
                    // (selected) expression it equals: PostgreSQL refuses an ungrouped column,
                    // and a hidden extra DISTINCT column would change the rows.
                    let same = |pool: &[String]| class(&expr).into_iter().find(|e| pool.contains(e));
                    let chosen = if grouped { same(&groups) } else if distinct { same(&items) } else { None };
                    pids.push(chosen.unwrap_or(expr));
                }
                SourceKind::Derived { pids: inner, .. } => {
                    if inner.is_empty() {
                        continue;
                    }
                    if grouped || distinct {
                        return Err(err(span, "the participants whose rows this query reads cannot be determined: it aggregates or de-duplicates the rows of a sub-query over PHI columns"));
                    }
                    pids.extend(inner.iter().map(|p| format!("\"{}\".\"{}\"", src.sql, p)));
                }
            }
        }
        Ok(pids)
    }

    fn expand(&mut self, src: &Source, cols: &mut Vec<Col>, items: &mut Vec<String>) {
        match &src.kind {
            SourceKind::Dataset(d) => {
                for c in &d.columns {
                    self.touch(d, &c.name);
                    items.push(format!("\"{}\".\"{}\"", src.sql, c.physical));
                    cols.push(Col { name: c.name.clone(), sql: String::new(), phi: c.phi, dtype: Some(c.data_type) });
                }
            }
            SourceKind::Derived { cols: dcols, .. } => {
                for c in dcols {
                    items.push(format!("\"{}\".\"{}\"", src.sql, c.sql));
                    cols.push(Col { sql: String::new(), ..c.clone() });
                }
            }
        }
    }

    fn touch(&mut self, d: &DatasetMeta, column: &str) {
        if let Some(c) = d.column(column) {
            self.touched.insert((d.name.clone(), c.name.clone()), Touched { dataset: d.name.clone(), column: c.clone() });
            self.allow.tables.entry(d.table.clone()).or_default().insert(c.physical.clone());
            self.read.insert(d.name.clone());
        }
    }

    fn from_item(&mut self, twj: &TableWithJoins, sources: &mut Vec<Source>) -> Result<String, SqlError> {
        let mut sql = self.table_factor(&twj.relation, sources)?;
        for j in &twj.joins {
            let (kw, constraint) = match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => ("JOIN", c),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => ("LEFT JOIN", c),
                _ => return Err(not_allowed(j.relation.span(), "this kind of join (only JOIN, INNER JOIN and LEFT [OUTER] JOIN are)")),
            };
            let right = self.table_factor(&j.relation, sources)?;
            let on = match constraint {
                JoinConstraint::On(e) => self.expr(e, false)?.sql,
                _ => return Err(not_allowed(j.relation.span(), "a join without ON (USING, NATURAL)")),
            };
            sql.push_str(&format!(" {kw} {right} ON {on}"));
        }
        Ok(sql)
    }

    fn table_factor(&mut self, t: &TableFactor, sources: &mut Vec<Source>) -> Result<String, SqlError> {
        let alias_name = |a: &Option<sqlparser::ast::TableAlias>| -> Result<Option<String>, SqlError> {
            match a {
                None => Ok(None),
                Some(a) if !a.columns.is_empty() => Err(not_allowed(a.name.span, "column aliases on a table")),
                Some(a) => Ok(Some(ident_name(&a.name))),
            }
        };
        let src = match t {
            TableFactor::Table { name, alias, args, with_hints, version, with_ordinality, partitions, json_path, sample, index_hints } => {
                if args.is_some() || !with_hints.is_empty() || version.is_some() || *with_ordinality || !partitions.is_empty() || json_path.is_some() || sample.is_some() || !index_hints.is_empty() {
                    return Err(not_allowed(t.span(), "table functions and table options"));
                }
                let parts = object_parts(name);
                // `study.patients` (the schema name) or just `patients`
                let ds_ident = match parts.as_slice() {
                    [d] => *d,
                    [schema, d] if schema.value.eq_ignore_ascii_case("study") => *d,
                    _ => return Err(err(name.span(), format!("unknown dataset '{name}' (use a dataset of this study, optionally as study.<dataset>)"))),
                };
                let wanted = ident_name(ds_ident);
                let d = self
                    .datasets
                    .iter()
                    .find(|d| d.name.to_lowercase() == wanted)
                    .cloned()
                    .ok_or_else(|| err(ds_ident.span, format!("unknown dataset '{}' in this study", ds_ident.value)))?;
                let name = alias_name(alias)?.unwrap_or_else(|| d.name.to_lowercase());
                Source { name, sql: self.alias(), kind: SourceKind::Dataset(d) }
            }
            TableFactor::Derived { lateral, subquery, alias } => {
                if *lateral {
                    return Err(not_allowed(t.span(), "LATERAL"));
                }
                let name = alias_name(alias)?.ok_or_else(|| err(t.span(), "a sub-query in FROM needs an alias: (SELECT ...) AS name"))?;
                // A FROM sub-query sees no outer names.
                let saved = std::mem::take(&mut self.scopes);
                let out = self.query(subquery);
                self.scopes = saved;
                let out = out?;
                let sql_alias = self.alias();
                let src = Source { name, sql: sql_alias.clone(), kind: SourceKind::Derived { cols: out.cols, pids: out.pids } };
                if sources.iter().any(|s| s.name == src.name) {
                    return Err(err(t.span(), format!("'{}' is used twice in FROM: give each an alias", src.name)));
                }
                sources.push(src.clone());
                self.scopes.last_mut().expect("scope").push(src);
                return Ok(format!("({}) AS \"{sql_alias}\"", out.sql));
            }
            _ => return Err(not_allowed(t.span(), "this FROM item (only datasets and sub-queries are)")),
        };
        if sources.iter().any(|s| s.name == src.name) {
            return Err(err(t.span(), format!("'{}' is used twice in FROM: give each an alias", src.name)));
        }
        let SourceKind::Dataset(d) = &src.kind else { unreachable!() };
        // the table may be read (count(*) reads it without naming a column); its columns only as touched
        self.allow.tables.entry(d.table.clone()).or_default();
        self.read.insert(d.name.clone());
        let sql = format!("\"{}\" AS \"{}\"", d.table, src.sql);
        sources.push(src.clone());
        self.scopes.last_mut().expect("scope").push(src);
        Ok(sql)
    }

    fn order_by_in_select(&mut self, ob: &sqlparser::ast::OrderBy, cols: &[Col]) -> Result<String, SqlError> {
        self.order_by(ob, cols, true)
    }

    fn order_by_outputs(&mut self, ob: &sqlparser::ast::OrderBy, cols: &[Col]) -> Result<String, SqlError> {
        self.order_by(ob, cols, false)
    }

    /// ORDER BY: a position, an output column name, or (in a plain SELECT) any expression.
    fn order_by(&mut self, ob: &sqlparser::ast::OrderBy, cols: &[Col], expressions: bool) -> Result<String, SqlError> {
        let OrderByKind::Expressions(list) = &ob.kind else { return Err(not_allowed(Span::empty(), "ORDER BY ALL")) };
        if ob.interpolate.is_some() {
            return Err(not_allowed(Span::empty(), "INTERPOLATE"));
        }
        let mut out = Vec::new();
        for o in list {
            if o.with_fill.is_some() {
                return Err(not_allowed(o.expr.span(), "WITH FILL"));
            }
            let target = match &o.expr {
                Expr::Value(v) if matches!(v.value, Value::Number(_, _)) => {
                    let n = self.count_literal(&o.expr, "an ORDER BY position")?;
                    if n < 1 || n as usize > cols.len() {
                        return Err(err(o.expr.span(), format!("ORDER BY {n}: the query has {} columns", cols.len())));
                    }
                    n.to_string()
                }
                Expr::Identifier(i) if cols.iter().any(|c| c.name.eq_ignore_ascii_case(&i.value)) => {
                    let c = cols.iter().find(|c| c.name.eq_ignore_ascii_case(&i.value)).expect("found");
                    format!("\"{}\"", c.sql)
                }
                e if expressions => self.expr(e, true)?.sql,
                e => return Err(err(e.span(), "after a UNION, ORDER BY takes output column names or positions")),
            };
            let dir = match o.options.asc {
                Some(false) => " DESC",
                Some(true) => " ASC",
                None => "",
            };
            let nulls = match (o.options.nulls_first, o.options.asc) {
                (Some(true), _) => " NULLS FIRST",
                (Some(false), _) => " NULLS LAST",
                // the same NULL order on both backends: first when ascending, last when descending
                (None, Some(false)) => " NULLS LAST",
                (None, _) => " NULLS FIRST",
            };
            out.push(format!("{target}{dir}{nulls}"));
        }
        Ok(format!(" ORDER BY {}", out.join(", ")))
    }

    // ---- expressions --------------------------------------------------------------------

    fn resolve(&mut self, qualifier: Option<&Ident>, column: &Ident) -> Result<Ex, SqlError> {
        let wanted = ident_name(column);
        for depth in (0..self.scopes.len()).rev() {
            let mut found: Vec<(Source, Col, Option<String>)> = Vec::new();
            for src in &self.scopes[depth] {
                if let Some(q) = qualifier {
                    if src.name != ident_name(q) {
                        continue;
                    }
                }
                match &src.kind {
                    SourceKind::Dataset(d) => {
                        if let Some(c) = d.columns.iter().find(|c| c.name.to_lowercase() == wanted) {
                            let col = Col { name: c.name.clone(), sql: format!("\"{}\".\"{}\"", src.sql, c.physical), phi: c.phi, dtype: Some(c.data_type) };
                            found.push((src.clone(), col, Some(c.name.clone())));
                        }
                    }
                    SourceKind::Derived { cols, .. } => {
                        if let Some(c) = cols.iter().find(|c| c.name.to_lowercase() == wanted) {
                            let col = Col { sql: format!("\"{}\".\"{}\"", src.sql, c.sql), ..c.clone() };
                            found.push((src.clone(), col, None));
                        }
                    }
                }
            }
            match found.len() {
                0 => continue,
                1 => {
                    let (src, col, catalog_name) = found.pop().expect("one");
                    if let (SourceKind::Dataset(d), Some(n)) = (&src.kind, &catalog_name) {
                        let d = d.clone();
                        self.touch(&d, n);
                    }
                    return Ok(Ex { sql: col.sql, phi: col.phi, dtype: col.dtype, aggregate: false, column_name: Some(col.name) });
                }
                _ => {
                    let names: Vec<String> = found.iter().map(|(s, _, _)| s.name.clone()).collect();
                    return Err(err(column.span, format!("column '{}' is ambiguous: it is in {}; qualify it (alias.column)", column.value, names.join(" and "))));
                }
            }
        }
        match qualifier {
            Some(q) if !self.scopes.iter().flatten().any(|s| s.name == ident_name(q)) => {
                Err(err(q.span, format!("no table or alias '{}' in FROM", q.value)))
            }
            _ => Err(err(column.span, format!("unknown column '{}'", column.value))),
        }
    }

    fn lit(&mut self, e: &Expr, v: &Value) -> Result<Ex, SqlError> {
        let (sql, dtype) = match v {
            Value::Number(s, _) => match s.parse::<i64>() {
                Ok(i) => (self.param(Cell::Int(i)), Some(DataType::Integer)),
                Err(_) => match s.parse::<f64>() {
                    Ok(f) if f.is_finite() => (self.param(Cell::Float(f)), Some(DataType::Decimal)),
                    _ => return Err(err(e.span(), format!("'{s}' is not a number Attest can use"))),
                },
            },
            Value::SingleQuotedString(s) => (self.param(Cell::Text(s.clone())), Some(DataType::Text)),
            Value::Boolean(b) => ((if *b { "TRUE" } else { "FALSE" }).to_string(), Some(DataType::Integer)),
            Value::Null => ("NULL".to_string(), None),
            _ => return Err(not_allowed(e.span(), "this kind of literal (use numbers and 'single-quoted strings')")),
        };
        Ok(Ex { sql, phi: PhiLevel::NotPhi, dtype, aggregate: false, column_name: None })
    }

    fn expr(&mut self, e: &Expr, aggregates_ok: bool) -> Result<Ex, SqlError> {
        let plain = |sql: String, phi: PhiLevel, dtype: Option<DataType>, aggregate: bool| Ex { sql, phi, dtype, aggregate, column_name: None };
        match e {
            Expr::Identifier(i) => self.resolve(None, i),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [c] => self.resolve(None, c),
                [q, c] => self.resolve(Some(q), c),
                _ => Err(err(e.span(), "use alias.column (two parts at most)")),
            },
            Expr::Value(v) => self.lit(e, &v.value),
            Expr::Nested(inner) => {
                let x = self.expr(inner, aggregates_ok)?;
                Ok(Ex { sql: format!("({})", x.sql), column_name: None, ..x })
            }
            Expr::BinaryOp { left, op, right } => {
                let sym = match op {
                    BinaryOperator::Plus => "+",
                    BinaryOperator::Minus => "-",
                    BinaryOperator::Multiply => "*",
                    BinaryOperator::Divide => "/",
                    BinaryOperator::Modulo => "%",
                    BinaryOperator::StringConcat => "||",
                    BinaryOperator::Gt => ">",
                    BinaryOperator::Lt => "<",
                    BinaryOperator::GtEq => ">=",
                    BinaryOperator::LtEq => "<=",
                    BinaryOperator::Eq => "=",
                    BinaryOperator::NotEq => "<>",
                    BinaryOperator::And => "AND",
                    BinaryOperator::Or => "OR",
                    other => return Err(not_allowed(e.span(), &format!("the operator {other}"))),
                };
                let l = self.expr(left, aggregates_ok)?;
                let r = self.expr(right, aggregates_ok)?;
                let dtype = match sym {
                    "+" | "-" | "*" | "/" | "%" => match (l.dtype, r.dtype) {
                        (Some(DataType::Integer), Some(DataType::Integer)) => Some(DataType::Integer),
                        (Some(DataType::Integer | DataType::Decimal), Some(DataType::Integer | DataType::Decimal)) => Some(DataType::Decimal),
                        _ => None,
                    },
                    "||" => Some(DataType::Text),
                    _ => Some(DataType::Integer),
                };
                Ok(plain(format!("({} {sym} {})", l.sql, r.sql), l.phi.max(r.phi), dtype, l.aggregate || r.aggregate))
            }
            Expr::UnaryOp { op, expr } => {
                let sym = match op {
                    UnaryOperator::Not => "NOT ",
                    UnaryOperator::Minus => "-",
                    UnaryOperator::Plus => "+",
                    other => return Err(not_allowed(e.span(), &format!("the operator {other}"))),
                };
                let x = self.expr(expr, aggregates_ok)?;
                Ok(plain(format!("({sym}{})", x.sql), x.phi, x.dtype, x.aggregate))
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let inner = self.expr(x, aggregates_ok)?;
                let kw = if matches!(e, Expr::IsNull(_)) { "IS NULL" } else { "IS NOT NULL" };
                Ok(plain(format!("({} {kw})", inner.sql), inner.phi, Some(DataType::Integer), inner.aggregate))
            }
            Expr::InList { expr, list, negated } => {
                if list.len() > 1000 {
                    return Err(err(e.span(), "at most 1000 values in an IN list"));
                }
                let x = self.expr(expr, aggregates_ok)?;
                let mut phi = x.phi;
                let mut agg = x.aggregate;
                let mut vals = Vec::new();
                for v in list {
                    let y = self.expr(v, aggregates_ok)?;
                    phi = phi.max(y.phi);
                    agg |= y.aggregate;
                    vals.push(y.sql);
                }
                Ok(plain(format!("({} {}IN ({}))", x.sql, if *negated { "NOT " } else { "" }, vals.join(", ")), phi, Some(DataType::Integer), agg))
            }
            Expr::InSubquery { expr, subquery, negated } => {
                let x = self.expr(expr, aggregates_ok)?;
                // A sub-query in a condition filters rows; it adds no output rows to attribute,
                // so the participants whose PHI it reads could not be recorded: when the query
                // must be attributed, such a sub-query may not read PHI (a join can).
                let attribute = std::mem::replace(&mut self.attribute, false);
                let outer_touched = std::mem::take(&mut self.touched);
                let out = self.query(subquery);
                self.attribute = attribute;
                let inner_touched = std::mem::replace(&mut self.touched, outer_touched);
                let out = out?;
                let phi_inside: Vec<String> =
                    inner_touched.values().filter(|t| t.column.phi >= PhiLevel::Limited).map(|t| format!("{}.{}", t.dataset, t.column.name)).collect();
                self.touched.extend(inner_touched);
                if attribute && !phi_inside.is_empty() {
                    return Err(err(
                        subquery.span(),
                        format!(
                            "the participants whose rows this query reads cannot be determined: the sub-query after IN reads PHI ({}); join that dataset instead",
                            phi_inside.join(", ")
                        ),
                    ));
                }
                if out.cols.len() != 1 {
                    return Err(err(subquery.span(), format!("a sub-query after IN must return one column, not {}", out.cols.len())));
                }
                let phi = x.phi.max(out.cols[0].phi);
                Ok(plain(format!("({} {}IN ({}))", x.sql, if *negated { "NOT " } else { "" }, out.sql), phi, Some(DataType::Integer), x.aggregate))
            }
            Expr::Between { expr, negated, low, high } => {
                let x = self.expr(expr, aggregates_ok)?;
                let lo = self.expr(low, aggregates_ok)?;
                let hi = self.expr(high, aggregates_ok)?;
                Ok(plain(
                    format!("({} {}BETWEEN {} AND {})", x.sql, if *negated { "NOT " } else { "" }, lo.sql, hi.sql),
                    x.phi.max(lo.phi).max(hi.phi),
                    Some(DataType::Integer),
                    x.aggregate || lo.aggregate || hi.aggregate,
                ))
            }
            Expr::Like { negated, any, expr, pattern, escape_char } => {
                if *any || escape_char.is_some() {
                    return Err(not_allowed(e.span(), "LIKE ANY and LIKE ... ESCAPE"));
                }
                let x = self.expr(expr, aggregates_ok)?;
                let p = self.expr(pattern, aggregates_ok)?;
                Ok(plain(format!("({} {}LIKE {})", x.sql, if *negated { "NOT " } else { "" }, p.sql), x.phi.max(p.phi), Some(DataType::Integer), x.aggregate || p.aggregate))
            }
            Expr::Case { operand, conditions, else_result } => {
                let mut sql = String::from("CASE");
                let mut phi = PhiLevel::NotPhi;
                let mut agg = false;
                let mut dtype = None;
                if let Some(o) = operand {
                    let x = self.expr(o, aggregates_ok)?;
                    phi = phi.max(x.phi);
                    agg |= x.aggregate;
                    sql.push_str(&format!(" {}", x.sql));
                }
                for w in conditions {
                    let c = self.expr(&w.condition, aggregates_ok)?;
                    let r = self.expr(&w.result, aggregates_ok)?;
                    phi = phi.max(c.phi).max(r.phi);
                    agg |= c.aggregate || r.aggregate;
                    dtype = dtype.or(r.dtype);
                    sql.push_str(&format!(" WHEN {} THEN {}", c.sql, r.sql));
                }
                if let Some(el) = else_result {
                    let x = self.expr(el, aggregates_ok)?;
                    phi = phi.max(x.phi);
                    agg |= x.aggregate;
                    dtype = dtype.or(x.dtype);
                    sql.push_str(&format!(" ELSE {}", x.sql));
                }
                sql.push_str(" END");
                Ok(plain(sql, phi, dtype, agg))
            }
            Expr::Cast { kind, expr, data_type, format } => {
                if *kind != CastKind::Cast || format.is_some() {
                    return Err(not_allowed(e.span(), "this form of CAST (use CAST(x AS type))"));
                }
                let x = self.expr(expr, aggregates_ok)?;
                self.cast(e, x, data_type)
            }
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                let x = self.expr(expr, aggregates_ok)?;
                let from = substring_from.as_ref().ok_or_else(|| err(e.span(), "substring needs a start position"))?;
                let f = self.expr(from, aggregates_ok)?;
                let mut sql = format!("SUBSTR(CAST({} AS TEXT), {}", x.sql, f.sql);
                let mut phi = x.phi.max(f.phi);
                if let Some(n) = substring_for {
                    let n = self.expr(n, aggregates_ok)?;
                    phi = phi.max(n.phi);
                    sql.push_str(&format!(", {}", n.sql));
                }
                sql.push(')');
                Ok(plain(sql, phi, Some(DataType::Text), x.aggregate))
            }
            Expr::Function(f) => self.function(e, f, aggregates_ok),
            Expr::Subquery(_) | Expr::Exists { .. } => Err(not_allowed(e.span(), "a sub-query here (sub-queries go in FROM or after IN)")),
            Expr::ILike { .. } => Err(not_allowed(e.span(), "ILIKE (use LIKE with lower())")),
            _ => Err(not_allowed(e.span(), "this expression")),
        }
    }

    fn cast(&mut self, e: &Expr, x: Ex, t: &SqlType) -> Result<Ex, SqlError> {
        let name = t.to_string().to_ascii_uppercase();
        let base = name.split('(').next().unwrap_or("").trim().to_string();
        let (sql, dtype) = match base.as_str() {
            "INT" | "INTEGER" | "BIGINT" | "SMALLINT" => (format!("CAST({} AS {})", x.sql, self.int_type()), DataType::Integer),
            "REAL" | "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "DECIMAL" | "NUMERIC" => (format!("CAST({} AS {})", x.sql, self.real_type()), DataType::Decimal),
            "VARCHAR" | "TEXT" | "CHAR" | "STRING" | "CHARACTER VARYING" => (format!("CAST({} AS TEXT)", x.sql), DataType::Text),
            "DATE" => (format!("SUBSTR(CAST({} AS TEXT), 1, 10)", x.sql), DataType::Date),
            "TIMESTAMP" => (format!("CAST({} AS TEXT)", x.sql), DataType::Timestamp),
            _ => return Err(not_allowed(e.span(), &format!("CAST to {name} (use INTEGER, DECIMAL, VARCHAR, DATE or TIMESTAMP)"))),
        };
        Ok(Ex { sql, dtype: Some(dtype), column_name: None, ..x })
    }

    fn function(&mut self, e: &Expr, f: &Function, aggregates_ok: bool) -> Result<Ex, SqlError> {
        let parts = object_parts(&f.name);
        let [name] = parts.as_slice() else { return Err(not_allowed(e.span(), &format!("the function {}", f.name))) };
        let fname = name.value.to_lowercase();
        const AGGREGATES: [&str; 5] = ["count", "sum", "avg", "min", "max"];
        const SCALARS: [&str; 11] = ["lower", "upper", "substring", "length", "coalesce", "round", "abs", "cast", "year", "month", "day"];
        let aggregate = AGGREGATES.contains(&fname.as_str());
        if !aggregate && !SCALARS.contains(&fname.as_str()) {
            return Err(err(
                name.span,
                format!("the function {}() is not allowed (allowed: count, sum, avg, min, max, lower, upper, substring, length, coalesce, round, abs, cast, year, month, day)", name.value),
            ));
        }
        if f.filter.is_some() || f.over.is_some() || f.null_treatment.is_some() || !f.within_group.is_empty() || !matches!(f.parameters, FunctionArguments::None) || f.uses_odbc_syntax {
            return Err(not_allowed(e.span(), "FILTER, OVER (window functions) and WITHIN GROUP"));
        }
        if aggregate && !aggregates_ok {
            return Err(err(e.span(), format!("{fname}() cannot be used here (aggregates go in the select list and HAVING)")));
        }
        let FunctionArguments::List(list) = &f.args else { return Err(err(e.span(), format!("{fname}() needs arguments in parentheses"))) };
        if !list.clauses.is_empty() {
            return Err(not_allowed(e.span(), "clauses inside a function call"));
        }
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        if distinct && !matches!(fname.as_str(), "count" | "sum" | "avg") {
            return Err(not_allowed(e.span(), &format!("DISTINCT in {fname}()")));
        }
        // count(*)
        if fname == "count" && list.args.len() == 1 && matches!(list.args[0], FunctionArg::Unnamed(FunctionArgExpr::Wildcard)) {
            if distinct {
                return Err(not_allowed(e.span(), "count(DISTINCT *)"));
            }
            return Ok(Ex { sql: "COUNT(*)".into(), phi: PhiLevel::NotPhi, dtype: Some(DataType::Integer), aggregate: true, column_name: None });
        }
        let mut args: Vec<Ex> = Vec::new();
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => args.push(self.expr(x, aggregates_ok && !aggregate)?),
                _ => return Err(not_allowed(a.span(), "this kind of function argument")),
            }
        }
        let arity_ok = match fname.as_str() {
            "count" | "sum" | "avg" | "min" | "max" | "lower" | "upper" | "length" | "abs" | "year" | "month" | "day" => args.len() == 1,
            "round" => (1..=2).contains(&args.len()),
            "substring" => (2..=3).contains(&args.len()),
            "coalesce" => !args.is_empty(),
            _ => false,
        };
        if !arity_ok {
            return Err(err(e.span(), format!("{fname}() does not take {} arguments", args.len())));
        }
        let phi = args.iter().map(|a| a.phi).max().unwrap_or(PhiLevel::NotPhi);
        let inner_agg = args.iter().any(|a| a.aggregate);
        let a0 = args[0].sql.clone();
        let d = if distinct { "DISTINCT " } else { "" };
        let pg = self.backend == Backend::Postgres;
        let (sql, dtype) = match fname.as_str() {
            "count" => (format!("COUNT({d}{a0})"), Some(DataType::Integer)),
            // PostgreSQL sums and averages are NUMERIC: bring them back to what both backends return
            "sum" if pg && args[0].dtype == Some(DataType::Integer) => (format!("CAST(SUM({d}{a0}) AS BIGINT)"), Some(DataType::Integer)),
            "sum" if pg => (format!("CAST(SUM({d}{a0}) AS DOUBLE PRECISION)"), Some(DataType::Decimal)),
            "sum" => (format!("SUM({d}{a0})"), args[0].dtype),
            "avg" if pg => (format!("CAST(AVG({d}{a0}) AS DOUBLE PRECISION)"), Some(DataType::Decimal)),
            "avg" => (format!("AVG({d}{a0})"), Some(DataType::Decimal)),
            "min" => (format!("MIN({a0})"), args[0].dtype),
            "max" => (format!("MAX({a0})"), args[0].dtype),
            "lower" => (format!("LOWER(CAST({a0} AS TEXT))"), Some(DataType::Text)),
            "upper" => (format!("UPPER(CAST({a0} AS TEXT))"), Some(DataType::Text)),
            "length" => (format!("LENGTH(CAST({a0} AS TEXT))"), Some(DataType::Integer)),
            "abs" => (format!("ABS({a0})"), args[0].dtype),
            "coalesce" => (format!("COALESCE({})", args.iter().map(|a| a.sql.clone()).collect::<Vec<_>>().join(", ")), args[0].dtype),
            "substring" => (
                format!("SUBSTR(CAST({a0} AS TEXT), {})", args[1..].iter().map(|a| a.sql.clone()).collect::<Vec<_>>().join(", ")),
                Some(DataType::Text),
            ),
            "round" if pg => {
                let digits = args.get(1).map(|a| format!(", CAST({} AS INTEGER)", a.sql)).unwrap_or_default();
                (format!("CAST(ROUND(CAST({a0} AS NUMERIC){digits}) AS DOUBLE PRECISION)"), Some(DataType::Decimal))
            }
            "round" => (format!("ROUND({a0}{})", args.get(1).map(|a| format!(", {}", a.sql)).unwrap_or_default()), Some(DataType::Decimal)),
            "year" | "month" | "day" => {
                let (start, len) = match fname.as_str() {
                    "year" => (1, 4),
                    "month" => (6, 2),
                    _ => (9, 2),
                };
                (format!("CAST(SUBSTR(CAST({a0} AS TEXT), {start}, {len}) AS {})", self.int_type()), Some(DataType::Integer))
            }
            _ => return Err(err(e.span(), format!("{fname}() is not supported"))),
        };
        if aggregate && inner_agg {
            return Err(err(e.span(), "aggregates cannot be nested"));
        }
        Ok(Ex { sql, phi, dtype, aggregate: aggregate || inner_agg, column_name: None })
    }
}
