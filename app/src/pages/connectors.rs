//! `/connectors` (admins): connect a CRM (amoCRM / Kommo), see what it shows before anything
//! is stored, map its people, backfill its history with a progress bar, and watch its
//! webhooks. The work is `connectors::setup`'s; these server functions only ask who is asking
//! and shape what the page shows. A token is never sent back to the browser.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorsView {
    pub me: CurrentUser,
    /// CRMs not connected yet: (kind, title).
    pub available: Vec<(String, String)>,
    pub connectors: Vec<ConnectorCard>,
    /// Users a CRM user may be mapped to: (id, "name · email").
    pub users: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorCard {
    pub id: i64,
    pub title: String,
    pub base_url: String,
    pub token: String,
    pub hook_url: String,
    /// HTTP Basic credentials for the CRM's webhook settings (Pipedrive).
    pub hook_credentials: Option<String>,
    pub account: String,
    /// The CRM marks its webhooks with a token that must be entered here (Bitrix24).
    pub needs_hook_secret: bool,
    /// The `app.yml` key of where to paste the webhook's address in this CRM.
    pub hook_hint: String,
    pub hook_secret_set: bool,
    pub backfill_state: String,
    pub backfill_done: i64,
    pub backfill_total: Option<i64>,
    pub last_event: String,
    pub last_error: Option<String>,
    pub reconciled: String,
    pub events_last_hour: i64,
    pub waiting: i64,
    /// (CRM user, name, email, mapped user id, ignored, deals waiting)
    pub people: Vec<(String, String, String, Option<String>, bool, i64)>,
    /// (event id, CRM deal id, received, why)
    pub failed: Vec<(i64, String, String, String)>,
    /// (key, pipeline, stage, the CRM's meaning, the override here or "")
    pub stages: Vec<(String, String, String, String, String)>,
    /// The CRM's deal fields: (key, name).
    pub fields: Vec<(String, String)>,
    /// The fields chosen for the customer, the product and the deal type ("" for none).
    pub mapped: (String, String, String),
    /// The deal-type field's values: (value, label, deals, the type given or "").
    pub deal_type_values: Vec<(String, String, i64, String)>,
}

/// What "Test" found: nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub account: String,
    pub users: usize,
    pub pipelines: usize,
    pub deals: u64,
    pub activities: u64,
    /// (CRM id, name, owner, amount, status here)
    pub first: Vec<(String, String, String, String, String)>,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::i18n::Message;

    pub async fn admin() -> Result<CurrentUser, AppError> {
        let me = crate::auth::server::require_user().await?;
        if me.role != crate::auth::Role::Admin {
            return Err(crate::auth::server::forbidden("err.admins_only_connectors").await);
        }
        Ok(me)
    }

    pub fn state() -> crate::state::AppState {
        expect_context::<crate::state::AppState>()
    }

    /// A setup failure in the reader's language (the CRM's own words kept).
    pub fn failed(e: connectors::setup::SetupError) -> AppError {
        match e {
            connectors::setup::SetupError::Db(e) => AppError::server(e),
            e => crate::i18n::error(Message::new("connectors.failed").with("why", e.to_string())),
        }
    }

    pub fn keyring() -> Result<connectors::Keyring, AppError> {
        state().connectors.keyring().cloned().ok_or_else(|| failed(connectors::secret::KeyError::Missing.into()))
    }

    /// A token as the form sent it: OAuth tokens come back sealed (`Keyring::seal_text`).
    pub fn opened(token: &str) -> Result<String, AppError> {
        match token.trim().starts_with("sealed:") {
            true => keyring()?.open_text(token).map_err(|e| failed(e.into())),
            false => Ok(token.to_string()),
        }
    }

    pub fn day(text: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            .map_err(|_| crate::i18n::error(Message::new("connectors.bad_date").with("date", text)))
    }

    /// This site's address as the browser reached it (for the webhook's full URL).
    pub async fn origin() -> String {
        let headers = leptos_axum::extract::<axum::http::HeaderMap>().await.unwrap_or_default();
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let secure = state().config.secure_cookies;
        format!("{}://{host}", if secure { "https" } else { "http" })
    }
}

