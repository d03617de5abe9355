//! The server's implementation of the app's `Port`: what the Leptos server functions call.
//! Each method resolves the principal from the request (the session cookie) and calls the same
//! code the JSON API calls; data goes through `data::gate`.

use app::port::{Effects, Port};
use app::types::*;
use axum::http::request::Parts;
use secrecy::SecretString;

use crate::api::error::ApiError;
use crate::admin;
use crate::api::audit as api_audit;
use crate::api::keys;
use crate::audit::review;
use crate::auth::principal::{self, AuthError, Principal};
use crate::auth::signin;
use crate::compliance::wizard;
use crate::data::gate::{self, DataRequest, Released, SqlRequest};
use crate::data::select::{MaxRows, RawFilter, RawSort, SelectRequest};
use crate::data::catalog;
use crate::http::extract::{browser_principal_of, meta_of};
use crate::state::AppState;

/// Released rows as the browser's grid shows them.
fn page_of(r: Released, offset: i64, limit: i64) -> GridPage {
    GridPage {
        columns: r.columns.iter().map(|c| ColumnView { name: c.name.clone(), data_type: c.data_type.as_str().into(), phi_level: c.phi }).collect(),
        rows: r.rows.iter().map(|row| row.iter().map(|c| c.display()).collect()).collect(),
        total: r.total,
        offset,
        limit,
        hidden: r.hidden,
        declared: r.declared,
    }
}

pub struct WebPort {
    pub state: AppState,
}

fn app_err(e: ApiError) -> AppError {
    e.into()
}

impl WebPort {
    async fn principal(&self, req: &Parts) -> Result<Principal, AppError> {
        browser_principal_of(req, &self.state).await.map_err(|e| app_err(e.into()))
    }
}

#[async_trait::async_trait]
impl Port for WebPort {
    async fn session(&self, req: &Parts) -> Result<Option<SessionView>, AppError> {
        match browser_principal_of(req, &self.state).await {
            Ok(p) => wizard::session_view(&self.state, &p).await.map(Some).map_err(app_err),
            Err(AuthError::NoCredential | AuthError::SessionEnded | AuthError::KeyRefused | AuthError::KeyFormat(_) | AuthError::BasicNotApiKey) => Ok(None),
            Err(e) => Err(app_err(e.into())),
        }
    }

    async fn wizard_state(&self, req: &Parts) -> Result<WizardState, AppError> {
        let Some(session) = self.session(req).await? else { return Ok(WizardState { session: None, options: None, terms: None }) };
        let p = self.principal(req).await?;
        let options = Some(wizard::options(&self.state, &p).await.map_err(app_err)?);
        let terms = if session.needs.as_deref() == Some("terms") { Some(wizard::current_terms(&self.state, &p).await.map_err(app_err)?) } else { None };
        Ok(WizardState { session: Some(session), options, terms })
    }

    async fn login(&self, req: &Parts, email: String, password: String) -> Result<(SessionView, Effects), AppError> {
        let meta = meta_of(req, &self.state);
        let previous = principal::session_cookie(&req.headers);
        let password = SecretString::from(password);
        let signed = signin::sign_in(&self.state, &email, &password, &meta, previous.as_ref()).await.map_err(app_err)?;
        let p = principal::resolve(&self.state, principal::Credential::Cookie(signed.session_id.clone()), meta)
            .await
            .map_err(|e| app_err(e.into()))?;
        let view = wizard::session_view(&self.state, &p).await.map_err(app_err)?;
        Ok((view, Effects { set_cookies: vec![signin::session_cookie(&signed.session_id)], headers: vec![] }))
    }

    async fn logout(&self, req: &Parts) -> Result<Effects, AppError> {
        if let Ok(p) = browser_principal_of(req, &self.state).await {
            signin::sign_out(&self.state, &p).await.map_err(app_err)?;
        }
        Ok(Effects {
            set_cookies: vec![signin::clear_session_cookie()],
            headers: vec![("clear-site-data", "\"cache\", \"cookies\", \"storage\"".into())],
        })
    }

    async fn declaration_options(&self, req: &Parts) -> Result<DeclarationOptions, AppError> {
        let p = self.principal(req).await?;
        wizard::options(&self.state, &p).await.map_err(app_err)
    }

    async fn declare(&self, req: &Parts, activity: String, irb: Option<String>, phi_level: String) -> Result<TermsView, AppError> {
        let p = self.principal(req).await?;
        wizard::declare(&self.state, &p, &activity, irb.as_deref(), &phi_level).await.map_err(app_err)
    }

