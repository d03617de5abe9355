//! The admin console: users, sessions, terms of use, IRB protocols (site settings are in
//! `pages::settings`). Every change goes through the server's admin module and is audited.

pub mod irb;
pub mod sessions;
pub mod terms;
pub mod users;

use leptos::prelude::*;
use leptos_router::components::A;

use super::common::RequireReady;
use crate::types::{Role, SessionView};

/// Renders `view` for admins; others see a refusal.
#[component]
pub fn AdminOnly<F, V>(view: F) -> impl IntoView
where
    F: Fn(SessionView) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    view! {
        <RequireReady view=move |s: SessionView| {
            if s.user.role == Role::Admin {
                view! { <AdminTabs/> {view(s)} }.into_any()
            } else {
                view! { <p class="error">"Only site administrators can open this page."</p> }.into_any()
            }
        }/>
    }
}

#[component]
fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Administration">
            <A href="/admin/users">"Users"</A>
            <A href="/admin/sessions">"Sessions"</A>
            <A href="/admin/terms">"Terms of use"</A>
            <A href="/admin/irb">"IRB protocols"</A>
            <A href="/admin/settings">"Site settings"</A>
        </nav>
    }
}
