//! LabKey URLs: path-first `/<container>/<controller>-<action>.<ext>` (what the Python client
//! sends) and old-style `/<controller>/<container>/<action>.<ext>` (Rlabkey's whoAmI). Segments
//! are percent-decoded, `//` collapsed, actions matched case-insensitively, and `.api`, `.view`
//! and `.post` all reach the same action.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabKeyPath {
    /// The container path ("" for the root); here, a study name.
    pub container: String,
    pub controller: String,
    /// Lower-cased action name.
    pub action: String,
}

pub fn parse(path: &str) -> Option<LabKeyPath> {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().to_string())
        .collect();
    let last = segments.last()?;
    let (stem, ext) = last.rsplit_once('.')?;
    if !matches!(ext.to_ascii_lowercase().as_str(), "api" | "view" | "post") {
        return None;
    }
    let parents = &segments[..segments.len() - 1];
    if let Some((controller, action)) = stem.rsplit_once('-') {
        if controller.is_empty() || action.is_empty() {
            return None;
        }
        return Some(LabKeyPath { container: parents.join("/"), controller: controller.to_ascii_lowercase(), action: action.to_ascii_lowercase() });
    }
    // old style: the first segment is the controller
    let (controller, container) = parents.split_first()?;
    Some(LabKeyPath { container: container.join("/"), controller: controller.to_ascii_lowercase(), action: stem.to_ascii_lowercase() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(container: &str, controller: &str, action: &str) -> Option<LabKeyPath> {
        Some(LabKeyPath { container: container.into(), controller: controller.into(), action: action.into() })
    }

    #[test]
    fn path_first_and_old_style() {
        assert_eq!(parse("/synthea/query-getQuery.api"), p("synthea", "query", "getquery"));
        assert_eq!(parse("//synthea//query-selectRows.view"), p("synthea", "query", "selectrows"));
        assert_eq!(parse("/login-whoami.api"), p("", "login", "whoami"));
        assert_eq!(parse("/login/whoAmI.view"), p("", "login", "whoami"));
        assert_eq!(parse("/query/synthea/getQuery.post"), p("synthea", "query", "getquery"));
        assert_eq!(parse("/My%20Study/query-executeSql.api"), p("My Study", "query", "executesql"));
        assert_eq!(parse("/synthea/query-getQuery.html"), None);
        assert_eq!(parse("/pkg/attest.js"), None);
    }
}
