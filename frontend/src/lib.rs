#![recursion_limit = "256"]
//! The browser entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // A server function that redirects (signing in and out, accepting an invite) loads its
    // destination from the server, rendered there with the new session, instead of drawing
    // it in the browser behind a "Loading…". Set before the router sets its own (the first wins).
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = leptos::prelude::window().location().assign(to);
    });
    // The routes are lazily loaded (app::pages::lazy): hydration waits for the page's chunk.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        // Every part of the page, its page chunk too, now answers: a mark for tests and styles.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
