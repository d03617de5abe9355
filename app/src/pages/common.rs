//! Pieces every page uses: the sign-in guard and error display.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::types::{AppError, SessionView};
use crate::use_session;

/// Renders `children` with the session when it is signed in and its declaration is complete;
/// otherwise sends the browser to the wizard.
#[component]
pub fn RequireReady<F, V>(view: F) -> impl IntoView
where
    F: Fn(SessionView) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let session = use_session().0;
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {
                let view = view.clone();
                move || {
                    let view = view.clone();
                    Suspend::new(async move {
                        match session.await {
                            Ok(Some(s)) if s.ready() => view(s).into_any(),
                            Ok(_) => view! { <Redirect path="/login"/> }.into_any(),
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}

#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.message}</p> }
}

/// A field's error, shown next to it (empty when there is none).
#[component]
pub fn FieldError(#[prop(into)] id: String, message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <p class="field-error" id=id role="alert">{move || message.get().unwrap_or_default()}</p>
    }
}

pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}