#[server(prefix = "/api", endpoint = "connectors_view")]
pub async fn load_connectors() -> Result<ConnectorsView, AppError> {
    let me = server::admin().await?;
    let state = server::state();
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&state.pool).await.map_err(AppError::server)?.time_zone;
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| crate::format::date_time(t.with_timezone(&tz), lang)).unwrap_or_else(|| "—".into())
    };
    let origin = server::origin().await;
    let statuses =
        connectors::setup::statuses(&state.pool, state.connectors.keyring(), &me).await.map_err(server::failed)?;
    let connected: Vec<connectors::Kind> = statuses.iter().map(|s| s.kind).collect();
    let available = connectors::Kind::ALL
        .into_iter()
        .filter(|k| !connected.contains(k))
        .map(|k| (k.name().to_string(), k.title().to_string()))
        .collect();
    let connectors = statuses
        .into_iter()
        .map(|s| ConnectorCard {
            id: s.id,
            title: s.kind.title().to_string(),
            base_url: s.base_url,
            token: s.token,
            hook_url: format!("{origin}{}", s.hook_path),
            hook_credentials: s.hook_credentials,
            account: s.account,
            needs_hook_secret: s.kind.needs_hook_secret(),
            hook_hint: format!("connectors.hook_hint_{}", s.kind.name()),
            hook_secret_set: s.hook_secret_set,
            backfill_state: s.backfill_state,
            backfill_done: s.backfill_done,
            backfill_total: s.backfill_total,
            last_event: when(s.last_event_at),
            last_error: s.last_error.map(|e| format!("{} — {e}", when(s.last_error_at))),
            reconciled: when(s.reconciled_at),
            events_last_hour: s.events_last_hour,
            waiting: s.waiting,
            people: s
                .people
                .into_iter()
                .map(|p| (p.crm_user, p.name, p.email.unwrap_or_default(), p.user_id, p.ignored, p.waiting))
                .collect(),
            failed: s.failed.into_iter().map(|(id, crm, at, why)| (id, crm, when(Some(at)), why)).collect(),
            stages: s
                .stages
                .into_iter()
                .map(|(key, pipeline, name, crm, chosen)| {
                    (
                        key,
                        pipeline,
                        name,
                        crm.name().to_string(),
                        chosen.map(|o| o.name().to_string()).unwrap_or_default(),
                    )
                })
                .collect(),
            fields: s.fields.into_iter().map(|f| (f.key, f.name)).collect(),
            mapped: (
                s.field_map.customer.unwrap_or_default(),
                s.field_map.product.unwrap_or_default(),
                s.field_map.deal_type.unwrap_or_default(),
            ),
            deal_type_values: s
                .deal_type_values
                .into_iter()
                .map(|(value, label, deals, chosen)| (value, label, deals, chosen.unwrap_or_default()))
                .collect(),
        })
        .collect();
    let users = store::users::list(&state.pool, None)
        .await
        .map_err(AppError::server)?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| (u.id.clone(), format!("{} · {}", u.name, u.email)))
        .collect();
    Ok(ConnectorsView { me, available, connectors, users })
}

