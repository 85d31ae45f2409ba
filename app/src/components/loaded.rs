//! The wrapper every data page shares: a loading line, then the page, or the error.

use super::failure::Failed;
use crate::error::AppError;
use crate::i18n::use_lang;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// Renders `render(data)` once the resource has loaded, or the error's page
/// (`Failed`: 403, 500, sign-in or the refusal, with the navigation) in place of it.
pub fn loaded<T, V>(
    data: Resource<Result<T, AppError>>,
    render: impl Fn(T) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    let lang = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="muted page">{lang.t("common.loading")}</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(view) => render(view).into_any(),
                        Err(error) => view! { <Failed error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
