//! The port: what the pages need from the server, as a trait. The server implements it
//! (src/web/port.rs); server functions only take it from context and call it, so this crate
//! never touches a database.

use std::sync::Arc;

use http::request::Parts;

use crate::types::*;

/// Cookies (Set-Cookie values) and headers a call wants on its response.
#[derive(Default)]
pub struct Effects {
    pub set_cookies: Vec<String>,
    pub headers: Vec<(&'static str, String)>,
}

#[async_trait::async_trait]
pub trait Port: Send + Sync + 'static {
    async fn session(&self, req: &Parts) -> Result<Option<SessionView>, AppError>;
    async fn login(&self, req: &Parts, email: String, password: String) -> Result<(SessionView, Effects), AppError>;
    async fn logout(&self, req: &Parts) -> Result<Effects, AppError>;
    async fn declaration_options(&self, req: &Parts) -> Result<DeclarationOptions, AppError>;
    async fn declare(&self, req: &Parts, activity: String, irb: Option<String>, phi_level: String) -> Result<TermsView, AppError>;
    async fn current_terms(&self, req: &Parts) -> Result<TermsView, AppError>;
    async fn accept_terms(&self, req: &Parts, terms_hash: String) -> Result<SessionView, AppError>;
    async fn studies(&self, req: &Parts) -> Result<Vec<StudyInfo>, AppError>;
    async fn grid(&self, req: &Parts, grid: GridRequest) -> Result<GridPage, AppError>;
    async fn run_sql(&self, req: &Parts, study: String, sql: String) -> Result<GridPage, AppError>;
    async fn create_key(&self, req: &Parts) -> Result<NewKey, AppError>;
    async fn list_keys(&self, req: &Parts) -> Result<Vec<KeyInfo>, AppError>;
    async fn revoke_key(&self, req: &Parts, id: String) -> Result<(), AppError>;
    async fn site_settings(&self, req: &Parts) -> Result<SiteSettings, AppError>;
    async fn update_site_settings(&self, req: &Parts, patch: SiteSettingsPatch) -> Result<SiteSettings, AppError>;
}

pub type SharedPort = Arc<dyn Port>;
