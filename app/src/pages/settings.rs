//! Site settings (admins): every value with its allowed range; a refused value shows its
//! message next to its field.

use leptos::prelude::*;

use super::common::{ErrorBox, RequireReady};
use crate::rpc;
use crate::types::{AppError, Role, SiteSettings, SiteSettingsPatch};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <RequireReady view=|s| {
            if s.user.role != Role::Admin {
                return view! { <p class="error">"Only site administrators can change site settings."</p> }.into_any();
            }
            let current = Resource::new(|| (), |_| rpc::get_site_settings());
            view! {
                <h1>"Site settings"</h1>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match current.await {
                            Ok(s) => view! { <SettingsForm initial=s/> }.into_any(),
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
            }.into_any()
        }/>
    }
}

#[component]
fn SettingsForm(initial: SiteSettings) -> impl IntoView {
    let s = RwSignal::new(initial);
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let v = s.get();
        let patch = SiteSettingsPatch {
            allow_session_keys: Some(v.allow_session_keys),
            idle_timeout_mins: Some(v.idle_timeout_mins),
            absolute_timeout_mins: Some(v.absolute_timeout_mins),
            key_use_refreshes_idle: Some(v.key_use_refreshes_idle),
            lockout_attempts: Some(v.lockout_attempts),
            lockout_window_mins: Some(v.lockout_window_mins),
            lockout_duration_mins: Some(v.lockout_duration_mins),
            password_min_length: Some(v.password_min_length),
            inactivity_disable_days: Some(v.inactivity_disable_days),
            irb_registry_enabled: Some(v.irb_registry_enabled),
            checkpoint_interval_mins: Some(v.checkpoint_interval_mins),
        };
        saved.set(false);
        leptos::task::spawn_local(async move {
            match rpc::update_site_settings(patch).await {
                Ok(n) => {
                    s.set(n);
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let err_for = move |f: &'static str| move || error.get().filter(|e| e.field.as_deref() == Some(f)).map(|e| e.message).unwrap_or_default();
    macro_rules! number {
        ($field:ident, $label:expr, $hint:expr) => {
            view! {
                <label for=stringify!($field)>{$label} " " <span class="hint">{$hint}</span></label>
                <input type="number" id=stringify!($field) prop:value=move || s.get().$field.to_string()
                    on:input=move |ev| { if let Ok(n) = event_target_value(&ev).trim().parse::<i64>() { s.update(|v| v.$field = n); } }/>
                <p class="field-error" role="alert">{err_for(stringify!($field))}</p>
            }
        };
    }
    macro_rules! flag {
        ($field:ident, $label:expr) => {
            view! {
                <label class="checkbox">
                    <input type="checkbox" id=stringify!($field) prop:checked=move || s.get().$field
                        on:change=move |ev| s.update(|v| v.$field = event_target_checked(&ev))/>
                    {$label}
                </label>
            }
        };
    }
    view! {
        <form class="settings" method="post" on:submit=save>
            <fieldset>
                <legend>"Session keys"</legend>
                {flag!(allow_session_keys, "Allow API session keys")}
                <p class="hint">"Turning this off stops new keys; keys already issued keep working until their session ends."</p>
                {flag!(key_use_refreshes_idle, "Requests made with a key count as activity for the idle timeout")}
            </fieldset>
            <fieldset>
                <legend>"Sessions"</legend>
                {number!(idle_timeout_mins, "Idle timeout", "(minutes, 1–1440)")}
                {number!(absolute_timeout_mins, "Absolute timeout", "(minutes, 5–43200)")}
            </fieldset>
            <fieldset>
                <legend>"Sign-in"</legend>
                {number!(lockout_attempts, "Failed sign-ins before lockout", "(1–100)")}
                {number!(lockout_window_mins, "…within", "(minutes)")}
                {number!(lockout_duration_mins, "Lockout duration", "(minutes)")}
                {number!(password_min_length, "Minimum password length", "(8–64 characters)")}
                {number!(inactivity_disable_days, "Disable accounts unused for", "(days, 0 = never)")}
            </fieldset>
            <fieldset>
                <legend>"Compliance"</legend>
                {flag!(irb_registry_enabled, "Research activities need a registered, unexpired IRB protocol")}
                {number!(checkpoint_interval_mins, "Write a signed audit checkpoint every", "(minutes, 0 = never)")}
            </fieldset>
            <p class="error" role="alert">{move || error.get().filter(|e| e.field.is_none()).map(|e| e.message).unwrap_or_default()}</p>
            <div class="buttons">
                <button type="submit" disabled=crate::until_hydrated() id="save-settings">"Save"</button>
                <span class="copied" role="status">{move || if saved.get() { "Saved" } else { "" }}</span>
            </div>
        </form>
    }
}