    async fn current_terms(&self, req: &Parts) -> Result<TermsView, AppError> {
        let p = self.principal(req).await?;
        wizard::current_terms(&self.state, &p).await.map_err(app_err)
    }

    async fn accept_terms(&self, req: &Parts, terms_hash: String) -> Result<SessionView, AppError> {
        let p = self.principal(req).await?;
        wizard::accept(&self.state, &p, &terms_hash).await.map_err(app_err)
    }

    async fn studies(&self, req: &Parts) -> Result<Vec<StudyInfo>, AppError> {
        self.principal(req).await?;
        catalog::studies(&self.state.db).await.map_err(|e| app_err(e.into()))
    }

    async fn grid(&self, req: &Parts, g: GridRequest) -> Result<GridPage, AppError> {
        let p = self.principal(req).await?;
        let limit = g.limit.clamp(1, 1000);
        let offset = g.offset.max(0);
        let request = SelectRequest {
            study: g.study,
            dataset: g.dataset,
            columns: None,
            columns_param: "columns".into(),
            filters: g
                .filters
                .into_iter()
                .map(|f| RawFilter { param: format!("filter on {}", f.column), column: f.column, op: f.op, value: f.value })
                .collect(),
            sort: g.sort.into_iter().map(|s| RawSort { column: s.column, descending: s.descending }).collect(),
            sort_param: "sort".into(),
            offset,
            max_rows: MaxRows::Limit(limit),
            max_rows_param: "limit".into(),
        };
        let r = gate::release(&self.state, &p, DataRequest::Select(request)).await.map_err(|e| app_err(e.into()))?;
        Ok(page_of(r, offset, limit))
    }

    async fn run_sql(&self, req: &Parts, study: String, sql: String) -> Result<GridPage, AppError> {
        let p = self.principal(req).await?;
        let request = SqlRequest { study, sql, offset: 0, max_rows: MaxRows::Limit(1000), max_rows_param: "rows".into() };
        let r = gate::release(&self.state, &p, DataRequest::Sql(request)).await.map_err(|e| app_err(e.into()))?;
        Ok(page_of(r, 0, 1000))
    }

    async fn create_key(&self, req: &Parts) -> Result<NewKey, AppError> {
        let p = self.principal(req).await?;
        keys::issue(&self.state, &p).await.map_err(app_err)
    }

    async fn list_keys(&self, req: &Parts) -> Result<Vec<KeyInfo>, AppError> {
        let p = self.principal(req).await?;
        crate::auth::key::list(&self.state.db.pool, &p.session_hash).await.map_err(|e| app_err(e.into()))
    }

    async fn revoke_key(&self, req: &Parts, id: String) -> Result<(), AppError> {
        let p = self.principal(req).await?;
        keys::revoke_key(&self.state, &p, &id).await.map_err(app_err)
    }

    async fn site_settings(&self, req: &Parts) -> Result<SiteSettings, AppError> {
        let p = self.principal(req).await?;
        crate::admin::settings::get(&self.state, &p).await.map_err(app_err)
    }

    async fn update_site_settings(&self, req: &Parts, patch: SiteSettingsPatch) -> Result<SiteSettings, AppError> {
        let p = self.principal(req).await?;
        crate::admin::settings::update(&self.state, &p, &patch).await.map_err(app_err)
    }

    async fn list_users(&self, req: &Parts, search: String) -> Result<Vec<UserAdminView>, AppError> {
        let p = self.principal(req).await?;
        admin::users::list(&self.state, &p, Some(&search)).await.map_err(app_err)
    }

    async fn create_user(&self, req: &Parts, user: NewUserRequest) -> Result<UserAdminView, AppError> {
        let p = self.principal(req).await?;
        admin::users::create(&self.state, &p, &user).await.map_err(app_err)
    }

    async fn update_user(&self, req: &Parts, id: i64, patch: UserPatch) -> Result<UserAdminView, AppError> {
        let p = self.principal(req).await?;
        admin::users::update(&self.state, &p, id, &patch).await.map_err(app_err)
    }

    async fn list_sessions(&self, req: &Parts) -> Result<Vec<SessionInfo>, AppError> {
        let p = self.principal(req).await?;
        admin::sessions::list_all(&self.state, &p).await.map_err(app_err)
    }

