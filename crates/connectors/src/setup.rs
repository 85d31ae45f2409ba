//! What an admin does on `/connectors`. Only admins may (every function checks), and nothing
//! is stored before the CRM has answered.

use crate::apply::{apply, from_json, Versions};
use crate::model::{Kind, Seen, COUNT_LIMIT};
use crate::secret::{masked, Keyring};
use crate::{Crm, CrmError};
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use store::connectors::ConnectorRow;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("only admins manage CRM connectors")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Crm(#[from] CrmError),
    #[error("{0}")]
    Key(#[from] crate::secret::KeyError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn admin(me: &CurrentUser) -> Result<(), SetupError> {
    if me.role == Role::Admin {
        Ok(())
    } else {
        Err(SetupError::Forbidden)
    }
}

fn invalid(why: impl Into<String>) -> SetupError {
    SetupError::Invalid(why.into())
}

/// What the form gives: the CRM, its address, the token.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    pub kind: &'a str,
    /// amoCRM: the account's address. Bitrix24: may be empty (the webhook's portal is used).
    pub base_url: &'a str,
    /// amoCRM: the long-lived token. Bitrix24: the inbound webhook's address.
    pub token: &'a str,
}

fn portal(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

fn checked<'a>(access: &Access<'a>) -> Result<(Kind, String, &'a str), SetupError> {
    let kind = Kind::parse(access.kind).ok_or_else(|| invalid(format!("unknown CRM `{}`", access.kind)))?;
    let token = access.token.trim();
    let base = match kind {
        Kind::Bitrix24 => {
            let is_hook = (token.starts_with("https://") || token.starts_with("http://")) && token.contains("/rest/");
            if !is_hook {
                return Err(invalid(
                    "for Bitrix24 the token is the inbound webhook's address, like https://yourcompany.bitrix24.ru/rest/1/abc123/",
                ));
            }
            portal(token).unwrap_or_default()
        }
        Kind::AmoCrm | Kind::Pipedrive => access.base_url.trim().trim_end_matches('/').to_string(),
        Kind::HubSpot => match access.base_url.trim().trim_end_matches('/') {
            "" => "https://api.hubapi.com".to_string(),
            base => base.to_string(),
        },
    };
    let base = base.as_str();
    let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
    if !scheme_ok || base.len() < 10 || base.contains(char::is_whitespace) {
        return Err(invalid(format!(
            "the CRM's address `{base}` is not an http(s) address like https://example.amocrm.ru"
        )));
    }
    if token.is_empty() {
        return Err(invalid("the token is empty"));
    }
    Ok((kind, base.to_string(), token))
}

/// "Test": what the CRM shows this token (users, stages, deals changed since `since`, the
/// first ten deals), with nothing stored.
pub async fn preview(me: &CurrentUser, access: Access<'_>, since: DateTime<Utc>) -> Result<Seen, SetupError> {
    admin(me)?;
    let (kind, base, token) = checked(&access)?;
    let crm = Crm::new(kind, &base, token, 0);
    let account = crm.account().await?;
    let users = crm.users().await?;
    let stages = crm.stages().await?;
    let deals = crm.count(since).await?;
    let activities = crm.count_activities(since).await?;
    let (mut first, _) = crm.deals(since, None).await?;
    first.truncate(10);
    Ok(Seen { account, users, stages, deals: deals.min(COUNT_LIMIT), activities, first })
}

