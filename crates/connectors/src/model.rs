//! What every CRM is read into, and how a CRM deal becomes a KPI Arena `deal` record.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The CRMs KPI Arena connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// amoCRM, and Kommo (its international name): API v4.
    AmoCrm,
    /// Bitrix24, cloud or on-premise: an inbound webhook for REST, outbound events.
    Bitrix24,
    /// HubSpot: a private app's token, CRM v3, webhooks signed with signature v3.
    HubSpot,
    /// Pipedrive: an API token, API v2, webhooks v2 behind HTTP Basic credentials.
    Pipedrive,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::AmoCrm, Kind::Bitrix24, Kind::HubSpot, Kind::Pipedrive];

    pub fn name(self) -> &'static str {
        match self {
            Kind::AmoCrm => "amocrm",
            Kind::Bitrix24 => "bitrix24",
            Kind::HubSpot => "hubspot",
            Kind::Pipedrive => "pipedrive",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::AmoCrm => "amoCRM / Kommo",
            Kind::Bitrix24 => "Bitrix24",
            Kind::HubSpot => "HubSpot",
            Kind::Pipedrive => "Pipedrive",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == text)
    }

    /// Whether its webhooks are checked with a secret the admin enters after saving (Bitrix24's
    /// application token, HubSpot's client secret).
    pub fn needs_hook_secret(self) -> bool {
        matches!(self, Kind::Bitrix24 | Kind::HubSpot)
    }

    /// The record id a CRM deal gets here: `amocrm:12345`.
    pub fn record_id(self, crm_id: &str) -> String {
        format!("{}:{crm_id}", self.name())
    }
}

/// What a CRM stage means here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Open,
    Won,
    Lost,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Open, Outcome::Won, Outcome::Lost].into_iter().find(|o| o.name() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmUser {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// A stage of a pipeline, with the CRM's own meaning of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmStage {
    /// `pipeline:stage`, the key of the stage overrides.
    pub key: String,
    pub pipeline: String,
    pub name: String,
    pub outcome: Outcome,
}

/// A deal as the CRM has it, in the CRM's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmDeal {
    pub id: String,
    pub name: String,
    /// The CRM user responsible for it.
    pub owner: String,
    pub amount: Decimal,
    /// `pipeline:stage`.
    pub stage: String,
    /// The CRM's own meaning of the stage.
    pub outcome: Outcome,
    pub created_at: DateTime<Utc>,
    /// When the CRM last changed it: a version (an older one never replaces a newer).
    pub modified_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The record's `deal_type` (`new`, `upsell`, `cross_sell`) by the CRM's own field where it
    /// has one (HubSpot's `dealtype`, Bitrix24's repeat-customer mark); `None`: `new`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_type: Option<String>,
    /// The CRM's own fields of the deal (custom ones), as text by the CRM's key: what an admin
    /// may map to the record's `customer`, `product` and `deal_type` (`FieldMap`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// A CRM deal field an admin may map: its key in the CRM and its name there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmField {
    pub key: String,
    pub name: String,
    /// A list field's values and their labels, where the CRM sends the value, not the label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// The deal types a record takes.
pub const DEAL_TYPES: [&str; 3] = ["new", "upsell", "cross_sell"];

/// Which CRM deal fields give the record's `customer`, `product` and `deal_type`, and what each
/// value of the deal-type field means.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_type: Option<String>,
    /// The deal-type field's value in the CRM → `new`, `upsell` or `cross_sell`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deal_types: BTreeMap<String, String>,
}

/// How a deal becomes a record here: the admin's stage overrides and field mapping, and the
/// customers and products that exist here (a reference to any other is left out, so the deal
/// still counts).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub stages: StageMap,
    pub fields: FieldMap,
    pub customers: BTreeSet<String>,
    pub products: BTreeSet<String>,
}

impl Mapping {
    /// Only stage overrides (no fields mapped).
    pub fn stages(stages: StageMap) -> Mapping {
        Mapping { stages, ..Mapping::default() }
    }
}

