//! The compliance wizard, at every sign-in: 1 credentials, 2 activity (and IRB for research),
//! 3 PHI level, 4 terms of use. State survives moving between steps, Back works, every step
//! is a form (Enter submits, the keyboard alone completes it) and errors show next to fields.

use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;

use super::common::{ErrorBox, FieldError};
use crate::error::{field_message, general_message};
use crate::rpc;
use crate::types::{fields, Activity, AppError, DeclarationOptions, PhiLevel, SessionView, TermsView, WizardState};
use crate::use_session;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Credentials,
    Activity,
    PhiLevel,
    Terms,
}

impl Step {
    fn number(self) -> u8 {
        match self {
            Step::Credentials => 1,
            Step::Activity => 2,
            Step::PhiLevel => 3,
            Step::Terms => 4,
        }
    }
}

/// Where the wizard starts, decided from the session when the page loads.
#[derive(Clone)]
struct Start {
    step: Step,
    options: Option<DeclarationOptions>,
    terms: Option<TermsView>,
    /// Signed in and ready: offer to continue rather than start over.
    ready: Option<SessionView>,
}

fn start_for(state: WizardState) -> Start {
    let empty = Start { step: Step::Credentials, options: None, terms: None, ready: None };
    match state.session {
        None => empty,
        Some(s) if s.ready() => Start { ready: Some(s), ..empty },
        Some(s) if s.needs.as_deref() == Some("terms") && state.terms.is_some() => {
            Start { step: Step::Terms, options: state.options, terms: state.terms, ready: None }
        }
        Some(_) => Start { step: Step::Activity, options: state.options, terms: None, ready: None },
    }
}