/// amoCRM's OAuth 2.0: exchanges the authorization code an integration shows (or its redirect
/// brought) for access and refresh tokens; what is returned is the connector's token for "Test"
/// and "Save" (the caller keeps it from the browser).
pub async fn authorize(
    me: &CurrentUser,
    base_url: &str,
    client_id: &str,
    client_secret: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<String, SetupError> {
    admin(me)?;
    let access = Access { kind: Kind::AmoCrm.name(), base_url, token: code };
    let (_, base, _) = checked(&access)?;
    for (what, value) in
        [("client id", client_id), ("client secret", client_secret), ("redirect address", redirect_uri)]
    {
        if value.trim().is_empty() {
            return Err(invalid(format!("the integration's {what} is empty")));
        }
    }
    let grant = crate::amocrm::Grant::Code(code);
    let oauth =
        crate::amocrm::OAuth::grant(&base, client_id.trim(), client_secret.trim(), redirect_uri.trim(), grant).await?;
    Ok(oauth.to_token())
}

/// Saves a connector once its CRM answers; its people are matched to users by email. Returns its id.
pub async fn create(
    pool: &PgPool,
    keyring: Option<&Keyring>,
    me: &CurrentUser,
    access: Access<'_>,
) -> Result<i64, SetupError> {
    admin(me)?;
    let keyring = keyring.ok_or(crate::secret::KeyError::Missing)?;
    let (kind, base, token) = checked(&access)?;
    let crm = Crm::new(kind, &base, token, 0);
    let account = crm.account().await?;
    let users = crm.users().await?;
    let stages = crm.stages().await?;
    let hook_key = hex::encode(rand::random::<[u8; 24]>());
    // Pipedrive's webhooks carry HTTP Basic credentials: a password of their own, sealed.
    let hook_secret = (kind == Kind::Pipedrive).then(|| keyring.seal(&hex::encode(rand::random::<[u8; 18]>())));
    let mut tx = pool.begin().await?;
    let new = store::connectors::NewConnector {
        kind: kind.name(),
        base_url: &base,
        secret: keyring.seal(token),
        hook_key: &hook_key,
        hook_secret,
        account: &account,
        by: &me.id,
    };
    let id = store::connectors::create(&mut tx, new)
        .await?
        .ok_or_else(|| invalid(format!("{} is connected already: delete that connector first", kind.title())))?;
    tx.commit().await?;
    store::connectors::upsert_people(pool, id, &crate::people(kind, users)).await?;
    store::connectors::set_stages(pool, id, &serde_json::to_value(&stages).expect("stages as JSON")).await?;
    keep_fields(pool, id, &crm).await?;
    tracing::info!(connector = id, kind = kind.name(), by = %me.id, "CRM connector saved");
    Ok(id)
}

/// Who a CRM user is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mapping {
    User(String),
    Ignore,
    /// A new rep with the CRM user's name and email, invited (the invite's token is returned).
    Invite,
}

/// Maps (or ignores, or invites) a CRM user; their waiting deals are stored at once. Returns
/// the invite's token when one was made.
pub async fn map_person(
    pool: &PgPool,
    me: &CurrentUser,
    connector: i64,
    crm_user: &str,
    mapping: Mapping,
) -> Result<Option<String>, SetupError> {
    admin(me)?;
    let row =
        store::connectors::by_id(pool, connector).await?.ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let kind = Kind::parse(&row.kind).ok_or_else(|| invalid("unknown CRM"))?;
    let person = store::connectors::people(pool, connector)
        .await?
        .into_iter()
        .find(|p| p.crm_user == crm_user)
        .ok_or_else(|| invalid(format!("the CRM has no user {crm_user}")))?;
    let (user, invite) = match mapping {
        Mapping::User(id) => {
            if store::users::find_active(pool, &id).await?.is_none() {
                return Err(invalid(format!("there is no active user `{id}`")));
            }
            (Some(id), None)
        }
        Mapping::Ignore => (None, None),
        Mapping::Invite => {
            let email = person
                .email
                .clone()
                .ok_or_else(|| invalid(format!("{} has no email in the CRM to invite", person.name)))?;
            let (id, token) = store::users::invite(pool, &me.id, &email, &person.name, Role::Rep, None)
                .await
                .map_err(|e| invalid(format!("{} cannot be invited: {e:?}", person.name)))?;
            (Some(id), Some(token))
        }
    };
    let mut tx = pool.begin().await?;
    store::connectors::set_person(&mut tx, connector, crm_user, user.as_deref()).await?;
    let waiting: Vec<_> =
        store::connectors::waiting(&mut tx, connector, crm_user).await?.iter().filter_map(from_json).collect();
    apply(pool, &mut tx, &row, kind, waiting, Versions::Replay).await?;
    tx.commit().await?;
    Ok(invite)
}

