//! HTTP plumbing shared by every route: extractors and the protective middleware.

pub mod extract;
pub mod guard;