/// The stage overrides an admin chose: `pipeline:stage` → outcome.
pub type StageMap = BTreeMap<String, Outcome>;

impl CrmDeal {
    /// The outcome here: the admin's override for its stage, else the CRM's.
    pub fn outcome_with(&self, overrides: &StageMap) -> Outcome {
        overrides.get(&self.stage).copied().unwrap_or(self.outcome)
    }

    /// The values of the mapped customer and product fields (what must exist here to be named).
    pub fn references(&self, fields: &FieldMap) -> (Option<&str>, Option<&str>) {
        let value = |key: &Option<String>| {
            key.as_ref().and_then(|k| self.fields.get(k)).map(|v| v.trim()).filter(|v| !v.is_empty())
        };
        (value(&fields.customer), value(&fields.product))
    }

    /// The `deal` record for the records API, owned by `owner` (a KPI Arena user id). A won or
    /// lost deal is closed when the CRM closed it, else when the CRM last changed it. Its type is
    /// the mapped field's meaning, else the CRM's own, else `new`.
    pub fn to_record(&self, kind: Kind, owner: &str, mapping: &Mapping) -> Value {
        let outcome = self.outcome_with(&mapping.stages);
        let mut record = json!({
            "kind": "deal",
            "id": kind.record_id(&self.id),
            "owner": owner,
            "amount": self.amount.to_string(),
            "created_at": rfc3339(self.created_at),
            "status": outcome.name(),
        });
        if outcome != Outcome::Open {
            record["closed_at"] = json!(rfc3339(self.closed_at.unwrap_or(self.modified_at)));
        }
        let mapped = mapping
            .fields
            .deal_type
            .as_ref()
            .and_then(|key| self.fields.get(key))
            .and_then(|value| mapping.fields.deal_types.get(value.trim()));
        if let Some(deal_type) = mapped.or(self.deal_type.as_ref()) {
            record["deal_type"] = json!(deal_type);
        }
        let (customer, product) = self.references(&mapping.fields);
        if let Some(customer) = customer.filter(|c| mapping.customers.contains(*c)) {
            record["customer"] = json!(customer);
        }
        if let Some(product) = product.filter(|p| mapping.products.contains(*p)) {
            record["product"] = json!(product);
        }
        record
    }
}

/// A done activity (a call made, a meeting held) as the CRM has it. Only done ones are read:
/// a planned call is no touchpoint yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmActivity {
    /// `<what>:<CRM id>` (`task:55` in amoCRM, `activity:7` in Bitrix24 and Pipedrive, `call:9`
    /// and `meeting:9` in HubSpot), so it never shares a key with a deal.
    pub id: String,
    pub owner: String,
    /// The record's `activity_type`: `call`, `email`, `meeting`, `demo`, `message` or `other`.
    pub activity_type: String,
    /// When it took place.
    pub at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

/// A lead (a prospect, before a deal) as the CRM has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmLead {
    /// `lead:<CRM id>`.
    pub id: String,
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When it was converted (into a deal, a contact or a company), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_at: Option<DateTime<Utc>>,
}

/// What a connector reads from a CRM: a deal, a done activity or a lead. Untagged, so the deals
/// stored before the others were read still read back as deals (a deal's JSON has `stage`, an
/// activity's `activity_type`, a lead's neither; they are tried in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CrmItem {
    Deal(CrmDeal),
    Activity(CrmActivity),
    Lead(CrmLead),
}

impl CrmItem {
    /// The key among the connector's items (a deal's CRM id, an activity's `<what>:<id>`).
    pub fn id(&self) -> &str {
        match self {
            CrmItem::Deal(deal) => &deal.id,
            CrmItem::Activity(activity) => &activity.id,
            CrmItem::Lead(lead) => &lead.id,
        }
    }

