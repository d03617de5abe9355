//! The "API session key" dialog: what a key is, Generate, the key shown once with Copy to
//! Clipboard, and this session's keys with revoke.

use leptos::prelude::*;

use crate::rpc;
use crate::types::{AppError, KeyInfo};

#[component]
pub fn KeyDialog(on_close: Callback<()>) -> impl IntoView {
    let key = RwSignal::new(None::<String>);
    let copied = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<AppError>);
    let keys = RwSignal::new(Vec::<KeyInfo>::new());
    let field = NodeRef::<leptos::html::Input>::new();

    let reload = move || {
        leptos::task::spawn_local(async move {
            match rpc::list_keys().await {
                Ok(k) => keys.set(k),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    Effect::new(move |_| reload());

    let generate = move |_| {
        copied.set(None);
        leptos::task::spawn_local(async move {
            match rpc::create_key().await {
                Ok(k) => {
                    error.set(None);
                    key.set(Some(k.key));
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let copy = move |_| {
        let Some(text) = key.get() else { return };
        #[cfg(feature = "hydrate")]
        {
            let input = field.get();
            leptos::task::spawn_local(async move {
                let ok = match window().navigator().clipboard() {
                    clip => wasm_bindgen_futures::JsFuture::from(clip.write_text(&text)).await.is_ok(),
                };
                if ok {
                    copied.set(Some("Copied".into()));
                    return;
                }
                // Fallback: select the text and ask the browser to copy the selection.
                use wasm_bindgen::JsCast;
                let fallback = input.map(|i| {
                    i.select();
                    document().dyn_into::<web_sys::HtmlDocument>().ok().and_then(|d| d.exec_command("copy").ok()).unwrap_or(false)
                });
                copied.set(Some(if fallback == Some(true) {
                    "Copied".into()
                } else {
                    "Could not copy: the key is selected, press Ctrl+C (or ⌘C) to copy it.".into()
                }));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (text, field);
    };

    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            match rpc::revoke_key(id).await {
                Ok(()) => reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="key-title" id="key-dialog">
                <h2 id="key-title">"API session key"</h2>
                <p>"A session key lets a script (R, Python, curl) work inside this signed-in session. It is valid only while this browser session lasts: it stops working when you sign out or the session times out. Every request made with it carries your declaration and is logged."</p>
                <p class="hint">"The key is shown once. Keep it secret; do not put it in code you share."</p>
                <p class="error" role="alert" id="key-error">{move || error.get().map(|e| e.message).unwrap_or_default()}</p>
                <Show when=move || key.get().is_none()>
                    <button type="button" id="generate-key" on:click=generate>"Generate"</button>
                </Show>
                <Show when=move || key.get().is_some()>
                    <label for="session-key">"Your session key"</label>
                    <input id="session-key" type="text" readonly node_ref=field prop:value=move || key.get().unwrap_or_default()
                        on:focus=move |ev| { #[cfg(feature = "hydrate")] { use wasm_bindgen::JsCast; if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { t.select(); } } #[cfg(not(feature = "hydrate"))] let _ = ev; }/>
                    <div class="buttons">
                        <button type="button" id="copy-key" on:click=copy>"Copy to Clipboard"</button>
                        <span class="copied" id="copied" role="status">{move || copied.get().unwrap_or_default()}</span>
                    </div>
                </Show>
                <h3>"Keys of this session"</h3>
                <table class="keys" id="key-list">
                    <thead><tr><th>"Id"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                    <tbody>
                        <For each=move || keys.get() key=|k| (k.id.clone(), k.revoked, k.last_used_at.clone()) let:k>
                            {
                                let id = k.id.clone();
                                view! {
                                    <tr>
                                        <td><code>{k.id.clone()}</code></td>
                                        <td>{k.created_at.clone()}</td>
                                        <td>{k.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                        <td>{if k.revoked {
                                            view! { <span class="hint">"revoked"</span> }.into_any()
                                        } else {
                                            view! { <button type="button" class="revoke" on:click=move |_| revoke(id.clone())>"Revoke"</button> }.into_any()
                                        }}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
                <div class="buttons">
                    <button type="button" id="key-done" on:click=move |_| on_close.run(())>"Done"</button>
                </div>
            </div>
        </div>
    }
}
