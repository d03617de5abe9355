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

#[server(prefix = "/rpc", endpoint = "wizard_state")]
pub async fn get_wizard_state() -> Result<WizardState, AppError> {
    let (port, parts) = ctx::port()?;
    port.wizard_state(&parts).await.map_err(ctx::fail)
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

macro_rules! port_call {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty => $method:ident) => {
        $(#[$m])*
        pub async fn $name($($arg: $ty),*) -> Result<$out, AppError> {
            let (port, parts) = ctx::port()?;
            port.$method(&parts $(, $arg)*).await.map_err(ctx::fail)
        }
    };
}

port_call!(#[server(prefix = "/rpc", endpoint = "admin_users")] fn admin_users(search: String) -> Vec<UserAdminView> => list_users);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_create_user", input = Json)] fn admin_create_user(user: NewUserRequest) -> UserAdminView => create_user);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_update_user", input = Json)] fn admin_update_user(id: i64, patch: UserPatch) -> UserAdminView => update_user);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_sessions")] fn admin_sessions() -> Vec<SessionInfo> => list_sessions);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_end_session")] fn admin_end_session(id: String) -> () => end_session);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_end_user_sessions")] fn admin_end_user_sessions(user_id: i64) -> usize => end_user_sessions);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_terms")] fn admin_terms() -> TermsDocument => terms);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_publish_terms", input = Json)] fn admin_publish_terms(paragraphs: Vec<TermsParagraph>) -> TermsDocument => publish_terms);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_irb")] fn admin_irb() -> Vec<IrbProtocol> => list_irb);
port_call!(#[server(prefix = "/rpc", endpoint = "admin_save_irb", input = Json)] fn admin_save_irb(protocol: IrbProtocol) -> IrbProtocol => save_irb);
port_call!(#[server(prefix = "/rpc", endpoint = "impersonate")] fn impersonate(user_id: i64) -> () => impersonate);
port_call!(#[server(prefix = "/rpc", endpoint = "stop_impersonating")] fn stop_impersonating() -> () => stop_impersonating);
port_call!(#[server(prefix = "/rpc", endpoint = "my_sessions")] fn my_sessions() -> Vec<SessionInfo> => my_sessions);
port_call!(#[server(prefix = "/rpc", endpoint = "end_my_session")] fn end_my_session(id: String) -> () => end_my_session);
port_call!(#[server(prefix = "/rpc", endpoint = "audit_page", input = Json)] fn load_audit_page(filter: AuditFilter, before: Option<i64>) -> AuditPage => audit_page);
port_call!(#[server(prefix = "/rpc", endpoint = "audit_event")] fn audit_event(seq: i64) -> AuditRecord => audit_event);
port_call!(#[server(prefix = "/rpc", endpoint = "disclosures")] fn disclosures(participant: String) -> Vec<Disclosure> => disclosures);
port_call!(#[server(prefix = "/rpc", endpoint = "user_activity")] fn load_user_activity(user_id: i64) -> UserActivity => user_activity);
port_call!(#[server(prefix = "/rpc", endpoint = "verify_log")] fn verify_log() -> VerifyResult => verify_log);

#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let (port, parts) = ctx::port()?;
    let effects = port.change_password(&parts, current, new).await.map_err(ctx::fail)?;
    ctx::apply(effects);
    Ok(())
}
