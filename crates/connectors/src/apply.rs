//! CRM deals and activities in: only an item's newest version counts (a delivery that arrives
//! late or twice changes nothing), an item whose CRM owner is not mapped waits visibly until it
//! is, and the rest are stored through `services::ingest::store_in` in the caller's transaction.

use crate::model::{CrmItem, FieldMap, Kind, Mapping, StageMap};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashMap;
use store::connectors::{ConnectorRow, Item};
use store::records::StoreError;

/// What became of a batch of CRM items.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub stored: usize,
    pub waiting: usize,
    /// Older than (or the same version as) what is stored: nothing changed.
    pub stale: usize,
    /// Items the records validation refused: (item id, why).
    pub rejected: Vec<(String, String)>,
    /// The JSON of each refused activity or lead, by id: those are not read back one by one, so
    /// a retry applies this again (a refused deal is read back from the CRM).
    pub refused_items: HashMap<String, Value>,
}

/// Whether a deal's stored version may be applied again (an owner was just mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    NewerOnly,
    Replay,
}

pub fn stage_map(row: &ConnectorRow) -> StageMap {
    serde_json::from_value(row.stage_map.clone()).unwrap_or_default()
}

pub fn field_map(row: &ConnectorRow) -> FieldMap {
    serde_json::from_value(row.field_map.clone()).unwrap_or_default()
}

/// How `items` of connector `row` become records: its stage overrides and field mapping, and
/// which of the customers and products their mapped fields name exist here.
async fn mapping(
    tx: &mut Transaction<'_, Postgres>,
    row: &ConnectorRow,
    items: &HashMap<String, CrmItem>,
) -> Result<Mapping, sqlx::Error> {
    let fields = field_map(row);
    let (mut customers, mut products) = (Vec::new(), Vec::new());
    for item in items.values() {
        if let CrmItem::Deal(deal) = item {
            let (customer, product) = deal.references(&fields);
            customers.extend(customer.map(str::to_string));
            products.extend(product.map(str::to_string));
        }
    }
    let (customers, products) = store::connectors::known(tx, &customers, &products).await?;
    Ok(Mapping {
        stages: stage_map(row),
        fields,
        customers: customers.into_iter().collect(),
        products: products.into_iter().collect(),
    })
}

