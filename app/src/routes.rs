//! The lazily loaded routes. Each `LazyRoute` below is split by `#[lazy_route]` into its own
//! wasm chunk that the browser fetches the first time the route is shown (scripts/build.sh
//! splits the wasm with wasm-split-cli), so the first page, the sign-in wizard, loads only the
//! main module. On the server nothing is split: the view is rendered in place, as before.
//!
//! The routes carry no data of their own (`data()` is empty): each page keeps creating its
//! Resources itself, exactly as when it was a plain route, so the server renders the same
//! HTML and the same resources are serialized for hydration.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::pages;

/// `/`: the studies the session may open.
pub struct StudiesRoute;

#[lazy_route]
impl LazyRoute for StudiesRoute {
    fn data() -> Self {
        StudiesRoute
    }
    fn view(this: Self) -> AnyView {
        let StudiesRoute = this;
        view! { <pages::studies::StudiesPage/> }.into_any()
    }
}

/// `/studies/:study`: a study's datasets.
pub struct DatasetsRoute;

#[lazy_route]
impl LazyRoute for DatasetsRoute {
    fn data() -> Self {
        DatasetsRoute
    }
    fn view(this: Self) -> AnyView {
        let DatasetsRoute = this;
        view! { <pages::studies::DatasetsPage/> }.into_any()
    }
}

/// `/studies/:study/sql`: the SQL page.
pub struct SqlRoute;

#[lazy_route]
impl LazyRoute for SqlRoute {
    fn data() -> Self {
        SqlRoute
    }
    fn view(this: Self) -> AnyView {
        let SqlRoute = this;
        view! { <pages::sql::SqlPage/> }.into_any()
    }
}

/// `/studies/:study/:dataset`: a dataset as a grid.
pub struct GridRoute;

#[lazy_route]
impl LazyRoute for GridRoute {
    fn data() -> Self {
        GridRoute
    }
    fn view(this: Self) -> AnyView {
        let GridRoute = this;
        view! { <pages::grid::GridPage/> }.into_any()
    }
}

/// `/admin/settings`: site settings.
pub struct SettingsRoute;

#[lazy_route]
impl LazyRoute for SettingsRoute {
    fn data() -> Self {
        SettingsRoute
    }
    fn view(this: Self) -> AnyView {
        let SettingsRoute = this;
        view! { <pages::settings::SettingsPage/> }.into_any()
    }
}

/// `/admin/users`.
pub struct UsersRoute;

#[lazy_route]
impl LazyRoute for UsersRoute {
    fn data() -> Self {
        UsersRoute
    }
    fn view(this: Self) -> AnyView {
        let UsersRoute = this;
        view! { <pages::admin::users::UsersPage/> }.into_any()
    }
}

/// `/admin/sessions`.
pub struct SessionsRoute;

#[lazy_route]
impl LazyRoute for SessionsRoute {
    fn data() -> Self {
        SessionsRoute
    }
    fn view(this: Self) -> AnyView {
        let SessionsRoute = this;
        view! { <pages::admin::sessions::SessionsPage/> }.into_any()
    }
}

/// `/admin/terms`.
pub struct TermsRoute;

#[lazy_route]
impl LazyRoute for TermsRoute {
    fn data() -> Self {
        TermsRoute
    }
    fn view(this: Self) -> AnyView {
        let TermsRoute = this;
        view! { <pages::admin::terms::TermsPage/> }.into_any()
    }
}

/// `/admin/irb`.
pub struct IrbRoute;

#[lazy_route]
impl LazyRoute for IrbRoute {
    fn data() -> Self {
        IrbRoute
    }
    fn view(this: Self) -> AnyView {
        let IrbRoute = this;
        view! { <pages::admin::irb::IrbPage/> }.into_any()
    }
}

/// `/account`.
pub struct AccountRoute;

#[lazy_route]
impl LazyRoute for AccountRoute {
    fn data() -> Self {
        AccountRoute
    }
    fn view(this: Self) -> AnyView {
        let AccountRoute = this;
        view! { <pages::account::AccountPage/> }.into_any()
    }
}

/// `/audit`: the audit log.
pub struct AuditRoute;

#[lazy_route]
impl LazyRoute for AuditRoute {
    fn data() -> Self {
        AuditRoute
    }
    fn view(this: Self) -> AnyView {
        let AuditRoute = this;
        view! { <pages::audit::AuditPage/> }.into_any()
    }
}

/// `/audit/disclosures`.
pub struct DisclosuresRoute;

#[lazy_route]
impl LazyRoute for DisclosuresRoute {
    fn data() -> Self {
        DisclosuresRoute
    }
    fn view(this: Self) -> AnyView {
        let DisclosuresRoute = this;
        view! { <pages::audit::DisclosuresPage/> }.into_any()
    }
}

/// `/audit/user`.
pub struct UserActivityRoute;

#[lazy_route]
impl LazyRoute for UserActivityRoute {
    fn data() -> Self {
        UserActivityRoute
    }
    fn view(this: Self) -> AnyView {
        let UserActivityRoute = this;
        view! { <pages::audit::UserActivityPage/> }.into_any()
    }
}
