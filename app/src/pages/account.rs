//! My account: my sessions (end any of them) and changing my password.

use leptos::prelude::*;

use super::common::RequireReady;
use crate::error::field_message;
use crate::rpc;
use crate::types::{AppError, SessionInfo};

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <RequireReady view=|s| {
            let version = RwSignal::new(0u32);
            let list = Resource::new(move || version.get(), |_| rpc::my_sessions());
            let error = RwSignal::new(None::<AppError>);
            let act = move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>| {
                leptos::task::spawn_local(async move {
                    match f.await {
                        Ok(()) => version.update(|v| *v += 1),
                        Err(e) => error.set(Some(e)),
                    }
                });
            };
            view! {
                <h1>"My account"</h1>
                <p>{format!("{} ({}), role {}, maximum PHI level {}.", s.user.name, s.user.email, s.user.role, s.user.max_phi.label())}</p>
                <h2>"My sessions"</h2>
                <p class="error" role="alert">{move || error.get().map(|e| e.message).unwrap_or_default()}</p>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Ok(sessions) => view! { <MySessions sessions act/> }.into_any(),
                            Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                        }
                    })}
                </Transition>
                <ChangePassword/>
            }
        }/>
    }
}

#[component]
fn MySessions(
    sessions: Vec<SessionInfo>,
    act: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <table class="admin" id="my-sessions">
            <thead><tr><th>"Started"</th><th>"Last seen"</th><th>"Declaration"</th><th class="num">"Keys"</th><th>"Client"</th><th></th></tr></thead>
            <tbody>
                {sessions.into_iter().map(|s| {
                    let id = s.id.clone();
                    let decl = s.activity.clone().map(|a| format!("{a} · {}", s.phi_level.map(|l| l.label()).unwrap_or(""))).unwrap_or_else(|| "none yet".into());
                    view! {
                        <tr>
                            <td>{s.started_at.clone()}{s.current.then_some(view! { <span class="tag">"this session"</span> })}</td>
                            <td>{s.last_seen_at.clone()}</td>
                            <td>{decl}</td>
                            <td class="num">{s.keys}</td>
                            <td>{format!("{} {}", s.client_ip.clone().unwrap_or_default(), s.user_agent.clone().unwrap_or_default())}</td>
                            <td><button type="button" on:click=move |_| { let id = id.clone(); act(Box::pin(async move { rpc::end_my_session(id).await })) }>"End"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (c, n) = (current.get(), new.get());
        leptos::task::spawn_local(async move {
            match rpc::change_password(c, n).await {
                Ok(()) => {
                    let _ = window().location().set_href("/login");
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h2>"Change my password"</h2>
        <p class="hint">"All your sessions end, this one too, and so do their session keys: you sign in again with the new password."</p>
        <form class="settings" method="post" on:submit=submit>
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" autocomplete="current-password" bind:value=current/>
            <p class="field-error" role="alert">{move || field_message(&error.get(), "current_password").unwrap_or_default()}</p>
            <label for="new-password">"New password"</label>
            <input id="new-password" type="password" autocomplete="new-password" bind:value=new/>
            <p class="field-error" role="alert">{move || field_message(&error.get(), "new_password").unwrap_or_default()}</p>
            <p class="error" role="alert">{move || error.get().filter(|e| e.field.is_none()).map(|e| e.message).unwrap_or_default()}</p>
            <div class="buttons"><button type="submit" disabled=crate::until_hydrated()>"Change password"</button></div>
        </form>
    }
}
