//! The command line: `attest serve | user add | import | audit ...`. Stable: tests and scripts
//! use it.

pub mod audit;
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
    /// Verify, checkpoint and export the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
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
pub enum AuditCommand {
    /// Recompute the hash chain and check checkpoints; exit status 0 only for a clean log.
    Verify {
        /// A checkpoint the log must extend (repeatable). Those in DATA_DIR/checkpoints are checked too.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<std::path::PathBuf>,
        /// Verify an exported JSON Lines file instead of the database.
        #[arg(long)]
        jsonl: Option<std::path::PathBuf>,
        /// The Ed25519 public key (hex) checkpoints must be signed with (default: the data directory's key).
        #[arg(long)]
        public_key: Option<String>,
        /// Do not check the checkpoints in DATA_DIR/checkpoints.
        #[arg(long)]
        no_local_checkpoints: bool,
        #[arg(long, default_value = "data", env = "ATTEST_DATA_DIR")]
        data_dir: std::path::PathBuf,
    },
    /// Print a signed checkpoint of the log as it is now (size, head hash, time).
    Checkpoint {
        /// Also write it to DATA_DIR/checkpoints.
        #[arg(long)]
        write: bool,
        #[arg(long, default_value = "data", env = "ATTEST_DATA_DIR")]
        data_dir: std::path::PathBuf,
    },
    /// Export the log (oldest first) as CSV or JSON Lines, streamed.
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        event_type: Option<String>,
        #[arg(long)]
        dataset: Option<String>,
        #[arg(long)]
        participant: Option<String>,
        #[arg(long)]
        irb: Option<String>,
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

/// The log filter for `directives` (ATTEST_LOG's syntax), with what must never be logged at any
/// level switched off: sqlparser logs every statement it parses at debug level, and users' SQL
/// carries whatever they typed (a key pasted by mistake, PHI literals). The test suite logs
/// through this too, at trace level, and checks the result for secrets.
pub fn log_filter(directives: &str) -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_new(directives).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    filter.add_directive("sqlparser=off".parse().expect("a valid directive"))
}

pub fn init_tracing() {
    let filter = log_filter(&std::env::var("ATTEST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()));
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
        Command::Audit { command } => {
            return match command {
                AuditCommand::Verify { checkpoints, jsonl, public_key, no_local_checkpoints, data_dir } => {
                    audit::verify_cmd(&url, audit::VerifyArgs { checkpoints, data_dir, public_key, no_local_checkpoints, jsonl }).await
                }
                AuditCommand::Checkpoint { write, data_dir } => audit::checkpoint_cmd(&url, &data_dir, write).await,
                AuditCommand::Export { format, output, from, to, user, event_type, dataset, participant, irb } => {
                    let filter = app::types::AuditFilter { from, to, user, event_type, dataset, participant, irb };
                    audit::export_cmd(&url, &format, filter, output).await
                }
            };
        }
        Command::Import { dir, study, phi_map } => {
            return import::run(&url, &dir, &study, &phi_map).await;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