/// "Test": what the CRM shows this token, mapped as it would be stored; nothing is stored.
#[server(prefix = "/api", endpoint = "test_connector")]
pub async fn test_connector(kind: String, base_url: String, token: String, since: String) -> Result<Preview, AppError> {
    let me = server::admin().await?;
    let state = server::state();
    let since = server::day(&since)?;
    let token = server::opened(&token)?;
    let access = connectors::setup::Access { kind: &kind, base_url: &base_url, token: &token };
    let seen = connectors::setup::preview(&me, access, since).await.map_err(server::failed)?;
    let kind = connectors::Kind::parse(&kind).expect("checked by preview");
    // Owners as they would be matched: by email.
    let users = store::users::list(&state.pool, None).await.map_err(AppError::server)?;
    let owner = |crm_user: &str| {
        let person = seen.users.iter().find(|u| u.id == crm_user);
        let here = person
            .and_then(|p| p.email.as_deref())
            .and_then(|e| users.iter().find(|u| u.email.eq_ignore_ascii_case(e)));
        match (person, here) {
            (_, Some(user)) => user.name.clone(),
            (Some(p), None) => format!("{} ({})", p.name, crate::i18n::use_lang().t("connectors.unmapped")),
            (None, None) => format!("#{crm_user}"),
        }
    };
    let first = seen
        .first
        .iter()
        .map(|d| {
            let record = d.to_record(kind, "-", &Default::default());
            (
                d.id.clone(),
                d.name.clone(),
                owner(&d.owner),
                d.amount.to_string(),
                crate::i18n::use_lang()
                    .t(&format!("connectors.outcome.{}", record["status"].as_str().unwrap_or("open"))),
            )
        })
        .collect();
    let pipelines = seen.stages.iter().map(|s| s.pipeline.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    Ok(Preview {
        account: seen.account,
        users: seen.users.len(),
        pipelines,
        deals: seen.deals,
        activities: seen.activities,
        first,
    })
}

/// amoCRM's OAuth 2.0: the integration's keys and an authorization code exchanged for tokens,
/// returned sealed (the browser holds them for "Test" and "Save" but cannot read them).
#[server(prefix = "/api", endpoint = "authorize_amocrm")]
pub async fn authorize_amocrm(
    base_url: String,
    client_id: String,
    client_secret: String,
    code: String,
    redirect_uri: String,
) -> Result<String, AppError> {
    let me = server::admin().await?;
    let keyring = server::keyring()?;
    let token = connectors::setup::authorize(&me, &base_url, &client_id, &client_secret, &code, &redirect_uri)
        .await
        .map_err(server::failed)?;
    Ok(keyring.seal_text(&token))
}

#[server(prefix = "/api", endpoint = "save_connector")]
pub async fn save_connector(kind: String, base_url: String, token: String) -> Result<i64, AppError> {
    let me = server::admin().await?;
    let state = server::state();
    let token = server::opened(&token)?;
    let access = connectors::setup::Access { kind: &kind, base_url: &base_url, token: &token };
    connectors::setup::create(&state.pool, state.connectors.keyring(), &me, access).await.map_err(server::failed)
}

/// Maps a CRM user: `choice` is a user's id, `ignore`, or `invite`; returns an invite's link.
#[server(prefix = "/api", endpoint = "map_crm_user")]
pub async fn map_crm_user(connector: i64, crm_user: String, choice: String) -> Result<Option<String>, AppError> {
    use connectors::setup::Mapping;
    let me = server::admin().await?;
    let state = server::state();
    let mapping = match choice.as_str() {
        "ignore" => Mapping::Ignore,
        "invite" => Mapping::Invite,
        id => Mapping::User(id.to_string()),
    };
    let token =
        connectors::setup::map_person(&state.pool, &me, connector, &crm_user, mapping).await.map_err(server::failed)?;
    Ok(match token {
        Some(token) => Some(format!("{}/invite/{token}", server::origin().await)),
        None => None,
    })
}

#[server(prefix = "/api", endpoint = "start_backfill")]
pub async fn start_backfill(connector: i64, from: String) -> Result<u64, AppError> {
    let me = server::admin().await?;
    let state = server::state();
    let from = server::day(&from)?;
    let total = connectors::setup::start_backfill(&state.pool, state.connectors.keyring(), &me, connector, from)
        .await
        .map_err(server::failed)?;
    state.connectors.wake();
    Ok(total)
}

/// What a CRM stage means here: `outcome` is `open`, `won`, `lost`, or empty for the CRM's own.
/// Which CRM deal fields give the customer, the product and the deal type ("": none).
#[server(prefix = "/api", endpoint = "set_crm_fields")]
pub async fn set_crm_fields(
    connector: i64,
    customer: String,
    product: String,
    deal_type: String,
) -> Result<(), AppError> {
    let me = server::admin().await?;
    let some = |key: String| (!key.is_empty()).then_some(key);
    let state = server::state();
    connectors::setup::set_fields(&state.pool, &me, connector, some(customer), some(product), some(deal_type))
        .await
        .map_err(server::failed)?;
    // A CRM that is read again (HubSpot) is read at once.
    state.connectors.wake();
    Ok(())
}

/// What one value of the deal-type field means here ("": nothing, the deal is new).
#[server(prefix = "/api", endpoint = "set_crm_deal_type")]
pub async fn set_crm_deal_type(connector: i64, value: String, deal_type: String) -> Result<(), AppError> {
    let me = server::admin().await?;
    let deal_type = (!deal_type.is_empty()).then_some(deal_type.as_str());
    connectors::setup::set_deal_type(&server::state().pool, &me, connector, &value, deal_type)
        .await
        .map_err(server::failed)
}

#[server(prefix = "/api", endpoint = "set_crm_stage")]
pub async fn set_crm_stage(connector: i64, stage: String, outcome: String) -> Result<(), AppError> {
    let me = server::admin().await?;
    let state = server::state();
    let outcome = match outcome.as_str() {
        "" => None,
        text => Some(connectors::Outcome::parse(text).ok_or_else(|| {
            crate::i18n::error(
                crate::i18n::Message::new("connectors.failed")
                    .with("why", format!("`{text}` is not open, won or lost")),
            )
        })?),
    };
    connectors::setup::set_stage(&state.pool, &me, connector, &stage, outcome).await.map_err(server::failed)
}

/// Bitrix24's application token for its outbound webhook (made after this connector's address).
#[server(prefix = "/api", endpoint = "set_hook_token")]
pub async fn set_hook_token(connector: i64, secret: String) -> Result<(), AppError> {
    let me = server::admin().await?;
    let state = server::state();
    connectors::setup::set_hook_secret(&state.pool, state.connectors.keyring(), &me, connector, &secret)
        .await
        .map_err(server::failed)
}

#[server(prefix = "/api", endpoint = "retry_crm_event")]
pub async fn retry_crm_event(connector: i64, event: i64) -> Result<(), AppError> {
    let me = server::admin().await?;
    let state = server::state();
    connectors::setup::retry(&state.pool, &me, connector, event).await.map_err(server::failed)?;
    state.connectors.wake();
    Ok(())
}

#[server(prefix = "/api", endpoint = "reconcile_connector")]
pub async fn reconcile_connector(connector: i64) -> Result<(), AppError> {
    let me = server::admin().await?;
    let state = server::state();
    connectors::setup::reconcile_now(&state.pool, &me, connector).await.map_err(server::failed)?;
    state.connectors.wake();
    Ok(())
}

#[server(prefix = "/api", endpoint = "delete_connector")]
pub async fn delete_connector(connector: i64, remove_records: Option<String>) -> Result<(), AppError> {
    let me = server::admin().await?;
    // A ticked checkbox sends `on` (or its value); an unticked one sends nothing.
    let remove = remove_records.is_some_and(|v| matches!(v.as_str(), "on" | "true"));
    connectors::setup::delete(&server::state().pool, &me, connector, remove).await.map_err(server::failed)?;
    Ok(())
}

#[component]
pub fn Connectors() -> impl IntoView {
    let save = ServerAction::<SaveConnector>::new();
    let map = ServerAction::<MapCrmUser>::new();
    let backfill = ServerAction::<StartBackfill>::new();
    let retry = ServerAction::<RetryCrmEvent>::new();
    let reconcile = ServerAction::<ReconcileConnector>::new();
    let delete = ServerAction::<DeleteConnector>::new();
    let hook_token = ServerAction::<SetHookToken>::new();
    let stage = ServerAction::<SetCrmStage>::new();
    let fields = ServerAction::<SetCrmFields>::new();
    let deal_type = ServerAction::<SetCrmDealType>::new();
    // While a backfill runs, the page looks again every second (its progress bar). Not
    // otherwise: a refresh would reset a form being filled in.
    let tick = RwSignal::new(0u64);
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = set_interval_with_handle(
                move || {
                    if running.get_untracked() {
                        tick.update(|t| *t += 1)
                    }
                },
                std::time::Duration::from_secs(1),
            );
        }
    });
    let data = Resource::new(
        move || {
            (
                save.version().get(),
                map.version().get(),
                backfill.version().get(),
                retry.version().get(),
                reconcile.version().get(),
                delete.version().get(),
                hook_token.version().get(),
                stage.version().get(),
                fields.version().get(),
                deal_type.version().get(),
                tick.get(),
            )
        },
        |_| load_connectors(),
    );
    Effect::new(move |_| {
        if let Some(Ok(view)) = data.get() {
            running.set(view.connectors.iter().any(|c| c.backfill_state == "running"));
        }
    });
    let actions = Actions { save, map, backfill, retry, reconcile, delete, hook_token, stage, fields, deal_type };
    loaded(data, move |view| view! { <ConnectorsPage view actions/> })
}

