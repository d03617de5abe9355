//! The wasm entry point: hydrate the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // What leptos::mount::hydrate_lazy does (hydrate_body panics on lazy routes, see
    // app/src/routes.rs), then mark the page hydrated: only now is the lazy route's view live.
    wasm_bindgen_futures::spawn_local(async {
        let owner = leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), app::App).await;
        owner.forget();
        app::mark_hydrated();
    });
}
