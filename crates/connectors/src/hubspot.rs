//! HubSpot, through a private app's access token (`Authorization: Bearer pat-…`).
//!
//! - Reads: `/account-info/v3/details` (the portal id webhooks name), `/crm/v3/owners`,
//!   `/crm/v3/pipelines/deals`, `POST /crm/v3/objects/deals/search` (modified at or after a
//!   time, in id order, 100 a page, keyset by `hs_object_id`; `total` says how many) and
//!   `/crm/v3/objects/deals/{id}`; calls and meetings searched the same way
//!   (`/crm/v3/objects/calls/search`, `/crm/v3/objects/meetings/search`). Budget: 4 requests/s (the search API allows 5).
//! - Meaning: HubSpot's own `hs_is_closed_won` is won; closed and not won (`hs_is_closed`) is
//!   lost; anything else open. `amount` is the amount, `hubspot_owner_id` the owner, `closedate`
//!   when it closed; `dealtype` `newbusiness` is `new`, `existingbusiness` an `upsell`.
//! - Webhooks: a JSON array of events (`deal.creation`, `deal.propertyChange`), signed with
//!   signature v3: base64 of HMAC-SHA256 under the app's client secret of method, URI, body and
//!   `X-HubSpot-Request-Timestamp`, compared in constant time; a timestamp more than 5 minutes
//!   old is refused. Each event names a deal (`objectId`), which is then read from the API.

use crate::http::{Api, Auth, CrmError};
use crate::model::{json_text as text, CrmActivity, CrmDeal, CrmField, CrmStage, CrmUser, Outcome, COUNT_LIMIT};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const PER_SECOND: u32 = 4;
const PAGE: u32 = 100;
const PROPERTIES: [&str; 10] = [
    "dealtype",
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "hubspot_owner_id",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hs_is_closed_won",
];
/// The owner a deal without one waits under.
pub const NO_OWNER: &str = "none";
/// How old a signed webhook may be.
pub const MAX_AGE_MS: i64 = 5 * 60 * 1000;

pub struct HubSpot {
    pub api: Api,
    /// The deal properties an admin mapped (read besides `PROPERTIES`).
    pub mapped: Vec<String>,
}

/// What a deal is read with besides the mapped properties, and what HubSpot sends anyway.
const OWN: [&str; 3] = ["hs_is_closed", "hs_object_id", "hs_createdate"];

fn unexpected(what: &str) -> CrmError {
    CrmError::Unexpected(format!("HubSpot sent no {what}"))
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| text.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis))
}

/// A deal object (`{id, properties}`) as a CRM deal; `None` without an owner (HubSpot allows
/// one; it waits as "needs mapping" under the owner `none`) or a date.
pub fn deal(object: &Value) -> Option<CrmDeal> {
    let p = &object["properties"];
    let won = p["hs_is_closed_won"].as_str() == Some("true");
    let closed = p["hs_is_closed"].as_str() == Some("true");
    let outcome = if won {
        Outcome::Won
    } else if closed {
        Outcome::Lost
    } else {
        Outcome::Open
    };
    let amount = match text(&p["amount"]) {
        None => Decimal::ZERO,
        Some(a) => a.trim().parse::<Decimal>().ok()?.round_dp(2),
    };
    Some(CrmDeal {
        id: text(&object["id"])?,
        name: p["dealname"].as_str().unwrap_or("").to_string(),
        owner: text(&p["hubspot_owner_id"]).unwrap_or_else(|| NO_OWNER.into()),
        amount,
        stage: format!("{}:{}", p["pipeline"].as_str().unwrap_or("default"), p["dealstage"].as_str().unwrap_or("")),
        outcome,
        created_at: instant(&p["createdate"])?,
        modified_at: instant(&p["hs_lastmodifieddate"])?,
        closed_at: if outcome == Outcome::Open { None } else { instant(&p["closedate"]) },
        fields: p
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| !PROPERTIES.contains(&key.as_str()) && !OWN.contains(&key.as_str()))
            .filter_map(|(key, value)| Some((key.clone(), text(value)?)))
            .collect(),
        // HubSpot's own deal type: new business, or more business from an existing customer.
        deal_type: match p["dealtype"].as_str() {
            Some("newbusiness") => Some("new".to_string()),
            Some("existingbusiness") => Some("upsell".to_string()),
            _ => None,
        },
    })
}