#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveConnector>,
    map: ServerAction<MapCrmUser>,
    backfill: ServerAction<StartBackfill>,
    retry: ServerAction<RetryCrmEvent>,
    reconcile: ServerAction<ReconcileConnector>,
    delete: ServerAction<DeleteConnector>,
    hook_token: ServerAction<SetHookToken>,
    stage: ServerAction<SetCrmStage>,
    fields: ServerAction<SetCrmFields>,
    deal_type: ServerAction<SetCrmDealType>,
}

fn outcome<T: Clone + Send + Sync + 'static>(
    action: ServerAction<
        impl leptos::server_fn::ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    >,
    show: impl Fn(T) -> Option<String> + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => show(v)
                .map(|text| view! { <p class="saved" role="status">{text}</p> }.into_any())
                .unwrap_or_else(|| ().into_any()),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
fn ConnectorsPage(view: ConnectorsView, actions: Actions) -> impl IntoView {
    let ConnectorsView { me, available, connectors, users } = view;
    let lang = crate::i18n::use_lang();
    let cards = connectors.into_iter().map(|card| view! { <Card card users=users.clone() actions/> }).collect_view();
    let new = (!available.is_empty()).then(|| view! { <NewConnector available save=actions.save/> });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("connectors.title")}</h1></div>
            <p class="hint">{lang.t("connectors.intro")}</p>
            {cards}
            {new}
            {outcome(actions.map, |link: Option<String>| link)}
            {outcome(actions.backfill, |_| None)}
            {outcome(actions.retry, |_| None)}
            {outcome(actions.delete, |_| None)}
            {outcome(actions.hook_token, |_| None)}
            {outcome(actions.stage, |_| None)}
            {outcome(actions.fields, |_| None)}
            {outcome(actions.deal_type, |_| None)}
        </main>
    }
}

