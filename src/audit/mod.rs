//! The audit log: events, the hash chain, the group-commit writer (the only writer).

pub mod chain;
pub mod event;
pub mod writer;

pub use event::{AuditEvent, EventType, StoredEvent};
pub use writer::{AuditError, AuditLog};
