//! Active sessions, with "end session" and "end all sessions of this user".

use leptos::prelude::*;

use super::AdminOnly;
use crate::rpc;
use crate::types::{AppError, SessionInfo};

#[component]
pub fn SessionsPage() -> impl IntoView {
    view! { <AdminOnly view=|_s| view! { <Sessions/> }/> }
}

#[component]
fn Sessions() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| rpc::admin_sessions());
    let error = RwSignal::new(None::<AppError>);
    let act = move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>| {
        leptos::task::spawn_local(async move {
            match f.await {
                Ok(()) => {
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"Active sessions"</h1>
        <p class="error" role="alert">{move || error.get().map(|e| e.message).unwrap_or_default()}</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Ok(sessions) => view! { <SessionTable sessions act/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn SessionTable(
    sessions: Vec<SessionInfo>,
    act: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <table class="admin" id="sessions">
            <thead><tr><th>"User"</th><th>"Started"</th><th>"Last seen"</th><th>"Declaration"</th><th class="num">"Keys"</th><th>"Client IP"</th><th></th></tr></thead>
            <tbody>
                {sessions.into_iter().map(|s| {
                    let id = s.id.clone();
                    let uid = s.user_id;
                    let decl = match (&s.activity, s.phi_level) {
                        (Some(a), Some(l)) => format!("{a}{} · {}{}", s.irb.as_ref().map(|i| format!(" · IRB {i}")).unwrap_or_default(), l.label(), if s.declaration_accepted { "" } else { " (terms not accepted)" }),
                        _ => "none yet".into(),
                    };
                    let who = match &s.acting_as {
                        Some(a) => format!("{} (as {a})", s.user_email),
                        None => s.user_email.clone(),
                    };
                    view! {
                        <tr data-user=s.user_email.clone()>
                            <td>{who}{s.current.then_some(view! { <span class="tag">"this session"</span> })}</td>
                            <td>{s.started_at.clone()}</td>
                            <td>{s.last_seen_at.clone()}</td>
                            <td>{decl}</td>
                            <td class="num">{s.keys}</td>
                            <td>{s.client_ip.clone().unwrap_or_default()}</td>
                            <td class="actions">
                                <button type="button" class="end-session" on:click=move |_| { let id = id.clone(); act(Box::pin(async move { rpc::admin_end_session(id).await })) }>"End session"</button>
                                <button type="button" class="end-all" on:click=move |_| act(Box::pin(async move { rpc::admin_end_user_sessions(uid).await.map(|_| ()) }))>"End all of this user"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