/// A call (`calls`) or meeting (`meetings`) object as a done activity: a call whose
/// `hs_call_status` is `COMPLETED` (or unset), a meeting whose `hs_meeting_outcome` is
/// `COMPLETED` (or unset), at its `hs_timestamp`, which has come; one without an owner waits
/// under `none`.
pub fn engagement(object: &str, json: &Value) -> Option<CrmActivity> {
    let p = &json["properties"];
    let (status, activity_type) = match object {
        "calls" => (&p["hs_call_status"], "call"),
        _ => (&p["hs_meeting_outcome"], "meeting"),
    };
    if !matches!(status.as_str(), None | Some("") | Some("COMPLETED")) {
        return None;
    }
    let modified_at = instant(&p["hs_lastmodifieddate"])?;
    let at = instant(&p["hs_timestamp"]).unwrap_or(modified_at);
    if at > domain::clock::now() {
        return None;
    }
    Some(CrmActivity {
        id: format!("{activity_type}:{}", text(&json["id"])?),
        owner: text(&p["hubspot_owner_id"]).unwrap_or_else(|| NO_OWNER.into()),
        activity_type: activity_type.to_string(),
        at,
        modified_at,
    })
}

/// A CRM search for the objects modified at or after `since` whose id is above `after`, in id
/// order (keyset paging: the search's own `after` stops at 10,000 results), a page of `PAGE`;
/// with `alternatives`, those that also match one of them (HubSpot ORs filter groups).
fn search(since: DateTime<Utc>, after: Option<&str>, properties: &[&str], alternatives: &[Vec<Value>]) -> Value {
    let mut filters = vec![
        json!({"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since.timestamp_millis().to_string()}),
    ];
    if let Some(after) = after {
        filters.push(json!({"propertyName": "hs_object_id", "operator": "GT", "value": after}));
    }
    let groups: Vec<Value> = if alternatives.is_empty() {
        vec![json!({"filters": filters})]
    } else {
        alternatives
            .iter()
            .map(|more| {
                let both: Vec<Value> = filters.iter().chain(more).cloned().collect();
                json!({ "filters": both })
            })
            .collect()
    };
    json!({
        "filterGroups": groups,
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": properties,
        "limit": PAGE,
    })
}

impl HubSpot {
    pub fn new(base: &str, token: &str, connector: i64) -> HubSpot {
        HubSpot { api: Api::new(base, Auth::Bearer(token.to_string()), connector, PER_SECOND), mapped: Vec::new() }
    }

    /// The properties a deal is read with: ours, and the mapped ones.
    fn properties(&self) -> Vec<&str> {
        let mut properties: Vec<&str> = PROPERTIES.to_vec();
        properties.push("hs_is_closed");
        properties.extend(self.mapped.iter().map(String::as_str).filter(|m| !PROPERTIES.contains(m)));
        properties
    }

    /// The deal properties an admin may map (`/crm/v3/properties/deals`, the hidden ones left
    /// out), with a list property's values' labels.
    pub async fn fields(&self) -> Result<Vec<CrmField>, CrmError> {
        let json = self.api.get("/crm/v3/properties/deals").await?.ok_or_else(|| unexpected("deal properties"))?;
        let mut fields: Vec<CrmField> = json["results"]
            .as_array()
            .ok_or_else(|| unexpected("deal properties"))?
            .iter()
            .filter(|p| p["hidden"].as_bool() != Some(true))
            .filter_map(|p| {
                let key = p["name"].as_str()?;
                (!PROPERTIES.contains(&key) && !OWN.contains(&key)).then(|| CrmField {
                    key: key.to_string(),
                    name: p["label"].as_str().unwrap_or(key).to_string(),
                    options: p["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|o| Some((o["value"].as_str()?.to_string(), o["label"].as_str()?.to_string())))
                        .collect(),
                })
            })
            .collect();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(fields)
    }

    pub async fn account(&self) -> Result<String, CrmError> {
        let json = self.api.get("/account-info/v3/details").await?.ok_or_else(|| unexpected("account"))?;
        text(&json["portalId"]).ok_or_else(|| unexpected("portalId"))
    }

    pub async fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let mut users = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/crm/v3/owners?limit=100&after={a}"),
                None => "/crm/v3/owners?limit=100".into(),
            };
            let json = self.api.get(&path).await?.ok_or_else(|| unexpected("owners"))?;
            for owner in json["results"].as_array().ok_or_else(|| unexpected("owners"))? {
                let name = format!(
                    "{} {}",
                    owner["firstName"].as_str().unwrap_or(""),
                    owner["lastName"].as_str().unwrap_or("")
                );
                users.push(CrmUser {
                    id: text(&owner["id"]).ok_or_else(|| unexpected("owner id"))?,
                    name: name.trim().to_string(),
                    email: owner["email"].as_str().filter(|e| !e.is_empty()).map(str::to_string),
                });
            }
            after = json["paging"]["next"]["after"].as_str().map(str::to_string);
            if after.is_none() {
                break;
            }
        }
        Ok(users)
    }

    pub async fn stages(&self) -> Result<Vec<CrmStage>, CrmError> {
        let json = self.api.get("/crm/v3/pipelines/deals").await?.ok_or_else(|| unexpected("pipelines"))?;
        let mut stages = Vec::new();
        for pipeline in json["results"].as_array().ok_or_else(|| unexpected("pipelines"))? {
            let id = text(&pipeline["id"]).ok_or_else(|| unexpected("pipeline id"))?;
            for stage in pipeline["stages"].as_array().ok_or_else(|| unexpected("stages"))? {
                let closed = stage["metadata"]["isClosed"].as_str() == Some("true");
                let probability = stage["metadata"]["probability"].as_str().and_then(|p| p.parse::<f64>().ok());
                let outcome = match (closed, probability) {
                    (true, Some(p)) if p >= 1.0 => Outcome::Won,
                    (true, _) => Outcome::Lost,
                    _ => Outcome::Open,
                };
                stages.push(CrmStage {
                    key: format!("{id}:{}", text(&stage["id"]).ok_or_else(|| unexpected("stage id"))?),
                    pipeline: pipeline["label"].as_str().unwrap_or("").to_string(),
                    name: stage["label"].as_str().unwrap_or("").to_string(),
                    outcome,
                });
            }
        }
        Ok(stages)
    }

    /// One page of the deals modified at or after `since` whose id is above `after` (keyset
    /// paging in id order: the search's own `after` stops at 10,000 results); the next page's
    /// `after` (the page's last id), and the total.
    pub async fn deals_page(
        &self,
        since: DateTime<Utc>,
        after: Option<&str>,
    ) -> Result<(Vec<CrmDeal>, Option<String>, u64), CrmError> {
        let properties = self.properties();
        let search = search(since, after, &properties, &[]);
        let json = self.api.post("/crm/v3/objects/deals/search", &search).await?.ok_or_else(|| unexpected("deals"))?;
        let deals = json["results"]
            .as_array()
            .ok_or_else(|| unexpected("deals"))?
            .iter()
            .map(|d| deal(d).ok_or_else(|| CrmError::Unexpected(format!("deal {} lacks a date", d["id"]))))
            .collect::<Result<Vec<CrmDeal>, _>>()?;
        let more = !json["paging"]["next"].is_null();
        let next = if more { deals.last().map(|d| d.id.clone()) } else { None };
        Ok((deals, next, json["total"].as_u64().unwrap_or(0)))
    }

    /// One page of the calls, then the meetings, modified at or after `since` (each searched
    /// like the deals, in id order), and the next cursor: `calls:<after>`, `meetings:<after>`.
    pub async fn engagements_page(
        &self,
        since: DateTime<Utc>,
        cursor: Option<&str>,
    ) -> Result<(Vec<CrmActivity>, Option<String>), CrmError> {
        let (object, after) = match cursor.and_then(|c| c.split_once(':')) {
            Some((object, after)) if object == "meetings" || object == "calls" => {
                (object, Some(after).filter(|a| !a.is_empty()))
            }
            _ => ("calls", None),
        };
        let json = self.engagements(object, since, after).await?;
        let results = json["results"].as_array().ok_or_else(|| unexpected(object))?;
        let activities = results.iter().filter_map(|o| engagement(object, o)).collect();
        let last = results.last().and_then(|o| text(&o["id"]));
        let next = match (json["paging"]["next"].is_null(), last, object) {
            (false, Some(last), _) => Some(format!("{object}:{last}")),
            (_, _, "calls") => Some("meetings:".to_string()),
            _ => None,
        };
        Ok((activities, next))
    }

    /// A page of done `object`s (`calls`, `meetings`) modified at or after `since`, above `after`.
    async fn engagements(&self, object: &str, since: DateTime<Utc>, after: Option<&str>) -> Result<Value, CrmError> {
        let properties =
            ["hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate", "hs_call_status", "hs_meeting_outcome"];
        let status = if object == "calls" { "hs_call_status" } else { "hs_meeting_outcome" };
        let now = domain::clock::now().timestamp_millis().to_string();
        let done = vec![
            json!({"propertyName": status, "operator": "EQ", "value": "COMPLETED"}),
            json!({"propertyName": "hs_timestamp", "operator": "LTE", "value": now}),
        ];
        let unset = vec![
            json!({"propertyName": status, "operator": "NOT_HAS_PROPERTY"}),
            json!({"propertyName": "hs_timestamp", "operator": "LTE", "value": now}),
        ];
        let search = search(since, after, &properties, &[done, unset]);
        let path = format!("/crm/v3/objects/{object}/search");
        self.api.post(&path, &search).await?.ok_or_else(|| unexpected(object))
    }

    /// How many calls and meetings are done and modified at or after `since` (the searches' totals).
    pub async fn count_engagements(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        let mut count = 0;
        for object in ["calls", "meetings"] {
            count += self.engagements(object, since, None).await?["total"].as_u64().unwrap_or(0);
        }
        Ok(count.min(COUNT_LIMIT))
    }

    pub async fn count(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        Ok(self.deals_page(since, None).await?.2.min(COUNT_LIMIT))
    }

    /// One call (`call`) or meeting (`meeting`), as a done activity (`None`: not done, or gone).
    pub async fn engagement(&self, object: &str, id: &str) -> Result<Option<CrmActivity>, CrmError> {
        let objects = if object == "call" { "calls" } else { "meetings" };
        let properties = "hs_timestamp,hubspot_owner_id,hs_lastmodifieddate,hs_call_status,hs_meeting_outcome";
        match self.api.get(&format!("/crm/v3/objects/{objects}/{}?properties={properties}", id.trim())).await {
            Ok(json) => Ok(json.as_ref().and_then(|o| engagement(objects, o))),
            Err(CrmError::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn deal(&self, id: &str) -> Result<Option<CrmDeal>, CrmError> {
        let properties = self.properties();
        let path = format!("/crm/v3/objects/deals/{}?properties={}", id.trim(), properties.join(","));
        match self.api.get(&path).await {
            Ok(Some(json)) => {
                deal(&json).map(Some).ok_or_else(|| CrmError::Unexpected(format!("deal {id} lacks a date")))
            }
            Ok(None) | Err(CrmError::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Checks a webhook's signature v3: `signature` (base64) is HMAC-SHA256 under `secret` of
/// `method`, `uri`, `body` and `timestamp` (ms), which must be at most 5 minutes before `now_ms`.
pub fn verify(
    secret: &str,
    method: &str,
    uri: &str,
    body: &[u8],
    timestamp: &str,
    signature: &str,
    now_ms: i64,
) -> Result<(), CrmError> {
    let at: i64 = timestamp.trim().parse().map_err(|_| CrmError::Refused("no `X-HubSpot-Request-Timestamp`".into()))?;
    if now_ms - at > MAX_AGE_MS {
        return Err(CrmError::Refused("its timestamp is more than 5 minutes old".into()));
    }
    if at - now_ms > MAX_AGE_MS {
        return Err(CrmError::Refused("its timestamp is more than 5 minutes ahead".into()));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body);
    mac.update(timestamp.trim().as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        Ok(())
    } else {
        Err(CrmError::Refused("its signature (`X-HubSpot-Signature-v3`) does not match".into()))
    }
}

/// One event of a webhook delivery: (event id, portal, deal id, type).
pub struct Event {
    pub id: String,
    pub portal: String,
    pub deal: String,
    pub kind: String,
}

pub fn parse_hook(body: &[u8]) -> Result<Vec<Event>, CrmError> {
    let json: Value = serde_json::from_slice(body).map_err(|_| CrmError::Refused("the body is not JSON".into()))?;
    let events = json.as_array().ok_or_else(|| CrmError::Refused("the body is not an array of events".into()))?;
    events
        .iter()
        .map(|e| {
            Ok(Event {
                id: text(&e["eventId"]).ok_or_else(|| CrmError::Refused("an event has no `eventId`".into()))?,
                portal: text(&e["portalId"]).unwrap_or_default(),
                deal: text(&e["objectId"]).ok_or_else(|| CrmError::Refused("an event has no `objectId`".into()))?,
                kind: e["subscriptionType"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hubspots_own_deal_type_says_new_or_upsell_and_nothing_else_is_guessed() {
        let object = |dealtype: Option<&str>| {
            let mut o = json!({"id": "7", "properties": {"amount": "100", "hubspot_owner_id": "501",
                "createdate": "2026-11-01T10:00:00Z", "hs_lastmodifieddate": "2026-11-02T10:00:00Z"}});
            if let Some(t) = dealtype {
                o["properties"]["dealtype"] = json!(t);
            }
            o
        };
        let types: Vec<Option<String>> = [Some("newbusiness"), Some("existingbusiness"), Some("partner"), None]
            .map(|t| deal(&object(t)).unwrap().deal_type)
            .to_vec();
        assert_eq!(types, vec![Some("new".to_string()), Some("upsell".to_string()), None, None]);
    }

    #[test]
    fn a_signature_v3_is_checked_over_method_uri_body_and_timestamp() {
        let body = br#"[{"eventId":1,"objectId":7}]"#;
        let (uri, ts) = ("https://arena.example/api/v1/hooks/hubspot/abc", "1795000000000");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"client-secret").unwrap();
        mac.update(format!("POST{uri}{}{ts}", std::str::from_utf8(body).unwrap()).as_bytes());
        let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(verify("client-secret", "POST", uri, body, ts, &good, 1_795_000_060_000), Ok(()));
        assert!(verify("other-secret", "POST", uri, body, ts, &good, 1_795_000_060_000).is_err());
        assert!(verify("client-secret", "POST", uri, b"[]", ts, &good, 1_795_000_060_000).is_err(), "another body");
        let late = verify("client-secret", "POST", uri, body, ts, &good, 1_795_000_000_000 + MAX_AGE_MS + 1);
        assert!(late.unwrap_err().to_string().contains("5 minutes"));
        let ahead = verify("client-secret", "POST", uri, body, ts, &good, 1_795_000_000_000 - MAX_AGE_MS - 1);
        assert!(ahead.unwrap_err().to_string().contains("ahead"));
    }

    #[test]
    fn won_lost_and_open_come_from_hubspots_own_flags() {
        let object = |won: &str, closed: &str| {
            json!({"id": "88", "properties": {"dealname": "Pilot", "amount": "1200.5", "dealstage": "closedwon", "pipeline": "default",
                "hubspot_owner_id": "501", "createdate": "2026-11-01T09:00:00.000Z", "closedate": "2026-11-09T10:00:00Z",
                "hs_lastmodifieddate": "2026-11-09T10:00:05.120Z", "hs_is_closed_won": won, "hs_is_closed": closed}})
        };
        let won = deal(&object("true", "true")).unwrap();
        assert_eq!(
            (won.outcome, won.amount, won.owner.as_str(), won.stage.as_str()),
            (Outcome::Won, Decimal::new(12005, 1), "501", "default:closedwon")
        );
        assert_eq!(won.closed_at.unwrap().to_rfc3339(), "2026-11-09T10:00:00+00:00");
        assert_eq!(deal(&object("false", "true")).unwrap().outcome, Outcome::Lost);
        let open = deal(&object("false", "false")).unwrap();
        assert_eq!((open.outcome, open.closed_at), (Outcome::Open, None));
    }
}
