//! Attest: compliant access to research data that holds PHI.
//!
//! Where things are: `auth` (passwords, sessions — created and ended in `auth::session` —,
//! session keys, the principal), `compliance` (declarations, terms, IRB), `data` (catalog,
//! import, queries and `data::gate`, the one way rows leave), `audit` (events, hash chain,
//! the writer), `labkey` (LabKey's HTTP API), `api` (the JSON API), `web` (what the Leptos
//! pages call), `startup` (the router and its layers), `cli`.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod compliance;
pub mod data;
pub mod db;
pub mod http;
pub mod labkey;
pub mod settings;
pub mod startup;
pub mod state;
pub mod users;
pub mod web;
