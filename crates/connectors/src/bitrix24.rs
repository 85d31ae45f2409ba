//! Bitrix24, cloud and on-premise, through an inbound webhook (REST) and outbound events.
//!
//! - Reads: `{webhook}crm.deal.list.json` (50 a page by `start`, filtered by `>=DATE_MODIFY`,
//!   in ID order; `total` says how many), `crm.deal.get.json`, `crm.activity.list.json`
//!   (completed, by `>=LAST_UPDATED`), `crm.lead.list.json` (by `>=DATE_MODIFY`), `user.get.json`,
//!   `crm.status.list.json` (the deal stages of every pipeline, `DEAL_STAGE` and
//!   `DEAL_STAGE_<n>`), `crm.dealcategory.list.json` (the pipelines' names). `{webhook}` is the
//!   inbound webhook's address, `https://<portal>/rest/<user id>/<token>/`: it is the secret.
//!   Budget: 2 requests/s; `QUERY_LIMIT_EXCEEDED` (HTTP 503) is waited out.
//! - Meaning: `STAGE_SEMANTIC_ID` `S` is won, `F` lost, `P` open. `OPPORTUNITY` is the amount,
//!   `ASSIGNED_BY_ID` the owner; a closed deal's `CLOSEDATE` is when it closed; a repeat
//!   customer's deal (`IS_RETURN_CUSTOMER` `Y`) is an upsell.
//! - Events: `ONCRMDEALADD`, `ONCRMDEALUPDATE`, and the same for activities (`ONCRMACTIVITY…`) and
//!   leads (`ONCRMLEAD…`) (form-encoded, `data[FIELDS][ID]` only), checked by
//!   `auth[application_token]` (shown by Bitrix24 when the outbound webhook is made) and
//!   `auth[domain]`. The deal itself is then read with `crm.deal.get`.

use crate::http::{Api, CrmError};
use crate::model::{
    json_text as text, CrmActivity, CrmDeal, CrmField, CrmLead, CrmStage, CrmUser, Outcome, COUNT_LIMIT,
};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

pub const PER_SECOND: u32 = 2;
const SELECT: &str = "select[]=ID&select[]=TITLE&select[]=OPPORTUNITY&select[]=ASSIGNED_BY_ID&select[]=STAGE_ID\
    &select[]=STAGE_SEMANTIC_ID&select[]=CATEGORY_ID&select[]=DATE_CREATE&select[]=DATE_MODIFY&select[]=CLOSEDATE&select[]=CLOSED&select[]=IS_RETURN_CUSTOMER\
    &select[]=UF_*&select[]=COMPANY_ID&select[]=CONTACT_ID&select[]=TYPE_ID&select[]=SOURCE_ID";
/// A deal's own fields an admin may map besides its custom (`UF_CRM_…`) ones.
const MAPPABLE: [&str; 4] = ["COMPANY_ID", "CONTACT_ID", "TYPE_ID", "SOURCE_ID"];

fn mappable(key: &str) -> bool {
    key.starts_with("UF_CRM_") || MAPPABLE.contains(&key)
}

/// A deal's mappable fields as text (a list's values joined with ", "; no company is `0`).
fn own_fields(json: &Value) -> BTreeMap<String, String> {
    json.as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| mappable(key))
        .filter_map(|(key, value)| {
            let value = match value {
                Value::Array(values) => values.iter().filter_map(text).collect::<Vec<_>>().join(", "),
                value => text(value)?,
            };
            (!value.is_empty() && value != "0").then(|| (key.clone(), value))
        })
        .collect()
}

const LEAD_SELECT: &str = "select[]=ID&select[]=ASSIGNED_BY_ID&select[]=DATE_CREATE&select[]=DATE_MODIFY\
    &select[]=SOURCE_ID&select[]=STATUS_SEMANTIC_ID&select[]=DATE_CLOSED";
const ACTIVITY_SELECT: &str =
    "select[]=ID&select[]=TYPE_ID&select[]=RESPONSIBLE_ID&select[]=START_TIME&select[]=END_TIME\
    &select[]=LAST_UPDATED&select[]=COMPLETED";

pub struct Bitrix {
    pub api: Api,
}

fn unexpected(what: &str) -> CrmError {
    CrmError::Unexpected(format!("Bitrix24 sent no {what}"))
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
}

fn outcome(semantic: &str) -> Outcome {
    match semantic {
        "S" | "success" => Outcome::Won,
        "F" | "failure" => Outcome::Lost,
        _ => Outcome::Open,
    }
}