/// Applies `items` of connector `row` in `tx` (the caller commits).
pub async fn apply(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    row: &ConnectorRow,
    kind: Kind,
    deals: Vec<CrmItem>,
    versions: Versions,
) -> Result<Applied, sqlx::Error> {
    let mut applied = Applied::default();
    // The newest version of each deal in the batch.
    let mut newest: HashMap<String, CrmItem> = HashMap::new();
    for deal in deals {
        match newest.get(deal.id()) {
            Some(kept) if kept.modified_at() >= deal.modified_at() => applied.stale += 1,
            _ => {
                if newest.insert(deal.id().to_string(), deal).is_some() {
                    applied.stale += 1;
                }
            }
        }
    }
    let mut ids: Vec<String> = newest.keys().cloned().collect();
    ids.sort();
    let stored = store::connectors::versions(tx, row.id, &ids).await?;
    let owners = store::connectors::owners(tx, row.id).await?;
    let mapping = mapping(tx, row, &newest).await?;
    // A change dated well after now is no CRM's: it would outrank every real version.
    let latest = domain::clock::now() + chrono::Duration::minutes(10);
    let mut items = Vec::new();
    let mut records: Vec<(String, Value)> = Vec::new();
    let mut nouns: HashMap<String, &'static str> = HashMap::new();
    for id in ids {
        let mut deal = newest.remove(&id).expect("an item per id");
        // PostgreSQL's text and jsonb hold no NUL.
        for text in deal.texts_mut() {
            text.retain(|c| c != '\0');
        }
        let modified_at = deal.modified_at();
        nouns.insert(deal.id().to_string(), deal.noun());
        let json = serde_json::to_value(&deal).expect("an item as JSON");
        if modified_at > latest {
            applied
                .rejected
                .push((deal.id().to_string(), format!("its modification time {modified_at} is in the future")));
            if !matches!(deal, CrmItem::Deal(_)) {
                applied.refused_items.insert(deal.id().to_string(), json);
            }
            continue;
        }
        // Older than what is stored, or this very version again: nothing changes.
        let seen = stored.get(&id).is_some_and(|(at, was)| *at > modified_at || (*at == modified_at && *was == json));
        if versions == Versions::NewerOnly && seen {
            applied.stale += 1;
            continue;
        }
        let (state, record_id) = match owners.get(deal.owner()) {
            Some((Some(user), _)) => {
                records.push((deal.id().to_string(), deal.to_record(kind, user, &mapping)));
                ("stored", Some(kind.record_id(deal.id())))
            }
            Some((None, true)) => ("ignored", None),
            _ => {
                applied.waiting += 1;
                ("needs_mapping", None)
            }
        };
        items.push(Item {
            crm_id: deal.id().to_string(),
            modified_at,
            crm_user: deal.owner().to_string(),
            deal: json,
            state,
            record_id,
        });
    }
    // Validated as the records API validates; a refused deal is left out and reported.
    let mut values: Vec<Value> = records.iter().map(|(_, v)| v.clone()).collect();
    let checked = loop {
        match store::records::validate_batch(pool, &values).await {
            Ok(checked) => break checked,
            Err(StoreError::Db(e)) => return Err(e),
            Err(StoreError::Invalid(errors)) => {
                let bad: std::collections::HashSet<usize> = errors.iter().map(|e| e.index).collect();
                for e in &errors {
                    let crm_id = records[e.index].0.clone();
                    applied.rejected.push((crm_id.clone(), e.message.clone()));
                    if let Some(item) = items.iter().find(|i| i.crm_id == crm_id && i.deal.get("stage").is_none()) {
                        applied.refused_items.insert(crm_id.clone(), item.deal.clone());
                    }
                    items.retain(|i| i.crm_id != crm_id);
                }
                let kept: Vec<(String, Value)> =
                    records.into_iter().enumerate().filter(|(i, _)| !bad.contains(i)).map(|(_, r)| r).collect();
                records = kept;
                values = records.iter().map(|(_, v)| v.clone()).collect();
            }
        }
    };
    // Only what was written (another instance may have stored a newer version meanwhile).
    let written = store::connectors::upsert_items(tx, row.id, &items).await?;
    let checked: Vec<_> = checked
        .into_iter()
        .zip(records.iter())
        .filter(|(_, (crm_id, _))| written.contains(crm_id))
        .map(|(record, _)| record)
        .collect();
    applied.stored = checked.len();
    // Deals as `stored` and `refused`, activities and leads under their own names.
    let mut results: HashMap<&'static str, u64> = HashMap::new();
    let stored = records.iter().map(|(id, _)| id).filter(|id| written.contains(*id)).map(|id| (id, true));
    for (id, stored) in stored.chain(applied.rejected.iter().map(|(id, _)| (id, false))) {
        let result = match (nouns.get(id.as_str()).copied(), stored) {
            (Some("activity"), true) => "activity_stored",
            (Some("activity"), false) => "activity_refused",
            (Some("lead"), true) => "lead_stored",
            (Some("lead"), false) => "lead_refused",
            (_, true) => "stored",
            (_, false) => "refused",
        };
        *results.entry(result).or_default() += 1;
    }
    results.insert("waiting", applied.waiting as u64);
    results.insert("stale", applied.stale as u64);
    for (result, n) in results {
        if n > 0 {
            metrics::counter!("kpi_arena_connector_deals_total", "kind" => kind.name(), "result" => result)
                .increment(n);
        }
    }
    if !checked.is_empty() {
        services::ingest::store_in(tx, &checked).await?;
        services::metrics::ingested(services::ingest::Source::Connector, &checked);
    }
    Ok(applied)
}

/// A stored item's JSON (an item's or an event's) as a CRM deal, activity or lead.
pub fn from_json(value: &Value) -> Option<CrmItem> {
    serde_json::from_value(value.clone()).ok()
}
