//! Pipedrive, through a personal API token (sent as the `x-api-token` header, never in an address).
//!
//! - Reads: `/api/v1/users/me` (the company webhooks name), `/api/v1/users`, `/api/v2/pipelines`,
//!   `/api/v2/stages`, `/api/v2/deals` (changed since a time, in id order, 100 a page by
//!   `cursor`), `/api/v2/deals/{id}` and `/api/v2/activities` (done ones, the same way). Budget: 8 requests/s; 429 is waited out.
//! - Meaning: the deal's own `status` (`open`, `won`, `lost`; `deleted` deals are left alone),
//!   `value` the amount, `owner_id` the owner, `won_time`/`lost_time` when it closed.
//! - Webhooks v2: JSON `{meta, data, previous}` for `deal` entities, protected by HTTP Basic
//!   credentials KPI Arena made (user `kpi-arena`, the connector's webhook secret as password),
//!   and `meta.company_id` must be the connected company.

use crate::http::{Api, Auth, CrmError};
use crate::model::{json_text as text, CrmActivity, CrmDeal, CrmField, CrmStage, CrmUser, Outcome, COUNT_LIMIT};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

pub const PER_SECOND: u32 = 8;
const PAGE: u32 = 100;
/// The HTTP Basic user name of Pipedrive's webhooks.
pub const HOOK_USER: &str = "kpi-arena";

pub struct Pipedrive {
    pub api: Api,
}

fn unexpected(what: &str) -> CrmError {
    CrmError::Unexpected(format!("Pipedrive sent no {what}"))
}

/// Pipedrive's times: RFC 3339 (API v2) or `2026-11-10 12:00:00` in UTC (API v1).
fn instant(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc()))
}

/// A deal (API v2, or a webhook's `data`) as a CRM deal; `None` for a deleted deal or one
/// lacking a field.
pub fn deal(json: &Value) -> Option<CrmDeal> {
    let outcome = match json["status"].as_str()? {
        "won" => Outcome::Won,
        "lost" => Outcome::Lost,
        "open" => Outcome::Open,
        _ => return None,
    };
    let amount = match &json["value"] {
        Value::Null => Decimal::ZERO,
        value => text(value)?.parse::<Decimal>().ok()?.round_dp(2),
    };
    let closed_at = match outcome {
        Outcome::Won => instant(&json["won_time"]).or_else(|| instant(&json["close_time"])),
        Outcome::Lost => instant(&json["lost_time"]).or_else(|| instant(&json["close_time"])),
        Outcome::Open => None,
    };
    let owner = text(&json["owner_id"]).or_else(|| text(&json["user_id"]))?;
    Some(CrmDeal {
        id: text(&json["id"])?,
        name: json["title"].as_str().unwrap_or("").to_string(),
        owner,
        amount,
        stage: format!(
            "{}:{}",
            text(&json["pipeline_id"]).unwrap_or_default(),
            text(&json["stage_id"]).unwrap_or_default()
        ),
        outcome,
        created_at: instant(&json["add_time"])?,
        modified_at: instant(&json["update_time"])?,
        closed_at,
        deal_type: None,
        fields: custom_fields(&json["custom_fields"]),
    })
}

/// A deal's custom fields (API v2 `custom_fields`: key → value) as text: a money or address
/// field's `value`, a multiple-option field's ids joined with ", ".
fn custom_fields(fields: &Value) -> BTreeMap<String, String> {
    fields
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let value = match value {
                Value::Object(inner) => text(inner.get("value")?)?,
                Value::Array(values) => values.iter().filter_map(text).collect::<Vec<_>>().join(", "),
                value => text(value)?,
            };
            (!value.is_empty()).then(|| (key.clone(), value))
        })
        .collect()
}