/// A completed `crm.activity.list` activity as a done activity: `TYPE_ID` 1 is a meeting, 2 a
/// call, 4 an e-mail, 6 (a channel's: chats, SMS) a message, anything else (3, a task) `other`;
/// it took place at its `END_TIME` (else its `START_TIME`).
pub fn activity(json: &Value) -> Option<CrmActivity> {
    if json["COMPLETED"].as_str() != Some("Y") {
        return None;
    }
    let activity_type = match text(&json["TYPE_ID"]).as_deref() {
        Some("1") => "meeting",
        Some("2") => "call",
        Some("4") => "email",
        Some("6") => "message",
        _ => "other",
    };
    let modified_at = instant(&json["LAST_UPDATED"])?;
    Some(CrmActivity {
        id: format!("activity:{}", text(&json["ID"])?),
        owner: text(&json["RESPONSIBLE_ID"])?,
        activity_type: activity_type.to_string(),
        at: instant(&json["END_TIME"]).or_else(|| instant(&json["START_TIME"])).unwrap_or(modified_at),
        modified_at,
    })
}

/// A `crm.lead.list` lead: its source (`SOURCE_ID`), and, when `STATUS_SEMANTIC_ID` is `S`
/// (converted into a deal, contact or company), converted at `DATE_CLOSED` (else its last change).
pub fn lead(json: &Value) -> Option<CrmLead> {
    let modified_at = instant(&json["DATE_MODIFY"])?;
    let converted = json["STATUS_SEMANTIC_ID"].as_str() == Some("S");
    Some(CrmLead {
        id: format!("lead:{}", text(&json["ID"])?),
        owner: text(&json["ASSIGNED_BY_ID"])?,
        created_at: instant(&json["DATE_CREATE"])?,
        modified_at,
        source: text(&json["SOURCE_ID"]),
        converted_at: converted.then(|| instant(&json["DATE_CLOSED"]).unwrap_or(modified_at)),
    })
}

