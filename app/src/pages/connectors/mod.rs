//! `/connectors` (admins): connect a CRM (amoCRM / Kommo), see what it shows before anything
//! is stored, map its people, backfill its history with a progress bar, and watch its
//! webhooks. The work is `connectors::setup`'s; these server functions only ask who is asking
//! and shape what the page shows (the page itself: `view`). A token is never sent back to the browser.

use crate::auth::CurrentUser;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

mod view;
pub use view::Connectors;

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
