//! The LabKey-compatible HTTP API, enough for LabKey's official clients (Python `labkey`,
//! Rlabkey) to work unchanged: login-whoAmI, query-selectRows/getQuery, executeSql, getSchemas
//! and getQueries. It parses requests and shapes responses; data comes only from `data::gate`.

pub mod error;
pub mod params;
pub mod path;
pub mod response;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use serde_json::json;

use self::error::LabKeyError;
use self::params::Params;
use self::path::LabKeyPath;
use self::response::{Format, Shape};
use crate::audit::EventType;
use crate::auth::principal::{self, Credential, Principal};
use crate::data::catalog;
use crate::data::gate::{self, DataRequest, SqlRequest};
use crate::data::select::{MaxRows, RawFilter, RawSort, SelectRequest, MAX_ROWS};
use crate::http::extract::meta_of;
use crate::state::AppState;

pub const CSRF_COOKIE: &str = "X-LABKEY-CSRF";

/// Whether a path is a LabKey action URL.
pub fn is_labkey_path(path: &str) -> bool {
    path::parse(path).is_some()
}

pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let Some(lk) = path::parse(req.uri().path()) else {
        return LabKeyError::not_found("No such page.").into_response();
    };
    match handle(&state, lk, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, lk: LabKeyPath, req: Request) -> Result<Response, LabKeyError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| LabKeyError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.", "org.labkey.api.action.ApiUsageException"))?;
    let ctype = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let params = Params::from_request(parts.uri.query(), ctype, &bytes)?;
    let meta = meta_of(&parts, state);
    let cred = principal::credential(&parts.headers).map_err(LabKeyError::from)?;
    let via_cookie = matches!(cred, Some(Credential::Cookie(_)));

    match (lk.controller.as_str(), lk.action.as_str()) {
        ("login", "whoami") => {
            let p = match cred {
                None => None,
                Some(c) => Some(principal::resolve(state, c, meta).await?),
            };
            if let Some(p) = &p {
                record_key_use(state, p, "login-whoAmI").await?;
            }
            Ok(who_am_i(p.as_ref(), &parts.headers))
        }
        ("query", action @ ("selectrows" | "getquery" | "getschemas" | "getqueries" | "executesql")) => {
            let c = cred.ok_or_else(|| LabKeyError::unauthorized("Sign in first: send a session key in the 'apikey' header."))?;
            let p = principal::resolve(state, c, meta).await?;
            if via_cookie && !matches!(parts.method, Method::GET | Method::HEAD) {
                check_double_submit(&parts.headers)?;
            }
            match action {
                "getschemas" => {
                    record_key_use(state, &p, "query-getSchemas").await?;
                    get_schemas(state, &lk, &params).await
                }
                "getqueries" => {
                    record_key_use(state, &p, "query-getQueries").await?;
                    get_queries(state, &p, &lk, &params).await
                }
                "executesql" => execute_sql(state, &p, &lk, &params).await,
                _ => select_rows(state, &p, &lk, &params).await,
            }
        }
        _ => Err(LabKeyError::not_found(&format!(
            "Attest does not implement the action '{}-{}'",
            crate::data::select::shown(&lk.controller),
            crate::data::select::shown(&lk.action)
        ))),
    }
}

/// The CSRF token of the double-submit cookie, or a new one.
fn csrf_token(headers: &HeaderMap) -> (String, bool) {
    let existing = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, v)| *n == CSRF_COOKIE && v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, v)| v.to_ascii_lowercase());
    match existing {
        Some(t) => (t, false),
        None => {
            let mut b = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut b);
            (hex::encode(b), true)
        }
    }
}

/// Cookie-authenticated POSTs must send the CSRF cookie's value in the X-LABKEY-CSRF header.
fn check_double_submit(headers: &HeaderMap) -> Result<(), LabKeyError> {
    let (cookie, fresh) = csrf_token(headers);
    let header = headers.get(CSRF_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if fresh || header.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(header.to_ascii_lowercase().as_bytes(), cookie.as_bytes())) {
        return Err(LabKeyError::unauthorized("This request has an invalid security context (X-LABKEY-CSRF)."));
    }
    Ok(())
}