/// A `crm.deal.list`/`crm.deal.get` deal as a CRM deal.
pub fn deal(json: &Value) -> Option<CrmDeal> {
    let outcome = outcome(json["STAGE_SEMANTIC_ID"].as_str().unwrap_or("P"));
    let closed = json["CLOSED"].as_str() == Some("Y") && outcome != Outcome::Open;
    let amount = match &json["OPPORTUNITY"] {
        Value::Null => Decimal::ZERO,
        Value::String(s) if s.trim().is_empty() => Decimal::ZERO,
        value => text(value)?.trim().parse().ok()?,
    };
    Some(CrmDeal {
        id: text(&json["ID"])?,
        name: json["TITLE"].as_str().unwrap_or("").to_string(),
        owner: text(&json["ASSIGNED_BY_ID"])?,
        amount,
        stage: format!("{}:{}", text(&json["CATEGORY_ID"]).unwrap_or_else(|| "0".into()), text(&json["STAGE_ID"])?),
        outcome,
        created_at: instant(&json["DATE_CREATE"])?,
        modified_at: instant(&json["DATE_MODIFY"])?,
        closed_at: if closed { instant(&json["CLOSEDATE"]) } else { None },
        // A repeat customer's deal ("повторная сделка") sells more to a customer we have.
        deal_type: (json["IS_RETURN_CUSTOMER"].as_str() == Some("Y")).then(|| "upsell".to_string()),
        fields: own_fields(json),
    })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A REST answer's `result`, or the error Bitrix24 named.
fn result(json: Value) -> Result<Value, CrmError> {
    if let Some(error) = json["error"].as_str() {
        let description = json["error_description"].as_str().unwrap_or("");
        return Err(match error {
            "expired_token" | "invalid_token" | "NO_AUTH_FOUND" | "INVALID_CREDENTIALS" | "insufficient_scope" => {
                CrmError::Unauthorized(401)
            }
            _ => CrmError::Status(400, format!("{error}: {description}")),
        });
    }
    Ok(json)
}

impl Bitrix {
    /// `webhook`: the inbound webhook's address (`https://portal/rest/1/token/`).
    pub fn new(webhook: &str, connector: i64) -> Bitrix {
        let base = if webhook.ends_with('/') { webhook.to_string() } else { format!("{webhook}/") };
        Bitrix { api: Api::new(base.trim_end_matches('/'), crate::http::Auth::None, connector, PER_SECOND) }
    }

    async fn call(&self, method: &str, query: &str) -> Result<Value, CrmError> {
        let json = self.api.get(&format!("/{method}.json?{query}")).await?.ok_or_else(|| unexpected(method))?;
        result(json)
    }

    /// The portal's domain (what its events name), from the webhook's address.
    pub fn account(&self) -> Result<String, CrmError> {
        let rest = self.api.base.split("://").nth(1).ok_or_else(|| unexpected("portal address"))?;
        Ok(rest.split('/').next().unwrap_or("").to_string())
    }

    pub async fn check(&self) -> Result<String, CrmError> {
        self.call("profile", "").await?;
        self.account()
    }

    pub async fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let mut users = Vec::new();
        let mut start = Some(0u64);
        while let Some(at) = start {
            let json = self.call("user.get", &format!("start={at}")).await?;
            for user in json["result"].as_array().ok_or_else(|| unexpected("users"))? {
                let name =
                    format!("{} {}", user["NAME"].as_str().unwrap_or(""), user["LAST_NAME"].as_str().unwrap_or(""));
                users.push(CrmUser {
                    id: text(&user["ID"]).ok_or_else(|| unexpected("user ID"))?,
                    name: name.trim().to_string(),
                    email: user["EMAIL"].as_str().filter(|e| !e.is_empty()).map(str::to_string),
                });
            }
            start = json["next"].as_u64();
        }
        Ok(users)
    }

    pub async fn stages(&self) -> Result<Vec<CrmStage>, CrmError> {
        let categories = self.call("crm.dealcategory.list", "").await?;
        let mut names: BTreeMap<String, String> = BTreeMap::from([("0".to_string(), "—".to_string())]);
        for category in categories["result"].as_array().into_iter().flatten() {
            if let Some(id) = text(&category["ID"]) {
                names.insert(id, category["NAME"].as_str().unwrap_or("").to_string());
            }
        }
        let mut stages = Vec::new();
        let mut start = Some(0u64);
        while let Some(at) = start {
            let json = self.call("crm.status.list", &format!("start={at}")).await?;
            for status in json["result"].as_array().ok_or_else(|| unexpected("statuses"))? {
                let entity = status["ENTITY_ID"].as_str().unwrap_or("");
                let Some(category) = entity.strip_prefix("DEAL_STAGE") else { continue };
                let category = category.strip_prefix('_').filter(|c| !c.is_empty()).unwrap_or("0").to_string();
                let semantic =
                    status["SEMANTICS"].as_str().or_else(|| status["EXTRA"]["SEMANTICS"].as_str()).unwrap_or("P");
                let id = text(&status["STATUS_ID"]).ok_or_else(|| unexpected("STATUS_ID"))?;
                stages.push(CrmStage {
                    key: format!("{category}:{id}"),
                    pipeline: names.get(&category).cloned().unwrap_or_else(|| category.clone()),
                    name: status["NAME"].as_str().unwrap_or("").to_string(),
                    outcome: outcome(semantic),
                });
            }
            start = json["next"].as_u64();
        }
        Ok(stages)
    }

    fn since(since: DateTime<Utc>) -> String {
        format!("filter%5B%3E%3DDATE_MODIFY%5D={}", encode(&since.to_rfc3339_opts(SecondsFormat::Secs, false)))
    }

    /// One page (from offset `start`) of the deals modified at or after `since`, and the next offset.
    pub async fn deals_page(
        &self,
        since: DateTime<Utc>,
        start: u64,
    ) -> Result<(Vec<CrmDeal>, Option<u64>, u64), CrmError> {
        let query = format!("start={start}&{}&order%5BID%5D=ASC&{SELECT}", Self::since(since));
        let json = self.call("crm.deal.list", &query).await?;
        let deals = json["result"]
            .as_array()
            .ok_or_else(|| unexpected("deals"))?
            .iter()
            .map(|d| {
                deal(d).ok_or_else(|| CrmError::Unexpected(format!("deal {} lacks a field a deal needs", d["ID"])))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((deals, json["next"].as_u64(), json["total"].as_u64().unwrap_or(0)))
    }

    /// One page (from offset `start`) of the completed activities changed at or after `since`
    /// (`crm.activity.list`, in ID order), the next offset and the total.
    pub async fn activities_page(
        &self,
        since: DateTime<Utc>,
        start: u64,
    ) -> Result<(Vec<CrmActivity>, Option<u64>, u64), CrmError> {
        let since = encode(&since.to_rfc3339_opts(SecondsFormat::Secs, false));
        let query = format!(
            "start={start}&filter%5B%3E%3DLAST_UPDATED%5D={since}&filter%5BCOMPLETED%5D=Y&order%5BID%5D=ASC&{ACTIVITY_SELECT}"
        );
        let json = self.call("crm.activity.list", &query).await?;
        let activities =
            json["result"].as_array().ok_or_else(|| unexpected("activities"))?.iter().filter_map(activity).collect();
        Ok((activities, json["next"].as_u64(), json["total"].as_u64().unwrap_or(0)))
    }

    /// The deal fields an admin may map (`crm.deal.fields`): the custom ones, and the company,
    /// contact, type and source; a list field with its values' labels.
    pub async fn fields(&self) -> Result<Vec<CrmField>, CrmError> {
        let json = self.call("crm.deal.fields", "").await?;
        let all = json["result"].as_object().ok_or_else(|| unexpected("deal fields"))?;
        Ok(all
            .iter()
            .filter(|(key, _)| mappable(key))
            .map(|(key, field)| {
                let label = ["formLabel", "listLabel", "title"]
                    .iter()
                    .find_map(|l| field[*l].as_str().filter(|t| !t.is_empty()));
                CrmField {
                    key: key.clone(),
                    name: label.unwrap_or(key).to_string(),
                    options: field["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|item| Some((text(&item["ID"])?, item["VALUE"].as_str()?.to_string())))
                        .collect(),
                }
            })
            .collect())
    }

    /// One page (from offset `start`) of the leads changed at or after `since` (`crm.lead.list`,
    /// in ID order), the next offset and the total.
    pub async fn leads_page(
        &self,
        since: DateTime<Utc>,
        start: u64,
    ) -> Result<(Vec<CrmLead>, Option<u64>, u64), CrmError> {
        let query = format!("start={start}&{}&order%5BID%5D=ASC&{LEAD_SELECT}", Self::since(since));
        let json = self.call("crm.lead.list", &query).await?;
        let leads = json["result"].as_array().ok_or_else(|| unexpected("leads"))?.iter().filter_map(lead).collect();
        Ok((leads, json["next"].as_u64(), json["total"].as_u64().unwrap_or(0)))
    }

    pub async fn count(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        let (_, _, total) = self.deals_page(since, 0).await?;
        Ok(total.min(COUNT_LIMIT))
    }

    /// One activity (`crm.activity.get`), as a done activity (`None`: not completed, or gone).
    pub async fn activity(&self, id: &str) -> Result<Option<CrmActivity>, CrmError> {
        Ok(self.get("crm.activity.get", id).await?.and_then(|json| activity(&json)))
    }

    /// One lead (`crm.lead.get`).
    pub async fn lead(&self, id: &str) -> Result<Option<CrmLead>, CrmError> {
        Ok(self.get("crm.lead.get", id).await?.and_then(|json| lead(&json)))
    }

    /// One record by `method` (`crm.….get`): its `result`, `None` when Bitrix24 has no such one
    /// ("Not found" comes as an error with HTTP 400).
    async fn get(&self, method: &str, id: &str) -> Result<Option<Value>, CrmError> {
        match self.call(method, &format!("id={}", encode(id.trim()))).await {
            Ok(mut json) => Ok(Some(json["result"].take())),
            Err(CrmError::Status(400, why)) if why.to_lowercase().contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn deal(&self, id: &str) -> Result<Option<CrmDeal>, CrmError> {
        match self.call("crm.deal.get", &format!("id={}", encode(id.trim()))).await {
            Ok(json) => deal(&json["result"])
                .map(Some)
                .ok_or_else(|| CrmError::Unexpected(format!("deal {id} lacks a field a deal needs"))),
            // "Not found" comes as an error with HTTP 400.
            Err(CrmError::Status(400, why)) if why.to_lowercase().contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// An outbound event: (the event, the deal id, the portal's domain, the application token, its time).
pub struct Event {
    pub event: String,
    /// The id the event names (`data[FIELDS][ID]`): a deal's, an activity's or a lead's.
    pub deal: String,
    pub domain: String,
    pub token: String,
    pub ts: String,
}

pub fn parse_hook(body: &[u8]) -> Result<Event, CrmError> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        fields.insert(key.into_owned(), value.into_owned());
    }
    let get = |key: &str| fields.get(key).cloned().unwrap_or_default();
    let event = Event {
        event: get("event").to_uppercase(),
        deal: get("data[FIELDS][ID]"),
        domain: get("auth[domain]"),
        token: get("auth[application_token]"),
        ts: get("ts"),
    };
    if event.event.is_empty() || event.token.is_empty() {
        return Err(CrmError::Refused("it is not a Bitrix24 event (no `event` or `auth[application_token]`)".into()));
    }
    if event.event.starts_with("ONCRM") && event.deal.is_empty() {
        return Err(CrmError::Refused("it names no record (`data[FIELDS][ID]`)".into()));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_won_deal_is_read_with_its_close_date_and_stage_key() {
        let d = deal(&json!({"ID": "41", "TITLE": "Лицензии", "OPPORTUNITY": "1500.50", "ASSIGNED_BY_ID": "7",
            "STAGE_ID": "C2:WON", "STAGE_SEMANTIC_ID": "S", "CATEGORY_ID": "2", "CLOSED": "Y",
            "DATE_CREATE": "2026-11-01T10:00:00+03:00", "DATE_MODIFY": "2026-11-05T12:00:00+03:00",
            "CLOSEDATE": "2026-11-04T00:00:00+03:00"}))
        .unwrap();
        assert_eq!(
            (d.outcome, d.amount, d.stage.as_str(), d.owner.as_str()),
            (Outcome::Won, Decimal::new(150050, 2), "2:C2:WON", "7")
        );
        assert_eq!(d.deal_type, None, "not a repeat customer's: new");
        assert_eq!(d.closed_at.unwrap().to_rfc3339(), "2026-11-03T21:00:00+00:00");
        assert_eq!(d.modified_at.to_rfc3339(), "2026-11-05T09:00:00+00:00");
        let open = deal(&json!({"ID": 42, "OPPORTUNITY": "", "ASSIGNED_BY_ID": 7, "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P", "IS_RETURN_CUSTOMER": "Y",
            "CLOSED": "N", "DATE_CREATE": "2026-11-01T10:00:00+03:00", "DATE_MODIFY": "2026-11-01T10:00:00+03:00", "CLOSEDATE": "2026-12-01T00:00:00+03:00"}))
        .unwrap();
        assert_eq!(
            (open.outcome, open.amount, open.closed_at, open.stage.as_str()),
            (Outcome::Open, Decimal::ZERO, None, "0:NEW")
        );
        assert_eq!(open.deal_type.as_deref(), Some("upsell"), "a repeat customer's deal");
    }

    #[test]
    fn a_completed_activity_is_typed_and_placed_at_its_end_and_a_planned_one_is_none() {
        let call = activity(&json!({"ID": "61", "TYPE_ID": "2", "RESPONSIBLE_ID": "7", "COMPLETED": "Y",
            "START_TIME": "2026-11-10T10:30:00+03:00", "END_TIME": "2026-11-10T11:00:00+03:00",
            "LAST_UPDATED": "2026-11-10T11:05:00+03:00"}))
        .unwrap();
        assert_eq!(
            (call.id.as_str(), call.owner.as_str(), call.activity_type.as_str(), call.at.to_rfc3339()),
            ("activity:61", "7", "call", "2026-11-10T08:00:00+00:00".to_string())
        );
        let planned = json!({"ID": "64", "TYPE_ID": "2", "RESPONSIBLE_ID": "8", "COMPLETED": "N",
            "LAST_UPDATED": "2026-11-10T11:05:00+03:00"});
        assert_eq!(activity(&planned), None);
    }

    #[test]
    fn an_event_gives_the_deal_id_and_its_token() {
        let body = "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=41&ts=1795000000&auth%5Bdomain%5D=acme.bitrix24.ru\
            &auth%5Bapplication_token%5D=tok123&auth%5Bmember_id%5D=abc";
        let e = parse_hook(body.as_bytes()).unwrap();
        assert_eq!(
            (e.event.as_str(), e.deal.as_str(), e.domain.as_str(), e.token.as_str(), e.ts.as_str()),
            ("ONCRMDEALUPDATE", "41", "acme.bitrix24.ru", "tok123", "1795000000")
        );
        assert!(parse_hook(b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=41").is_err(), "no token: refused");
    }

    #[test]
    fn the_portal_is_the_webhooks_host_and_rest_errors_are_named() {
        let b = Bitrix::new("https://acme.bitrix24.ru/rest/1/s3cr3t/", 0);
        assert_eq!(b.account().unwrap(), "acme.bitrix24.ru");
        assert_eq!(
            result(json!({"error": "expired_token", "error_description": "The access token provided has expired"}))
                .unwrap_err(),
            CrmError::Unauthorized(401)
        );
        assert!(matches!(
            result(json!({"error": "ERROR_CORE", "error_description": "x"})),
            Err(CrmError::Status(400, _))
        ));
    }
}
