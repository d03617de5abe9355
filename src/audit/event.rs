//! What an audit event holds, and its canonical encoding (the bytes the hash chain covers).

use serde::{Deserialize, Serialize};

/// Every kind of event the log records. The string form is what is stored and filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    SignIn,
    SignInFailed,
    SignOut,
    SessionTimeout,
    SessionEnded,
    Declaration,
    TermsAccepted,
    KeyCreated,
    KeyUsed,
    KeyRevoked,
    KeyRefused,
    DataAccess,
    AccessRefused,
    SettingsChanged,
    UserCreated,
    UserChanged,
    UserDisabled,
    ImpersonationStart,
    ImpersonationStop,
    TermsPublished,
    IrbChanged,
    StudyImported,
    AuditExport,
    AuditVerify,
}

impl EventType {
    pub const ALL: [EventType; 24] = [
        EventType::SignIn,
        EventType::SignInFailed,
        EventType::SignOut,
        EventType::SessionTimeout,
        EventType::SessionEnded,
        EventType::Declaration,
        EventType::TermsAccepted,
        EventType::KeyCreated,
        EventType::KeyUsed,
        EventType::KeyRevoked,
        EventType::KeyRefused,
        EventType::DataAccess,
        EventType::AccessRefused,
        EventType::SettingsChanged,
        EventType::UserCreated,
        EventType::UserChanged,
        EventType::UserDisabled,
        EventType::ImpersonationStart,
        EventType::ImpersonationStop,
        EventType::TermsPublished,
        EventType::IrbChanged,
        EventType::StudyImported,
        EventType::AuditExport,
        EventType::AuditVerify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SignIn => "sign_in",
            EventType::SignInFailed => "sign_in_failed",
            EventType::SignOut => "sign_out",
            EventType::SessionTimeout => "session_timeout",
            EventType::SessionEnded => "session_ended",
            EventType::Declaration => "declaration",
            EventType::TermsAccepted => "terms_accepted",
            EventType::KeyCreated => "key_created",
            EventType::KeyUsed => "key_used",
            EventType::KeyRevoked => "key_revoked",
            EventType::KeyRefused => "key_refused",
            EventType::DataAccess => "data_access",
            EventType::AccessRefused => "access_refused",
            EventType::SettingsChanged => "settings_changed",
            EventType::UserCreated => "user_created",
            EventType::UserChanged => "user_changed",
            EventType::UserDisabled => "user_disabled",
            EventType::ImpersonationStart => "impersonation_start",
            EventType::ImpersonationStop => "impersonation_stop",
            EventType::TermsPublished => "terms_published",
            EventType::IrbChanged => "irb_changed",
            EventType::StudyImported => "study_imported",
            EventType::AuditExport => "audit_export",
            EventType::AuditVerify => "audit_verify",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One event. Secrets never go in here: sessions appear as the SHA-256 of their id, keys
/// by their short public id (or a short hash prefix for a refused key).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: i64,
    pub event_type: String,
    /// ok, refused or failed.
    pub outcome: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub impersonator_id: Option<i64>,
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
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(event_type: EventType, at: i64) -> Self {
        AuditEvent { at, event_type: event_type.as_str().to_string(), outcome: "ok".into(), ..Default::default() }
    }

    pub fn outcome(mut self, outcome: &str) -> Self {
        self.outcome = outcome.to_string();
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn json_list(v: &Option<Vec<String>>) -> Option<String> {
        v.as_ref().map(|l| serde_json::to_string(l).expect("strings serialise"))
    }

    pub fn detail_text(&self) -> Option<String> {
        self.detail.as_ref().map(|d| d.to_string())
    }
}

/// An event as stored: its place in the chain and its hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields the chain covers, as text (lists and details as the JSON text that is stored),
/// so that the writer and the verifier, reading raw rows, encode exactly the same bytes.
pub struct Fields<'a> {
    pub at: i64,
    pub event_type: &'a str,
    pub outcome: &'a str,
    pub user_id: Option<i64>,
    pub user_email: Option<&'a str>,
    pub impersonator_id: Option<i64>,
    pub impersonator_email: Option<&'a str>,
    pub session_hash: Option<&'a str>,
    pub declaration_id: Option<i64>,
    pub activity: Option<&'a str>,
    pub irb: Option<&'a str>,
    pub phi_level: Option<&'a str>,
    pub key_id: Option<&'a str>,
    pub study: Option<&'a str>,
    pub dataset: Option<&'a str>,
    pub columns: Option<&'a str>,
    pub phi_columns: Option<&'a str>,
    pub filter: Option<&'a str>,
    pub sort: Option<&'a str>,
    pub sql: Option<&'a str>,
    pub row_count: Option<i64>,
    pub participants: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// The canonical encoding: every field in a fixed order, each as a 4-byte big-endian length
/// followed by its UTF-8 bytes, NULL as length 0xFFFFFFFF. Lists and details are encoded as
/// the JSON text that is stored, so what is verified is exactly what is in the database.
pub fn encode(out: &mut Vec<u8>, seq: i64, f: &Fields<'_>) {
    out.clear();
    let mut put = |v: Option<&str>| match v {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    };
    let mut nb = itoa_buf();
    let mut num = |v: Option<i64>, put: &mut dyn FnMut(Option<&str>)| match v {
        None => put(None),
        Some(n) => put(Some(nb.format(n))),
    };
    put(Some("attest-audit-v1"));
    num(Some(seq), &mut put);
    num(Some(f.at), &mut put);
    put(Some(f.event_type));
    put(Some(f.outcome));
    num(f.user_id, &mut put);
    put(f.user_email);
    num(f.impersonator_id, &mut put);
    put(f.impersonator_email);
    put(f.session_hash);
    num(f.declaration_id, &mut put);
    put(f.activity);
    put(f.irb);
    put(f.phi_level);
    put(f.key_id);
    put(f.study);
    put(f.dataset);
    put(f.columns);
    put(f.phi_columns);
    put(f.filter);
    put(f.sort);
    put(f.sql);
    num(f.row_count, &mut put);
    put(f.participants);
    put(f.client_ip);
    put(f.user_agent);
    put(f.detail);
}

/// Decimal text of integers without allocating.
struct NumBuf([u8; 24], usize);

fn itoa_buf() -> NumBuf {
    NumBuf([0; 24], 0)
}

impl NumBuf {
    fn format(&mut self, n: i64) -> &str {
        let mut v = n.unsigned_abs();
        let mut i = self.0.len();
        loop {
            i -= 1;
            self.0[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            self.0[i] = b'-';
        }
        self.1 = i;
        std::str::from_utf8(&self.0[i..]).expect("digits")
    }
}

/// An event's list and detail fields as the JSON text that is stored (and hashed). Made once
/// per event, on the requesting task, so the single writer thread does not encode them.
#[derive(Clone, Debug, Default)]
pub struct StoredText {
    pub columns: Option<String>,
    pub phi_columns: Option<String>,
    pub participants: Option<String>,
    pub detail: Option<String>,
}

impl StoredText {
    pub fn of(e: &AuditEvent) -> StoredText {
        StoredText {
            columns: AuditEvent::json_list(&e.columns),
            phi_columns: AuditEvent::json_list(&e.phi_columns),
            participants: AuditEvent::json_list(&e.participants),
            detail: e.detail_text(),
        }
    }
}

impl AuditEvent {
    /// The fields the chain covers, with the lists and detail taken from `text` (made by
    /// `StoredText::of` from this event).
    pub fn fields<'a>(&'a self, text: &'a StoredText) -> Fields<'a> {
        Fields {
            at: self.at,
            event_type: &self.event_type,
            outcome: &self.outcome,
            user_id: self.user_id,
            user_email: self.user_email.as_deref(),
            impersonator_id: self.impersonator_id,
            impersonator_email: self.impersonator_email.as_deref(),
            session_hash: self.session_hash.as_deref(),
            declaration_id: self.declaration_id,
            activity: self.activity.as_deref(),
            irb: self.irb.as_deref(),
            phi_level: self.phi_level.as_deref(),
            key_id: self.key_id.as_deref(),
            study: self.study.as_deref(),
            dataset: self.dataset.as_deref(),
            columns: text.columns.as_deref(),
            phi_columns: text.phi_columns.as_deref(),
            filter: self.filter.as_deref(),
            sort: self.sort.as_deref(),
            sql: self.sql.as_deref(),
            row_count: self.row_count,
            participants: text.participants.as_deref(),
            client_ip: self.client_ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            detail: text.detail.as_deref(),
        }
    }
}

pub fn canonical_bytes(seq: i64, e: &AuditEvent) -> Vec<u8> {
    let text = StoredText::of(e);
    let mut out = Vec::with_capacity(512);
    encode(&mut out, seq, &e.fields(&text));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn encoding_separates_null_from_empty_and_fields_from_each_other() {
        let mut a = AuditEvent::new(EventType::SignIn, 1);
        let mut b = a.clone();
        a.irb = None;
        b.irb = Some(String::new());
        assert_ne!(canonical_bytes(1, &a), canonical_bytes(1, &b));
        // moving characters between neighbouring fields changes the encoding
        let mut c = AuditEvent::new(EventType::SignIn, 1);
        c.activity = Some("ab".into());
        c.irb = Some("c".into());
        let mut d = c.clone();
        d.activity = Some("a".into());
        d.irb = Some("bc".into());
        assert_ne!(canonical_bytes(1, &c), canonical_bytes(1, &d));
        assert_ne!(canonical_bytes(1, &c), canonical_bytes(2, &c));
    }
}
