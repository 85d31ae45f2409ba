//! `/deals/new`: log a won deal in the app. Reps log their own, managers their
//! team's reps', admins anyone's; the deal takes the records API's path.

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
}

#[server(prefix = "/api", endpoint = "deal_form")]
pub async fn load_deal_form() -> Result<DealFormView, AppError> {
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let owners = services::deals::owners_for(&pool, &me)
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|(value, label)| Choice { value, label })
        .collect();
    let now = crate::clock::now().with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
    Ok(DealFormView { me, owners, now })
}

/// Logs a won deal; returns its id. `closed_at` is local time (`YYYY-MM-DDTHH:MM`), empty for now.
#[server(prefix = "/api", endpoint = "log_deal")]
#[allow(clippy::too_many_arguments)]
pub async fn log_deal(
    id: Option<String>,
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
    let pool = expect_context::<crate::state::AppState>().pool;
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
        owner,
        customer,
        amount,
        product,
        deal_type: deal_type.filter(|t| !t.is_empty()).unwrap_or_else(|| "new".into()),
        closed_at,
    };
    match log_won_deal(&pool, &me, &deal).await {
        Ok(id) => Ok(id),
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
    let DealFormView { me, owners, now } = view;
    let lang = crate::i18n::use_lang();
    let types = [("new", "deals.type_new"), ("upsell", "deals.type_upsell"), ("cross_sell", "deals.type_cross_sell")]
        .into_iter()
        .map(|(value, key)| Choice { value: value.into(), label: lang.t(key) })
        .collect::<Vec<_>>();
    let result = move || {
        log.value().get().map(|r| match r {
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
                <button type="submit">{lang.t("deals.log")}</button>
            </ActionForm>
        </main>
    }
}