    pub fn owner(&self) -> &str {
        match self {
            CrmItem::Deal(deal) => &deal.owner,
            CrmItem::Activity(activity) => &activity.owner,
            CrmItem::Lead(lead) => &lead.owner,
        }
    }

    pub fn modified_at(&self) -> DateTime<Utc> {
        match self {
            CrmItem::Deal(deal) => deal.modified_at,
            CrmItem::Activity(activity) => activity.modified_at,
            CrmItem::Lead(lead) => lead.modified_at,
        }
    }

    /// The record kind it becomes.
    pub fn noun(&self) -> &'static str {
        match self {
            CrmItem::Deal(_) => "deal",
            CrmItem::Activity(_) => "activity",
            CrmItem::Lead(_) => "lead",
        }
    }

    /// Its texts (PostgreSQL's text and jsonb hold no NUL: the caller strips it).
    pub fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            CrmItem::Deal(d) => vec![&mut d.id, &mut d.name, &mut d.owner, &mut d.stage],
            CrmItem::Activity(a) => vec![&mut a.id, &mut a.owner, &mut a.activity_type],
            CrmItem::Lead(l) => [&mut l.id, &mut l.owner].into_iter().chain(l.source.as_mut()).collect(),
        }
    }

    /// The record for the records API, owned by `owner` (a KPI Arena user id).
    pub fn to_record(&self, kind: Kind, owner: &str, mapping: &Mapping) -> Value {
        match self {
            CrmItem::Deal(deal) => deal.to_record(kind, owner, mapping),
            CrmItem::Activity(a) => json!({
                "kind": "activity",
                "id": kind.record_id(&a.id),
                "owner": owner,
                "activity_type": a.activity_type,
                "at": rfc3339(a.at),
            }),
            CrmItem::Lead(l) => {
                let mut record = json!({
                    "kind": "lead",
                    "id": kind.record_id(&l.id),
                    "owner": owner,
                    "created_at": rfc3339(l.created_at),
                });
                if let Some(source) = &l.source {
                    record["source"] = json!(source);
                }
                if let Some(at) = l.converted_at {
                    record["converted_at"] = json!(rfc3339(at));
                }
                record
            }
        }
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What a CRM shows to a token: the "Test" button's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub account: String,
    pub users: Vec<CrmUser>,
    pub stages: Vec<CrmStage>,
    /// Deals modified since the chosen start (counted up to `COUNT_LIMIT`).
    pub deals: u64,
    /// Done activities (calls, meetings, …) changed since then (counted up to `COUNT_LIMIT`).
    pub activities: u64,
    pub first: Vec<CrmDeal>,
}

