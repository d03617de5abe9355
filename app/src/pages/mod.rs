//! The pages, one module each, and the pieces they share.

pub mod account;
pub mod admin;
pub mod audit;
pub mod common;
pub mod grid;
pub mod keys;
pub mod nav;
pub mod settings;
pub mod sql;
pub mod studies;
pub mod wizard;
