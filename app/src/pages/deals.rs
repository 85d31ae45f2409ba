//! `/deals/new`: log a won deal in the app. Reps log their own, managers their
//! team's reps', admins anyone's; the deal takes the records API's path. Each
//! form carries its own submission id, so sending it twice logs one deal; without
//! JavaScript the post comes back to `?saved=<id>`, which says it was saved.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealFormView {
    pub me: CurrentUser,
    pub owners: Vec<Choice>,
    /// Now in the organisation's time zone, as a `datetime-local` value.
    pub now: String,
    /// This filling-in's id (`services::deals::new_submission`).
    pub submission: String,
}

#[server(prefix = "/api", endpoint = "deal_form")]
pub async fn load_deal_form() -> Result<DealFormView, AppError> {
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let owners = services::deals::owners_for(&pool, &me)
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|(value, label)| Choice { value, label })
        .collect();
    let now = crate::clock::now().with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    Ok(DealFormView { me, owners, now, submission: services::deals::new_submission() })
}

/// Logs a won deal; returns its id. `closed_at` is local time (`YYYY-MM-DDTHH:MM`), empty for now;
/// `submission` the form's id (the same one twice logs one deal).
#[server(prefix = "/api", endpoint = "log_deal")]
#[allow(clippy::too_many_arguments)]
pub async fn log_deal(
    id: Option<String>,
    submission: Option<String>,
    owner: String,
    customer: Option<String>,
    amount: String,
    product: Option<String>,
    deal_type: Option<String>,
    closed_at: Option<String>,
) -> Result<String, AppError> {
    use chrono::TimeZone;
    use services::deals::{log_won_deal, WonDeal};
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let closed_at = match closed_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => crate::clock::now(),
        Some(text) => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|t| tz.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| crate::i18n::error(crate::i18n::Message::new("err.closed_at").with("text", text)))?,
    };
    let deal = WonDeal {
        id: id.unwrap_or_default(),
        submission: submission.unwrap_or_default(),
        owner,
        customer,
        amount,
        product,
        deal_type: deal_type.filter(|t| !t.is_empty()).unwrap_or_else(|| "new".into()),
        closed_at,
    };
    match log_won_deal(&pool, &me, &deal).await {
        Ok(id) => {
            // A plain form post (no JavaScript yet) comes back to the form, which says it was saved.
            let parts = use_context::<axum::http::request::Parts>();
            let accept = parts.as_ref().and_then(|p| p.headers.get(axum::http::header::ACCEPT));
            if accept.and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html")) {
                let query = form_urlencoded::Serializer::new(String::new()).append_pair("saved", &id).finish();
                leptos_axum::redirect(&format!("/deals/new?{query}"));
            }
            Ok(id)
        }
        Err(e) => Err(crate::pages::errors::refusals::deal(e).await),
    }
}

#[component]
pub fn NewDeal() -> impl IntoView {
    let log = ServerAction::<LogDeal>::new();
    let data = Resource::new(move || log.version().get(), |_| load_deal_form());
    loaded(data, move |view| view! { <NewDealPage view log/> })
}

#[component]
fn NewDealPage(view: DealFormView, log: ServerAction<LogDeal>) -> impl IntoView {
    let DealFormView { me, owners, now, submission } = view;
    let lang = crate::i18n::use_lang();
    let types = [("new", "deals.type_new"), ("upsell", "deals.type_upsell"), ("cross_sell", "deals.type_cross_sell")]
        .into_iter()
        .map(|(value, key)| Choice { value: value.into(), label: lang.t(key) })
        .collect::<Vec<_>>();
    // What the last sending answered; without JavaScript, the `saved` of the address it came back to.
    let query = leptos_router::hooks::use_query_map();
    let saved = move || query.read().get("saved").filter(|id| !id.is_empty());
    let result = move || {
        let answer = log.value().get().or_else(|| saved().map(Ok));
        answer.map(|r| match r {
            Ok(id) => view! {
                <p class="saved" role="status" data-testid="deal-saved">
                    {format!("{} ", domain::tr!(lang, "deals.logged", id = id))}
                    <a href="/points">{lang.t("deals.my_points")}</a>
                </p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let me_id = me.id.clone();
    view! {
        <TopBar user=me/>
        <main class="page narrow">
            <div class="heading"><h1>{lang.t("deals.title")}</h1></div>
            {result}
            <ActionForm action=log attr:class="card form" attr:data-testid="new-deal">
                <label>{lang.t("deals.owner")}" " <select name="owner">{options(owners, &me_id)}</select></label>
                <label>{lang.t("deals.amount")}" " <input name="amount" required inputmode="decimal"/></label>
                <label>{lang.t("deals.type")}" " <select name="deal_type">{options(types, "new")}</select></label>
                <label>{lang.t("deals.closed_at")}" " <input name="closed_at" type="datetime-local" value=now/></label>
                <label>{lang.t("deals.customer")}" " <input name="customer"/></label>
                <label>{lang.t("deals.product")}" " <input name="product"/></label>
                <label>{lang.t("deals.id")}" " <input name="id"/></label>
                <input type="hidden" name="submission" value=submission/>
                // One sending at a time; the submission id makes a second one harmless anyway.
                <button type="submit" disabled=move || log.pending().get()>{lang.t("deals.log")}</button>
            </ActionForm>
        </main>
    }
}
