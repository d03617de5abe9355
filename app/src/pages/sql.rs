//! The SQL page: a query over one study, run through the same gate and audit as the grid and
//! the API; errors show where in the text they are.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::common::{thousands, RequireReady};
use crate::rpc;
use crate::types::{AppError, GridPage};

#[component]
pub fn SqlPage() -> impl IntoView {
    let params = use_params_map();
    view! {
        <RequireReady view=move |s| {
            let study = params.read().get("study").unwrap_or_default();
            let level = s.declaration.map(|d| d.phi_level.label()).unwrap_or_default();
            view! { <SqlEditor study level/> }
        }/>
    }
}

#[component]
fn SqlEditor(study: String, level: &'static str) -> impl IntoView {
    let text = RwSignal::new(String::from("SELECT GENDER, count(*) AS n\nFROM patients\nGROUP BY GENDER"));
    let result = RwSignal::new(None::<Result<GridPage, AppError>>);
    let busy = RwSignal::new(false);
    let s2 = study.clone();
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (st, q) = (s2.clone(), text.get());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = rpc::run_sql(st, q).await;
            busy.set(false);
            result.set(Some(r));
        });
    };
    let study_href = format!("/studies/{study}");
    view! {
        <nav class="crumbs"><A href="/">"Studies"</A> " / " <A href=study_href>{study.clone()}</A> " / SQL"</nav>
        <h1>"SQL"</h1>
        <p class="hint">{format!(
            "Read-only SELECT over the datasets of this study. Every column the query touches counts against your declared level ({level}); \
             queries touching Limited PHI or above must keep each row's participant. Every run is audited with its text."
        )}</p>
        <form class="sql-form" method="post" on:submit=run>
            <label for="sql-text">"Query"</label>
            <textarea id="sql-text" rows="8" spellcheck="false" prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="buttons">
                <button type="submit" id="run-sql" disabled={ let waiting = crate::until_hydrated(); move || busy.get() || waiting() }>"Run"</button>
            </div>
        </form>
        {move || match result.get() {
            None => ().into_any(),
            Some(Err(e)) => view! { <p class="error sql-error" role="alert" id="sql-error">{e.message}</p> }.into_any(),
            Some(Ok(p)) => view! {
                <p class="count" id="sql-count">{format!("{} rows{}", thousands(p.total), if p.total > p.rows.len() as i64 { format!(" (first {} shown)", p.rows.len()) } else { String::new() })}</p>
                <div class="grid-wrap">
                    <table class="grid" id="sql-grid">
                        <thead><tr>{p.columns.iter().map(|c| view! { <th scope="col">{c.name.clone()}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {p.rows.into_iter().map(|row| view! {
                                <tr>{row.into_iter().map(|cell| match cell {
                                    Some(v) => view! { <td>{v}</td> }.into_any(),
                                    None => view! { <td class="null"></td> }.into_any(),
                                }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
    }
}