fn who_am_i(p: Option<&Principal>, headers: &HeaderMap) -> Response {
    let (token, fresh) = csrf_token(headers);
    let body = match p {
        Some(p) => json!({
            "id": p.user.id, "email": p.user.email, "displayName": p.user.name,
            "impersonated": p.impersonator.is_some(), "CSRF": token, "success": true,
        }),
        None => json!({ "id": 0, "email": "guest", "displayName": "guest", "impersonated": false, "CSRF": token, "success": true }),
    };
    let mut r = Json(body).into_response();
    if fresh {
        let cookie = format!("{CSRF_COOKIE}={token}; Path=/; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Requests made with a key that are not data accesses are still recorded as key use.
async fn record_key_use(state: &AppState, p: &Principal, action: &str) -> Result<(), LabKeyError> {
    if p.key_id.is_some() {
        let e = p.event(EventType::KeyUsed, state.now()).detail(json!({ "action": action }));
        state.audit.record(e).await.map_err(|_| {
            LabKeyError::new(StatusCode::SERVICE_UNAVAILABLE, "The audit log is unavailable; try again later.", "java.lang.RuntimeException")
        })?;
    }
    Ok(())
}

fn check_schema(params: &Params) -> Result<(), LabKeyError> {
    match params.get("schemaName") {
        None => Err(LabKeyError::bad_request("schemaName: a schema name is required (use 'study')", Some("schemaName"))),
        Some(s) if s.eq_ignore_ascii_case("study") => Ok(()),
        Some(_) => Err(LabKeyError::not_found("The specified schema does not exist")),
    }
}

async fn require_study(state: &AppState, container: &str) -> Result<String, LabKeyError> {
    catalog::study_name(&state.db, container)
        .await?
        .ok_or_else(|| LabKeyError::not_found(&error::no_study_message(&crate::data::select::shown(container))))
}

async fn get_schemas(state: &AppState, lk: &LabKeyPath, params: &Params) -> Result<Response, LabKeyError> {
    require_study(state, &lk.container).await?;
    let v = params.get("apiVersion").and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    Ok(if v >= 9.3 {
        Json(json!({ "study": { "schemaName": "study", "fullyQualifiedName": "study", "description": "Study datasets", "schemas": {} } }))
            .into_response()
    } else {
        Json(json!({ "schemas": ["study"] })).into_response()
    })
}

async fn get_queries(state: &AppState, p: &Principal, lk: &LabKeyPath, params: &Params) -> Result<Response, LabKeyError> {
    let study = require_study(state, &lk.container).await?;
    check_schema(params)?;
    let with_columns = params.bool("includeColumns").unwrap_or(true);
    // Columns above the declared level are not listed (no declaration: not-phi only).
    let ready = crate::compliance::readiness(state, p, &p.settings, state.now()).await?.is_none();
    let level = p.declaration.as_ref().filter(|_| ready).map(|d| d.phi_level).unwrap_or(app::types::PhiLevel::NotPhi);
    let queries: Vec<_> = catalog::datasets_of(&state.db, &study)
        .await?
        .iter()
        .map(|d| {
            let mut q = json!({ "name": d.name, "title": d.name, "description": null, "isUserDefined": false, "hidden": false, "snapshot": false, "isInherited": false });
            if with_columns {
                q["columns"] = d
                    .columns
                    .iter()
                    .filter(|c| c.phi <= level)
                    .map(|c| json!({ "name": c.name, "caption": c.name, "type": response::json_type(c.data_type), "isKeyField": d.participant_column.as_deref() == Some(c.name.as_str()) }))
                    .collect();
            }
            q
        })
        .collect();
    Ok(Json(json!({ "schemaName": "study", "queries": queries })).into_response())
}

/// Builds a `SelectRequest` from LabKey parameters (`query.*`).
pub fn select_request(study: &str, params: &Params) -> Result<SelectRequest, LabKeyError> {
    let dataset = params
        .get("query.queryName")
        .or_else(|| params.get("queryName"))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| LabKeyError::bad_request("query.queryName: the name of a dataset is required", Some("query.queryName")))?
        .to_string();
    let columns: Vec<String> = params
        .all("query.columns")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "*")
        .collect();
    let sort: Vec<RawSort> = params
        .all("query.sort")
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(c) => RawSort { column: c.to_string(), descending: true },
            None => RawSort { column: s.trim_start_matches('+').to_string(), descending: false },
        })
        .collect();
    let max_rows = match params.int("query.maxRows")? {
        None => MaxRows::Limit(MAX_ROWS),
        Some(-1) => MaxRows::All,
        Some(0) => MaxRows::MetadataOnly,
        Some(n) if (1..=MAX_ROWS).contains(&n) => MaxRows::Limit(n),
        Some(n) => {
            return Err(LabKeyError::bad_request(
                &format!("query.maxRows: {n} is out of range (use -1 for all rows, 0 for metadata only, or 1 to {MAX_ROWS})"),
                Some("query.maxRows"),
            ))
        }
    };
    let offset = params.int("query.offset")?.unwrap_or(0);
    if !(0..=1_000_000_000).contains(&offset) {
        return Err(LabKeyError::bad_request("query.offset: must be between 0 and 1000000000", Some("query.offset")));
    }
    let mut filters = Vec::new();
    for (k, v) in &params.0 {
        let Some(rest) = k.strip_prefix("query.") else { continue };
        let Some((column, op)) = rest.rsplit_once('~') else { continue };
        if column.is_empty() {
            let k = crate::data::select::shown(k);
            return Err(LabKeyError::bad_request(&format!("{k}: a filter needs a column name"), Some(&k)));
        }
        filters.push(RawFilter { param: k.clone(), column: column.to_string(), op: op.to_string(), value: v.clone() });
    }
    if filters.len() > 100 {
        return Err(LabKeyError::bad_request("too many filters (at most 100)", None));
    }
    Ok(SelectRequest {
        study: study.to_string(),
        dataset,
        columns: (!columns.is_empty()).then_some(columns),
        columns_param: "query.columns".into(),
        filters,
        sort,
        sort_param: "query.sort".into(),
        offset,
        max_rows,
        max_rows_param: "query.maxRows".into(),
    })
}

