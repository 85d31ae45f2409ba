//! amoCRM and Kommo, API v4 (`https://<subdomain>.amocrm.ru`, `https://<subdomain>.kommo.com`).
//!
//! - Reads: `/api/v4/account`, `/api/v4/users`, `/api/v4/leads/pipelines`, `/api/v4/leads`
//!   (paged by 250, filtered by `updated_at`, in id order; an empty page is `204 No Content`),
//!   `/api/v4/leads/{id}`, `/api/v4/tasks` (completed, by `updated_at`, in id order: calls and
//!   meetings), with a long-lived token as `Authorization: Bearer`. Budget: 7 requests/s.
//! - Stages: status 142 is won and 143 is lost in every pipeline; every other status is open.
//! - Webhooks: `x-www-form-urlencoded` with bracketed keys (`leads[status][0][id]`,
//!   `account[id]`). amoCRM does not sign them: the webhook's address carries the connector's
//!   secret, and `account[id]` must be the connected account's.

use crate::http::{Api, CrmError};
use crate::model::{json_text, CrmActivity, CrmDeal, CrmField, CrmStage, CrmUser, Outcome, COUNT_LIMIT};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;

pub const WON: i64 = 142;
pub const LOST: i64 = 143;
const PAGE: u32 = 250;
pub const PER_SECOND: u32 = 7;

pub struct Amo {
    pub api: Api,
}

/// amoCRM's OAuth 2.0 tokens and what refreshes them: stored sealed as the connector's token
/// (`{"oauth": {…}}`) instead of a long-lived token.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OAuth {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Never the secret or the tokens.
impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    oauth: OAuth,
}

/// What an authorization is exchanged with: the code amoCRM gave (once, for 20 minutes), or the
/// refresh token of the last exchange (each is good once: the answer brings the next).
pub enum Grant<'a> {
    Code(&'a str),
    Refresh(&'a str),
}

/// Refreshed this long before the access token expires.
pub const REFRESH_AHEAD_MINUTES: i64 = 10;

impl OAuth {
    /// The tokens a connector's stored token holds, when it holds OAuth tokens.
    pub fn parse(token: &str) -> Option<OAuth> {
        serde_json::from_str::<Stored>(token).ok().map(|s| s.oauth)
    }

    /// As the connector's token (sealed by the caller).
    pub fn to_token(&self) -> String {
        serde_json::to_string(&Stored { oauth: self.clone() }).expect("tokens as JSON")
    }

    /// Whether the access token expires within `REFRESH_AHEAD_MINUTES` of `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - chrono::Duration::minutes(REFRESH_AHEAD_MINUTES) <= now
    }

    /// Exchanges `grant` at the account's `/oauth2/access_token` for a new pair of tokens.
    pub async fn grant(
        base: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        grant: Grant<'_>,
    ) -> Result<OAuth, CrmError> {
        let api = Api::new(base, crate::http::Auth::None, 0, PER_SECOND);
        let mut body =
            serde_json::json!({"client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri});
        let refusal = match grant {
            Grant::Code(_) => {
                "amoCRM refused the authorization (a code is good once, for 20 minutes; the client id, secret and \
                 redirect address must be the integration's)"
            }
            Grant::Refresh(_) => {
                "amoCRM refused to refresh the tokens (the integration was switched off, or its refresh token went \
                 unused for 3 months): delete the connector and connect it again"
            }
        };
        match grant {
            Grant::Code(code) => {
                body["grant_type"] = "authorization_code".into();
                body["code"] = code.trim().into();
            }
            Grant::Refresh(token) => {
                body["grant_type"] = "refresh_token".into();
                body["refresh_token"] = token.into();
            }
        }
        let json = match api.post("/oauth2/access_token", &body).await {
            Ok(json) => json.ok_or_else(|| unexpected("tokens"))?,
            Err(CrmError::Status(400, why)) => return Err(CrmError::Authorization(format!("{refusal}: {why}"))),
            Err(CrmError::Unauthorized(status)) => {
                return Err(CrmError::Authorization(format!("{refusal} (HTTP {status})")))
            }
            Err(e) => return Err(e),
        };
        let field = |name: &str| json[name].as_str().map(str::to_string).ok_or_else(|| unexpected(name));
        Ok(OAuth {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            redirect_uri: redirect_uri.to_string(),
            access_token: field("access_token")?,
            refresh_token: field("refresh_token")?,
            expires_at: domain::clock::now() + chrono::Duration::seconds(json["expires_in"].as_i64().unwrap_or(86_400)),
        })
    }
}

fn outcome(status: i64) -> Outcome {
    match status {
        WON => Outcome::Won,
        LOST => Outcome::Lost,
        _ => Outcome::Open,
    }
}

fn unexpected(what: &str) -> CrmError {
    CrmError::Unexpected(format!("amoCRM sent no {what}"))
}

fn embedded<'a>(json: &'a Value, what: &str) -> Result<&'a Vec<Value>, CrmError> {
    json["_embedded"][what].as_array().ok_or_else(|| unexpected(what))
}