/// Overrides what one stage means here (`None`: the CRM's own meaning again); the deals in that
/// stage are stored again at once.
pub async fn set_stage(
    pool: &PgPool,
    me: &CurrentUser,
    connector: i64,
    stage: &str,
    outcome: Option<crate::Outcome>,
) -> Result<(), SetupError> {
    admin(me)?;
    let known =
        store::connectors::by_id(pool, connector).await?.ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let stages: Vec<crate::CrmStage> = serde_json::from_value(known.stages).unwrap_or_default();
    if !stages.iter().any(|s| s.key == stage) {
        return Err(invalid(format!("the CRM has no stage `{stage}`")));
    }
    let mut tx = pool.begin().await?;
    let row = store::connectors::set_stage(&mut tx, connector, stage, outcome.map(|o| o.name()))
        .await?
        .ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let kind = Kind::parse(&row.kind).ok_or_else(|| invalid("unknown CRM"))?;
    let deals: Vec<_> =
        store::connectors::in_stage(&mut tx, connector, stage).await?.iter().filter_map(from_json).collect();
    apply(pool, &mut tx, &row, kind, deals, Versions::Replay).await?;
    tx.commit().await?;
    Ok(())
}

/// Keeps the CRM's deal fields as it lists them now; a CRM that will not list them (a token
/// without that right) leaves the list as it was, and only the mapping waits for it.
pub async fn keep_fields(pool: &PgPool, id: i64, crm: &Crm) -> Result<(), sqlx::Error> {
    match crm.fields().await {
        Ok(fields) => {
            store::connectors::set_fields(pool, id, &serde_json::to_value(&fields).expect("fields as JSON")).await
        }
        Err(e) => {
            tracing::warn!(connector = id, error = %e, "the CRM's deal fields could not be read");
            Ok(())
        }
    }
}

/// Chooses which CRM deal fields give the records' customer, product and deal type (`None`:
/// none); every deal of the connector is stored again at once. A new deal-type field starts
/// with no value given a meaning.
pub async fn set_fields(
    pool: &PgPool,
    me: &CurrentUser,
    connector: i64,
    customer: Option<String>,
    product: Option<String>,
    deal_type: Option<String>,
) -> Result<(), SetupError> {
    admin(me)?;
    let row =
        store::connectors::by_id(pool, connector).await?.ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let known: Vec<crate::CrmField> = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    let chosen = |key: Option<String>, what: &str| -> Result<Option<String>, SetupError> {
        match key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty()) {
            None => Ok(None),
            Some(key) if known.iter().any(|f| f.key == key) => Ok(Some(key)),
            Some(key) => Err(invalid(format!("the CRM has no deal field `{key}` (for the {what})"))),
        }
    };
    let mut map = crate::apply::field_map(&row);
    let deal_type = chosen(deal_type, "deal type")?;
    if deal_type != map.deal_type {
        map.deal_types.clear();
    }
    map = crate::FieldMap {
        customer: chosen(customer, "customer")?,
        product: chosen(product, "product")?,
        deal_type,
        ..map
    };
    replay_deals(pool, connector, &map).await?;
    // And read every deal again: HubSpot sent them without a property nobody asked for, and deals
    // stored before fields were read have none.
    store::connectors::reread(pool, connector).await?;
    Ok(())
}

/// Gives one value of the mapped deal-type field a meaning (`None`: none, so the deal is `new`
/// unless the CRM says otherwise); every deal of the connector is stored again at once.
pub async fn set_deal_type(
    pool: &PgPool,
    me: &CurrentUser,
    connector: i64,
    value: &str,
    deal_type: Option<&str>,
) -> Result<(), SetupError> {
    admin(me)?;
    let row =
        store::connectors::by_id(pool, connector).await?.ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let mut map = crate::apply::field_map(&row);
    if map.deal_type.is_none() {
        return Err(invalid("choose the CRM's deal-type field first"));
    }
    match deal_type {
        Some(t) if crate::model::DEAL_TYPES.contains(&t) => {
            map.deal_types.insert(value.trim().to_string(), t.to_string())
        }
        Some(t) => return Err(invalid(format!("`{t}` is no deal type (new, upsell or cross_sell)"))),
        None => map.deal_types.remove(value.trim()),
    };
    replay_deals(pool, connector, &map).await
}