/// A done activity (API v2) as a done activity: its `type` when it is one of the record's
/// types (`call`, `meeting`, `email`, …; `lunch` is a meeting), else `other`; it took place at
/// its `due_date` and `due_time` (UTC), else when it was marked done.
pub fn activity(json: &Value) -> Option<CrmActivity> {
    if json["done"].as_bool() != Some(true) {
        return None;
    }
    let activity_type = match json["type"].as_str().unwrap_or("") {
        kind @ ("call" | "meeting" | "email" | "demo" | "message") => kind,
        "lunch" => "meeting",
        _ => "other",
    };
    let modified_at = instant(&json["update_time"])?;
    let due = json["due_date"].as_str().and_then(|day| {
        let time = json["due_time"].as_str().filter(|t| !t.is_empty()).unwrap_or("00:00");
        let time = if time.len() == 5 { format!("{time}:00") } else { time.to_string() };
        chrono::NaiveDateTime::parse_from_str(&format!("{day} {time}"), "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc())
    });
    Some(CrmActivity {
        id: format!("activity:{}", text(&json["id"])?),
        owner: text(&json["owner_id"]).or_else(|| text(&json["user_id"]))?,
        activity_type: activity_type.to_string(),
        at: due.or_else(|| instant(&json["marked_as_done_time"])).unwrap_or(modified_at),
        modified_at,
    })
}

/// `list` (a path ending in `?` or `&`) for what changed at or after `since`, in id order, a
/// page of `PAGE` from `cursor`.
fn changed(list: &str, since: DateTime<Utc>, cursor: Option<&str>) -> String {
    let since: String =
        form_urlencoded::byte_serialize(since.to_rfc3339_opts(SecondsFormat::Secs, true).as_bytes()).collect();
    let mut path = format!("{list}updated_since={since}&sort_by=id&sort_direction=asc&limit={PAGE}");
    if let Some(cursor) = cursor {
        path.push_str("&cursor=");
        path.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
    }
    path
}

impl Pipedrive {
    pub fn new(base: &str, token: &str, connector: i64) -> Pipedrive {
        Pipedrive { api: Api::new(base, Auth::Header("x-api-token", token.to_string()), connector, PER_SECOND) }
    }

    async fn data(&self, path: &str) -> Result<Value, CrmError> {
        let json = self.api.get(path).await?.ok_or_else(|| unexpected(path))?;
        if json["success"] == Value::Bool(false) {
            return Err(CrmError::Status(400, json["error"].as_str().unwrap_or("").to_string()));
        }
        Ok(json)
    }

    pub async fn account(&self) -> Result<String, CrmError> {
        let json = self.data("/api/v1/users/me").await?;
        text(&json["data"]["company_id"]).ok_or_else(|| unexpected("company_id"))
    }

    pub async fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let json = self.data("/api/v1/users").await?;
        json["data"]
            .as_array()
            .ok_or_else(|| unexpected("users"))?
            .iter()
            .map(|u| {
                Ok(CrmUser {
                    id: text(&u["id"]).ok_or_else(|| unexpected("user id"))?,
                    name: u["name"].as_str().unwrap_or("").to_string(),
                    email: u["email"].as_str().filter(|e| !e.is_empty()).map(str::to_string),
                })
            })
            .collect()
    }

    /// The deals' custom fields (`/api/v1/dealFields`, those an admin made: `edit_flag`), with
    /// an option field's options' labels (API v2 sends the option's id).
    pub async fn fields(&self) -> Result<Vec<CrmField>, CrmError> {
        let json = self.data("/api/v1/dealFields?limit=500").await?;
        Ok(json["data"]
            .as_array()
            .ok_or_else(|| unexpected("deal fields"))?
            .iter()
            .filter(|f| f["edit_flag"].as_bool() == Some(true))
            .filter_map(|f| {
                Some(CrmField {
                    key: f["key"].as_str()?.to_string(),
                    name: f["name"].as_str().unwrap_or("").to_string(),
                    options: f["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| Some((text(&o["id"])?, o["label"].as_str()?.to_string())))
                        .collect(),
                })
            })
            .collect())
    }

    pub async fn stages(&self) -> Result<Vec<CrmStage>, CrmError> {
        let pipelines = self.data("/api/v2/pipelines?limit=500").await?;
        let names: BTreeMap<String, String> = pipelines["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((text(&p["id"])?, p["name"].as_str().unwrap_or("").to_string())))
            .collect();
        let stages = self.data("/api/v2/stages?limit=500").await?;
        stages["data"]
            .as_array()
            .ok_or_else(|| unexpected("stages"))?
            .iter()
            .map(|s| {
                let pipeline = text(&s["pipeline_id"]).unwrap_or_default();
                Ok(CrmStage {
                    key: format!("{pipeline}:{}", text(&s["id"]).ok_or_else(|| unexpected("stage id"))?),
                    pipeline: names.get(&pipeline).cloned().unwrap_or(pipeline),
                    name: s["name"].as_str().unwrap_or("").to_string(),
                    // Won and lost are a deal's status in Pipedrive, not a stage.
                    outcome: Outcome::Open,
                })
            })
            .collect()
    }

    /// One page of the deals changed at or after `since`, in id order, and the next
    /// page's cursor. Deleted deals are left out.
    pub async fn deals_page(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmDeal>, Option<String>), CrmError> {
        let json = self.data(&changed("/api/v2/deals?", since, cursor)).await?;
        let deals = json["data"].as_array().ok_or_else(|| unexpected("deals"))?.iter().filter_map(deal).collect();
        Ok((deals, json["additional_data"]["next_cursor"].as_str().map(str::to_string)))
    }

    /// One page of the done activities changed at or after `since`, in id order, and the next
    /// page's cursor.
    pub async fn activities_page(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmActivity>, Option<String>), CrmError> {
        let json = self.data(&changed("/api/v2/activities?done=true&", since, cursor)).await?;
        let activities =
            json["data"].as_array().ok_or_else(|| unexpected("activities"))?.iter().filter_map(activity).collect();
        Ok((activities, json["additional_data"]["next_cursor"].as_str().map(str::to_string)))
    }

    pub async fn count(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        let mut count = 0;
        let mut cursor: Option<String> = None;
        loop {
            let (deals, next) = self.deals_page(since, cursor.as_deref()).await?;
            count += deals.len() as u64;
            match next {
                Some(next) if count < COUNT_LIMIT => cursor = Some(next),
                _ => return Ok(count.min(COUNT_LIMIT)),
            }
        }
    }

    /// One activity, as a done activity (`None`: not done, or gone).
    pub async fn activity(&self, id: &str) -> Result<Option<CrmActivity>, CrmError> {
        match self.data(&format!("/api/v2/activities/{}", id.trim())).await {
            Ok(json) => Ok(activity(&json["data"])),
            Err(CrmError::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn deal(&self, id: &str) -> Result<Option<CrmDeal>, CrmError> {
        match self.data(&format!("/api/v2/deals/{}", id.trim())).await {
            Ok(json) => Ok(deal(&json["data"])),
            Err(CrmError::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Checks a webhook's HTTP Basic credentials against `password` (the connector's webhook secret).
pub fn check_basic(authorization: &str, password: &str) -> Result<(), CrmError> {
    let refused = || CrmError::Refused("its HTTP Basic credentials are not this connector's".into());
    let encoded = authorization.trim().strip_prefix("Basic ").ok_or_else(refused)?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| refused())?;
    let expected = format!("{HOOK_USER}:{password}");
    if bool::from(decoded.as_slice().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// A webhook v2 delivery: (action, entity, deal id, company, the deal when it carries one, its version).
pub struct Event {
    pub action: String,
    pub entity: String,
    pub deal_id: String,
    pub company: String,
    pub deal: Option<CrmDeal>,
    /// The activity it carries, when it is a done one (`entity` `activity`).
    pub activity: Option<CrmActivity>,
    pub version: String,
}

pub fn parse_hook(body: &[u8]) -> Result<Event, CrmError> {
    let json: Value = serde_json::from_slice(body).map_err(|_| CrmError::Refused("the body is not JSON".into()))?;
    let meta = &json["meta"];
    let deal_id = text(&meta["entity_id"]).or_else(|| text(&json["data"]["id"]));
    Ok(Event {
        action: meta["action"].as_str().unwrap_or("").to_string(),
        entity: meta["entity"].as_str().unwrap_or("").to_string(),
        deal_id: deal_id.ok_or_else(|| CrmError::Refused("it names no deal (`meta.entity_id`)".into()))?,
        company: text(&meta["company_id"]).unwrap_or_default(),
        deal: deal(&json["data"]),
        activity: activity(&json["data"]),
        version: json["data"]["update_time"].as_str().or(meta["timestamp"].as_str()).unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_won_deal_closes_at_its_won_time_and_deleted_ones_are_left_alone() {
        let mut d = json!({"id": 31, "title": "Fleet", "owner_id": 5, "value": 990.5, "status": "won", "stage_id": 3, "pipeline_id": 1,
            "add_time": "2026-11-01T08:00:00Z", "update_time": "2026-11-09T10:00:00Z", "won_time": "2026-11-08T17:30:00Z"});
        let won = deal(&d).unwrap();
        assert_eq!(
            (won.outcome, won.amount, won.owner.as_str(), won.stage.as_str()),
            (Outcome::Won, Decimal::new(9905, 1), "5", "1:3")
        );
        assert_eq!(won.closed_at.unwrap().to_rfc3339(), "2026-11-08T17:30:00+00:00");
        d["status"] = json!("deleted");
        assert_eq!(deal(&d), None);
    }

    #[test]
    fn basic_credentials_are_the_connectors_own() {
        let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("kpi-arena:s3cret"));
        assert_eq!(check_basic(&good, "s3cret"), Ok(()));
        assert!(check_basic(&good, "other").is_err());
        assert!(check_basic("Bearer x", "s3cret").is_err());
    }
}
