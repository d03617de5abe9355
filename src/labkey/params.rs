//! LabKey parameters arrive in the query string, a form body or a JSON body (Rlabkey), with
//! repeated keys, numbers as strings and booleans as True/true/1/on. They are merged here into
//! one list of (name, value) pairs.

use axum::http::StatusCode;
use serde_json::Value;

use super::error::LabKeyError;

#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

fn form_pairs(s: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s).unwrap_or_default()
}

impl Params {
    pub fn from_request(query: Option<&str>, content_type: &str, body: &[u8]) -> Result<Params, LabKeyError> {
        let mut out = Vec::new();
        if let Some(q) = query {
            out.extend(form_pairs(q));
        }
        let ct = content_type.to_ascii_lowercase();
        if body.iter().any(|b| !b.is_ascii_whitespace()) {
            if ct.starts_with("application/json") {
                let v: Value = serde_json::from_slice(body).map_err(|_| LabKeyError::bad_request("The request body is not valid JSON.", None))?;
                let Value::Object(map) = v else {
                    return Err(LabKeyError::bad_request("The JSON body must be an object.", None));
                };
                for (k, v) in map {
                    flatten(&k, &v, &mut out, 0)?;
                }
            } else if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
                let text = std::str::from_utf8(body).map_err(|_| LabKeyError::bad_request("The form body is not UTF-8.", None))?;
                out.extend(form_pairs(text));
            } else {
                return Err(LabKeyError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Send parameters in the query string, as a form, or as a JSON object.",
                    "org.labkey.api.action.ApiUsageException",
                ));
            }
        }
        Ok(Params(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All values of a repeated key.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, LabKeyError> {
        match self.get(name).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .or_else(|_| v.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| Some(f as i64)).ok_or(()))
                .map_err(|_| LabKeyError::bad_request(&format!("{name}: '{}' is not a whole number", clip(v)), Some(name))),
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "on" | "yes" | "t"))
    }
}

fn clip(v: &str) -> String {
    v.chars().take(40).collect()
}

fn flatten(key: &str, v: &Value, out: &mut Vec<(String, String)>, depth: usize) -> Result<(), LabKeyError> {
    if depth > 2 {
        return Err(LabKeyError::bad_request(&format!("{key}: nested too deeply"), Some(key)));
    }
    match v {
        Value::Null => {}
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Bool(b) => out.push((key.to_string(), b.to_string())),
        Value::Number(n) => out.push((key.to_string(), n.to_string())),
        Value::Array(items) => {
            for i in items {
                flatten(key, i, out, depth + 1)?;
            }
        }
        Value::Object(_) => return Err(LabKeyError::bad_request(&format!("{key}: an object is not a valid value"), Some(key))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_form_and_json() {
        let p = Params::from_request(Some("schemaName=study"), "application/x-www-form-urlencoded", b"query.columns=a&query.columns=b&query.maxRows=-1").unwrap();
        assert_eq!(p.get("schemaName"), Some("study"));
        assert_eq!(p.all("query.columns"), vec!["a", "b"]);
        assert_eq!(p.int("query.maxRows").unwrap(), Some(-1));
        let j = Params::from_request(None, "application/json;charset=utf-8", br#"{"query.maxRows": -1, "apiVersion": 8.3, "includeTotalCount": true}"#).unwrap();
        assert_eq!(j.int("query.maxRows").unwrap(), Some(-1));
        assert_eq!(j.get("apiVersion"), Some("8.3"));
        assert_eq!(j.bool("includeTotalCount"), Some(true));
    }

    #[test]
    fn numbers_that_do_not_parse_name_the_parameter() {
        let p = Params::from_request(Some("query.maxRows=ten"), "", b"").unwrap();
        let e = p.int("query.maxRows").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.starts_with("query.maxRows:"), "{}", e.message);
    }
}
