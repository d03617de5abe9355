//! The audit log, for auditors and admins: filters (time, user, event type, dataset,
//! participant, IRB), newest first with paging, each row opening to its full record; export of
//! the filtered view; verification of the chain; the accounting of disclosures for a
//! participant; and a user's activity.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::common::RequireReady;
use crate::rpc;
use crate::types::{AppError, AuditFilter, AuditRecord, Role, SessionView, VerifyResult};

fn reviewer(s: &SessionView) -> bool {
    matches!(s.user.role, Role::Admin | Role::Auditor)
}

#[component]
fn AuditTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Audit">
            <A href="/audit">"Audit log"</A>
            <A href="/audit/disclosures">"Accounting of disclosures"</A>
            <A href="/audit/user">"User activity"</A>
        </nav>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <RequireReady view=|s| {
            if !reviewer(&s) {
                return view! { <p class="error">"Only auditors and administrators read the audit log."</p> }.into_any();
            }
            view! { <AuditTabs/> <AuditLog/> }.into_any()
        }/>
    }
}

fn opt(s: String) -> Option<String> {
    Some(s.trim().to_string()).filter(|x| !x.is_empty())
}

fn query_string(f: &AuditFilter) -> String {
    let pairs: Vec<(&str, &Option<String>)> = vec![
        ("from", &f.from), ("to", &f.to), ("user", &f.user), ("event_type", &f.event_type), ("dataset", &f.dataset), ("participant", &f.participant), ("irb", &f.irb),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", js_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (no dependency needed for this one use).
fn js_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const EVENT_TYPES: [&str; 24] = [
    "sign_in", "sign_in_failed", "sign_out", "session_timeout", "session_ended", "declaration", "terms_accepted", "key_created", "key_used",
    "key_revoked", "key_refused", "data_access", "access_refused", "settings_changed", "user_created", "user_changed", "user_disabled",
    "impersonation_start", "impersonation_stop", "terms_published", "irb_changed", "study_imported", "audit_export", "audit_verify",
];

#[component]
fn AuditLog() -> impl IntoView {
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let event_type = RwSignal::new(String::new());
    let dataset = RwSignal::new(String::new());
    let participant = RwSignal::new(String::new());
    let irb = RwSignal::new(String::new());
    let filter = RwSignal::new(AuditFilter::default());
    let before = RwSignal::new(None::<i64>);
    let history = RwSignal::new(Vec::<Option<i64>>::new());
    let page = Resource::new(move || (filter.get(), before.get()), |(f, b)| rpc::load_audit_page(f, b));
    let open = RwSignal::new(None::<AuditRecord>);
    let verify = RwSignal::new(None::<Result<VerifyResult, AppError>>);

    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        filter.set(AuditFilter {
            from: opt(from.get()),
            to: opt(to.get()),
            user: opt(user.get()),
            event_type: opt(event_type.get()),
            dataset: opt(dataset.get()),
            participant: opt(participant.get()),
            irb: opt(irb.get()),
        });
        before.set(None);
        history.set(Vec::new());
    };
    let run_verify = move |_| {
        leptos::task::spawn_local(async move {
            verify.set(Some(rpc::verify_log().await));
        });
    };
    view! {
        <h1>"Audit log"</h1>
        <form class="audit-filters" method="post" on:submit=apply>
            <label>"From" <input type="text" id="f-from" placeholder="YYYY-MM-DD" bind:value=from/></label>
            <label>"To" <input type="text" id="f-to" placeholder="YYYY-MM-DD" bind:value=to/></label>
            <label>"User e-mail" <input type="text" id="f-user" bind:value=user/></label>
            <label>"Event" <select id="f-type" on:change=move |ev| event_type.set(event_target_value(&ev))>
                <option value="">"any"</option>
                {EVENT_TYPES.into_iter().map(|t| view! { <option value=t>{t}</option> }).collect_view()}
            </select></label>
            <label>"Dataset" <input type="text" id="f-dataset" bind:value=dataset/></label>
            <label>"Participant id" <input type="text" id="f-participant" bind:value=participant/></label>
            <label>"IRB" <input type="text" id="f-irb" bind:value=irb/></label>
            <div class="buttons">
                <button type="submit" disabled=crate::until_hydrated() id="apply-audit-filters">"Apply"</button>
                <a class="button" href=move || format!("/api/audit/export?format=csv&{}", query_string(&filter.get()))>"Export CSV"</a>
                <a class="button" href=move || format!("/api/audit/export?format=jsonl&{}", query_string(&filter.get()))>"Export JSON Lines"</a>
                <button type="button" id="verify-log" on:click=run_verify>"Verify the chain"</button>
            </div>
        </form>
        {move || verify.get().map(|r| match r {
            Ok(v) => view! { <p class=if v.ok { "notice" } else { "error" } id="verify-result" role="status">{v.message}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    Ok(p) => {
                        let next = p.next_before;
                        view! {
                            <table class="admin audit" id="audit-events">
                                <thead><tr><th class="num">"#"</th><th>"Time (UTC)"</th><th>"Event"</th><th>"Outcome"</th><th>"User"</th><th>"Declaration"</th><th>"Dataset"</th><th class="num">"Rows"</th></tr></thead>
                                <tbody>
                                    {p.events.into_iter().map(|e| {
                                        let rec = e.clone();
                                        let decl = e.activity.clone().map(|a| format!("{a}{} · {}", e.irb.as_ref().map(|i| format!(" · {i}")).unwrap_or_default(), e.phi_level.clone().unwrap_or_default())).unwrap_or_default();
                                        view! {
                                            <tr class="clickable" tabindex="0" on:click=move |_| open.set(Some(rec.clone()))>
                                                <td class="num">{e.seq}</td><td>{e.at.clone()}</td><td>{e.event_type.clone()}</td><td>{e.outcome.clone()}</td>
                                                <td>{e.user_email.clone().unwrap_or_default()}{e.impersonator_email.clone().map(|i| format!(" (by {i})"))}</td>
                                                <td>{decl}</td><td>{e.dataset.clone().unwrap_or_default()}</td><td class="num">{e.row_count.map(|n| n.to_string()).unwrap_or_default()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <div class="grid-bar">
                                <button type="button" disabled=move || history.get().is_empty() on:click=move |_| {
                                    let mut h = history.get();
                                    let prev = h.pop().flatten();
                                    history.set(h);
                                    before.set(prev);
                                }>"Newer"</button>
                                <button type="button" id="older" disabled=next.is_none() on:click=move |_| {
                                    history.update(|h| h.push(before.get()));
                                    before.set(next);
                                }>"Older"</button>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        {move || open.get().map(|r| view! {
            <div class="backdrop">
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="event-title">
                    <h2 id="event-title">{format!("Event {}", r.seq)}</h2>
                    <pre class="record">{serde_json::to_string_pretty(&r).unwrap_or_default()}</pre>
                    <div class="buttons"><button type="button" on:click=move |_| open.set(None)>"Close"</button></div>
                </div>
            </div>
        })}
    }
}

#[component]
pub fn DisclosuresPage() -> impl IntoView {
    let query = use_query_map();
    view! {
        <RequireReady view=move |s| {
            if !reviewer(&s) {
                return view! { <p class="error">"Only auditors and administrators read the audit log."</p> }.into_any();
            }
            let initial = query.read().get("participant").unwrap_or_default();
            let participant = RwSignal::new(initial.clone());
            let asked = RwSignal::new(initial);
            let list = Resource::new(move || asked.get(), |p| async move { if p.is_empty() { Ok(Vec::new()) } else { rpc::disclosures(p).await } });
            view! {
                <AuditTabs/>
                <h1>"Accounting of disclosures"</h1>
                <form class="inline" method="post" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); asked.set(participant.get().trim().to_string()); }>
                    <label for="participant" class="inline-label">"Participant id"</label>
                    <input id="participant" type="text" bind:value=participant/>
                    <button type="submit" disabled=crate::until_hydrated()>"Show"</button>
                </form>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match list.await {
                            Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                            Ok(ds) if ds.is_empty() => view! { <p class="empty">{move || if asked.get().is_empty() { "Enter a participant id.".to_string() } else { format!("No access to the data of {} is recorded.", asked.get()) }}</p> }.into_any(),
                            Ok(ds) => view! {
                                <table class="admin" id="disclosures">
                                    <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Activity"</th><th>"IRB"</th><th>"PHI level"</th><th>"Dataset"</th><th>"Columns"</th><th>"Via"</th></tr></thead>
                                    <tbody>{ds.into_iter().map(|d| view! {
                                        <tr><td>{d.at}</td><td>{d.user_email.unwrap_or_default()}{d.impersonator_email.map(|i| format!(" (by {i})"))}</td><td>{d.activity.unwrap_or_default()}</td>
                                        <td>{d.irb.unwrap_or_default()}</td><td>{d.phi_level.unwrap_or_default()}</td><td>{d.dataset.unwrap_or_default()}</td>
                                        <td>{d.columns.unwrap_or_default().join(", ")}</td><td>{d.via}</td></tr>
                                    }).collect_view()}</tbody>
                                </table>
                            }.into_any(),
                        }
                    })}
                </Transition>
            }.into_any()
        }/>
    }
}

#[component]
pub fn UserActivityPage() -> impl IntoView {
    view! {
        <RequireReady view=move |s| {
            if !reviewer(&s) {
                return view! { <p class="error">"Only auditors and administrators read the audit log."</p> }.into_any();
            }
            let id_text = RwSignal::new(String::new());
            let asked = RwSignal::new(None::<i64>);
            let activity = Resource::new(move || asked.get(), |id| async move { match id { Some(i) => rpc::load_user_activity(i).await.map(Some), None => Ok(None) } });
            view! {
                <AuditTabs/>
                <h1>"User activity"</h1>
                <form class="inline" method="post" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); asked.set(id_text.get().trim().parse().ok()); }>
                    <label for="user-id" class="inline-label">"User id"</label>
                    <input id="user-id" type="text" bind:value=id_text/>
                    <button type="submit" disabled=crate::until_hydrated()>"Show"</button>
                </form>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match activity.await {
                            Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                            Ok(None) => view! { <p class="empty">"Enter a user id (listed on the Users page)."</p> }.into_any(),
                            Ok(Some(a)) => view! {
                                <h2>{format!("{} ({})", a.user.name, a.user.email)}</h2>
                                <h3>"Sessions"</h3>
                                <ul>{a.sessions.into_iter().map(|s| view! { <li>{format!("{} – {} {}", s.started_at, s.ended_at.unwrap_or_else(|| "live".into()), s.end_reason.map(|r| format!("({r})")).unwrap_or_default())}</li> }).collect_view()}</ul>
                                <h3>"Declarations"</h3>
                                <ul>{a.declarations.into_iter().map(|d| view! { <li>{format!("{}: {}{} · {}{}", d.created_at, d.activity, d.irb.map(|i| format!(" · IRB {i}")).unwrap_or_default(), d.phi_level, if d.accepted_at.is_some() { "" } else { " (terms not accepted)" })}</li> }).collect_view()}</ul>
                                <h3>"Session keys"</h3>
                                <ul>{a.keys.into_iter().map(|k| view! { <li>{format!("{} created {}, last used {}{}", k.id, k.created_at, k.last_used_at.unwrap_or_else(|| "never".into()), k.revoked_at.map(|r| format!(", revoked {r}")).unwrap_or_default())}</li> }).collect_view()}</ul>
                                <h3>"Data read"</h3>
                                <ul>{a.reads.into_iter().map(|r| view! { <li>{format!("#{} {}: {} {} rows{}", r.seq, r.at, r.dataset.unwrap_or_default(), r.row_count.unwrap_or(0), r.key_id.map(|k| format!(" (key {k})")).unwrap_or_default())}</li> }).collect_view()}</ul>
                            }.into_any(),
                        }
                    })}
                </Transition>
            }.into_any()
        }/>
    }
}
