//! Users: list and search, create, and per user: role, maximum PHI level, expiry, disable or
//! enable, password reset, end sessions, impersonate.

use leptos::prelude::*;

use super::AdminOnly;
use crate::error::field_message;
use crate::rpc;
use crate::types::{AppError, NewUserRequest, PhiLevel, Role, UserAdminView, UserPatch};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! { <AdminOnly view=|_s| view! { <Users/> }/> }
}

#[component]
fn Users() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let applied = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || (applied.get(), version.get()), |(q, _)| rpc::admin_users(q));
    let notice = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<AppError>);
    let reload = move || version.update(|v| *v += 1);

    let run = move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, AppError>>>>| {
        leptos::task::spawn_local(async move {
            match f.await {
                Ok(msg) => {
                    error.set(None);
                    notice.set(Some(msg));
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let patch = move |id: i64, p: UserPatch, msg: String| {
        run(Box::pin(async move { rpc::admin_update_user(id, p).await.map(|_| msg) }));
    };

    view! {
        <h1>"Users"</h1>
        <p class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
        <p class="error" role="alert">{move || error.get().map(|e| e.message).unwrap_or_default()}</p>
        <form class="inline" method="post" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); applied.set(search.get()); }>
            <label for="user-search" class="inline-label">"Search"</label>
            <input id="user-search" type="text" placeholder="e-mail or name" bind:value=search/>
            <button type="submit" disabled=crate::until_hydrated()>"Search"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Ok(users) => view! {
                        <table class="admin" id="users">
                            <thead><tr><th>"E-mail"</th><th>"Name"</th><th>"Role"</th><th>"Max PHI"</th><th>"Expires"</th><th>"Status"</th><th>"Last sign-in"</th><th>"Actions"</th></tr></thead>
                            <tbody>
                                {users.into_iter().map(|u| view! { <UserRow user=u patch=patch run=run/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        <NewUser on_created=Callback::new(move |msg: String| { notice.set(Some(msg)); reload(); })/>
    }
}

#[component]
fn UserRow(
    user: UserAdminView,
    patch: impl Fn(i64, UserPatch, String) + Copy + Send + Sync + 'static,
    run: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, AppError>>>>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = user.id;
    let email = user.email.clone();
    let new_password = RwSignal::new(String::new());
    let expiry = RwSignal::new(user.expires_on.clone().unwrap_or_default());
    let disabled = user.disabled;
    let e2 = email.clone();
    let e3 = email.clone();
    let e4 = email.clone();
    let e5 = email.clone();
    let status = if user.disabled { "disabled" } else if user.locked_until.is_some() { "locked" } else { "active" };
    view! {
        <tr data-email=email.clone()>
            <td>{email.clone()}</td>
            <td>{user.name.clone()}</td>
            <td>
                <select aria-label=format!("Role of {email}") on:change=move |ev| {
                    if let Some(r) = Role::parse(&event_target_value(&ev)) { patch(id, UserPatch { role: Some(r), ..Default::default() }, format!("Role of {e2} changed.")); }
                }>
                    {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == user.role>{r.as_str()}</option> }).collect_view()}
                </select>
            </td>
            <td>
                <select aria-label=format!("Maximum PHI level of {}", email) on:change=move |ev| {
                    if let Some(l) = PhiLevel::parse(&event_target_value(&ev)) { patch(id, UserPatch { max_phi: Some(l), ..Default::default() }, format!("Maximum PHI level of {e3} changed.")); }
                }>
                    {PhiLevel::ALL.into_iter().map(|l| view! { <option value=l.as_str() selected=l == user.max_phi>{l.label()}</option> }).collect_view()}
                </select>
            </td>
            <td>
                <input type="date" aria-label=format!("Account expiry of {}", email) prop:value=move || expiry.get()
                    on:change=move |ev| { let v = event_target_value(&ev); expiry.set(v.clone()); patch(id, UserPatch { expires_on: Some(v), ..Default::default() }, "Expiry date saved.".into()); }/>
            </td>
            <td>{status}</td>
            <td>{user.last_login_at.clone().unwrap_or_else(|| "never".into())}</td>
            <td class="actions">
                <button type="button" class="disable" on:click=move |_| patch(id, UserPatch { disabled: Some(!disabled), ..Default::default() },
                    format!("{} {}.", e4, if disabled { "enabled" } else { "disabled; their sessions and keys ended" }))>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
                <button type="button" class="end-sessions" on:click=move |_| run(Box::pin(async move {
                    rpc::admin_end_user_sessions(id).await.map(|n| format!("{n} session(s) ended."))
                }))>"End sessions"</button>
                <button type="button" class="impersonate" on:click=move |_| {
                    leptos::task::spawn_local(async move {
                        if rpc::impersonate(id).await.is_ok() {
                            let _ = window().location().set_href("/login");
                        }
                    });
                }>"Impersonate"</button>
                {user.locked_until.is_some().then(|| view! {
                    <button type="button" on:click=move |_| patch(id, UserPatch { unlock: Some(true), ..Default::default() }, "Account unlocked.".into())>"Unlock"</button>
                })}
                <input type="password" class="reset" autocomplete="new-password" placeholder="new password" aria-label=format!("New password for {}", e5) bind:value=new_password/>
                <button type="button" on:click=move |_| {
                    let pw = new_password.get();
                    new_password.set(String::new());
                    patch(id, UserPatch { password: Some(pw), ..Default::default() }, "Password reset; the user's sessions ended.".into());
                }>"Reset password"</button>
            </td>
        </tr>
    }
}

#[component]
fn NewUser(on_created: Callback<String>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Researcher);
    let phi = RwSignal::new(PhiLevel::NotPhi);
    let password = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let field = move |f: &'static str| move || field_message(&error.get(), f).unwrap_or_default();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = NewUserRequest {
            email: email.get(),
            name: name.get(),
            role: Some(role.get()),
            max_phi: Some(phi.get()),
            password: password.get(),
            expires_on: Some(expires.get()).filter(|s| !s.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match rpc::admin_create_user(req).await {
                Ok(u) => {
                    error.set(None);
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    on_created.run(format!("Created {}.", u.email));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h2>"New user"</h2>
        <form class="new-user" method="post" on:submit=create>
            <label for="new-email">"E-mail"</label>
            <input id="new-email" type="email" autocomplete="off" bind:value=email/>
            <p class="field-error" role="alert">{field("email")}</p>
            <label for="new-name">"Name"</label>
            <input id="new-name" type="text" bind:value=name/>
            <p class="field-error" role="alert">{field("name")}</p>
            <label for="new-role">"Role"</label>
            <select id="new-role" on:change=move |ev| { if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); } }>
                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Researcher>{r.as_str()}</option> }).collect_view()}
            </select>
            <label for="new-phi">"Maximum PHI level"</label>
            <select id="new-phi" on:change=move |ev| { if let Some(l) = PhiLevel::parse(&event_target_value(&ev)) { phi.set(l); } }>
                {PhiLevel::ALL.into_iter().map(|l| view! { <option value=l.as_str()>{l.label()}</option> }).collect_view()}
            </select>
            <label for="new-password">"Initial password " <span class="hint">"(at least the site's minimum length; not a common password)"</span></label>
            <input id="new-password" type="password" autocomplete="new-password" bind:value=password/>
            <p class="field-error" role="alert">{field("password")}</p>
            <label for="new-expires">"Account expires " <span class="hint">"(optional: the last day it may sign in)"</span></label>
            <input id="new-expires" type="date" bind:value=expires/>
            <p class="field-error" role="alert">{field("expires_on")}</p>
            <p class="error" role="alert">{move || error.get().filter(|e| e.field.is_none()).map(|e| e.message).unwrap_or_default()}</p>
            <div class="buttons"><button type="submit" disabled=crate::until_hydrated() id="create-user">"Create user"</button></div>
        </form>
    }
}
