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
    async fn wizard_state(&self, req: &Parts) -> Result<WizardState, AppError>;
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
    async fn list_users(&self, req: &Parts, search: String) -> Result<Vec<UserAdminView>, AppError>;
    async fn create_user(&self, req: &Parts, user: NewUserRequest) -> Result<UserAdminView, AppError>;
    async fn update_user(&self, req: &Parts, id: i64, patch: UserPatch) -> Result<UserAdminView, AppError>;
    async fn list_sessions(&self, req: &Parts) -> Result<Vec<SessionInfo>, AppError>;
    async fn end_session(&self, req: &Parts, id: String) -> Result<(), AppError>;
    async fn end_user_sessions(&self, req: &Parts, user_id: i64) -> Result<usize, AppError>;
    async fn terms(&self, req: &Parts) -> Result<TermsDocument, AppError>;
    async fn publish_terms(&self, req: &Parts, paragraphs: Vec<TermsParagraph>) -> Result<TermsDocument, AppError>;
    async fn list_irb(&self, req: &Parts) -> Result<Vec<IrbProtocol>, AppError>;
    async fn save_irb(&self, req: &Parts, protocol: IrbProtocol) -> Result<IrbProtocol, AppError>;
    async fn impersonate(&self, req: &Parts, user_id: i64) -> Result<(), AppError>;
    async fn stop_impersonating(&self, req: &Parts) -> Result<(), AppError>;
    async fn my_sessions(&self, req: &Parts) -> Result<Vec<SessionInfo>, AppError>;
    async fn end_my_session(&self, req: &Parts, id: String) -> Result<(), AppError>;
    async fn change_password(&self, req: &Parts, current: String, new: String) -> Result<Effects, AppError>;
    async fn audit_page(&self, req: &Parts, filter: AuditFilter, before: Option<i64>) -> Result<AuditPage, AppError>;
    async fn audit_event(&self, req: &Parts, seq: i64) -> Result<AuditRecord, AppError>;
    async fn disclosures(&self, req: &Parts, participant: String) -> Result<Vec<Disclosure>, AppError>;
    async fn user_activity(&self, req: &Parts, user_id: i64) -> Result<UserActivity, AppError>;
    async fn verify_log(&self, req: &Parts) -> Result<VerifyResult, AppError>;
    async fn update_site_settings(&self, req: &Parts, patch: SiteSettingsPatch) -> Result<SiteSettings, AppError>;
}

pub type SharedPort = Arc<dyn Port>;
