//! Storing a batch of records: validate everything, then upsert per kind with
//! one set-based statement each, in the caller's transaction. SQL only: what
//! follows a stored batch (scores, badges, the TVs) is `services::ingest`'s.

use domain::records::scope::{self, Holder, Stored};
use domain::records::{check_batch, parse_batch, Existing, Kind, Record, RecordError};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} invalid records", .0.len())]
    Invalid(Vec<RecordError>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Reads and checks every record of a batch against what is stored; the
/// records when all are valid, else every error, in batch order.
pub async fn validate_batch(pool: &PgPool, values: &[Value]) -> Result<Vec<Record>, StoreError> {
    let (records, mut errors) = parse_batch(values);
    let existing = load_existing(pool, &records).await?;
    errors.extend(check_batch(&records, &existing));
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.index);
        return Err(StoreError::Invalid(errors));
    }
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

/// The stored ids and emails that the batch refers to.
async fn load_existing(pool: &PgPool, records: &[(usize, Record)]) -> Result<Existing, sqlx::Error> {
    let mut wanted: HashMap<Kind, HashSet<String>> = HashMap::new();
    let mut emails = Vec::new();
    for (_, record) in records {
        for (_, kind, id) in record.references() {
            wanted.entry(kind).or_default().insert(id.to_string());
        }
        if let Record::User(u) = record {
            emails.push(u.email.to_lowercase());
        }
    }
    let mut existing = Existing::default();
    for (kind, ids) in wanted {
        let ids: Vec<String> = ids.into_iter().collect();
        let sql = format!("SELECT id FROM {} WHERE id = ANY($1)", kind.table());
        let found: Vec<String> = sqlx::query_scalar(&sql).bind(&ids).fetch_all(pool).await?;
        existing.ids.insert(kind, found.into_iter().collect());
    }
    if !emails.is_empty() {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT lower(email), id FROM users WHERE lower(email) = ANY($1)")
                .bind(&emails)
                .fetch_all(pool)
                .await?;
        existing.emails = rows.into_iter().collect();
    }
    Ok(existing)
}

/// Upserts already-validated records, kind by kind in dependency order. When an
/// id repeats within the batch, its last version wins.
pub async fn upsert_records(tx: &mut Transaction<'_, Postgres>, records: &[Record]) -> Result<(), sqlx::Error> {
    let mut last: HashMap<(Kind, &str), usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        last.insert((r.kind(), r.id()), i);
    }
    let mut by_kind: HashMap<Kind, Vec<&Record>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if last[&(r.kind(), r.id())] == i {
            by_kind.entry(r.kind()).or_default().push(r);
        }
    }
    for kind in Kind::ALL {
        if let Some(batch) = by_kind.get(&kind) {
            upsert_kind(tx, kind, batch).await?;
        }
    }
    Ok(())
}

/// Collects one column per field and runs one `INSERT … SELECT FROM UNNEST(…)`.
macro_rules! columns {
    ($records:expr, $variant:ident, [$($field:ident),+]) => {{
        $( let mut $field = Vec::with_capacity($records.len()); )+
        for record in $records {
            if let Record::$variant(r) = record {
                $( $field.push(r.$field.clone()); )+
            }
        }
        ($($field),+)
    }};
}