/// Saves `map` and stores every deal of the connector again with it, in one transaction.
async fn replay_deals(pool: &PgPool, connector: i64, map: &crate::FieldMap) -> Result<(), SetupError> {
    let mut tx = pool.begin().await?;
    let row = store::connectors::set_field_map(&mut tx, connector, &serde_json::to_value(map).expect("a map as JSON"))
        .await?
        .ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let kind = Kind::parse(&row.kind).ok_or_else(|| invalid("unknown CRM"))?;
    let deals: Vec<_> = store::connectors::deal_items(&mut tx, connector).await?.iter().filter_map(from_json).collect();
    apply(pool, &mut tx, &row, kind, deals, Versions::Replay).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts the backfill of the CRM's deals, done activities and leads changed since `from`.
pub async fn start_backfill(
    pool: &PgPool,
    keyring: Option<&Keyring>,
    me: &CurrentUser,
    connector: i64,
    from: DateTime<Utc>,
) -> Result<u64, SetupError> {
    admin(me)?;
    let keyring = keyring.ok_or(crate::secret::KeyError::Missing)?;
    let row =
        store::connectors::by_id(pool, connector).await?.ok_or_else(|| invalid(format!("no connector {connector}")))?;
    let (_, crm) = Crm::open_fresh(pool, &row, keyring).await.map_err(invalid)?;
    let total = crm.count(from).await? + crm.count_activities(from).await? + crm.count_leads(from).await?;
    store::connectors::start_backfill(pool, connector, from, total as i64).await?;
    Ok(total)
}

/// Keeps what the CRM marks its webhooks with: Bitrix24's application token (shown when the
/// outbound webhook is made, after this connector's webhook address exists).
pub async fn set_hook_secret(
    pool: &PgPool,
    keyring: Option<&Keyring>,
    me: &CurrentUser,
    connector: i64,
    secret: &str,
) -> Result<(), SetupError> {
    admin(me)?;
    let keyring = keyring.ok_or(crate::secret::KeyError::Missing)?;
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(invalid("the webhook token is empty"));
    }
    if !store::connectors::set_hook_secret(pool, connector, &keyring.seal(secret)).await? {
        return Err(invalid(format!("no connector {connector}")));
    }
    Ok(())
}

pub async fn retry(pool: &PgPool, me: &CurrentUser, connector: i64, event: i64) -> Result<(), SetupError> {
    admin(me)?;
    if !store::connectors::retry(pool, connector, event).await? {
        return Err(invalid(format!("no failed event {event}")));
    }
    Ok(())
}

pub async fn reconcile_now(pool: &PgPool, me: &CurrentUser, connector: i64) -> Result<(), SetupError> {
    admin(me)?;
    store::connectors::reconcile_now(pool, connector).await?;
    Ok(())
}

/// Deletes a connector. The records it brought stay (they are the team's history) unless
/// `remove_records`: then its deals and activities go with it, through the ingest path, so points,
/// badges' progress, the boards and the TVs follow. Returns how many records were removed.
pub async fn delete(pool: &PgPool, me: &CurrentUser, connector: i64, remove_records: bool) -> Result<u64, SetupError> {
    admin(me)?;
    let mut tx = pool.begin().await?;
    if !store::connectors::lock(&mut tx, connector).await? {
        return Err(invalid(format!("no connector {connector}")));
    }
    let mut removed = 0;
    if remove_records {
        let refs: Vec<domain::scoring::RecordRef> = store::connectors::stored_records(&mut tx, connector)
            .await?
            .into_iter()
            .map(|(id, kind)| domain::scoring::RecordRef { kind, id })
            .collect();
        removed = services::ingest::remove_in(&mut tx, &refs).await?.0;
    }
    store::connectors::delete(&mut tx, connector).await?;
    tx.commit().await?;
    tracing::info!(connector, by = %me.id, removed, "CRM connector deleted");
    Ok(removed)
}

/// A connector as its page shows it: never its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub id: i64,
    pub kind: Kind,
    pub base_url: String,
    /// The token's last four characters.
    pub token: String,
    /// The path to give the CRM as its webhook (the instance's address goes before it).
    pub hook_path: String,
    /// HTTP Basic credentials the CRM must send with its webhooks (Pipedrive), `user:password`.
    pub hook_credentials: Option<String>,
    pub account: String,
    /// Whether the CRM's webhook token is set (Bitrix24 needs one).
    pub hook_secret_set: bool,
    pub backfill_state: String,
    pub backfill_done: i64,
    pub backfill_total: Option<i64>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub events_last_hour: i64,
    pub waiting: i64,
    pub people: Vec<store::connectors::PersonRow>,
    /// The CRM's stages: (key, pipeline, name, the CRM's meaning, the override here).
    pub stages: Vec<(String, String, String, crate::Outcome, Option<crate::Outcome>)>,
    /// Failed deliveries: (id, CRM deal id, when received, why).
    pub failed: Vec<(i64, String, DateTime<Utc>, String)>,
    /// The CRM's deal fields an admin may map.
    pub fields: Vec<crate::CrmField>,
    pub field_map: crate::FieldMap,
    /// The deal-type field's values among the stored deals: (value, its label in the CRM, how
    /// many deals, the deal type it is given here).
    pub deal_type_values: Vec<(String, String, i64, Option<String>)>,
}

