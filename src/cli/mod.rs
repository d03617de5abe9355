//! The command line: `attest serve | user add | import | audit ...`. Stable: tests and scripts
//! use it.

pub mod demo;
pub mod import;
pub mod user;

use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::clock::SystemClock;
use crate::db::default_url;
use crate::startup::{Application, Options};
use crate::state::ServerConfig;

#[derive(Parser)]
#[command(name = "attest", version, about = "Compliant access to research data holding PHI")]
pub struct Cli {
    /// Database URL: sqlite://PATH (default ./data/attest.db) or postgres://...
    #[arg(long, global = true, env = "ATTEST_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000", env = "ATTEST_ADDR")]
        addr: String,
        /// Do not create the demo study and users on an empty database.
        #[arg(long)]
        no_demo: bool,
        /// Take the client IP from X-Forwarded-For (only behind a trusted proxy).
        #[arg(long, env = "ATTEST_TRUST_PROXY")]
        trust_proxy: bool,
        /// The server is reached over HTTPS (sends HSTS).
        #[arg(long, env = "ATTEST_TLS")]
        tls: bool,
        /// Longest a dataset query may run, in seconds.
        #[arg(long, default_value_t = 10)]
        query_timeout_secs: u64,
        /// Directory for the audit signing key and checkpoints.
        #[arg(long, default_value = "data", env = "ATTEST_DATA_DIR")]
        data_dir: std::path::PathBuf,
        /// Where the built site (pkg/attest.wasm, .js, .css) is.
        #[arg(long, default_value = "target/site", env = "LEPTOS_SITE_ROOT")]
        site_root: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load every CSV in DIR as one dataset per file into a study (replacing it atomically).
    Import {
        dir: std::path::PathBuf,
        #[arg(long)]
        study: String,
        #[arg(long)]
        phi_map: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Researcher)]
        role: RoleArg,
        #[arg(long, value_enum, default_value_t = PhiArg::NotPhi)]
        max_phi: PhiArg,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Auditor,
    Researcher,
}

impl From<RoleArg> for app::types::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => app::types::Role::Admin,
            RoleArg::Auditor => app::types::Role::Auditor,
            RoleArg::Researcher => app::types::Role::Researcher,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PhiArg {
    NotPhi,
    Limited,
    Full,
    Restricted,
}

impl From<PhiArg> for app::types::PhiLevel {
    fn from(p: PhiArg) -> Self {
        match p {
            PhiArg::NotPhi => app::types::PhiLevel::NotPhi,
            PhiArg::Limited => app::types::PhiLevel::Limited,
            PhiArg::Full => app::types::PhiLevel::Full,
            PhiArg::Restricted => app::types::PhiLevel::Restricted,
        }
    }
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ATTEST_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let url = cli.database_url.unwrap_or_else(default_url);
    match cli.command {
        Command::Serve { addr, no_demo, trust_proxy, tls, query_timeout_secs, data_dir, site_root } => {
            let config = ServerConfig { trust_proxy, query_timeout: std::time::Duration::from_secs(query_timeout_secs), data_dir, tls };
            let app = Application::build(Options {
                addr,
                database_url: url,
                config,
                clock: Arc::new(SystemClock),
                seed_demo: !no_demo,
                site_root,
            })
            .await?;
            println!("Attest is listening on http://{}", app.addr);
            app.run_until_stopped().await?;
        }
        Command::User { command: UserCommand::Add { email, name, role, max_phi, password_stdin: _ } } => {
            user::add(&url, &email, &name, role.into(), max_phi.into()).await?;
        }
        Command::Import { dir, study, phi_map } => {
            return import::run(&url, &dir, &study, &phi_map).await;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