async fn upsert_kind(tx: &mut Transaction<'_, Postgres>, kind: Kind, batch: &[&Record]) -> Result<(), sqlx::Error> {
    let conn = &mut **tx;
    match kind {
        Kind::Team => {
            let (id, name, region) = columns!(batch, Team, [id, name, region]);
            sqlx::query(
                "INSERT INTO teams (id, name, region) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, region = EXCLUDED.region, updated_at = arena_now()",
            )
            .bind(id)
            .bind(name)
            .bind(region)
            .execute(conn)
            .await?;
        }
        Kind::User => {
            let (id, name, email, role, team) = columns!(batch, User, [id, name, email, role, team]);
            sqlx::query(
                "INSERT INTO users (id, name, email, role, team_id)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
                   role = EXCLUDED.role, team_id = EXCLUDED.team_id, updated_at = arena_now()",
            )
            .bind(id)
            .bind(name)
            .bind(email)
            .bind(role)
            .bind(team)
            .execute(conn)
            .await?;
        }
        Kind::Product => {
            let (id, name, price) = columns!(batch, Product, [id, name, price]);
            sqlx::query(
                "INSERT INTO products (id, name, price) SELECT * FROM UNNEST($1::text[], $2::text[], $3::numeric[])
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, updated_at = arena_now()",
            )
            .bind(id)
            .bind(name)
            .bind(price)
            .execute(conn)
            .await?;
        }
        Kind::Customer => {
            let (id, name, region, owner, acquired_at, churned_at) =
                columns!(batch, Customer, [id, name, region, owner, acquired_at, churned_at]);
            sqlx::query(
                "INSERT INTO customers (id, name, region, owner_id, acquired_at, churned_at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
                 ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, region = EXCLUDED.region,
                   owner_id = EXCLUDED.owner_id, acquired_at = EXCLUDED.acquired_at,
                   churned_at = EXCLUDED.churned_at, updated_at = arena_now()",
            )
            .bind(id).bind(name).bind(region).bind(owner).bind(acquired_at).bind(churned_at)
            .execute(conn).await?;
        }
        Kind::Lead => {
            let (
                id,
                owner,
                created_at,
                source,
                cost,
                qualified_at,
                first_contact_at,
                followed_up_at,
                converted_at,
                customer,
            ) = columns!(
                batch,
                Lead,
                [
                    id,
                    owner,
                    created_at,
                    source,
                    cost,
                    qualified_at,
                    first_contact_at,
                    followed_up_at,
                    converted_at,
                    customer
                ]
            );
            sqlx::query(
                "INSERT INTO leads (id, owner_id, created_at, source, cost, qualified_at, first_contact_at,
                   followed_up_at, converted_at, customer_id)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::numeric[],
                   $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[])
                 ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, created_at = EXCLUDED.created_at,
                   source = EXCLUDED.source, cost = EXCLUDED.cost, qualified_at = EXCLUDED.qualified_at,
                   first_contact_at = EXCLUDED.first_contact_at, followed_up_at = EXCLUDED.followed_up_at,
                   converted_at = EXCLUDED.converted_at, customer_id = EXCLUDED.customer_id, updated_at = arena_now()",
            )
            .bind(id)
            .bind(owner)
            .bind(created_at)
            .bind(source)
            .bind(cost)
            .bind(qualified_at)
            .bind(first_contact_at)
            .bind(followed_up_at)
            .bind(converted_at)
            .bind(customer)
            .execute(conn)
            .await?;
        }
        Kind::Deal => {
            let (id, owner, customer, product, amount, deal_type, created_at, status, closed_at) =
                columns!(batch, Deal, [id, owner, customer, product, amount, deal_type, created_at, status, closed_at]);
            sqlx::query(
                "INSERT INTO deals (id, owner_id, customer_id, product_id, amount, deal_type, created_at, status, closed_at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[],
                   $7::timestamptz[], $8::text[], $9::timestamptz[])
                 ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, customer_id = EXCLUDED.customer_id,
                   product_id = EXCLUDED.product_id, amount = EXCLUDED.amount, deal_type = EXCLUDED.deal_type,
                   created_at = EXCLUDED.created_at, status = EXCLUDED.status, closed_at = EXCLUDED.closed_at,
                   updated_at = arena_now()",
            )
            .bind(id).bind(owner).bind(customer).bind(product).bind(amount).bind(deal_type)
            .bind(created_at).bind(status).bind(closed_at)
            .execute(conn).await?;
        }
        Kind::Activity => {
            let (id, owner, activity_type, at, customer, lead) =
                columns!(batch, Activity, [id, owner, activity_type, at, customer, lead]);
            sqlx::query(
                "INSERT INTO activities (id, owner_id, activity_type, at, customer_id, lead_id)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
                 ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, activity_type = EXCLUDED.activity_type,
                   at = EXCLUDED.at, customer_id = EXCLUDED.customer_id, lead_id = EXCLUDED.lead_id, updated_at = arena_now()",
            )
            .bind(id).bind(owner).bind(activity_type).bind(at).bind(customer).bind(lead)
            .execute(conn).await?;
        }
        Kind::MeetingRequest => {
            let (id, owner, proposed_at, outcome, customer, lead) =
                columns!(batch, MeetingRequest, [id, owner, proposed_at, outcome, customer, lead]);
            sqlx::query(
                "INSERT INTO meeting_requests (id, owner_id, proposed_at, outcome, customer_id, lead_id)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
                 ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, proposed_at = EXCLUDED.proposed_at,
                   outcome = EXCLUDED.outcome, customer_id = EXCLUDED.customer_id, lead_id = EXCLUDED.lead_id,
                   updated_at = arena_now()",
            )
            .bind(id)
            .bind(owner)
            .bind(proposed_at)
            .bind(outcome)
            .bind(customer)
            .bind(lead)
            .execute(conn)
            .await?;
        }
        Kind::Feedback => {
            let (id, owner, customer, at, sentiment) = columns!(batch, Feedback, [id, owner, customer, at, sentiment]);
            sqlx::query(
                "INSERT INTO feedback (id, owner_id, customer_id, at, sentiment)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
                 ON CONFLICT (id) DO UPDATE SET owner_id = EXCLUDED.owner_id, customer_id = EXCLUDED.customer_id,
                   at = EXCLUDED.at, sentiment = EXCLUDED.sentiment, updated_at = arena_now()",
            )
            .bind(id)
            .bind(owner)
            .bind(customer)
            .bind(at)
            .bind(sentiment)
            .execute(conn)
            .await?;
        }
        Kind::Cost => {
            let (id, at, category, amount, team) = columns!(batch, Cost, [id, at, category, amount, team]);
            sqlx::query(
                "INSERT INTO costs (id, at, category, amount, team_id)
                 SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::numeric[], $5::text[])
                 ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, category = EXCLUDED.category,
                   amount = EXCLUDED.amount, team_id = EXCLUDED.team_id, updated_at = arena_now()",
            )
            .bind(id)
            .bind(at)
            .bind(category)
            .bind(amount)
            .bind(team)
            .execute(conn)
            .await?;
        }
        Kind::CompetitorPrice => {
            let (id, competitor, product, price, at) =
                columns!(batch, CompetitorPrice, [id, competitor, product, price, at]);
            sqlx::query(
                "INSERT INTO competitor_prices (id, competitor, product_id, price, at)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[])
                 ON CONFLICT (id) DO UPDATE SET competitor = EXCLUDED.competitor, product_id = EXCLUDED.product_id,
                   price = EXCLUDED.price, at = EXCLUDED.at, updated_at = arena_now()",
            )
            .bind(id)
            .bind(competitor)
            .bind(product)
            .bind(price)
            .bind(at)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// A stored deal's (owner, amount, status), if there is one: the deal form asks
/// whether a deal it is about to log is one it logged already.
pub async fn deal_summary(
    pool: &sqlx::PgPool,
    id: &str,
) -> Result<Option<(String, rust_decimal::Decimal, String)>, sqlx::Error> {
    sqlx::query_as("SELECT owner_id, amount, status FROM deals WHERE id = $1").bind(id).fetch_optional(pool).await
}

/// What the team check of a manager's batch needs (`domain::records::scope`):
/// the teams of the users involved, who holds the stored versions of the
/// batch's records, and the owners of the customers ownerless feedback names.
pub async fn holders(pool: &PgPool, records: &[Record]) -> Result<Stored, sqlx::Error> {
    let mut stored = Stored::default();
    let mut by_kind: HashMap<Kind, Vec<String>> = HashMap::new();
    for r in records {
        by_kind.entry(r.kind()).or_default().push(r.id().to_string());
    }
    let mut users = scope::owners_named(records);
    for (kind, ids) in by_kind {
        let sql = match kind {
            Kind::Customer | Kind::Lead | Kind::Deal | Kind::Activity | Kind::MeetingRequest => {
                format!("SELECT id, owner_id FROM {} WHERE id = ANY($1)", kind.table())
            }
            Kind::Feedback => "SELECT f.id, coalesce(f.owner_id, c.owner_id) FROM feedback f
                               LEFT JOIN customers c ON c.id = f.customer_id WHERE f.id = ANY($1)"
                .to_string(),
            Kind::Cost => "SELECT id, team_id FROM costs WHERE id = ANY($1)".to_string(),
            _ => continue,
        };
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(&sql).bind(&ids).fetch_all(pool).await?;
        for (id, holder) in rows {
            let holder = if kind == Kind::Cost {
                Holder::Team(holder)
            } else {
                users.extend(holder.clone());
                Holder::Rep(holder)
            };
            stored.holders.insert((kind, id), holder);
        }
    }
    let customers = scope::customers_of_ownerless_feedback(records);
    if !customers.is_empty() {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, owner_id FROM customers WHERE id = ANY($1)")
            .bind(&customers)
            .fetch_all(pool)
            .await?;
        users.extend(rows.iter().map(|(_, owner)| owner.clone()));
        stored.customer_owners = rows.into_iter().collect();
    }
    users.sort();
    users.dedup();
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, team_id FROM users WHERE id = ANY($1)").bind(&users).fetch_all(pool).await?;
    stored.teams = rows.into_iter().collect();
    Ok(stored)
}

/// Deletes deals, activities and leads by id, with the deals' status history (activities and
/// meeting requests that named a deleted lead stay, without it); the number deleted. Only
/// `services::ingest::remove_in` calls it (it leaves the rescoring work).
pub async fn delete_in(
    conn: &mut sqlx::PgConnection,
    deals: &[String],
    activities: &[String],
    leads: &[String],
) -> Result<u64, sqlx::Error> {
    let mut removed = sqlx::query("DELETE FROM activities WHERE id = ANY($1)")
        .bind(activities)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    removed +=
        sqlx::query("DELETE FROM deals WHERE id = ANY($1)").bind(deals).execute(&mut *conn).await?.rows_affected();
    sqlx::query("DELETE FROM deal_status_log WHERE deal_id = ANY($1)").bind(deals).execute(&mut *conn).await?;
    for sql in [
        "UPDATE activities SET lead_id = NULL WHERE lead_id = ANY($1)",
        "UPDATE meeting_requests SET lead_id = NULL WHERE lead_id = ANY($1)",
    ] {
        sqlx::query(sql).bind(leads).execute(&mut *conn).await?;
    }
    removed +=
        sqlx::query("DELETE FROM leads WHERE id = ANY($1)").bind(leads).execute(&mut *conn).await?.rows_affected();
    Ok(removed)
}
