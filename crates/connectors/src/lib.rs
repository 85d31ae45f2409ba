//! CRM connectors: a CRM's deals and done activities (calls, meetings, …) become KPI Arena
//! `deal` and `activity` records through the one ingest path
//! (`services::ingest::store_in`), so points, badges, challenges and the TVs follow as they do
//! for any record.
//!
//! - `model`: what every CRM is read into, and a CRM deal as a record.
//! - `amocrm`: amoCRM / Kommo's API and webhooks.
//! - `http`: calls within a CRM's request budget, waiting out its rate-limit answers.
//! - `secret`: tokens sealed at rest under `KPI_ARENA_SECRET_KEY`.
//! - `apply`: CRM deals in, newest version only, owners mapped or waiting.
//! - `hooks`: a webhook checked and queued (the work is the runner's).
//! - `runner`: every instance's loop: queued webhooks, the backfill's next page, the reconcile.
//! - `setup`: what an admin does on `/connectors`: test, save, map, backfill, retry, delete.
//!
//! A CRM is an enum (`Crm`), not a trait object: each variant answers the same few questions
//! (who are your users, what are your stages, which deals changed since, this one deal). A
//! connector fed by a stream instead of webhooks (Salesforce's Change Data Capture) would be one
//! more variant whose runner step reads the stream instead of the queue.

pub mod amocrm;
pub mod apply;
pub mod bitrix24;
pub mod hooks;
pub mod http;
pub mod hubspot;
pub mod model;
pub mod pipedrive;
pub mod runner;
pub mod secret;
pub mod setup;

pub use http::CrmError;
pub use model::{
    CrmActivity, CrmDeal, CrmField, CrmItem, CrmStage, CrmUser, FieldMap, Kind, Mapping, Outcome, Seen, StageMap,
};
pub use runner::Runner;
pub use secret::Keyring;

use chrono::{DateTime, Utc};
use store::connectors::ConnectorRow;

/// A backfill or reconcile cursor in the activities (after every deal): `a:` and the CRM's own.
const ACTIVITIES: &str = "a:";
/// … in the leads (after every activity): `l:` and the CRM's own.
const LEADS: &str = "l:";

/// Refreshes connector `id`'s OAuth tokens if they are still due once it is locked; the
/// connector as it then is.
async fn refresh(pool: &sqlx::PgPool, id: i64, keyring: &Keyring) -> Result<ConnectorRow, String> {
    let db = |e: sqlx::Error| format!("refreshing the CRM's tokens failed: {e}");
    let mut tx = pool.begin().await.map_err(db)?;
    let mut row = store::connectors::locked(&mut tx, id).await.map_err(db)?.ok_or("the connector is gone")?;
    let token = keyring.open(&row.secret).map_err(|e| e.to_string())?;
    let Some(oauth) = amocrm::OAuth::parse(&token).filter(|o| o.due(domain::clock::now())) else { return Ok(row) };
    let grant = amocrm::Grant::Refresh(&oauth.refresh_token);
    let fresh = amocrm::OAuth::grant(&row.base_url, &oauth.client_id, &oauth.client_secret, &oauth.redirect_uri, grant)
        .await
        .map_err(|e| e.to_string())?;
    row.secret = keyring.seal(&fresh.to_token());
    store::connectors::set_secret(&mut tx, id, &row.secret).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    tracing::info!(connector = id, "the CRM's OAuth tokens refreshed");
    Ok(row)
}

/// The CRM's users as the connector's people. HubSpot allows a deal without an owner: those
/// wait under one more person, "no owner", whom an admin can map like anyone.
pub fn people(kind: Kind, users: Vec<CrmUser>) -> Vec<(String, String, Option<String>)> {
    let mut people: Vec<_> = users.into_iter().map(|u| (u.id, u.name, u.email)).collect();
    if kind == Kind::HubSpot {
        people.push((hubspot::NO_OWNER.to_string(), "— (no owner / без ответственного)".to_string(), None));
    }
    people
}