/// A JSON id or number as text (CRMs send ids as numbers or strings); `None` when absent or empty.
pub(crate) fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Counting deals stops here ("10000+").
pub const COUNT_LIMIT: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn deal(outcome: Outcome) -> CrmDeal {
        CrmDeal {
            id: "7".into(),
            name: "Big one".into(),
            owner: "100".into(),
            amount: Decimal::new(125050, 2),
            stage: "1:142".into(),
            outcome,
            created_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
            modified_at: Utc.with_ymd_and_hms(2026, 11, 20, 15, 30, 0).unwrap(),
            closed_at: None,
            deal_type: None,
            fields: BTreeMap::new(),
        }
    }

    #[test]
    fn a_won_deal_becomes_a_won_record_closed_when_the_crm_last_changed_it() {
        let record = deal(Outcome::Won).to_record(Kind::AmoCrm, "u1", &Mapping::default());
        assert_eq!(
            record,
            json!({"kind": "deal", "id": "amocrm:7", "owner": "u1", "amount": "1250.50",
                   "created_at": "2026-11-02T09:00:00Z", "status": "won", "closed_at": "2026-11-20T15:30:00Z"})
        );
    }

    #[test]
    fn an_activity_becomes_an_activity_record_and_stored_items_read_back_as_what_they_were() {
        let call = CrmActivity {
            id: "task:55".into(),
            owner: "100".into(),
            activity_type: "call".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 3, 10, 0, 0).unwrap(),
            modified_at: Utc.with_ymd_and_hms(2026, 11, 3, 10, 5, 0).unwrap(),
        };
        assert_eq!(
            CrmItem::Activity(call.clone()).to_record(Kind::AmoCrm, "u1", &Mapping::default()),
            json!({"kind": "activity", "id": "amocrm:task:55", "owner": "u1", "activity_type": "call",
                   "at": "2026-11-03T10:00:00Z"})
        );
        let lead = CrmLead {
            id: "lead:5".into(),
            owner: "100".into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap(),
            modified_at: Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap(),
            source: Some("WEB".into()),
            converted_at: Some(Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap()),
        };
        assert_eq!(
            CrmItem::Lead(lead.clone()).to_record(Kind::Bitrix24, "u1", &Mapping::default()),
            json!({"kind": "lead", "id": "bitrix24:lead:5", "owner": "u1", "created_at": "2026-11-01T09:00:00Z",
                   "source": "WEB", "converted_at": "2026-11-04T09:00:00Z"})
        );
        for item in [CrmItem::Activity(call), CrmItem::Deal(deal(Outcome::Won)), CrmItem::Lead(lead)] {
            let stored = serde_json::to_value(&item).unwrap();
            assert_eq!(serde_json::from_value::<CrmItem>(stored).unwrap(), item);
        }
    }

    #[test]
    fn mapped_fields_give_the_type_and_the_known_customer_and_product() {
        let mut d = deal(Outcome::Won);
        d.fields = BTreeMap::from([
            ("cf_type".to_string(), "Допродажа".to_string()),
            ("cf_inn".to_string(), " 7701 ".to_string()),
            ("cf_sku".to_string(), "SKU-9".to_string()),
        ]);
        let mut mapping = Mapping {
            fields: FieldMap {
                customer: Some("cf_inn".into()),
                product: Some("cf_sku".into()),
                deal_type: Some("cf_type".into()),
                deal_types: BTreeMap::from([("Допродажа".to_string(), "upsell".to_string())]),
            },
            customers: BTreeSet::from(["7701".to_string()]),
            ..Mapping::default()
        };
        let record = d.to_record(Kind::AmoCrm, "u1", &mapping);
        assert_eq!(
            (record["deal_type"].as_str(), record["customer"].as_str(), record.get("product")),
            (Some("upsell"), Some("7701"), None),
            "SKU-9 is no product here: left out, the deal still counts"
        );
        // A value the admin has not given a meaning: the CRM's own type, else none (new).
        d.fields.insert("cf_type".into(), "Другое".into());
        d.deal_type = Some("upsell".into());
        assert_eq!(d.to_record(Kind::AmoCrm, "u1", &mapping)["deal_type"], "upsell");
        d.deal_type = None;
        mapping.products.insert("SKU-9".into());
        let record = d.to_record(Kind::AmoCrm, "u1", &mapping);
        assert_eq!((record.get("deal_type"), record["product"].as_str()), (None, Some("SKU-9")));
    }

    #[test]
    fn an_open_deal_has_no_closed_at_and_an_override_wins_over_the_crm() {
        let open = deal(Outcome::Open).to_record(Kind::AmoCrm, "u1", &Mapping::default());
        assert_eq!(open["status"], "open");
        assert!(open.get("closed_at").is_none());
        let overrides = StageMap::from([("1:142".to_string(), Outcome::Lost)]);
        let mut closed = deal(Outcome::Won);
        closed.closed_at = Some(Utc.with_ymd_and_hms(2026, 11, 19, 0, 0, 0).unwrap());
        let record = closed.to_record(Kind::AmoCrm, "u1", &Mapping::stages(overrides));
        assert_eq!(
            (record["status"].as_str(), record["closed_at"].as_str()),
            (Some("lost"), Some("2026-11-19T00:00:00Z"))
        );
    }
}
