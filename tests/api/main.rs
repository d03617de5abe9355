//! Integration tests: the server spawned on a random port with a fresh database.
//! One binary (one link) for all of them.

mod helpers;

mod admin_console;
mod audit_evidence;
mod audit_trail;
mod crash;
mod execute_sql;
mod fuzz;
mod grid_and_phi;
mod keys;
mod multi_node;
mod labkey;
mod import;
mod security;
mod sessions;
mod wizard;
