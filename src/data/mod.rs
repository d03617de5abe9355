//! Study data: the catalog, CSV import, queries, and the gate through which rows leave.

pub mod catalog;
pub mod demo;
pub mod filter;
pub mod gate;
pub mod import;
pub mod phi_map;
pub mod reader;
pub mod select;
pub mod sql;
pub mod values;
