//! Building the server: database, audit writer, router and its layers. Integration tests call
//! `Application::build` with a fresh database, port 0 and a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::port::SharedPort;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::audit::AuditLog;
use crate::auth::password::Hasher;
use crate::clock::SharedClock;
use crate::db::Db;
use crate::http::guard;
use crate::state::{AppState, ServerConfig};
use crate::web::port::WebPort;
use crate::{api, compliance, labkey};

pub struct Options {
    pub addr: String,
    pub database_url: String,
    pub config: ServerConfig,
    pub clock: SharedClock,
    /// On a database with no users: load the demo study and create demo users.
    pub seed_demo: bool,
    /// Where the site (wasm, JS, CSS) was built.
    pub site_root: String,
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    pub addr: SocketAddr,
    pub state: AppState,
}

fn leptos_options(site_root: &str, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder().output_name("attest").site_root(site_root).site_pkg_dir("pkg").site_addr(addr).build()
}

impl Application {
    pub async fn build(opts: Options) -> anyhow::Result<Application> {
        let db = Db::connect(&opts.database_url).await?;
        db.migrate().await?;
        {
            let mut conn = db.pool.acquire().await?;
            compliance::terms::seed_defaults_if_empty(&mut conn, opts.clock.now_ms()).await?;
        }
        let state = AppState {
            audit: audit_log(&db)?,
            db,
            clock: opts.clock.clone(),
            // argon2 uses 19 MiB per hash: a handful at once, a short queue, then 429.
            hasher: Hasher::new(num_cpus().max(2), 16),
            config: Arc::new(opts.config.clone()),
        };
        if opts.seed_demo {
            crate::cli::demo::seed_if_empty(&state).await?;
        }
        let listener = tokio::net::TcpListener::bind(&opts.addr).await?;
        let addr = listener.local_addr()?;
        let router = router(state.clone(), &opts.site_root, addr);
        crate::audit::schedule::start(state.clone());
        Ok(Application { listener, router, addr, state })
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

#[cfg(not(feature = "bench-noop-audit"))]
fn audit_log(db: &Db) -> anyhow::Result<AuditLog> {
    Ok(AuditLog::start(db.clone())?)
}

#[cfg(feature = "bench-noop-audit")]
fn audit_log(_db: &Db) -> anyhow::Result<AuditLog> {
    assert!(
        std::env::var("ATTEST_BENCH_ONLY").as_deref() == Ok("1"),
        "this build drops audit events (feature bench-noop-audit); it runs only for benchmarks, with ATTEST_BENCH_ONLY=1"
    );
    tracing::warn!("BENCH-ONLY BUILD: audit events are dropped");
    Ok(AuditLog::noop())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// The whole HTTP surface: the JSON API, the LabKey API, the Leptos pages and server
/// functions, static files; wrapped in tracing, security headers, CSRF and size limits.
pub fn router(state: AppState, site_root: &str, addr: SocketAddr) -> Router {
    let options = leptos_options(site_root, addr);
    let routes = generate_route_list(App);
    let port: SharedPort = Arc::new(WebPort { state: state.clone() });
    let fb = Fallback { options: options.clone(), state: state.clone() };
    let pages: Router = Router::new()
        .leptos_routes_with_context(&fb, routes, move || provide_context(port.clone()), move || shell(options.clone()))
        .fallback(fallback)
        .with_state(fb);

    let api: Router = api::router().with_state(state.clone());
    Router::new()
        .merge(api)
        .merge(pages)
        .layer(axum::middleware::from_fn(guard::json_errors))
        .layer(axum::middleware::from_fn(guard::rpc_bad_arguments_are_400))
        .layer(axum::middleware::from_fn(guard::redact_keys_in_errors))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(RequestBodyLimitLayer::new(2 * 1024 * 1024))
        .layer(axum::middleware::from_fn(guard::refuse_cross_site_writes))
        .layer(axum::middleware::from_fn(guard::refuse_secrets_in_url))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::security_headers))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(60)))
        .layer(CompressionLayer::new())
        .layer(
            // Spans carry the method and path only: never the query string or headers, where
            // a mistaken client could have put a secret.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                // (a key pasted into the path is refused further in, but the span comes first)
                let path = crate::auth::key::redact(req.uri().path()).into_owned();
                tracing::info_span!("request", method = %req.method(), path = %path)
            }),
        )
}

#[derive(Clone)]
struct Fallback {
    options: LeptosOptions,
    state: AppState,
}

impl axum::extract::FromRef<Fallback> for LeptosOptions {
    fn from_ref(f: &Fallback) -> LeptosOptions {
        f.options.clone()
    }
}

/// LabKey action URLs go to the LabKey layer; anything else is a static file or a 404 page.
async fn fallback(State(f): State<Fallback>, req: Request) -> Response {
    if labkey::is_labkey_path(req.uri().path()) {
        return labkey::dispatch(State(f.state.clone()), req).await;
    }
    if req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/rpc/") {
        return guard::not_found().await;
    }
    let uri = req.uri().clone();
    let handler = leptos_axum::file_and_error_handler::<Fallback, _>(shell);
    handler(uri, State(f), req).await.into_response()
}