pub fn hook_path(kind: Kind, key: &str) -> String {
    format!("/api/v1/hooks/{}/{key}", kind.name())
}

/// The HTTP Basic credentials to give the CRM with the webhook (Pipedrive), as `user:password`.
pub fn hook_credentials(kind: Kind, password: Option<&str>) -> Option<String> {
    (kind == Kind::Pipedrive).then(|| format!("{}:{}", crate::pipedrive::HOOK_USER, password.unwrap_or("")))
}

/// Every connector's state, for admins.
pub async fn statuses(pool: &PgPool, keyring: Option<&Keyring>, me: &CurrentUser) -> Result<Vec<Status>, SetupError> {
    admin(me)?;
    let mut all = Vec::new();
    for row in store::connectors::all(pool).await? {
        all.push(status(pool, keyring, row).await?);
    }
    Ok(all)
}

async fn status(pool: &PgPool, keyring: Option<&Keyring>, row: ConnectorRow) -> Result<Status, SetupError> {
    let kind = Kind::parse(&row.kind).ok_or_else(|| invalid("unknown CRM"))?;
    let token = keyring
        .and_then(|k| k.open(&row.secret).ok())
        .map(|t| match crate::amocrm::OAuth::parse(&t) {
            Some(oauth) => format!("OAuth 2.0 · {}", masked(&oauth.access_token)),
            None => masked(t.trim_end_matches('/')),
        })
        .unwrap_or_else(|| "••••".into());
    let overrides = crate::apply::stage_map(&row);
    let stages = serde_json::from_value::<Vec<crate::CrmStage>>(row.stages.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let chosen = overrides.get(&s.key).copied();
            (s.key, s.pipeline, s.name, s.outcome, chosen)
        })
        .collect();
    let people = store::connectors::people(pool, row.id).await?;
    let fields: Vec<crate::CrmField> = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    let field_map = crate::apply::field_map(&row);
    let mut deal_type_values = Vec::new();
    if let Some(key) = &field_map.deal_type {
        let labels = fields.iter().find(|f| &f.key == key).map(|f| f.options.clone()).unwrap_or_default();
        for (value, deals) in store::connectors::field_values(pool, row.id, key).await? {
            let label = labels.get(&value).cloned().unwrap_or_else(|| value.clone());
            let chosen = field_map.deal_types.get(&value).cloned();
            deal_type_values.push((value, label, deals, chosen));
        }
    }
    let failed = store::connectors::failed(pool, row.id, 50)
        .await?
        .into_iter()
        .map(|e| (e.id, e.crm_id, e.received_at, e.reason.unwrap_or_default()))
        .collect();
    Ok(Status {
        id: row.id,
        kind,
        base_url: row.base_url,
        token,
        hook_path: hook_path(kind, &row.hook_key),
        hook_credentials: hook_credentials(
            kind,
            row.hook_secret.as_ref().and_then(|sealed| keyring.and_then(|k| k.open(sealed).ok())).as_deref(),
        ),
        account: row.account,
        hook_secret_set: row.hook_secret.is_some(),
        backfill_state: row.backfill_state,
        backfill_done: row.backfill_done,
        backfill_total: row.backfill_total,
        last_event_at: row.last_event_at,
        last_error: row.last_error,
        last_error_at: row.last_error_at,
        reconciled_at: row.reconciled_at,
        events_last_hour: store::connectors::last_hour(pool, row.id).await?,
        waiting: store::connectors::waiting_count(pool, row.id).await?,
        people,
        stages,
        failed,
        fields,
        field_map,
        deal_type_values,
    })
}
