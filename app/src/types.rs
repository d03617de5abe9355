//! Types that cross the wire between the server and the wasm client, and the names the
//! HTTP API uses for them. Parsing from strings lives here so every edge parses the same way.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How sensitive a column is, and how much a session declared it needs. Ordered from least
/// to most protected, so `column.phi > declared` means "hide it".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhiLevel {
    NotPhi,
    Limited,
    Full,
    Restricted,
}

impl PhiLevel {
    pub const ALL: [PhiLevel; 4] = [PhiLevel::NotPhi, PhiLevel::Limited, PhiLevel::Full, PhiLevel::Restricted];

    /// The name used on the command line, in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PhiLevel::NotPhi => "not-phi",
            PhiLevel::Limited => "limited",
            PhiLevel::Full => "full",
            PhiLevel::Restricted => "restricted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PhiLevel::NotPhi => "Not PHI",
            PhiLevel::Limited => "Limited PHI",
            PhiLevel::Full => "Full PHI",
            PhiLevel::Restricted => "Restricted PHI",
        }
    }

    pub fn parse(s: &str) -> Option<PhiLevel> {
        PhiLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl fmt::Display for PhiLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    Auditor,
    Researcher,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::Researcher];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Researcher => "researcher",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Auditors review the log; they never read study data.
    pub fn may_read_data(self) -> bool {
        matches!(self, Role::Admin | Role::Researcher)
    }

    pub fn may_read_audit(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The six intended uses LabKey's compliance module offers at sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activity {
    ResearchWaiver,
    ResearchInformed,
    ResearchOperations,
    HealthcareOperations,
    QualityImprovement,
    PublicHealthReporting,
}

impl Activity {
    pub const ALL: [Activity; 6] = [
        Activity::ResearchWaiver,
        Activity::ResearchInformed,
        Activity::ResearchOperations,
        Activity::HealthcareOperations,
        Activity::QualityImprovement,
        Activity::PublicHealthReporting,
    ];

    /// Stable id, listed by `GET /api/declaration/options`.
    pub fn id(self) -> &'static str {
        match self {
            Activity::ResearchWaiver => "research-waiver",
            Activity::ResearchInformed => "research-informed",
            Activity::ResearchOperations => "research-operations",
            Activity::HealthcareOperations => "healthcare-operations",
            Activity::QualityImprovement => "quality-improvement",
            Activity::PublicHealthReporting => "public-health-reporting",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Activity::ResearchWaiver => "Research with Waiver of HIPAA Authorization/Consent",
            Activity::ResearchInformed => "Research with HIPAA Authorization/Consent",
            Activity::ResearchOperations => "Research Operations",
            Activity::HealthcareOperations => "Healthcare Operations",
            Activity::QualityImprovement => "Quality Improvement/Quality Assurance",
            Activity::PublicHealthReporting => "Public Health Reporting",
        }
    }

    /// The three research activities need an IRB protocol number.
    pub fn requires_irb(self) -> bool {
        matches!(self, Activity::ResearchWaiver | Activity::ResearchInformed | Activity::ResearchOperations)
    }

    pub fn parse(s: &str) -> Option<Activity> {
        Activity::ALL.into_iter().find(|a| a.id() == s)
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// An error as the browser and the JSON API see it: a stable code, a sentence for people,
/// and, for form errors, the field it belongs next to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppError {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The HTTP status the server answers with (server side only; not sent).
    #[serde(skip)]
    pub status: Option<u16>,
}

impl AppError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        AppError { error: code.into(), message: message.into(), field: None, status: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub max_phi: PhiLevel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclarationView {
    pub id: i64,
    pub activity: Activity,
    pub activity_label: String,
    pub irb: Option<String>,
    pub phi_level: PhiLevel,
    pub terms_hash: String,
    /// True once the terms were accepted; data needs an accepted declaration.
    pub accepted: bool,
}

/// What the signed-in browser (or a script) is: who, acting as whom, under which declaration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// The identity data access runs as (the impersonated user while impersonating).
    pub user: UserView,
    /// The admin behind an impersonation.
    pub impersonator: Option<UserView>,
    pub declaration: Option<DeclarationView>,
    /// What is still missing before data can be read: None when ready.
    pub needs: Option<String>,
    pub created_at: String,
    /// When the session ends if nothing else happens (idle), and at the latest (absolute).
    pub idle_expires_at: String,
    pub absolute_expires_at: String,
}

