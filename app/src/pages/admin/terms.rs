//! Terms of use: paragraphs, each with the activities and PHI levels it applies to and an
//! order; publishing makes a new version that sessions must accept before their next access.

use leptos::prelude::*;

use super::AdminOnly;
use crate::rpc;
use crate::types::{Activity, AppError, PhiLevel, TermsDocument, TermsParagraph};

#[component]
pub fn TermsPage() -> impl IntoView {
    view! {
        <AdminOnly view=|_s| {
            let doc = Resource::new(|| (), |_| rpc::admin_terms());
            view! {
                <h1>"Terms of use"</h1>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match doc.await {
                            Ok(d) => view! { <TermsEditor doc=d/> }.into_any(),
                            Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        }/>
    }
}

#[derive(Clone)]
struct Draft {
    key: usize,
    ordinal: RwSignal<String>,
    body: RwSignal<String>,
    activities: RwSignal<String>,
    phi_levels: RwSignal<String>,
}

fn draft(key: usize, p: &TermsParagraph) -> Draft {
    Draft {
        key,
        ordinal: RwSignal::new(p.ordinal.to_string()),
        body: RwSignal::new(p.body.clone()),
        activities: RwSignal::new(p.activities.join(", ")),
        phi_levels: RwSignal::new(p.phi_levels.join(", ")),
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

#[component]
fn TermsEditor(doc: TermsDocument) -> impl IntoView {
    let version = RwSignal::new((doc.version, doc.published_at.clone()));
    let drafts = RwSignal::new(doc.paragraphs.iter().enumerate().map(|(i, p)| draft(i, p)).collect::<Vec<_>>());
    let next_key = RwSignal::new(doc.paragraphs.len());
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let add = move |_| {
        let k = next_key.get();
        next_key.set(k + 1);
        let last = drafts.get().iter().filter_map(|d| d.ordinal.get().parse::<i64>().ok()).max().unwrap_or(0);
        drafts.update(|d| d.push(draft(k, &TermsParagraph { ordinal: last + 10, body: String::new(), activities: vec!["*".into()], phi_levels: vec!["*".into()] })));
    };
    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut paragraphs = Vec::new();
        for d in drafts.get() {
            let Ok(ordinal) = d.ordinal.get().trim().parse::<i64>() else {
                error.set(Some(AppError::new("bad_order", "Each paragraph's order must be a whole number.")));
                return;
            };
            paragraphs.push(TermsParagraph { ordinal, body: d.body.get(), activities: list(&d.activities.get()), phi_levels: list(&d.phi_levels.get()) });
        }
        leptos::task::spawn_local(async move {
            match rpc::admin_publish_terms(paragraphs).await {
                Ok(d) => {
                    error.set(None);
                    notice.set(Some(format!("Published version {}. Sessions that accepted other text accept this one before their next data access.", d.version)));
                    version.set((d.version, d.published_at));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let activity_ids = Activity::ALL.iter().map(|a| a.id()).collect::<Vec<_>>().join(", ");
    let levels = PhiLevel::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ");
    view! {
        <p>{move || { let (v, at) = version.get(); format!("Current version: {v}{}", at.map(|t| format!(", published {t}")).unwrap_or_default()) }}</p>
        <p class="hint">{format!("Activities: {activity_ids}, or * for all. PHI levels: {levels}, or * for all. Paragraphs are shown in order of their number.")}</p>
        <p class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
        <form class="terms-editor" method="post" on:submit=publish>
            <For each=move || drafts.get() key=|d| d.key let:d>
                {
                    let k = d.key;
                    view! {
                        <fieldset class="paragraph">
                            <legend>"Paragraph"</legend>
                            <label>"Order" <input type="number" class="ordinal" bind:value=d.ordinal/></label>
                            <label>"Text" <textarea class="body" rows="3" prop:value=move || d.body.get() on:input=move |ev| d.body.set(event_target_value(&ev))></textarea></label>
                            <label>"Activities" <input type="text" class="activities" bind:value=d.activities/></label>
                            <label>"PHI levels" <input type="text" class="phi-levels" bind:value=d.phi_levels/></label>
                            <button type="button" on:click=move |_| drafts.update(|v| v.retain(|x| x.key != k))>"Remove"</button>
                        </fieldset>
                    }
                }
            </For>
            <p class="error" role="alert">{move || error.get().map(|e| e.message).unwrap_or_default()}</p>
            <div class="buttons">
                <button type="button" on:click=add>"Add paragraph"</button>
                <button type="submit" disabled=crate::until_hydrated() id="publish-terms">"Publish new version"</button>
            </div>
        </form>
    }
}
