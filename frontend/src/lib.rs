//! The wasm entry point: hydrate the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // hydrate_lazy, not hydrate_body: a page whose route is lazy (app/src/routes.rs) hydrates
    // once its wasm chunk is loaded (hydrate_body panics on lazy routes).
    leptos::mount::hydrate_lazy(app::App);
}