impl SessionView {
    pub fn ready(&self) -> bool {
        self.needs.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityOption {
    pub id: String,
    pub label: String,
    pub requires_irb: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhiOption {
    pub id: PhiLevel,
    pub label: String,
    /// False for levels above the user's maximum: shown, but disabled.
    pub allowed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclarationOptions {
    pub activities: Vec<ActivityOption>,
    pub phi_levels: Vec<PhiOption>,
    pub max_phi: PhiLevel,
    pub irb_registry: bool,
}

/// Everything the sign-in wizard needs when a page loads, in one call (so that the server's
/// render and the browser's hydration see the same thing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WizardState {
    pub session: Option<SessionView>,
    /// Present once signed in.
    pub options: Option<DeclarationOptions>,
    /// Present when the session must accept (again) the terms of its declaration.
    pub terms: Option<TermsView>,
}

/// The terms assembled for a declaration: accept them by sending back `terms_hash`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TermsView {
    pub declaration_id: i64,
    pub paragraphs: Vec<String>,
    pub text: String,
    pub terms_hash: String,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub name: String,
    pub row_count: i64,
    pub column_count: i64,
    pub participant_column: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyInfo {
    pub name: String,
    pub datasets: Vec<DatasetInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SortSpec {
    pub column: String,
    pub descending: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterSpec {
    pub column: String,
    /// LabKey's operator names: eq, neq, gt, contains, in, isblank...
    pub op: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridRequest {
    pub study: String,
    pub dataset: String,
    pub offset: i64,
    pub limit: i64,
    pub sort: Vec<SortSpec>,
    pub filters: Vec<FilterSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnView {
    pub name: String,
    pub data_type: String,
    pub phi_level: PhiLevel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HiddenColumns {
    pub level: PhiLevel,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPage {
    pub columns: Vec<ColumnView>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
    /// Columns left out because they are above the declared PHI level, per level.
    pub hidden: Vec<HiddenColumns>,
    pub declared: PhiLevel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewKey {
    /// The key itself: shown once, never stored in clear.
    pub key: String,
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A user as admins see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserAdminView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub max_phi: PhiLevel,
    pub disabled: bool,
    /// YYYY-MM-DD: the last day the account may sign in.
    pub expires_on: Option<String>,
    pub locked_until: Option<String>,
    pub last_login_at: Option<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUserRequest {
    pub email: String,
    pub name: String,
    pub role: Option<Role>,
    pub max_phi: Option<PhiLevel>,
    pub password: String,
    #[serde(default)]
    pub expires_on: Option<String>,
}

/// `PATCH /api/admin/users/{id}`: only the fields given change. `expires_on: ""` clears it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub max_phi: Option<PhiLevel>,
    pub disabled: Option<bool>,
    pub expires_on: Option<String>,
    /// A new password (a reset): ends the user's sessions.
    pub password: Option<String>,
    /// Lifts a sign-in lockout.
    pub unlock: Option<bool>,
}

/// A live session as admins (and its own user) see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The SHA-256 of the session id (the id itself is never shown).
    pub id: String,
    pub user_id: i64,
    pub user_email: String,
    pub user_name: String,
    pub acting_as: Option<String>,
    pub started_at: String,
    pub last_seen_at: String,
    pub activity: Option<String>,
    pub irb: Option<String>,
    pub phi_level: Option<PhiLevel>,
    pub declaration_accepted: bool,
    pub keys: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for the session that is asking.
    pub current: bool,
}

/// One paragraph of the terms of use, as edited by admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TermsParagraph {
    pub ordinal: i64,
    pub body: String,
    /// Activity ids, or ["*"] for all.
    pub activities: Vec<String>,
    /// PHI level names, or ["*"] for all.
    pub phi_levels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TermsDocument {
    pub version: i64,
    pub published_at: Option<String>,
    pub paragraphs: Vec<TermsParagraph>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IrbProtocol {
    pub number: String,
    pub title: String,
    pub investigator: String,
    /// YYYY-MM-DD: the last day of approval.
    pub approval_end: String,
}

/// Filters of the audit review (all optional; empty strings are ignored).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// From this time (RFC 3339 or YYYY-MM-DD, UTC), inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Up to this time (RFC 3339, or YYYY-MM-DD meaning the end of that day), inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// A user's e-mail (the acting or the impersonating user).
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    #[serde(default)]
    pub participant: Option<String>,
    #[serde(default)]
    pub irb: Option<String>,
}

/// One audit event, in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub event_type: String,
    pub outcome: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub impersonator_email: Option<String>,
    pub session_hash: Option<String>,
    pub declaration_id: Option<i64>,
    pub activity: Option<String>,
    pub irb: Option<String>,
    pub phi_level: Option<String>,
    pub key_id: Option<String>,
    pub study: Option<String>,
    pub dataset: Option<String>,
    pub columns: Option<Vec<String>>,
    pub phi_columns: Option<Vec<String>>,
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub sql: Option<String>,
    pub row_count: Option<i64>,
    pub participants: Option<Vec<String>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Event-specific details, as JSON text.
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditRecord>,
    /// Pass as `before` to get the next (older) page; None at the end.
    pub next_before: Option<i64>,
}

/// One access to a participant's data (accounting of disclosures).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disclosure {
    pub seq: i64,
    pub at: String,
    pub user_email: Option<String>,
    pub impersonator_email: Option<String>,
    pub activity: Option<String>,
    pub irb: Option<String>,
    pub phi_level: Option<String>,
    pub study: Option<String>,
    pub dataset: Option<String>,
    pub columns: Option<Vec<String>>,
    pub phi_columns: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub declaration_id: Option<i64>,
    pub via: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclarationRecord {
    pub id: i64,
    pub session_hash: String,
    pub activity: String,
    pub irb: Option<String>,
    pub phi_level: String,
    pub terms_hash: String,
    pub created_at: String,
    pub accepted_at: Option<String>,
    pub impersonator_email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_hash: String,
    pub started_at: String,
    pub last_seen_at: String,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub session_hash: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// "What did this user do and see": sessions, declarations, keys and data read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserActivity {
    pub user: UserView,
    pub sessions: Vec<SessionRecord>,
    pub declarations: Vec<DeclarationRecord>,
    pub keys: Vec<KeyRecord>,
    /// Data accesses, newest first (at most 1,000; the full list is in the export).
    pub reads: Vec<AuditRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    pub ok: bool,
    pub events: i64,
    pub head: String,
    pub first_bad_seq: Option<i64>,
    pub message: String,
}

/// Site settings, as admins see and change them (rules: the server's settings module).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteSettings {
    /// "Allow API session keys" (off by default, as in LabKey).
    pub allow_session_keys: bool,
    pub idle_timeout_mins: i64,
    pub absolute_timeout_mins: i64,
    /// Whether a request made with a session key counts as activity for the idle timeout.
    pub key_use_refreshes_idle: bool,
    /// N failed sign-ins within M minutes lock the account for R minutes.
    pub lockout_attempts: i64,
    pub lockout_window_mins: i64,
    pub lockout_duration_mins: i64,
    pub password_min_length: i64,
    /// Accounts unused this many days are disabled (0 = never).
    pub inactivity_disable_days: i64,
    /// When on, research activities need a registered, unexpired IRB protocol.
    pub irb_registry_enabled: bool,
    /// How often the server writes a signed audit checkpoint (0 = never).
    pub checkpoint_interval_mins: i64,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            allow_session_keys: false,
            idle_timeout_mins: 30,
            absolute_timeout_mins: 720,
            key_use_refreshes_idle: true,
            lockout_attempts: 10,
            lockout_window_mins: 15,
            lockout_duration_mins: 15,
            password_min_length: 15,
            inactivity_disable_days: 0,
            irb_registry_enabled: false,
            checkpoint_interval_mins: 60,
        }
    }
}

/// A partial update, as `PUT /api/admin/settings` takes it: only the fields given change.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSettingsPatch {
    pub allow_session_keys: Option<bool>,
    pub idle_timeout_mins: Option<i64>,
    pub absolute_timeout_mins: Option<i64>,
    pub key_use_refreshes_idle: Option<bool>,
    pub lockout_attempts: Option<i64>,
    pub lockout_window_mins: Option<i64>,
    pub lockout_duration_mins: Option<i64>,
    pub password_min_length: Option<i64>,
    pub inactivity_disable_days: Option<i64>,
    pub irb_registry_enabled: Option<bool>,
    pub checkpoint_interval_mins: Option<i64>,
}

/// Errors that a form shows next to a field use these field names.
pub mod fields {
    pub const EMAIL: &str = "email";
    pub const PASSWORD: &str = "password";
    pub const ACTIVITY: &str = "activity";
    pub const IRB: &str = "irb";
    pub const PHI_LEVEL: &str = "phi_level";
    pub const TERMS: &str = "terms_hash";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_levels_are_ordered_and_round_trip() {
        assert!(PhiLevel::NotPhi < PhiLevel::Limited);
        assert!(PhiLevel::Full < PhiLevel::Restricted);
        for l in PhiLevel::ALL {
            assert_eq!(PhiLevel::parse(l.as_str()), Some(l));
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{}\"", l.as_str()));
        }
        assert_eq!(PhiLevel::parse("PHI"), None);
    }

    #[test]
    fn research_activities_need_an_irb() {
        let needing: Vec<_> = Activity::ALL.into_iter().filter(|a| a.requires_irb()).collect();
        assert_eq!(needing, vec![Activity::ResearchWaiver, Activity::ResearchInformed, Activity::ResearchOperations]);
        for a in Activity::ALL {
            assert_eq!(Activity::parse(a.id()), Some(a));
        }
    }
}