    async fn end_session(&self, req: &Parts, id: String) -> Result<(), AppError> {
        let p = self.principal(req).await?;
        admin::sessions::end_one(&self.state, &p, &id, true).await.map_err(app_err)
    }

    async fn end_user_sessions(&self, req: &Parts, user_id: i64) -> Result<usize, AppError> {
        let p = self.principal(req).await?;
        admin::sessions::end_all_of_user(&self.state, &p, user_id).await.map_err(app_err)
    }

    async fn terms(&self, req: &Parts) -> Result<TermsDocument, AppError> {
        let p = self.principal(req).await?;
        admin::terms::current(&self.state, &p).await.map_err(app_err)
    }

    async fn publish_terms(&self, req: &Parts, paragraphs: Vec<TermsParagraph>) -> Result<TermsDocument, AppError> {
        let p = self.principal(req).await?;
        admin::terms::publish(&self.state, &p, &paragraphs).await.map_err(app_err)
    }

    async fn list_irb(&self, req: &Parts) -> Result<Vec<IrbProtocol>, AppError> {
        let p = self.principal(req).await?;
        admin::irb::list(&self.state, &p).await.map_err(app_err)
    }

    async fn save_irb(&self, req: &Parts, protocol: IrbProtocol) -> Result<IrbProtocol, AppError> {
        let p = self.principal(req).await?;
        admin::irb::save(&self.state, &p, &protocol).await.map_err(app_err)
    }

    async fn impersonate(&self, req: &Parts, user_id: i64) -> Result<(), AppError> {
        let p = self.principal(req).await?;
        admin::impersonation::start(&self.state, &p, user_id).await.map_err(app_err)
    }

    async fn stop_impersonating(&self, req: &Parts) -> Result<(), AppError> {
        let p = self.principal(req).await?;
        admin::impersonation::stop(&self.state, &p).await.map_err(app_err)
    }

    async fn my_sessions(&self, req: &Parts) -> Result<Vec<SessionInfo>, AppError> {
        let p = self.principal(req).await?;
        admin::sessions::list_own(&self.state, &p).await.map_err(app_err)
    }

    async fn end_my_session(&self, req: &Parts, id: String) -> Result<(), AppError> {
        let p = self.principal(req).await?;
        admin::sessions::end_one(&self.state, &p, &id, false).await.map_err(app_err)
    }

    async fn change_password(&self, req: &Parts, current: String, new: String) -> Result<Effects, AppError> {
        let p = self.principal(req).await?;
        admin::users::change_own_password(&self.state, &p, &SecretString::from(current), &SecretString::from(new)).await.map_err(app_err)?;
        Ok(Effects { set_cookies: vec![signin::clear_session_cookie()], headers: vec![] })
    }

    async fn audit_page(&self, req: &Parts, filter: AuditFilter, before: Option<i64>) -> Result<AuditPage, AppError> {
        let p = self.principal(req).await?;
        api_audit::page(&self.state, &p, &filter, before, Some(50)).await.map_err(app_err)
    }

    async fn audit_event(&self, req: &Parts, seq: i64) -> Result<AuditRecord, AppError> {
        let p = self.principal(req).await?;
        api_audit::require_reviewer(&self.state, &p).await.map_err(app_err)?;
        review::one(&self.state.db, seq)
            .await
            .map_err(|e| app_err(e.into()))?
            .ok_or_else(|| app_err(ApiError::not_found("no_such_event", "No audit event with this sequence number.")))
    }

    async fn disclosures(&self, req: &Parts, participant: String) -> Result<Vec<Disclosure>, AppError> {
        let p = self.principal(req).await?;
        api_audit::require_reviewer(&self.state, &p).await.map_err(app_err)?;
        review::disclosures(&self.state.db, participant.trim()).await.map_err(|e| app_err(e.into()))
    }

    async fn user_activity(&self, req: &Parts, user_id: i64) -> Result<UserActivity, AppError> {
        let p = self.principal(req).await?;
        api_audit::require_reviewer(&self.state, &p).await.map_err(app_err)?;
        review::user_activity(&self.state.db, user_id)
            .await
            .map_err(|e| app_err(e.into()))?
            .ok_or_else(|| app_err(ApiError::not_found("no_such_user", "No user with this id.")))
    }

    async fn verify_log(&self, req: &Parts) -> Result<VerifyResult, AppError> {
        let p = self.principal(req).await?;
        api_audit::run_verify(&self.state, &p).await.map_err(app_err)
    }
}
