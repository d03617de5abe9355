//! The top bar: the product name, the session's declaration, and the user-name menu
//! (API session key, site settings for admins, sign out).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::rpc;
use crate::types::{Role, SessionView};
use crate::use_session;

#[component]
pub fn TopBar() -> impl IntoView {
    let session = use_session().0;
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Attest"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await {
                        Ok(Some(s)) => view! { <UserArea session=s/> }.into_any(),
                        _ => view! { <A href="/login" attr:class="signin-link">"Sign in"</A> }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

fn declaration_badge(s: &SessionView) -> String {
    match &s.declaration {
        Some(d) if d.accepted => {
            let irb = d.irb.as_ref().map(|i| format!(" · IRB {i}")).unwrap_or_default();
            format!("{}{} · {}", d.activity_label, irb, d.phi_level.label())
        }
        _ => "No declaration yet".to_string(),
    }
}

/// The API session key dialog. Its code is a separate wasm chunk (`#[lazy]`), fetched the first
/// time the dialog opens: it never renders on the server, and most pages never open it.
#[lazy]
fn key_dialog_view(on_close: Callback<()>) -> AnyView {
    view! { <super::keys::KeyDialog on_close/> }.into_any()
}

#[component]
fn UserArea(session: SessionView) -> impl IntoView {
    let open = RwSignal::new(false);
    let key_dialog = RwSignal::new(false);
    let badge = declaration_badge(&session);
    let is_admin = session.user.role == Role::Admin;
    let is_reviewer = matches!(session.user.role, Role::Admin | Role::Auditor);
    let impersonating = session.impersonator.is_some();
    let stop = move |_| {
        leptos::task::spawn_local(async move {
            let _ = rpc::stop_impersonating().await;
            let _ = window().location().set_href("/");
        });
    };
    let who = match &session.impersonator {
        Some(admin) => format!("{} (as {})", session.user.name, admin.name),
        None => session.user.name.clone(),
    };
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = rpc::logout().await;
            // a full page load: nothing of the old session stays in memory
            let _ = window().location().set_href("/login");
        });
    };
    view! {
        <Show when=move || impersonating>
            <button type="button" class="stop-impersonating" id="stop-impersonating" on:click=stop>"Stop impersonating"</button>
        </Show>
        <span class="declaration" title="Your declaration for this session">{badge}</span>
        <div class="usermenu">
            <button type="button" class="usermenu-button" aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {who} " ▾"
            </button>
            <Show when=move || open.get()>
                <ul class="menu" role="menu">
                    <li role="none">
                        <button type="button" role="menuitem" id="menu-session-key"
                            on:click=move |_| { open.set(false); key_dialog.set(true); }>
                            "API session key"
                        </button>
                    </li>
                    <li role="none"><a role="menuitem" href="/account">"My account"</a></li>
                    <Show when=move || is_admin>
                        <li role="none"><a role="menuitem" href="/admin/users">"Users"</a></li>
                        <li role="none"><a role="menuitem" href="/admin/sessions">"Sessions"</a></li>
                        <li role="none"><a role="menuitem" href="/admin/settings">"Site settings"</a></li>
                    </Show>
                    <Show when=move || is_reviewer>
                        <li role="none"><a role="menuitem" href="/audit">"Audit log"</a></li>
                    </Show>
                    <li role="none">
                        <button type="button" role="menuitem" id="menu-sign-out" on:click=sign_out>"Sign out"</button>
                    </li>
                </ul>
            </Show>
        </div>
        <Show when=move || key_dialog.get()>
            <Suspense fallback=|| ()>
                {move || Suspend::new(key_dialog_view(Callback::new(move |_| key_dialog.set(false))))}
            </Suspense>
        </Show>
    }
}
