//! The IRB protocol registry (used when the site setting requires registered protocols).

use leptos::prelude::*;

use super::AdminOnly;
use crate::error::field_message;
use crate::rpc;
use crate::types::{AppError, IrbProtocol};

#[component]
pub fn IrbPage() -> impl IntoView {
    view! { <AdminOnly view=|_s| view! { <Irb/> }/> }
}

#[component]
fn Irb() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| rpc::admin_irb());
    let number = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let investigator = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let field = move |f: &'static str| move || field_message(&error.get(), f).unwrap_or_default();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = IrbProtocol { number: number.get(), title: title.get(), investigator: investigator.get(), approval_end: end.get() };
        leptos::task::spawn_local(async move {
            match rpc::admin_save_irb(p).await {
                Ok(_) => {
                    error.set(None);
                    number.set(String::new());
                    title.set(String::new());
                    investigator.set(String::new());
                    end.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"IRB protocols"</h1>
        <p class="hint">"When the site setting requires it, research activities need a protocol listed here whose approval has not ended; sessions declared under an expired protocol stop getting data."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Ok(ps) => view! {
                        <table class="admin" id="irb">
                            <thead><tr><th>"Number"</th><th>"Title"</th><th>"Principal investigator"</th><th>"Approval ends"</th></tr></thead>
                            <tbody>{ps.into_iter().map(|p| view! { <tr><td>{p.number}</td><td>{p.title}</td><td>{p.investigator}</td><td>{p.approval_end}</td></tr> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        <h2>"Add or replace a protocol"</h2>
        <form class="settings" method="post" on:submit=save>
            <label for="irb-number">"Number"</label>
            <input id="irb-number" type="text" bind:value=number/>
            <p class="field-error" role="alert">{field("number")}</p>
            <label for="irb-title">"Title"</label>
            <input id="irb-title" type="text" bind:value=title/>
            <p class="field-error" role="alert">{field("title")}</p>
            <label for="irb-pi">"Principal investigator"</label>
            <input id="irb-pi" type="text" bind:value=investigator/>
            <p class="field-error" role="alert">{field("investigator")}</p>
            <label for="irb-end">"Approval ends (last day)"</label>
            <input id="irb-end" type="date" bind:value=end/>
            <p class="field-error" role="alert">{field("approval_end")}</p>
            <div class="buttons"><button type="submit" disabled=crate::until_hydrated()>"Save protocol"</button></div>
        </form>
    }
}
