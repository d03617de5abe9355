//! The Attest web app: pages, components and the types shared by the server and the wasm
//! client. It never touches a database: under `ssr` it calls the server through the `Port`.

pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod port;
pub mod routes;
pub mod rpc;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use pages::nav::TopBar;
use types::{AppError, SessionView};

/// The Content-Security-Policy of HTML pages: scripts only from this origin or carrying this
/// response's nonce (the hydration script), wasm may compile, no inline styles, no framing.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(v) = http::HeaderValue::from_str(&page_csp(&nonce)) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in session, loaded once per page and refetched after sign-in, declaration and
/// sign-out.
#[derive(Clone, Copy)]
pub struct SessionResource(pub Resource<Result<Option<SessionView>, AppError>>);

/// True once the page runs in the browser. Until then forms stay disabled: a form submitted
/// before the wasm takes over would post natively to the page's URL.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

pub fn use_hydrated() -> ReadSignal<bool> {
    use_context::<Hydrated>().map(|h| h.0).unwrap_or_else(|| RwSignal::new(true).read_only())
}

#[cfg(feature = "hydrate")]
thread_local! {
    static HYDRATED: std::cell::Cell<Option<RwSignal<bool>>> = const { std::cell::Cell::new(None) };
}

/// Called by the wasm entry point when hydration has finished. An effect in `App` would run
/// too early: a lazy route hydrates only after its chunk has loaded, and a form submitted before
/// then would post natively to the page's URL.
pub fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(s) = HYDRATED.get() {
        s.set(true);
    }
}

/// For a submit button's `disabled`: true until the page is hydrated. Before then a form would
/// post natively to the page's URL (405) and lose what was typed; a disabled default button
/// also stops Enter from submitting.
pub fn until_hydrated() -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let hydrated = use_hydrated();
    move || !hydrated.get()
}

pub fn use_session() -> SessionResource {
    expect_context::<SessionResource>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let session = Resource::new(|| (), |_| rpc::get_session());
    provide_context(SessionResource(session));
    // Set by `mark_hydrated` once the whole page, its lazy route included, has hydrated (tests
    // wait for it; forms stay disabled until then).
    let hydrated = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    HYDRATED.set(Some(hydrated));
    provide_context(Hydrated(hydrated.read_only()));
    view! {
        <Stylesheet id="leptos" href="/pkg/attest.css"/>
        <Title text="Attest"/>
        <Router>
            <TopBar/>
            <main data-hydrated=move || hydrated.get().to_string()>
                // Every page but the sign-in wizard is a lazy route (src/routes.rs): its code is a
                // separate wasm chunk, fetched when the route is first shown.
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("/") view={Lazy::<routes::StudiesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=pages::wizard::WizardPage ssr=SsrMode::Async/>
                    <Route path=path!("/studies/:study") view={Lazy::<routes::DatasetsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/studies/:study/sql") view={Lazy::<routes::SqlRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/studies/:study/:dataset") view={Lazy::<routes::GridRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/settings") view={Lazy::<routes::SettingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<routes::UsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/sessions") view={Lazy::<routes::SessionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/terms") view={Lazy::<routes::TermsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/irb") view={Lazy::<routes::IrbRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={Lazy::<routes::AccountRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view={Lazy::<routes::AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit/disclosures") view={Lazy::<routes::DisclosuresRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit/user") view={Lazy::<routes::UserActivityRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