async fn execute_sql(state: &AppState, p: &Principal, lk: &LabKeyPath, params: &Params) -> Result<Response, LabKeyError> {
    // the gate answers an unknown study (container) with LabKey's not-found
    let study = lk.container.clone();
    check_schema(params)?;
    let raw = params.get("sql").filter(|s| !s.trim().is_empty()).ok_or_else(|| LabKeyError::bad_request("sql: the SQL text is required", Some("sql")))?;
    let sql = crate::data::sql::waf_decode(raw).map_err(|m| LabKeyError::bad_request(&m, Some("sql")))?;
    let max_rows = match params.int("maxRows")? {
        None => MaxRows::Limit(MAX_ROWS),
        Some(-1) => MaxRows::All,
        Some(0) => MaxRows::MetadataOnly,
        Some(n) if (1..=MAX_ROWS).contains(&n) => MaxRows::Limit(n),
        Some(n) => {
            return Err(LabKeyError::bad_request(
                &format!("maxRows: {n} is out of range (use -1 for all rows, 0 for metadata only, or 1 to {MAX_ROWS})"),
                Some("maxRows"),
            ))
        }
    };
    let offset = params.int("offset")?.unwrap_or(0);
    if !(0..=1_000_000_000).contains(&offset) {
        return Err(LabKeyError::bad_request("offset: must be between 0 and 1000000000", Some("offset")));
    }
    let format = Format::from_api_version(params.get("apiVersion"));
    let schema = params.get("schemaName").unwrap_or("study").to_string();
    let req = SqlRequest { study, sql, offset, max_rows, max_rows_param: "maxRows".into() };
    let released = gate::release(state, p, DataRequest::Sql(req)).await?;
    let body = response::render(&released, format, &Shape { schema: &schema, query_name: "sql", sort: None, row_count: released.total });
    Ok(Json(body).into_response())
}

async fn select_rows(state: &AppState, p: &Principal, lk: &LabKeyPath, params: &Params) -> Result<Response, LabKeyError> {
    // the gate answers an unknown study (container) with LabKey's not-found
    let study = lk.container.clone();
    check_schema(params)?;
    let req = select_request(&study, params)?;
    let format = Format::from_api_version(params.get("apiVersion"));
    let include_total = params.bool("includeTotalCount").unwrap_or(true);
    let first_sort = req.sort.first().map(|s| (s.column.clone(), s.descending));
    let offset = req.offset;
    let released = gate::release(state, p, DataRequest::Select(req)).await?;
    let row_count = if include_total { released.total } else { offset + released.rows.len() as i64 };
    let body = response::render(
        &released,
        format,
        &Shape { schema: "study", query_name: &released.query_name, sort: first_sort.as_ref().map(|(c, d)| (c.as_str(), *d)), row_count },
    );
    Ok(Json(body).into_response())
}
