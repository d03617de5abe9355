//! Server functions: the browser's calls. Each body takes the port and the request from
//! context and calls one port method; on the client they become POSTs to /rpc/<name>.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::types::*;

#[cfg(feature = "ssr")]
mod ctx {
    use crate::port::{Effects, SharedPort};
    use crate::types::AppError;
    use leptos::prelude::*;

    pub fn port() -> Result<(SharedPort, http::request::Parts), AppError> {
        let port = use_context::<SharedPort>().ok_or_else(|| AppError::new("internal", "server misconfigured: no port"))?;
        let parts = use_context::<http::request::Parts>().ok_or_else(|| AppError::new("internal", "no request in context"))?;
        Ok((port, parts))
    }

    /// Answers with the error's HTTP status (the body is the error as JSON).
    pub fn fail(e: AppError) -> AppError {
        if let (Some(res), Some(code)) = (use_context::<leptos_axum::ResponseOptions>(), e.status) {
            if let Ok(status) = http::StatusCode::from_u16(code) {
                res.set_status(status);
            }
        }
        e
    }

    pub fn apply(effects: Effects) {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            for c in effects.set_cookies {
                if let Ok(v) = http::HeaderValue::from_str(&c) {
                    res.append_header(http::header::SET_COOKIE, v);
                }
            }
            for (name, value) in effects.headers {
                if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value)) {
                    res.insert_header(n, v);
                }
            }
        }
    }
}

#[server(prefix = "/rpc", endpoint = "session")]
pub async fn get_session() -> Result<Option<SessionView>, AppError> {
    let (port, parts) = ctx::port()?;
    port.session(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<SessionView, AppError> {
    let (port, parts) = ctx::port()?;
    let (view, effects) = port.login(&parts, email, password).await.map_err(ctx::fail)?;
    ctx::apply(effects);
    Ok(view)
}

#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let (port, parts) = ctx::port()?;
    let effects = port.logout(&parts).await.map_err(ctx::fail)?;
    ctx::apply(effects);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "declaration_options")]
pub async fn get_declaration_options() -> Result<DeclarationOptions, AppError> {
    let (port, parts) = ctx::port()?;
    port.declaration_options(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "declare")]
pub async fn declare(activity: String, irb: Option<String>, phi_level: String) -> Result<TermsView, AppError> {
    let (port, parts) = ctx::port()?;
    port.declare(&parts, activity, irb, phi_level).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "current_terms")]
pub async fn current_terms() -> Result<TermsView, AppError> {
    let (port, parts) = ctx::port()?;
    port.current_terms(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "accept_terms")]
pub async fn accept_terms(terms_hash: String) -> Result<SessionView, AppError> {
    let (port, parts) = ctx::port()?;
    port.accept_terms(&parts, terms_hash).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "studies")]
pub async fn list_studies() -> Result<Vec<StudyInfo>, AppError> {
    let (port, parts) = ctx::port()?;
    port.studies(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "grid", input = Json)]
pub async fn load_grid(grid: GridRequest) -> Result<GridPage, AppError> {
    let (port, parts) = ctx::port()?;
    port.grid(&parts, grid).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "run_sql", input = Json)]
pub async fn run_sql(study: String, sql: String) -> Result<GridPage, AppError> {
    let (port, parts) = ctx::port()?;
    port.run_sql(&parts, study, sql).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "create_key")]
pub async fn create_key() -> Result<NewKey, AppError> {
    let (port, parts) = ctx::port()?;
    port.create_key(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "list_keys")]
pub async fn list_keys() -> Result<Vec<KeyInfo>, AppError> {
    let (port, parts) = ctx::port()?;
    port.list_keys(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "revoke_key")]
pub async fn revoke_key(id: String) -> Result<(), AppError> {
    let (port, parts) = ctx::port()?;
    port.revoke_key(&parts, id).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "site_settings")]
pub async fn get_site_settings() -> Result<SiteSettings, AppError> {
    let (port, parts) = ctx::port()?;
    port.site_settings(&parts).await.map_err(ctx::fail)
}

#[server(prefix = "/rpc", endpoint = "update_site_settings", input = Json)]
pub async fn update_site_settings(patch: SiteSettingsPatch) -> Result<SiteSettings, AppError> {
    let (port, parts) = ctx::port()?;
    port.update_site_settings(&parts, patch).await.map_err(ctx::fail)
}