/// A connected CRM's API.
pub enum Crm {
    Amo(amocrm::Amo),
    Bitrix(bitrix24::Bitrix),
    HubSpot(hubspot::HubSpot),
    Pipedrive(pipedrive::Pipedrive),
}

impl Crm {
    /// The API of `kind` at `base` with `token` (Bitrix24: the inbound webhook's address is the
    /// token, `base` only names the portal); `connector` keys the request budget.
    pub fn new(kind: Kind, base: &str, token: &str, connector: i64) -> Crm {
        match kind {
            Kind::AmoCrm => Crm::Amo(amocrm::Amo::new(base, token, connector)),
            Kind::Bitrix24 => Crm::Bitrix(bitrix24::Bitrix::new(token, connector)),
            Kind::HubSpot => Crm::HubSpot(hubspot::HubSpot::new(base, token, connector)),
            Kind::Pipedrive => Crm::Pipedrive(pipedrive::Pipedrive::new(base, token, connector)),
        }
    }

    /// A saved connector's API, its token opened with `keyring`.
    pub fn open(row: &ConnectorRow, keyring: &Keyring) -> Result<(Kind, Crm), String> {
        let kind = Kind::parse(&row.kind).ok_or_else(|| format!("unknown CRM kind `{}`", row.kind))?;
        let token = keyring.open(&row.secret).map_err(|e| e.to_string())?;
        let mut crm = Crm::new(kind, &row.base_url, &token, row.id);
        if let Crm::HubSpot(hubspot) = &mut crm {
            // HubSpot sends only the properties asked for: the mapped ones too.
            let map = apply::field_map(row);
            hubspot.mapped = [map.customer, map.product, map.deal_type].into_iter().flatten().collect();
        }
        Ok((kind, crm))
    }

    /// A saved connector's API like `open`, its OAuth tokens refreshed first when they are about
    /// to expire (under a lock on the connector: the instance that refreshes keeps the new pair,
    /// the others see it).
    pub async fn open_fresh(pool: &sqlx::PgPool, row: &ConnectorRow, keyring: &Keyring) -> Result<(Kind, Crm), String> {
        let token = keyring.open(&row.secret).map_err(|e| e.to_string())?;
        match amocrm::OAuth::parse(&token) {
            Some(oauth) if oauth.due(domain::clock::now()) => match refresh(pool, row.id, keyring).await {
                Ok(fresh) => Crm::open(&fresh, keyring),
                // Not expired yet: carry on with it, and refresh at the next call.
                Err(why) if oauth.expires_at > domain::clock::now() => {
                    tracing::warn!(connector = row.id, error = %why, "the CRM's tokens could not be refreshed yet");
                    Crm::open(row, keyring)
                }
                Err(why) => Err(why),
            },
            _ => Crm::open(row, keyring),
        }
    }

    /// The account the token belongs to (what webhooks name).
    pub async fn account(&self) -> Result<String, CrmError> {
        match self {
            Crm::Amo(amo) => amo.account().await,
            Crm::Bitrix(bitrix) => bitrix.check().await,
            Crm::HubSpot(hubspot) => hubspot.account().await,
            Crm::Pipedrive(pipedrive) => pipedrive.account().await,
        }
    }

