//! The audit log: events, the hash chain, the group-commit writer (the only writer), reading
//! back for review and export, verification, and signed checkpoints.

pub mod chain;
pub mod checkpoint;
pub mod event;
pub mod export;
pub mod review;
pub mod schedule;
mod sqlite_writer;
pub mod store;
pub mod verify;
pub mod writer;

pub use event::{AuditEvent, EventType, StoredEvent};
pub use writer::{AuditError, AuditLog};