/// A number amoCRM may send as a number or as a string (webhooks send strings).
fn int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    int(value).filter(|t| *t > 0).and_then(|t| DateTime::from_timestamp(t, 0))
}

fn amount(value: &Value) -> Option<Decimal> {
    match value {
        Value::Null => Some(Decimal::ZERO),
        Value::String(s) if s.trim().is_empty() => Some(Decimal::ZERO),
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// A lead (the API's JSON, or a webhook's fields) as a CRM deal; `None` when it lacks a field
/// a deal needs (a webhook then makes the runner read the lead from the API).
pub fn deal(lead: &Value) -> Option<CrmDeal> {
    let status = int(&lead["status_id"])?;
    let pipeline = int(&lead["pipeline_id"])?;
    let modified_at = instant(&lead["updated_at"]).or_else(|| instant(&lead["last_modified"]))?;
    Some(CrmDeal {
        id: int(&lead["id"])?.to_string(),
        name: lead["name"].as_str().unwrap_or("").to_string(),
        owner: int(&lead["responsible_user_id"])?.to_string(),
        amount: amount(&lead["price"])?,
        stage: format!("{pipeline}:{status}"),
        outcome: outcome(status),
        created_at: instant(&lead["created_at"]).or_else(|| instant(&lead["date_create"]))?,
        modified_at,
        closed_at: instant(&lead["closed_at"]),
        deal_type: None,
        fields: custom_fields(lead),
    })
}

/// A lead's custom fields (`custom_fields_values`: `field_id` and its values) as text by field id;
/// several values are joined with ", ".
fn custom_fields(lead: &Value) -> BTreeMap<String, String> {
    lead["custom_fields_values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| {
            let id = int(&field["field_id"])?;
            let values: Vec<String> =
                field["values"].as_array()?.iter().filter_map(|v| json_text(&v["value"])).collect();
            (!values.is_empty()).then(|| (id.to_string(), values.join(", ")))
        })
        .collect()
}

/// A completed task as a done activity, at its due time (`complete_till`: amoCRM keeps no
/// completion time, and its last change moves with any later edit); `None` when not completed.
pub fn task(json: &Value) -> Option<CrmActivity> {
    if json["is_completed"].as_bool() != Some(true) {
        return None;
    }
    let modified_at = instant(&json["updated_at"])?;
    let activity_type = match int(&json["task_type_id"]) {
        Some(1) => "call",
        Some(2) => "meeting",
        _ => "other",
    };
    Some(CrmActivity {
        id: format!("task:{}", int(&json["id"])?),
        owner: int(&json["responsible_user_id"])?.to_string(),
        activity_type: activity_type.to_string(),
        at: instant(&json["complete_till"]).unwrap_or(modified_at),
        modified_at,
    })
}

impl Amo {
    /// `token`: a long-lived token, or OAuth tokens (`OAuth::to_token`), whose access token is used.
    pub fn new(base: &str, token: &str, connector: i64) -> Amo {
        let bearer = OAuth::parse(token).map_or_else(|| token.to_string(), |oauth| oauth.access_token);
        Amo { api: Api::new(base, crate::http::Auth::Bearer(bearer), connector, PER_SECOND) }
    }

    /// The account's id (what its webhooks name).
    pub async fn account(&self) -> Result<String, CrmError> {
        let json = self.api.get("/api/v4/account").await?.ok_or_else(|| unexpected("account"))?;
        int(&json["id"]).map(|id| id.to_string()).ok_or_else(|| unexpected("account id"))
    }

    pub async fn users(&self) -> Result<Vec<CrmUser>, CrmError> {
        let mut users = Vec::new();
        for page in 1.. {
            let Some(json) = self.api.get(&format!("/api/v4/users?limit={PAGE}&page={page}")).await? else { break };
            for user in embedded(&json, "users")? {
                users.push(CrmUser {
                    id: int(&user["id"]).ok_or_else(|| unexpected("user id"))?.to_string(),
                    name: user["name"].as_str().unwrap_or("").to_string(),
                    email: user["email"].as_str().filter(|e| !e.is_empty()).map(str::to_string),
                });
            }
            if json["_links"]["next"].is_null() {
                break;
            }
        }
        Ok(users)
    }

    pub async fn stages(&self) -> Result<Vec<CrmStage>, CrmError> {
        let json = self.api.get("/api/v4/leads/pipelines").await?.ok_or_else(|| unexpected("pipelines"))?;
        let mut stages = Vec::new();
        for pipeline in embedded(&json, "pipelines")? {
            let id = int(&pipeline["id"]).ok_or_else(|| unexpected("pipeline id"))?;
            let name = pipeline["name"].as_str().unwrap_or("");
            for status in embedded(pipeline, "statuses")? {
                let status_id = int(&status["id"]).ok_or_else(|| unexpected("status id"))?;
                stages.push(CrmStage {
                    key: format!("{id}:{status_id}"),
                    pipeline: name.to_string(),
                    name: status["name"].as_str().unwrap_or("").to_string(),
                    outcome: outcome(status_id),
                });
            }
        }
        Ok(stages)
    }

    /// One page (from 1) of the leads modified at or after `since`, in id order, and the next
    /// page's number when there is one. In id order a lead changed while the pages are read
    /// keeps its place, so paging by position skips none (by modification time it would move
    /// to the end and shift the rest back).
    pub async fn deals_page(&self, since: DateTime<Utc>, page: u32) -> Result<(Vec<CrmDeal>, Option<u32>), CrmError> {
        let path = format!(
            "/api/v4/leads?limit={PAGE}&page={page}&filter%5Bupdated_at%5D%5Bfrom%5D={}&order%5Bid%5D=asc",
            since.timestamp()
        );
        let Some(json) = self.api.get(&path).await? else { return Ok((Vec::new(), None)) };
        let deals = embedded(&json, "leads")?
            .iter()
            .map(|lead| {
                deal(lead)
                    .ok_or_else(|| CrmError::Unexpected(format!("lead {} lacks a field a deal needs", lead["id"])))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = (!json["_links"]["next"].is_null() && !deals.is_empty()).then_some(page + 1);
        Ok((deals, next))
    }

    /// How many leads were modified since `since` (walking the pages, up to `COUNT_LIMIT`).
    pub async fn count(&self, since: DateTime<Utc>) -> Result<u64, CrmError> {
        let mut count = 0;
        let mut page = Some(1);
        while let Some(n) = page {
            let (deals, next) = self.deals_page(since, n).await?;
            count += deals.len() as u64;
            if count >= COUNT_LIMIT {
                break;
            }
            page = next;
        }
        Ok(count)
    }

    /// The leads' custom fields: what an admin may map to a deal's customer, product and type.
    pub async fn fields(&self) -> Result<Vec<CrmField>, CrmError> {
        let mut fields = Vec::new();
        for page in 1.. {
            let path = format!("/api/v4/leads/custom_fields?limit=50&page={page}");
            let Some(json) = self.api.get(&path).await? else { break };
            for field in embedded(&json, "custom_fields")? {
                fields.push(CrmField {
                    key: int(&field["id"]).ok_or_else(|| unexpected("custom field id"))?.to_string(),
                    name: field["name"].as_str().unwrap_or("").to_string(),
                    options: Default::default(),
                });
            }
            if json["_links"]["next"].is_null() {
                break;
            }
        }
        Ok(fields)
    }

    /// One page (from 1) of the completed tasks modified at or after `since`, in id order: a
    /// task of type 1 ("Связаться", follow up) is a call, of type 2 ("Встреча") a meeting, any
    /// other (an account's own types) `other`.
    pub async fn tasks_page(
        &self,
        since: DateTime<Utc>,
        page: u32,
    ) -> Result<(Vec<CrmActivity>, Option<u32>), CrmError> {
        let path = format!(
            "/api/v4/tasks?limit={PAGE}&page={page}&filter%5Bis_completed%5D=1&filter%5Bupdated_at%5D%5Bfrom%5D={}&order%5Bid%5D=asc",
            since.timestamp()
        );
        let Some(json) = self.api.get(&path).await? else { return Ok((Vec::new(), None)) };
        let tasks = embedded(&json, "tasks")?;
        let activities = tasks.iter().filter_map(task).collect();
        let next = (!json["_links"]["next"].is_null() && !tasks.is_empty()).then_some(page + 1);
        Ok((activities, next))
    }

    /// One task, as a done activity (`None`: not completed, or gone).
    pub async fn task(&self, id: &str) -> Result<Option<CrmActivity>, CrmError> {
        match self.api.get(&format!("/api/v4/tasks/{}", id.trim())).await {
            Ok(json) => Ok(json.as_ref().and_then(task)),
            Err(CrmError::Status(404, _)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn deal(&self, id: &str) -> Result<Option<CrmDeal>, CrmError> {
        let Some(json) = self.api.get(&format!("/api/v4/leads/{}", id.trim())).await.or_else(|e| match e {
            CrmError::Status(404, _) => Ok(None),
            e => Err(e),
        })?
        else {
            return Ok(None);
        };
        deal(&json).map(Some).ok_or_else(|| CrmError::Unexpected(format!("lead {id} lacks a field a deal needs")))
    }
}

/// One lead a webhook names.
#[derive(Debug, Clone, PartialEq)]
pub struct Hooked {
    pub crm_id: String,
    /// `add`, `update`, `status`, `responsible`, `delete`, …
    pub event: String,
    /// The deal when the webhook carried every field of one.
    pub deal: Option<CrmDeal>,
    /// The delivery's version: the lead's modification time, as the webhook gave it.
    pub version: String,
}

/// A webhook body: the account it names and the leads it carries.
pub fn parse_hook(body: &[u8]) -> Result<(String, Vec<Hooked>), CrmError> {
    let mut account = String::new();
    // (event, index) → field → value
    let mut leads: BTreeMap<(String, u32), serde_json::Map<String, Value>> = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        let parts: Vec<&str> = key.split(['[', ']']).filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            ["account", "id"] => account = value.to_string(),
            ["leads", event, index, field] => {
                let index = index.parse().map_err(|_| CrmError::Refused(format!("`{key}` has no index")))?;
                leads
                    .entry((event.to_string(), index))
                    .or_default()
                    .insert(field.to_string(), Value::String(value.into()));
            }
            // A custom field: `…[custom_fields][j][id]`, `…[custom_fields][j][values][k][value]`.
            ["leads", event, index, "custom_fields", field, rest @ ..] => {
                let index = index.parse().map_err(|_| CrmError::Refused(format!("`{key}` has no index")))?;
                let lead = leads.entry((event.to_string(), index)).or_default();
                let all = lead.entry("custom_fields_values").or_insert_with(|| Value::Object(Default::default()));
                let one = all
                    .as_object_mut()
                    .expect("custom fields as an object")
                    .entry(field.to_string())
                    .or_insert_with(|| serde_json::json!({"values": {}}));
                match rest {
                    ["id"] => one["field_id"] = Value::String(value.into()),
                    ["values", k, "value"] => {
                        one["values"][k.to_string()] = serde_json::json!({"value": value.to_string()});
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if account.is_empty() {
        return Err(CrmError::Refused("it names no account (`account[id]`)".into()));
    }
    let hooked = leads
        .into_iter()
        .filter_map(|((event, _), mut fields)| {
            // The custom fields as the API gives them: a list, each with a list of values.
            if let Some(Value::Object(custom)) = fields.remove("custom_fields_values") {
                let list: Vec<Value> = custom
                    .into_values()
                    .map(|mut f| {
                        let values: Vec<Value> =
                            f["values"].as_object().map(|v| v.values().cloned().collect()).unwrap_or_default();
                        f["values"] = Value::Array(values);
                        f
                    })
                    .collect();
                fields.insert("custom_fields_values".into(), Value::Array(list));
            }
            let lead = Value::Object(fields);
            let id = int(&lead["id"])?.to_string();
            let version = int(&lead["updated_at"]).or_else(|| int(&lead["last_modified"])).unwrap_or(0).to_string();
            Some(Hooked { crm_id: id, deal: if event == "delete" { None } else { deal(&lead) }, event, version })
        })
        .collect();
    Ok((account, hooked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_webhook_gives_the_lead_as_a_won_deal_and_its_account() {
        let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=501&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
            &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=1500\
            &leads%5Bstatus%5D%5B0%5D%5Bresponsible_user_id%5D=11&leads%5Bstatus%5D%5B0%5D%5Bupdated_at%5D=1764000000\
            &leads%5Bstatus%5D%5B0%5D%5Bcreated_at%5D=1763000000&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=3\
            &leads[update][0][id]=502&leads[update][0][name]=no+status&account%5Bid%5D=29000&account%5Bsubdomain%5D=acme";
        let (account, hooked) = parse_hook(body.as_bytes()).unwrap();
        assert_eq!(account, "29000");
        assert_eq!(hooked.len(), 2);
        let won = hooked.iter().find(|h| h.crm_id == "501").unwrap();
        let deal = won.deal.as_ref().unwrap();
        assert_eq!(
            (deal.outcome, deal.amount, deal.owner.as_str(), deal.stage.as_str()),
            (Outcome::Won, Decimal::new(1500, 0), "11", "7:142")
        );
        assert_eq!(deal.modified_at.timestamp(), 1_764_000_000);
        assert_eq!(won.version, "1764000000");
        let partial = hooked.iter().find(|h| h.crm_id == "502").unwrap();
        assert_eq!(partial.deal, None, "a lead lacking fields is read from the API");
    }

    #[test]
    fn a_webhook_naming_no_account_is_refused() {
        assert!(matches!(parse_hook(b"leads[add][0][id]=1"), Err(CrmError::Refused(_))));
    }
}
