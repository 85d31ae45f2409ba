//! The wrapper every data page shares: a loading line, then the page, or the error.

use super::failure::{Failure, Forbidden, ServerError};
use crate::error::AppError;
use crate::i18n::use_lang;
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// Renders `render(data)` once the resource has loaded, or the error in place of the page.
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
                        Err(e) => match Failure::of(&e) {
                            Failure::Forbidden(reason) => view! { <Forbidden reason/> }.into_any(),
                            Failure::Server(reason) => view! { <ServerError reason/> }.into_any(),
                            Failure::SignIn => view! {
                                <main class="page narrow">
                                    <p class="error" role="alert">{lang.t("common.sign_in_again")}</p>
                                    <a href="/login">{lang.t("login.submit")}</a>
                                </main>
                            }
                            .into_any(),
                            Failure::Other(message) => view! {
                                <main class="page narrow">
                                    <p class="error" role="alert">{message}</p>
                                    <a href="/">{lang.t("errors.home")}</a>
                                </main>
                            }
                            .into_any(),
                        },
                    }
                })
            }}
        </Transition>
    }
}
