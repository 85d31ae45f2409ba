//! A CRM's webhook: checked (the address's secret, the account it names), queued, and
//! acknowledged at once. The runner does the work; a delivery that arrives twice is queued once.

use crate::http::CrmError;
use crate::model::Kind;
use crate::secret::Keyring;
use sqlx::PgPool;
use std::collections::HashMap;
use store::connectors::NewEvent;
use subtle::ConstantTimeEq;

/// Why a webhook was not taken.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No connector of that kind, or the address's secret is not its (the same answer for both).
    #[error("no such webhook")]
    NotFound,
    /// The body is not the CRM's webhook, or names another account: nothing stored.
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// A webhook delivery as it arrived.
pub struct Delivery<'a> {
    /// The address the CRM called, as it called it (HubSpot signs it): scheme, host, path, query.
    pub uri: &'a str,
    /// Its headers, names in lower case.
    pub headers: &'a HashMap<String, String>,
    pub body: &'a [u8],
    /// Now, in milliseconds since the epoch (a signature's age is measured against it).
    pub now_ms: i64,
}

/// The sealed webhook secret of `row`, opened.
fn hook_secret(
    row: &store::connectors::ConnectorRow,
    keyring: Option<&Keyring>,
    what: &str,
) -> Result<String, HookError> {
    let sealed = row
        .hook_secret
        .as_ref()
        .ok_or_else(|| HookError::Refused(format!("this connector has no {what} yet: set it on /connectors")))?;
    keyring
        .ok_or_else(|| HookError::Refused("KPI_ARENA_SECRET_KEY is not set".into()))?
        .open(sealed)
        .map_err(|e| HookError::Refused(e.to_string()))
}

/// Takes one delivery for `kind` at the address holding `key`; returns how many events were new.
pub async fn receive(
    pool: &PgPool,
    keyring: Option<&Keyring>,
    kind: &str,
    key: &str,
    delivery: Delivery<'_>,
) -> Result<u64, HookError> {
    let body = delivery.body;
    let kind = Kind::parse(kind).ok_or(HookError::NotFound)?;
    let row = store::connectors::by_kind(pool, kind.name()).await?.ok_or(HookError::NotFound)?;
    if !bool::from(row.hook_key.as_bytes().ct_eq(key.as_bytes())) {
        return Err(HookError::NotFound);
    }
    let events = match kind {
        Kind::AmoCrm => {
            let (account, hooked) = crate::amocrm::parse_hook(body).map_err(refused)?;
            if account != row.account {
                return Err(HookError::Refused(format!(
                    "the webhook names account {account}, but this connector is for account {}",
                    row.account
                )));
            }
            hooked
                .into_iter()
                .filter(|h| h.event != "delete")
                .map(|h| NewEvent {
                    key: format!("{}@{}", h.crm_id, h.version),
                    crm_id: h.crm_id,
                    deal: h.deal.map(|d| serde_json::to_value(d).expect("a deal as JSON")),
                })
                .collect::<Vec<_>>()
        }
        Kind::Bitrix24 => {
            let event = crate::bitrix24::parse_hook(body).map_err(refused)?;
            let expected = hook_secret(&row, keyring, "application token")?;
            if !bool::from(expected.as_bytes().ct_eq(event.token.as_bytes())) {
                return Err(HookError::Refused("`auth[application_token]` is not this connector's".into()));
            }
            if event.domain != row.account {
                return Err(HookError::Refused(format!(
                    "the event names portal {}, but this connector is for {}",
                    event.domain, row.account
                )));
            }
            match event.event.as_str() {
                "ONCRMDEALADD" | "ONCRMDEALUPDATE" => {
                    vec![NewEvent { key: format!("{}@{}", event.deal, event.ts), crm_id: event.deal, deal: None }]
                }
                // An activity or a lead: read back by its key (`activity:7`, `lead:3`).
                "ONCRMACTIVITYADD" | "ONCRMACTIVITYUPDATE" | "ONCRMLEADADD" | "ONCRMLEADUPDATE" => {
                    let what = if event.event.starts_with("ONCRMACTIVITY") { "activity" } else { "lead" };
                    let crm_id = format!("{what}:{}", event.deal);
                    vec![NewEvent { key: format!("{crm_id}@{}", event.ts), crm_id, deal: None }]
                }
                // Deleted deals keep their records (the team's history); other events are not deals.
                _ => Vec::new(),
            }
        }
        Kind::HubSpot => {
            let secret = hook_secret(&row, keyring, "client secret")?;
            let header = |name: &str| delivery.headers.get(name).map(String::as_str).unwrap_or("");
            // Signed over the address HubSpot called: https behind a TLS proxy even where this
            // instance was not told so (KPI_ARENA_SECURE_COOKIES), so either scheme is tried.
            let other = match delivery.uri.split_once("://") {
                Some(("http", rest)) => format!("https://{rest}"),
                Some((_, rest)) => format!("http://{rest}"),
                None => delivery.uri.to_string(),
            };
            let (ts, signature) = (header("x-hubspot-request-timestamp"), header("x-hubspot-signature-v3"));
            crate::hubspot::verify(&secret, "POST", delivery.uri, body, ts, signature, delivery.now_ms)
                .or_else(|_| crate::hubspot::verify(&secret, "POST", &other, body, ts, signature, delivery.now_ms))
                .map_err(refused)?;
            let events = crate::hubspot::parse_hook(body).map_err(refused)?;
            if let Some(other) = events.iter().find(|e| e.portal != row.account) {
                return Err(HookError::Refused(format!(
                    "an event names portal {}, but this connector is for portal {}",
                    other.portal, row.account
                )));
            }
            events
                .into_iter()
                .filter(|e| e.kind == "deal.creation" || e.kind == "deal.propertyChange" || e.kind == "deal.restore")
                .map(|e| NewEvent { key: format!("event:{}", e.id), crm_id: e.deal, deal: None })
                .collect()
        }
        Kind::Pipedrive => {
            let authorization = delivery.headers.get("authorization").map(String::as_str).unwrap_or("");
            let password = hook_secret(&row, keyring, "webhook password")?;
            crate::pipedrive::check_basic(authorization, &password).map_err(refused)?;
            let event = crate::pipedrive::parse_hook(body).map_err(refused)?;
            if event.company != row.account {
                return Err(HookError::Refused(format!(
                    "the webhook names company {}, but this connector is for company {}",
                    event.company, row.account
                )));
            }
            match (event.entity.as_str(), event.action.as_str()) {
                ("deal", "create" | "change" | "added" | "updated") => vec![NewEvent {
                    key: format!("{}@{}", event.deal_id, event.version),
                    crm_id: event.deal_id,
                    deal: event.deal.map(|d| serde_json::to_value(d).expect("a deal as JSON")),
                }],
                // A done activity, carried whole (a planned one is no touchpoint yet).
                ("activity", "create" | "change" | "added" | "updated") => event
                    .activity
                    .map(|a| NewEvent {
                        key: format!("{}@{}", a.id, event.version),
                        crm_id: a.id.clone(),
                        deal: Some(serde_json::to_value(crate::CrmItem::Activity(a)).expect("an activity as JSON")),
                    })
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            }
        }
    };
    if events.is_empty() {
        return Ok(0);
    }
    Ok(store::connectors::enqueue(pool, row.id, &events).await?)
}

fn refused(e: CrmError) -> HookError {
    match e {
        CrmError::Refused(why) => HookError::Refused(why),
        e => HookError::Refused(e.to_string()),
    }
}
