//! Studies, then a study's datasets.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::common::{thousands, ErrorBox, RequireReady};
use crate::rpc;

#[component]
pub fn StudiesPage() -> impl IntoView {
    view! {
        <RequireReady view=|_s| {
            let studies = Resource::new(|| (), |_| rpc::list_studies());
            view! {
                <h1>"Studies"</h1>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match studies.await {
                            Ok(list) if list.is_empty() => view! { <p class="empty">"No studies yet. An administrator imports them with 'attest import'."</p> }.into_any(),
                            Ok(list) => view! {
                                <ul class="cards">
                                    {list.into_iter().map(|s| {
                                        let href = format!("/studies/{}", s.name);
                                        let rows: i64 = s.datasets.iter().map(|d| d.row_count).sum();
                                        view! {
                                            <li class="card">
                                                <A href=href><h2>{s.name.clone()}</h2></A>
                                                <p>{format!("{} datasets, {} rows", s.datasets.len(), thousands(rows))}</p>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        }/>
    }
}

#[component]
pub fn DatasetsPage() -> impl IntoView {
    let params = use_params_map();
    let study = move || params.read().get("study").unwrap_or_default();
    view! {
        <RequireReady view=move |_s| {
            let studies = Resource::new(|| (), |_| rpc::list_studies());
            view! {
                <nav class="crumbs"><A href="/">"Studies"</A> " / " {study}</nav>
                <h1>{study}</h1>
                <p><A href=move || format!("/studies/{}/sql", study())>"Query with SQL"</A></p>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let name = study();
                        match studies.await {
                            Ok(list) => match list.into_iter().find(|s| s.name == name) {
                                None => view! { <p class="error">"No study named " {name.clone()} "."</p> }.into_any(),
                                Some(s) => view! {
                                    <table class="datasets">
                                        <thead><tr><th>"Dataset"</th><th class="num">"Rows"</th><th class="num">"Columns"</th><th>"Participant column"</th></tr></thead>
                                        <tbody>
                                            {s.datasets.into_iter().map(|d| {
                                                let href = format!("/studies/{}/{}", s.name, d.name);
                                                view! {
                                                    <tr>
                                                        <td><A href=href>{d.name.clone()}</A></td>
                                                        <td class="num">{thousands(d.row_count)}</td>
                                                        <td class="num">{d.column_count}</td>
                                                        <td>{d.participant_column.unwrap_or_else(|| "—".into())}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any(),
                            },
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        }/>
    }
}