#[component]
pub fn WizardPage() -> impl IntoView {
    // One resource: what the server rendered is what the browser hydrates.
    let state = Resource::new(|| (), |_| rpc::get_wizard_state());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match state.await.map(start_for) {
                    Ok(Start { ready: Some(s), .. }) => view! { <AlreadySignedIn session=s/> }.into_any(),
                    Ok(start) => view! { <Wizard start/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AlreadySignedIn(session: SessionView) -> impl IntoView {
    let d = session.declaration.clone();
    view! {
        <section class="wizard">
            <h1>"You are signed in"</h1>
            <p>{format!("Signed in as {} ({}).", session.user.name, session.user.email)}</p>
            {d.map(|d| view! {
                <p>{format!("Declared: {}{}, {}.", d.activity_label, d.irb.map(|i| format!(", IRB {i}")).unwrap_or_default(), d.phi_level.label())}</p>
            })}
            <p><A href="/">"Continue to the studies"</A></p>
            <p class="hint">"To declare something else, sign out and sign in again."</p>
        </section>
    }
}

#[component]
fn Wizard(start: Start) -> impl IntoView {
    let session = use_session().0;
    let step = RwSignal::new(start.step);
    let options = RwSignal::new(start.options);
    let terms = RwSignal::new(start.terms);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let activity = RwSignal::new(String::new());
    let irb = RwSignal::new(String::new());
    let phi = RwSignal::new(String::new());
    let agree = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let reaccept = start.step == Step::Terms;
    let ready = crate::use_hydrated();

    let email_ref = NodeRef::<html::Input>::new();
    let activity_ref = NodeRef::<html::Fieldset>::new();
    let phi_ref = NodeRef::<html::Fieldset>::new();
    let agree_ref = NodeRef::<html::Input>::new();

    // Each step puts the keyboard focus on its first field.
    Effect::new(move |_| {
        let s = step.get();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let focus_first = |root: Option<web_sys::HtmlFieldSetElement>| {
                if let Some(root) = root {
                    let pick = root.query_selector("input:checked:not([disabled])").ok().flatten()
                        .or_else(|| root.query_selector("input:not([disabled])").ok().flatten());
                    if let Some(el) = pick.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
                        let _ = el.focus();
                    }
                }
            };
            match s {
                Step::Credentials => { if let Some(e) = email_ref.get() { let _ = e.focus(); } }
                Step::Activity => focus_first(activity_ref.get()),
                Step::PhiLevel => focus_first(phi_ref.get()),
                Step::Terms => { if let Some(e) = agree_ref.get() { let _ = e.focus(); } }
            }
        }
        let _ = s;
    });

    let field_err = move |f: &'static str| Signal::derive(move || field_message(&error.get(), f));
    let selected_activity = move || Activity::parse(&activity.get());
    let needs_irb = move || selected_activity().is_some_and(|a| a.requires_irb());

    let submit_credentials = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        let (e, p) = (email.get(), password.get());
        if e.trim().is_empty() {
            error.set(Some(AppError::new("required", "Enter your e-mail address.").with_field(fields::EMAIL)));
            return;
        }
        if p.is_empty() {
            error.set(Some(AppError::new("required", "Enter your password.").with_field(fields::PASSWORD)));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = async {
                rpc::login(e, p).await?;
                rpc::get_declaration_options().await
            }
            .await;
            busy.set(false);
            match result {
                Ok(opts) => {
                    session.refetch();
                    password.set(String::new());
                    options.set(Some(opts));
                    error.set(None);
                    step.set(Step::Activity);
                }
                Err(err) => error.set(Some(err)),
            }
        });
    };

    let submit_activity = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match selected_activity() {
            None => error.set(Some(AppError::new("required", "Choose the activity you are signing in for.").with_field(fields::ACTIVITY))),
            Some(a) if a.requires_irb() && irb.get().trim().is_empty() => error.set(Some(
                AppError::new("irb_required", format!("{} requires an IRB protocol number.", a.label())).with_field(fields::IRB),
            )),
            Some(_) => {
                error.set(None);
                step.set(Step::PhiLevel);
            }
        }
    };

    let submit_phi = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        if PhiLevel::parse(&phi.get()).is_none() {
            error.set(Some(AppError::new("required", "Choose the PHI level you need.").with_field(fields::PHI_LEVEL)));
            return;
        }
        let irb_value = if needs_irb() { Some(irb.get()) } else { None };
        let (a, p) = (activity.get(), phi.get());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = rpc::declare(a, irb_value, p).await;
            busy.set(false);
            match result {
                Ok(t) => {
                    terms.set(Some(t));
                    agree.set(false);
                    error.set(None);
                    step.set(Step::Terms);
                }
                Err(err) => {
                    if matches!(err.field.as_deref(), Some(fields::ACTIVITY) | Some(fields::IRB)) {
                        step.set(Step::Activity);
                    }
                    error.set(Some(err));
                }
            }
        });
    };

    let submit_terms = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get() {
            return;
        }
        if !agree.get() {
            error.set(Some(AppError::new("required", "Check \u{201c}I agree\u{201d} to accept the terms of use.").with_field(fields::TERMS)));
            return;
        }
        let Some(hash) = terms.get().map(|t| t.terms_hash) else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = rpc::accept_terms(hash).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    session.refetch();
                    let navigate = leptos_router::hooks::use_navigate();
                    navigate("/", Default::default());
                }
                Err(err) if err.error == "terms_changed" => {
                    if let Ok(t) = rpc::current_terms().await {
                        terms.set(Some(t));
                    }
                    agree.set(false);
                    error.set(Some(err));
                }
                Err(err) => error.set(Some(err)),
            }
        });
    };

    let back = move |to: Step| {
        move |_| {
            error.set(None);
            step.set(to);
        }
    };

    view! {
        <section class="wizard" aria-labelledby="wizard-title">
            <h1 id="wizard-title">"Sign in"</h1>
            <ol class="steps" aria-label="Steps">
                {[(Step::Credentials, "Credentials"), (Step::Activity, "Activity"), (Step::PhiLevel, "PHI level"), (Step::Terms, "Terms of use")]
                    .into_iter()
                    .map(|(s, label)| view! {
                        <li class:current=move || step.get() == s class:done=move || { step.get().number() > s.number() }
                            aria-current=move || (step.get() == s).then_some("step")>
                            {label}
                        </li>
                    })
                    .collect_view()}
            </ol>
            <p class="error" role="alert">{move || general_message(&error.get()).unwrap_or_default()}</p>

            <Show when=move || step.get() == Step::Credentials>
                <form method="post" on:submit=submit_credentials novalidate>
                    <label for="email">"E-mail"</label>
                    <input id="email" name="email" type="email" autocomplete="username" node_ref=email_ref
                        aria-describedby="email-error" bind:value=email autofocus/>
                    <FieldError id="email-error" message=field_err(fields::EMAIL)/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password"
                        aria-describedby="password-error" bind:value=password/>
                    <FieldError id="password-error" message=field_err(fields::PASSWORD)/>
                    <div class="buttons">
                        <button type="submit" id="next-credentials" disabled=move || busy.get() || !ready.get()>"Next"</button>
                    </div>
                </form>
            </Show>

            <Show when=move || step.get() == Step::Activity>
                <form method="post" on:submit=submit_activity novalidate>
                    <fieldset node_ref=activity_ref aria-describedby="activity-error">
                        <legend>"Choose the activity you are signing in for. This choice is logged."</legend>
                        {move || options.get().map(|o| o.activities.into_iter().map(|a| {
                            let id = a.id.clone();
                            let id2 = a.id.clone();
                            view! {
                                <label class="radio">
                                    <input type="radio" name="activity" value=a.id.clone()
                                        prop:checked=move || activity.get() == id
                                        on:change=move |_| activity.set(id2.clone())/>
                                    {a.label.clone()}
                                    {a.requires_irb.then_some(view! { <span class="tag">"IRB"</span> })}
                                </label>
                            }
                        }).collect_view())}
                    </fieldset>
                    <FieldError id="activity-error" message=field_err(fields::ACTIVITY)/>
                    <label for="irb">"IRB protocol number " <span class="hint">"(research activities)"</span></label>
                    <input id="irb" name="irb" type="text" autocomplete="off" maxlength="64" bind:value=irb
                        disabled=move || !needs_irb() aria-describedby="irb-error"/>
                    <FieldError id="irb-error" message=field_err(fields::IRB)/>
                    <div class="buttons">
                        <button type="submit" id="next-activity" disabled=move || !ready.get()>"Next"</button>
                    </div>
                </form>
            </Show>

            <Show when=move || step.get() == Step::PhiLevel>
                <form method="post" on:submit=submit_phi novalidate>
                    <fieldset node_ref=phi_ref aria-describedby="phi-error">
                        <legend>"Choose the PHI level you need. Columns above it stay hidden."</legend>
                        {move || options.get().map(|o| o.phi_levels.into_iter().map(|l| {
                            let v = l.id.as_str();
                            view! {
                                <label class="radio" class:disabled=!l.allowed>
                                    <input type="radio" name="phi_level" value=v disabled=!l.allowed
                                        prop:checked=move || phi.get() == v
                                        on:change=move |_| phi.set(v.to_string())/>
                                    {l.label.clone()}
                                    {(!l.allowed).then_some(view! { <span class="hint">" (above your account's maximum)"</span> })}
                                </label>
                            }
                        }).collect_view())}
                    </fieldset>
                    <FieldError id="phi-error" message=field_err(fields::PHI_LEVEL)/>
                    <div class="buttons">
                        <button type="button" id="back-phi" on:click=back(Step::Activity)>"Back"</button>
                        <button type="submit" id="next-phi" disabled=move || busy.get() || !ready.get()>"Next"</button>
                    </div>
                </form>
            </Show>

            <Show when=move || step.get() == Step::Terms>
                <form method="post" on:submit=submit_terms novalidate>
                    <h2>"Terms of use"</h2>
                    {reaccept.then_some(view! { <p class="notice">"The terms of use have changed since you accepted them. Read and accept the new text to continue."</p> })}
                    <ol class="terms">
                        {move || terms.get().map(|t| t.paragraphs.into_iter().map(|p| view! { <li>{p}</li> }).collect_view())}
                    </ol>
                    <label class="checkbox">
                        <input type="checkbox" id="agree" node_ref=agree_ref prop:checked=move || agree.get()
                            on:change=move |ev| agree.set(event_target_checked(&ev)) aria-describedby="terms-error"/>
                        "I agree to these terms of use"
                    </label>
                    <FieldError id="terms-error" message=field_err(fields::TERMS)/>
                    <div class="buttons">
                        <Show when=move || !reaccept>
                            <button type="button" id="back-terms" on:click=back(Step::PhiLevel)>"Back"</button>
                        </Show>
                        <button type="submit" id="accept-terms" disabled=move || busy.get() || !ready.get()>"OK"</button>
                    </div>
                </form>
            </Show>
        </section>
    }
}
