//! `/tokens`: API tokens for the programs that send records (a CRM sync, a
//! script). A token is shown once, when created; only its SHA-256 is kept.
//! Managers see and revoke their own tokens, admins everyone's.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokensView {
    pub me: CurrentUser,
    pub rows: Vec<(i64, String, String, String, String, bool)>,
}

#[cfg(feature = "ssr")]
async fn sender() -> Result<(CurrentUser, Option<String>), AppError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    match me.role {
        Role::Rep => Err(crate::auth::server::forbidden("err.reps_no_tokens").await),
        Role::Manager => {
            let id = me.id.clone();
            Ok((me, Some(id)))
        }
        Role::Admin => Ok((me, None)),
    }
}

#[server(prefix = "/api", endpoint = "tokens_view")]
pub async fn load_tokens() -> Result<TokensView, AppError> {
    let (me, whose) = sender().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| crate::format::date_time(t.with_timezone(&tz), lang)).unwrap_or_else(|| "—".into())
    };
    let rows = store::users::tokens(&pool, whose.as_deref())
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|t| (t.id, t.label, t.owner, when(Some(t.created_at)), when(t.last_used_at), t.revoked_at.is_some()))
        .collect();
    Ok(TokensView { me, rows })
}

/// Creates a token for the signed-in user and returns it: the only time it is shown.
#[server(prefix = "/api", endpoint = "create_token")]
pub async fn create_api_token(label: String) -> Result<String, AppError> {
    let (me, _) = sender().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    store::users::create_token(&pool, &me.email, &label).await.map_err(crate::pages::errors::refusals::user)
}

#[server(prefix = "/api", endpoint = "revoke_token")]
pub async fn revoke_api_token(id: i64) -> Result<(), AppError> {
    let (_, whose) = sender().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    if !store::users::revoke_token(&pool, id, whose.as_deref()).await.map_err(AppError::server)? {
        return Err(crate::i18n::error(crate::i18n::Message::new("err.no_token").with("id", id)));
    }
    Ok(())
}

#[component]
pub fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let data = Resource::new(move || (create.version().get(), revoke.version().get()), |_| load_tokens());
    loaded(data, move |view| view! { <TokensPage view create revoke/> })
}

#[component]
fn TokensPage(
    view: TokensView,
    create: ServerAction<CreateApiToken>,
    revoke: ServerAction<RevokeApiToken>,
) -> impl IntoView {
    let TokensView { me, rows } = view;
    let lang = crate::i18n::use_lang();
    let rows = rows
        .into_iter()
        .map(|(id, label, owner, created, used, revoked)| {
            let button = (!revoked).then(|| {
                view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class="link">{lang.t("tokens.revoke")}</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:inactive=revoked>
                    <td>{label}</td><td>{owner}</td><td>{created}</td><td>{used}</td><td>{button}</td>
                </tr>
            }
        })
        .collect_view();
    let result = move || {
        create.value().get().map(|r| match r {
            Ok(token) => view! {
                <p class="saved" role="status">
                    {lang.t("tokens.copy_now")}
                </p>
                <code class="token" data-testid="new-token">{token}</code>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("nav.tokens")}</h1></div>
            <table class="board" data-testid="tokens">
                <thead><tr>
                    <th>{lang.t("tokens.label")}</th><th>{lang.t("tokens.owner")}</th><th>{lang.t("tokens.created")}</th>
                    <th>{lang.t("tokens.last_used")}</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ActionForm action=create attr:class="card form" attr:data-testid="new-token-form">
                <h2>{lang.t("tokens.new")}</h2>
                <label>{lang.t("tokens.label")}" " <input name="label" required placeholder="crm-sync"/></label>
                <button type="submit">{lang.t("challenges.create")}</button>
            </ActionForm>
            {result}
        </main>
    }
}
