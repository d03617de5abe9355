//! executeSql: read-only LabKey-style SQL over one study's datasets.
//!
//! The text is parsed with sqlparser, every name is checked against the catalog, and the SQL that
//! runs is generated from the checked tree (`compile`): physical names from the catalog, every
//! literal bound, nothing of the user's text copied through. The PHI level of a query is the
//! highest level of any column it touches anywhere; above the declared level nothing runs.
//! When it touches Limited PHI or above, the query must be attributable to participants: hidden
//! participant columns ride along with every output row (or the query is refused).

mod compile;

use std::collections::BTreeMap;

use app::types::PhiLevel;
use base64::Engine;

pub use compile::{compile, Compiled, OutCol};

use super::catalog::ColumnMeta;

/// The client's encoded form: LabKey's WAF encoding of the SQL text.
const WAF_PREFIX: &str = "/*{{base64/x-www-form-urlencoded/wafText}}*/";

/// Decodes `sql` as the LabKey clients send it (WAF-encoded), or returns it as is.
pub fn waf_decode(sql: &str) -> Result<String, String> {
    let Some(b64) = sql.strip_prefix(WAF_PREFIX) else { return Ok(sql.to_string()) };
    let b64: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    if !b64.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) {
        return Err("sql: the encoded SQL is not valid base64".into());
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "sql: the encoded SQL is not valid base64".to_string())?;
    let ascii = String::from_utf8(bytes).map_err(|_| "sql: the encoded SQL is not text".to_string())?;
    percent_encoding::percent_decode_str(&ascii).decode_utf8().map(|s| s.to_string()).map_err(|_| "sql: the encoded SQL is not UTF-8".into())
}

/// Stack for compiling one query. Parsing and compiling recurse once per nesting level and per
/// operator (at most `MAX_OPERATORS`); a debug build's frames are large, and the runtime's
/// worker threads have 2 MiB, which a query of 128 operators could exhaust there. A stack
/// overflow aborts the whole server, so the compile runs where depth cannot reach the end.
const COMPILE_STACK: usize = 64 * 1024 * 1024;

/// `compile` on a thread of its own with a large stack (see `COMPILE_STACK`).
pub async fn compile_isolated(text: &str, datasets: &[super::catalog::DatasetMeta], backend: crate::db::Backend, attribute: bool) -> Result<Compiled, SqlError> {
    let (text, datasets) = (text.to_string(), datasets.to_vec());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sql-compile".into())
        .stack_size(COMPILE_STACK)
        .spawn(move || {
            let _ = tx.send(compile(&text, &datasets, backend, attribute));
        })
        .map_err(|e| SqlError { message: format!("the query could not be compiled now ({e}); try again"), line: 0, column: 0 })?;
    rx.await.map_err(|_| SqlError { message: "the query could not be compiled".into(), line: 0, column: 0 })?
}

/// What went wrong with a query, and where (1-based line and column of the SQL text).
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    pub message: String,
    pub line: u64,
    pub column: u64,
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// A base column a query touched, with the dataset it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Touched {
    pub dataset: String,
    pub column: ColumnMeta,
}

/// The highest PHI level among the touched columns, and the columns at that level or above
/// `declared` (for the refusal message).
pub fn above_declared(touched: &BTreeMap<(String, String), Touched>, declared: PhiLevel) -> Option<(PhiLevel, Vec<String>)> {
    let max = touched.values().map(|t| t.column.phi).max()?;
    if max <= declared {
        return None;
    }
    let cols = touched.values().filter(|t| t.column.phi > declared).map(|t| format!("{}.{}", t.dataset, t.column.name)).collect();
    Some((max, cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waf_encoding_as_the_python_client_sends_it() {
        assert_eq!(waf_decode("/*{{base64/x-www-form-urlencoded/wafText}}*/U0VMRUNUJTIwKiUyMEZST00lMjBwZW9wbGU=").unwrap(), "SELECT * FROM people");
        assert_eq!(waf_decode("SELECT 1").unwrap(), "SELECT 1");
        assert!(waf_decode("/*{{base64/x-www-form-urlencoded/wafText}}*/%%%").is_err());
    }
}