#[component]
fn NewConnector(available: Vec<(String, String)>, save: ServerAction<SaveConnector>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let kind = RwSignal::new(available.first().map(|(k, _)| k.clone()).unwrap_or_default());
    let base_url = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let since = RwSignal::new(String::from("2026-01-01"));
    let test = Action::new(move |_: &()| {
        let (kind, base_url, token, since) =
            (kind.get_untracked(), base_url.get_untracked(), token.get_untracked(), since.get_untracked());
        async move { test_connector(kind, base_url, token, since).await }
    });
    let options = available.into_iter().map(|(k, title)| view! { <option value=k>{title}</option> }).collect_view();
    // amoCRM's OAuth 2.0: the integration's keys and code give tokens, which fill the token field sealed.
    let (client_id, client_secret, code, redirect) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let oauth = Action::new(move |_: &()| {
        let (base, id, secret, code, redirect) = (
            base_url.get_untracked(),
            client_id.get_untracked(),
            client_secret.get_untracked(),
            code.get_untracked(),
            redirect.get_untracked(),
        );
        async move { authorize_amocrm(base, id, secret, code, redirect).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(sealed)) = oauth.value().get() {
            token.set(sealed);
        }
    });
    let oauth_outcome = move || {
        oauth.value().get().map(|r| match r {
            Ok(_) => view! { <p class="saved" role="status">{lang.t("connectors.oauth_done")}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let oauth_form = move || {
        (kind.get() == "amocrm").then(|| {
            view! {
                <details data-testid="amocrm-oauth">
                    <summary>{lang.t("connectors.oauth")}</summary>
                    <p class="hint">{lang.t("connectors.oauth_hint")}</p>
                    <label>{lang.t("connectors.client_id")}" "
                        <input autocomplete="off" prop:value=client_id on:input=move |ev| client_id.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.client_secret")}" "
                        <input type="password" autocomplete="off" prop:value=client_secret
                            on:input=move |ev| client_secret.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.oauth_code")}" "
                        <input autocomplete="off" prop:value=code on:input=move |ev| code.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.redirect_uri")}" "
                        <input placeholder="https://" prop:value=redirect on:input=move |ev| redirect.set(event_target_value(&ev))/></label>
                    <button type="button" on:click=move |_| { oauth.dispatch(()); }>{lang.t("connectors.oauth_get")}</button>
                    {oauth_outcome}
                </details>
            }
        })
    };
    let preview = move || {
        test.value().get().map(|r| match r {
            Ok(p) => {
                let rows = p
                    .first
                    .into_iter()
                    .map(|(id, name, owner, amount, status)| {
                        view! { <tr><td>{id}</td><td>{name}</td><td>{owner}</td><td class="num">{amount}</td><td>{status}</td></tr> }
                    })
                    .collect_view();
                view! {
                    <div class="card" data-testid="connector-preview">
                        <p role="status">{crate::i18n::Message::new("connectors.seen").with("account", &p.account).with("users", p.users)
                            .with("pipelines", p.pipelines).with("deals", p.deals).with("activities", p.activities).in_lang(lang)}</p>
                        <table class="board">
                            <thead><tr><th>"ID"</th><th>{lang.t("connectors.deal")}</th><th>{lang.t("connectors.owner")}</th>
                                <th>{lang.t("connectors.amount")}</th><th>{lang.t("connectors.status")}</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <ActionForm action=save attr:class="card form" attr:data-testid="new-connector">
            <h2>{lang.t("connectors.new")}</h2>
            <label>{lang.t("connectors.crm")}" "
                <select name="kind" on:change=move |ev| kind.set(event_target_value(&ev))>{options}</select>
            </label>
            <label>{lang.t("connectors.base_url")}" "
                <input name="base_url" placeholder="https://example.amocrm.ru" on:input=move |ev| base_url.set(event_target_value(&ev))/>
            </label>
            <label>{lang.t("connectors.token")}" "
                <input name="token" type="password" required autocomplete="off" prop:value=token
                    on:input=move |ev| token.set(event_target_value(&ev))/>
            </label>
            <p class="hint">{lang.t("connectors.token_hint")}</p>
            {oauth_form}
            <label>{lang.t("connectors.since")}" "
                <input type="date" prop:value=since on:input=move |ev| since.set(event_target_value(&ev))/>
            </label>
            <button type="button" data-testid="test-connector" on:click=move |_| { test.dispatch(()); }>{lang.t("connectors.test")}</button>
            " "
            <button type="submit">{lang.t("connectors.save")}</button>
        </ActionForm>
        {preview}
        {outcome(save, |_| None)}
    }
}

#[component]
fn Card(card: ConnectorCard, users: Vec<(String, String)>, actions: Actions) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let id = card.id;
    let progress = {
        let total = card.backfill_total.unwrap_or(0).max(card.backfill_done);
        let state_key = format!("connectors.backfill.{}", card.backfill_state);
        view! {
            <p data-testid="backfill-state">{lang.t(&state_key)}" · "{format!("{} / {}", card.backfill_done, total)}</p>
            <progress max=total.max(1).to_string() value=card.backfill_done.to_string() data-testid="backfill-progress"></progress>
        }
    };
    let people = card
        .people
        .iter()
        .cloned()
        .map(|(crm_user, name, email, user_id, ignored, waiting)| {
            let choices = users
                .iter()
                .map(|(uid, label)| {
                    let selected = user_id.as_deref() == Some(uid.as_str());
                    view! { <option value=uid.clone() selected=selected>{label.clone()}</option> }
                })
                .collect_view();
            let unmapped = user_id.is_none() && !ignored;
            view! {
                <tr class:inactive=ignored data-testid="crm-person">
                    <td>{name}</td><td>{email}</td>
                    <td class="num">{(waiting > 0).then(|| waiting.to_string())}</td>
                    <td>
                        <ActionForm action=actions.map>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="crm_user" value=crm_user/>
                            <select name="choice" aria-label=lang.t("connectors.maps_to")>
                                <option value="" disabled selected=unmapped>{lang.t("connectors.unmapped")}</option>
                                <option value="ignore" selected=ignored>{lang.t("connectors.ignore")}</option>
                                <option value="invite">{lang.t("connectors.invite")}</option>
                                {choices}
                            </select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let failed = card
        .failed
        .iter()
        .cloned()
        .map(|(event, crm_id, at, why)| {
            view! {
                <tr data-testid="failed-event">
                    <td>{at}</td><td>{crm_id}</td><td>{why}</td>
                    <td><ActionForm action=actions.retry>
                        <input type="hidden" name="connector" value=id.to_string()/>
                        <input type="hidden" name="event" value=event.to_string()/>
                        <button type="submit" class="link">{lang.t("connectors.retry")}</button>
                    </ActionForm></td>
                </tr>
            }
        })
        .collect_view();
    let has_failed = !card.failed.is_empty();
    let stages = card
        .stages
        .iter()
        .cloned()
        .map(|(key, pipeline, name, crm, chosen)| {
            let crm_word = lang.t(&format!("connectors.outcome.{crm}"));
            let options = [
                ("", format!("{} ({crm_word})", lang.t("connectors.as_crm"))),
                ("open", lang.t("connectors.outcome.open")),
                ("won", lang.t("connectors.outcome.won")),
                ("lost", lang.t("connectors.outcome.lost")),
            ]
            .into_iter()
            .map(|(value, label)| {
                let selected = chosen == value;
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view();
            view! {
                <tr data-testid="crm-stage">
                    <td>{pipeline}</td><td>{name}</td><td>{crm_word.clone()}</td>
                    <td>
                        <ActionForm action=actions.stage>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="stage" value=key/>
                            <select name="outcome" aria-label=lang.t("connectors.stage_here")>
                                {options}
                            </select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="connector">
            <h2>{card.title.clone()}</h2>
            <dl class="facts">
                <dt>{lang.t("connectors.base_url")}</dt><dd>{card.base_url.clone()}</dd>
                <dt>{lang.t("connectors.token")}</dt><dd>{card.token.clone()}</dd>
                <dt>{lang.t("connectors.account")}</dt><dd>{card.account.clone()}</dd>
                <dt>{lang.t("connectors.hook_url")}</dt><dd><code data-testid="hook-url">{card.hook_url.clone()}</code></dd>
                {card.hook_credentials.clone().map(|c| view! {
                    <dt>{lang.t("connectors.hook_credentials")}</dt><dd><code data-testid="hook-credentials">{c}</code></dd>
                })}
                <dt>{lang.t("connectors.last_event")}</dt><dd>{card.last_event.clone()}</dd>
                <dt>{lang.t("connectors.events_hour")}</dt><dd data-testid="events-hour">{card.events_last_hour}</dd>
                <dt>{lang.t("connectors.reconciled")}</dt><dd>{card.reconciled.clone()}</dd>
                <dt>{lang.t("connectors.last_error")}</dt><dd class="error-text">{card.last_error.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>{lang.t("connectors.waiting")}</dt><dd data-testid="waiting">{card.waiting}</dd>
            </dl>
            <p class="hint">{lang.t(&card.hook_hint)}</p>
            {card.needs_hook_secret.then(|| view! {
                <ActionForm action=actions.hook_token attr:data-testid="hook-token-form">
                    <input type="hidden" name="connector" value=id.to_string()/>
                    <label>{lang.t(&format!("{}_secret", card.hook_hint))}" "
                        <input name="secret" type="password" required autocomplete="off"
                            placeholder=if card.hook_secret_set { "••••" } else { "" }/>
                    </label>
                    " "<button type="submit">{lang.t("connectors.save")}</button>
                    {(!card.hook_secret_set).then(|| view! { <p class="error-text" role="status">{lang.t("connectors.hook_token_missing")}</p> })}
                </ActionForm>
            })}
            <h3>{lang.t("connectors.backfill")}</h3>
            {progress}
            <ActionForm action=actions.backfill attr:data-testid="backfill-form">
                <input type="hidden" name="connector" value=id.to_string()/>
                <label>{lang.t("connectors.since")}" "<input type="date" name="from" required value="2026-01-01"/></label>
                " "<button type="submit">{lang.t("connectors.start_backfill")}</button>
            </ActionForm>
            <h3>{lang.t("connectors.people")}</h3>
            <table class="board" data-testid="crm-people">
                <thead><tr><th>{lang.t("connectors.crm_user")}</th><th>"Email"</th><th>{lang.t("connectors.waiting")}</th><th>{lang.t("connectors.maps_to")}</th></tr></thead>
                <tbody>{people}</tbody>
            </table>
            <h3>{lang.t("connectors.stages")}</h3>
            <table class="board" data-testid="crm-stages">
                <thead><tr><th>{lang.t("connectors.pipeline")}</th><th>{lang.t("connectors.stage")}</th>
                    <th>{lang.t("connectors.in_crm")}</th><th>{lang.t("connectors.stage_here")}</th></tr></thead>
                <tbody>{stages}</tbody>
            </table>
            <DealFields id fields=card.fields.clone() mapped=card.mapped.clone() values=card.deal_type_values.clone() actions/>
            {has_failed.then(|| view! {
                <h3>{lang.t("connectors.failed_events")}</h3>
                <table class="board" data-testid="failed-events"><tbody>{failed}</tbody></table>
            })}
            <ActionForm action=actions.reconcile>
                <input type="hidden" name="connector" value=id.to_string()/>
                <button type="submit" class="link">{lang.t("connectors.reconcile")}</button>
            </ActionForm>
            <ActionForm action=actions.delete>
                <input type="hidden" name="connector" value=id.to_string()/>
                <label class="check">
                    <input type="checkbox" name="remove_records" value="true"/>
                    {lang.t("connectors.delete_records")}
                </label>
                <button type="submit" class="link danger">{lang.t("connectors.delete")}</button>
            </ActionForm>
            <p class="hint">{lang.t("connectors.delete_keeps")}</p>
        </section>
    }
}

/// The CRM deal fields that give the records' customer, product and deal type, and what each
/// value of the deal-type field means.
#[component]
fn DealFields(
    id: i64,
    fields: Vec<(String, String)>,
    mapped: (String, String, String),
    values: Vec<(String, String, i64, String)>,
    actions: Actions,
) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let select = |name: &'static str, label: &'static str, current: &str| {
        // A mapped field the CRM no longer lists stays chosen (saving keeps it) until changed.
        let gone = (!current.is_empty() && !fields.iter().any(|(key, _)| key == current))
            .then(|| (current.to_string(), lang.t("connectors.field_gone")));
        let options = fields
            .iter()
            .chain(gone.iter())
            .map(|(key, field)| {
                let selected = key == current;
                view! { <option value=key.clone() selected=selected>{format!("{field} ({key})")}</option> }
            })
            .collect_view();
        view! {
            <label>{lang.t(label)}" "
                <select name=name>
                    <option value="" selected=current.is_empty()>{lang.t("connectors.field_none")}</option>
                    {options}
                </select>
            </label>
        }
    };
    let rows = values
        .into_iter()
        .map(|(value, label, deals, chosen)| {
            let options = [
                ("", lang.t("connectors.as_crm")),
                ("new", lang.t("deals.type_new")),
                ("upsell", lang.t("deals.type_upsell")),
                ("cross_sell", lang.t("deals.type_cross_sell")),
            ]
            .into_iter()
            .map(|(t, text)| {
                let selected = chosen == t;
                view! { <option value=t selected=selected>{text}</option> }
            })
            .collect_view();
            view! {
                <tr data-testid="crm-deal-type">
                    <td>{label}</td><td class="num">{deals}</td>
                    <td>
                        <ActionForm action=actions.deal_type>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="value" value=value/>
                            <select name="deal_type" aria-label=lang.t("connectors.deal_type_here")>{options}</select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let customer = select("customer", "connectors.field_customer", &mapped.0);
    let product = select("product", "connectors.field_product", &mapped.1);
    let deal_type = select("deal_type", "connectors.field_deal_type", &mapped.2);
    let typed = !mapped.2.is_empty();
    view! {
        <h3>{lang.t("connectors.deal_fields")}</h3>
        <p class="hint">{lang.t("connectors.deal_fields_hint")}</p>
        <ActionForm action=actions.fields attr:data-testid="deal-fields-form">
            <input type="hidden" name="connector" value=id.to_string()/>
            {customer}" "{product}" "{deal_type}" "
            <button type="submit">{lang.t("connectors.save")}</button>
        </ActionForm>
        {typed.then(|| view! {
            <table class="board" data-testid="crm-deal-types">
                <thead><tr><th>{lang.t("connectors.field_value")}</th><th>{lang.t("connectors.deals")}</th>
                    <th>{lang.t("connectors.deal_type_here")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })}
    }
}