    pub async fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        match self {
            Crm::Amo(amo) => amo.users().await,
            Crm::Bitrix(bitrix) => bitrix.users().await,
            Crm::HubSpot(hubspot) => hubspot.users().await,
            Crm::Pipedrive(pipedrive) => pipedrive.users().await,
        }
    }

    /// The deal fields an admin may map to the record's customer, product and type.
    pub async fn fields(&self) -> Result<Vec<CrmField>, CrmError> {
        match self {
            Crm::Amo(amo) => amo.fields().await,
            Crm::Bitrix(bitrix) => bitrix.fields().await,
            Crm::HubSpot(hubspot) => hubspot.fields().await,
            Crm::Pipedrive(pipedrive) => pipedrive.fields().await,
        }
    }

    pub async fn stages(&self) -> Result<Vec<CrmStage>, CrmError> {
        match self {
            Crm::Amo(amo) => amo.stages().await,
            Crm::Bitrix(bitrix) => bitrix.stages().await,
            Crm::HubSpot(hubspot) => hubspot.stages().await,
            Crm::Pipedrive(pipedrive) => pipedrive.stages().await,
        }
    }

    /// The deals, then the done activities, changed at or after `since`: one page from `cursor`
    /// (`None`: the first), and the next page's cursor. A cursor `a:…` is in the activities; any
    /// other (a deals cursor, also one stored before activities were read) in the deals.
    pub async fn changed(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmItem>, Option<String>), CrmError> {
        let within =
            |prefix: &str| cursor.and_then(|c| c.strip_prefix(prefix)).map(|c| Some(c).filter(|c| !c.is_empty()));
        if let Some(at) = within(LEADS) {
            let (leads, next) = self.leads(since, at).await?;
            return Ok((leads.into_iter().map(CrmItem::Lead).collect(), next.map(|n| format!("{LEADS}{n}"))));
        }
        match within(ACTIVITIES) {
            Some(at) => {
                let (activities, next) = self.activities(since, at).await?;
                let next = Some(next.map_or_else(|| LEADS.to_string(), |n| format!("{ACTIVITIES}{n}")));
                Ok((activities.into_iter().map(CrmItem::Activity).collect(), next))
            }
            None => {
                let (deals, next) = self.deals(since, cursor).await?;
                Ok((
                    deals.into_iter().map(CrmItem::Deal).collect(),
                    Some(next.unwrap_or_else(|| ACTIVITIES.to_string())),
                ))
            }
        }
    }

    /// The done activities changed at or after `since`, a page from `cursor`, and the next cursor.
    pub async fn activities(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmActivity>, Option<String>), CrmError> {
        let page = match self {
            Crm::Amo(amo) => {
                let page = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                let (tasks, next) = amo.tasks_page(since, page).await?;
                Ok((tasks, next.map(|n| n.to_string())))
            }
            Crm::Bitrix(bitrix) => {
                let start = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                let (activities, next, _) = bitrix.activities_page(since, start).await?;
                Ok((activities, next.map(|n| n.to_string())))
            }
            Crm::HubSpot(hubspot) => hubspot.engagements_page(since, cursor).await,
            Crm::Pipedrive(pipedrive) => pipedrive.activities_page(since, cursor).await,
        };
        match page {
            // A token without access to activities still brings the deals.
            Err(CrmError::Unauthorized(403)) | Err(CrmError::Status(404, _)) => {
                tracing::warn!("the CRM token cannot read activities: only deals are brought");
                Ok((Vec::new(), None))
            }
            page => page,
        }
    }

    /// The leads changed at or after `since`, a page from `cursor`, and the next cursor. Only
    /// Bitrix24 has leads of their own (amoCRM's "leads" are its deals; HubSpot's and Pipedrive's
    /// are not read yet).
    pub async fn leads(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<model::CrmLead>, Option<String>), CrmError> {
        match self {
            Crm::Bitrix(bitrix) => {
                let start = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                match bitrix.leads_page(since, start).await {
                    Ok((leads, next, _)) => Ok((leads, next.map(|n| n.to_string()))),
                    // A webhook that may not read leads still brings the rest.
                    Err(CrmError::Unauthorized(403)) | Err(CrmError::Status(404, _)) => Ok((Vec::new(), None)),
                    Err(e) => Err(e),
                }
            }
            _ => Ok((Vec::new(), None)),
        }
    }

    /// How many leads changed at or after `since` (up to `model::COUNT_LIMIT`).
    pub async fn count_leads(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        match self {
            Crm::Bitrix(bitrix) => match bitrix.leads_page(since, 0).await {
                Ok((_, _, total)) => Ok(total.min(model::COUNT_LIMIT)),
                Err(CrmError::Unauthorized(403)) | Err(CrmError::Status(404, _)) => Ok(0),
                Err(e) => Err(e),
            },
            _ => Ok(0),
        }
    }

    /// How many done activities changed at or after `since` (up to `model::COUNT_LIMIT`).
    pub async fn count_activities(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        // Bitrix24's and HubSpot's lists say their total; the others' pages are walked.
        let total = match self {
            Crm::Bitrix(bitrix) => bitrix.activities_page(since, 0).await.map(|page| page.2),
            Crm::HubSpot(hubspot) => hubspot.count_engagements(since).await,
            _ => {
                let (mut count, mut cursor) = (0, None::<String>);
                loop {
                    // `activities` already reads a token without access to them as none.
                    let (page, next) = self.activities(since, cursor.as_deref()).await?;
                    count += page.len() as u64;
                    match next {
                        Some(next) if count < model::COUNT_LIMIT => cursor = Some(next),
                        _ => break Ok(count),
                    }
                }
            }
        };
        match total {
            Ok(total) => Ok(total.min(model::COUNT_LIMIT)),
            Err(CrmError::Unauthorized(403)) | Err(CrmError::Status(404, _)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// The deals changed at or after `since`, one page from `cursor` (`None`: the first), and
    /// the next page's cursor.
    pub async fn deals(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmDeal>, Option<String>), CrmError> {
        match self {
            Crm::Amo(amo) => {
                let page = cursor.and_then(|c| c.parse().ok()).unwrap_or(1);
                let (deals, next) = amo.deals_page(since, page).await?;
                Ok((deals, next.map(|n| n.to_string())))
            }
            Crm::Bitrix(bitrix) => {
                let start = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
                let (deals, next, _) = bitrix.deals_page(since, start).await?;
                Ok((deals, next.map(|n| n.to_string())))
            }
            Crm::HubSpot(hubspot) => {
                let (deals, next, _) = hubspot.deals_page(since, cursor).await?;
                Ok((deals, next))
            }
            Crm::Pipedrive(pipedrive) => pipedrive.deals_page(since, cursor).await,
        }
    }

    /// How many deals changed at or after `since` (up to `model::COUNT_LIMIT`).
    pub async fn count(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        match self {
            Crm::Amo(amo) => amo.count(since).await,
            Crm::Bitrix(bitrix) => bitrix.count(since).await,
            Crm::HubSpot(hubspot) => hubspot.count(since).await,
            Crm::Pipedrive(pipedrive) => pipedrive.count(since).await,
        }
    }

    /// One deal, `None` when the CRM no longer has it.
    pub async fn deal(&self, id: &str) -> Result<Option<CrmDeal>, CrmError> {
        match self {
            Crm::Amo(amo) => amo.deal(id).await,
            Crm::Bitrix(bitrix) => bitrix.deal(id).await,
            Crm::HubSpot(hubspot) => hubspot.deal(id).await,
            Crm::Pipedrive(pipedrive) => pipedrive.deal(id).await,
        }
    }

    /// One item by its key among the connector's items (a deal's CRM id, `activity:7`,
    /// `task:5`, `call:9`, `meeting:9`, `lead:3`); `None` when the CRM no longer has it, or it is
    /// an activity not done.
    pub async fn item(&self, id: &str) -> Result<Option<CrmItem>, CrmError> {
        let activity = |found: Option<CrmActivity>| found.map(CrmItem::Activity);
        match (self, id.split_once(':')) {
            (_, None) => Ok(self.deal(id).await?.map(CrmItem::Deal)),
            (Crm::Amo(amo), Some(("task", n))) => Ok(activity(amo.task(n).await?)),
            (Crm::Bitrix(bitrix), Some(("activity", n))) => Ok(activity(bitrix.activity(n).await?)),
            (Crm::Bitrix(bitrix), Some(("lead", n))) => Ok(bitrix.lead(n).await?.map(CrmItem::Lead)),
            (Crm::HubSpot(hubspot), Some((object @ ("call" | "meeting"), n))) => {
                Ok(activity(hubspot.engagement(object, n).await?))
            }
            (Crm::Pipedrive(pipedrive), Some(("activity", n))) => Ok(activity(pipedrive.activity(n).await?)),
            _ => Ok(None),
        }
    }
}
