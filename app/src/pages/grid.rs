//! A dataset as a grid: paging, sorting by any column, a filter per column and the total row
//! count. Columns above the session's declared PHI level never arrive; the grid says how many
//! were hidden and at which level.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::common::{thousands, ErrorBox, RequireReady};
use crate::rpc;
use crate::types::{FilterSpec, GridPage as Page, GridRequest, PhiLevel, SortSpec};

const PAGE_SIZE: i64 = 100;

/// The operators the grid offers (the LabKey API takes more).
const OPS: &[(&str, &str)] = &[
    ("contains", "contains"),
    ("eq", "="),
    ("neq", "≠"),
    ("startswith", "starts with"),
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
    ("isblank", "is blank"),
    ("isnonblank", "is not blank"),
];

#[component]
pub fn GridPage() -> impl IntoView {
    let params = use_params_map();
    view! {
        <RequireReady view=move |_s| {
            let study = params.read().get("study").unwrap_or_default();
            let dataset = params.read().get("dataset").unwrap_or_default();
            view! { <Grid study dataset/> }
        }/>
    }
}

#[component]
fn Grid(study: String, dataset: String) -> impl IntoView {
    let offset = RwSignal::new(0i64);
    let sort = RwSignal::new(Vec::<SortSpec>::new());
    let filters = RwSignal::new(Vec::<FilterSpec>::new());
    // What the filter inputs hold before "Apply": column -> (op, value)
    let drafts = RwSignal::new(BTreeMap::<String, (String, String)>::new());
    let (s2, d2) = (study.clone(), dataset.clone());
    let page = Resource::new(
        move || GridRequest { study: s2.clone(), dataset: d2.clone(), offset: offset.get(), limit: PAGE_SIZE, sort: sort.get(), filters: filters.get() },
        rpc::load_grid,
    );

    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let list: Vec<FilterSpec> = drafts
            .get()
            .into_iter()
            .filter(|(_, (op, v))| !v.trim().is_empty() || op == "isblank" || op == "isnonblank")
            .map(|(column, (op, value))| FilterSpec { column, op, value })
            .collect();
        filters.set(list);
        offset.set(0);
    };
    let clear = move |_| {
        drafts.set(BTreeMap::new());
        filters.set(Vec::new());
        offset.set(0);
    };
    let toggle_sort = move |col: String| {
        sort.update(|s| {
            let next = match s.first() {
                Some(x) if x.column == col && !x.descending => Some(SortSpec { column: col.clone(), descending: true }),
                Some(x) if x.column == col => None,
                _ => Some(SortSpec { column: col.clone(), descending: false }),
            };
            *s = next.into_iter().collect();
        });
        offset.set(0);
    };

    let study_href = format!("/studies/{study}");
    view! {
        <nav class="crumbs"><A href="/">"Studies"</A> " / " <A href=study_href>{study.clone()}</A> " / " {dataset.clone()}</nav>
        <h1>{dataset.clone()}</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(p) => render(p, offset, sort, drafts, toggle_sort, apply, clear).into_any(),
                }
            })}
        </Transition>
    }
}

fn hidden_note(p: &Page) -> Option<String> {
    let total: i64 = p.hidden.iter().map(|h| h.count).sum();
    (total > 0).then(|| {
        let parts: Vec<String> = p.hidden.iter().map(|h| format!("{} {}", h.count, h.level.label())).collect();
        format!(
            "{total} {} hidden: above your declared level ({}): {}.",
            if total == 1 { "column is" } else { "columns are" },
            p.declared.label(),
            parts.join(", ")
        )
    })
}

fn render(
    p: Page,
    offset: RwSignal<i64>,
    sort: RwSignal<Vec<SortSpec>>,
    drafts: RwSignal<BTreeMap<String, (String, String)>>,
    toggle_sort: impl Fn(String) + Copy + Send + Sync + 'static,
    apply: impl Fn(leptos::ev::SubmitEvent) + Copy + Send + Sync + 'static,
    clear: impl Fn(leptos::ev::MouseEvent) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let first = if p.rows.is_empty() { 0 } else { p.offset + 1 };
    let last = p.offset + p.rows.len() as i64;
    let total = p.total;
    let summary = format!("Rows {}–{} of {}", thousands(first), thousands(last), thousands(total));
    let note = hidden_note(&p);
    let columns = p.columns.clone();
    view! {
        {note.map(|n| view! { <p class="hidden-note" id="hidden-note">{n}</p> })}
        <form class="grid-form" method="post" on:submit=apply>
            <div class="grid-wrap">
                <table class="grid" id="grid">
                    <thead>
                        <tr>
                            {columns.iter().map(|c| {
                                let name = c.name.clone();
                                let n2 = name.clone();
                                let n3 = name.clone();
                                let arrow = move || match sort.get().first() {
                                    Some(s) if s.column == n3 && s.descending => " ▼",
                                    Some(s) if s.column == n3 => " ▲",
                                    _ => "",
                                };
                                view! {
                                    <th scope="col" data-column=name.clone()>
                                        <button type="button" class="sort" on:click=move |_| toggle_sort(n2.clone())
                                            title="Sort by this column">{name.clone()}{arrow}</button>
                                        {(c.phi_level > PhiLevel::NotPhi).then(|| view! { <span class="phi" title="PHI level">{c.phi_level.label()}</span> })}
                                    </th>
                                }
                            }).collect_view()}
                        </tr>
                        <tr class="filters">
                            {columns.iter().map(|c| {
                                let name = c.name.clone();
                                let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
                                view! {
                                    <td>
                                        <select aria-label=format!("Filter operator for {name}")
                                            on:change=move |ev| { let op = event_target_value(&ev); drafts.update(|d| d.entry(n1.clone()).or_insert_with(|| ("contains".into(), String::new())).0 = op); }
                                            prop:value=move || drafts.get().get(&n3).map(|d| d.0.clone()).unwrap_or_else(|| "contains".into())>
                                            {OPS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                                        </select>
                                        <input type="text" class="filter" aria-label=format!("Filter value for {name}")
                                            prop:value=move || drafts.get().get(&n4).map(|d| d.1.clone()).unwrap_or_default()
                                            on:input=move |ev| { let v = event_target_value(&ev); drafts.update(|d| d.entry(n2.clone()).or_insert_with(|| ("contains".into(), String::new())).1 = v); }/>
                                    </td>
                                }
                            }).collect_view()}
                        </tr>
                    </thead>
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
            <div class="grid-bar">
                <button type="submit" disabled=crate::until_hydrated() id="apply-filters">"Apply filters"</button>
                <button type="button" on:click=clear>"Clear"</button>
                <span class="count" id="row-count">{summary}</span>
                <button type="button" id="prev-page" disabled=move || offset.get() == 0
                    on:click=move |_| offset.update(|o| *o = (*o - PAGE_SIZE).max(0))>"Previous"</button>
                <button type="button" id="next-page" disabled={last >= total}
                    on:click=move |_| offset.update(|o| *o += PAGE_SIZE)>"Next"</button>
            </div>
        </form>
    }
}
