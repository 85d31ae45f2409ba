//! Notifications: channels (their secret sealed by the caller), the moments the scoring worker
//! writes with the change they report, and the outbox of deliveries the sender works through.
//! Which moments are worth telling, and in which words, is decided above (`services::notify`,
//! `domain::notify`).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub team_id: Option<String>,
    /// A rep's own chat: their own news only.
    pub user_id: Option<String>,
    pub lang: String,
    pub names: String,
    pub secret: Vec<u8>,
    pub secret_hint: String,
    pub settings: Value,
    pub moments: Vec<String>,
    pub min_amount: Option<Decimal>,
    pub quiet_from: Option<i16>,
    pub quiet_to: Option<i16>,
    pub bind_code: Option<String>,
    pub next_send_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, kind, name, team_id, user_id, lang, names, secret, secret_hint, settings, moments, min_amount, \
    quiet_from, quiet_to, bind_code, next_send_at, last_error, last_error_at";

/// A channel's settings as its owner saves them.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    pub name: String,
    pub lang: String,
    pub names: String,
    pub moments: Vec<String>,
    pub min_amount: Option<Decimal>,
    pub quiet: Option<(i16, i16)>,
}

pub struct NewChannel<'a> {
    pub kind: &'a str,
    pub team_id: Option<&'a str>,
    /// A rep's own chat.
    pub user_id: Option<&'a str>,
    pub secret: Vec<u8>,
    pub secret_hint: String,
    pub settings: Value,
    pub bind_code: Option<String>,
    pub by: &'a str,
}

pub async fn insert(pool: &PgPool, new: &NewChannel<'_>, s: &ChannelSettings) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO notify_channels (kind, name, team_id, lang, names, secret, secret_hint, settings, moments,
           min_amount, quiet_from, quiet_to, bind_code, created_by, user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(new.kind)
    .bind(&s.name)
    .bind(new.team_id)
    .bind(&s.lang)
    .bind(&s.names)
    .bind(&new.secret)
    .bind(&new.secret_hint)
    .bind(&new.settings)
    .bind(&s.moments)
    .bind(s.min_amount)
    .bind(s.quiet.map(|q| q.0))
    .bind(s.quiet.map(|q| q.1))
    .bind(&new.bind_code)
    .bind(new.by)
    .bind(new.user_id)
    .fetch_one(pool)
    .await
}

/// Saves what the owner may change; the secret and the service stay. New quiet hours end a
/// wait for the old ones.
pub async fn update(pool: &PgPool, id: i64, s: &ChannelSettings) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE notify_channels SET name = $2, lang = $3, names = $4, moments = $5, min_amount = $6,
           quiet_from = $7, quiet_to = $8,
           next_send_at = CASE WHEN (quiet_from, quiet_to) IS DISTINCT FROM ($7, $8) THEN 'epoch' ELSE next_send_at END
         WHERE id = $1",
    )
    .bind(id)
    .bind(&s.name)
    .bind(&s.lang)
    .bind(&s.names)
    .bind(&s.moments)
    .bind(s.min_amount)
    .bind(s.quiet.map(|q| q.0))
    .bind(s.quiet.map(|q| q.1))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM notify_channels WHERE id = $1").bind(id).execute(pool).await?.rows_affected() == 1)
}

pub async fn find(pool: &PgPool, id: i64) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM notify_channels WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// The organisation's channels and every team's (`team` `None`), or one team's only; never a
/// rep's own chat.
pub async fn list(pool: &PgPool, team: Option<&str>) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notify_channels WHERE user_id IS NULL AND ($1::text IS NULL OR team_id = $1)
         ORDER BY team_id NULLS FIRST, id"
    ))
    .bind(team)
    .fetch_all(pool)
    .await
}

/// A rep's own chat, if they have one.
pub async fn personal(pool: &PgPool, user: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM notify_channels WHERE user_id = $1"))
        .bind(user)
        .fetch_optional(pool)
        .await
}

/// Deletes every rep's own chat (their organisation bot is gone).
pub async fn delete_personal(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM notify_channels WHERE user_id IS NOT NULL").execute(pool).await?.rows_affected())
}

/// Gives a rep's own chat the organisation bot's current token and address.
pub async fn refresh_bot(
    pool: &PgPool,
    id: i64,
    secret: &[u8],
    hint: &str,
    settings: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notify_channels SET secret = $2, secret_hint = $3, settings = settings || $4 WHERE id = $1")
        .bind(id)
        .bind(secret)
        .bind(hint)
        .bind(settings)
        .execute(pool)
        .await?;
    Ok(())
}

/// The organisation's Telegram bot: the oldest organisation-wide Telegram channel's.
pub async fn org_bot(pool: &PgPool) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notify_channels WHERE kind = 'telegram' AND team_id IS NULL AND user_id IS NULL ORDER BY id LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
}

/// Telegram channels waiting for their chat (`/start CODE`).
pub async fn waiting_for_chat(pool: &PgPool) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM notify_channels WHERE bind_code IS NOT NULL ORDER BY id"))
        .fetch_all(pool)
        .await
}

/// Merges `settings` into the channel's (a bound chat, an update offset); `bound` ends the wait for a chat.
pub async fn merge_settings(pool: &PgPool, id: i64, settings: &Value, bound: bool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notify_channels SET settings = settings || $2,
           bind_code = CASE WHEN $3 THEN NULL ELSE bind_code END WHERE id = $1",
    )
    .bind(id)
    .bind(settings)
    .bind(bound)
    .execute(pool)
    .await?;
    Ok(())
}

/// A fresh one-time code for binding another chat (the bound one is kept until the new one binds).
pub async fn set_bind_code(pool: &PgPool, id: i64, code: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE notify_channels SET bind_code = $2 WHERE id = $1 AND kind = 'telegram'")
        .bind(id)
        .bind(code)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_error(pool: &PgPool, id: i64, error: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notify_channels SET last_error = $2, last_error_at = CASE WHEN $2 IS NULL THEN last_error_at ELSE arena_now() END
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// A moment to tell, as `services::notify` worded its data.
#[derive(Debug, Clone)]
pub struct NewMoment {
    pub key: String,
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub team_id: Option<String>,
    pub amount: Option<Decimal>,
    pub data: Value,
}

/// Whether any channel exists (no channel: no moment is worth writing).
pub async fn any_channel(conn: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notify_channels)").fetch_one(conn).await
}

/// Writes `moments` (those whose key is new) and one delivery for each channel that wants it:
/// the channel chose its kind, is the organisation's or the moment's team's, the amount is not
/// below its minimum, and it can be sent to (a Telegram channel has its chat). Deliveries are
/// due after `fold` seconds, so that a burst folds into one message. Returns the deliveries.
pub async fn write_in(
    tx: &mut Transaction<'_, Postgres>,
    moments: &[NewMoment],
    fold: f64,
) -> Result<u64, sqlx::Error> {
    if moments.is_empty() {
        return Ok(0);
    }
    let mut cols: (Vec<&str>, Vec<&str>, Vec<Option<&str>>, Vec<Option<&str>>, Vec<Option<Decimal>>, Vec<Value>) =
        Default::default();
    for m in moments {
        cols.0.push(&m.key);
        cols.1.push(m.kind);
        cols.2.push(m.user_id.as_deref());
        cols.3.push(m.team_id.as_deref());
        cols.4.push(m.amount);
        cols.5.push(m.data.clone());
    }
    let done = sqlx::query(
        "WITH m AS (
           INSERT INTO notify_moments (key, kind, user_id, team_id, amount, data)
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::jsonb[])
           ON CONFLICT (key) DO NOTHING
           RETURNING id, kind, user_id, team_id, amount)
         INSERT INTO notify_outbox (channel_id, moment_id, due_at)
         SELECT c.id, m.id, arena_now() + $7 * interval '1 second'
         FROM m JOIN notify_channels c ON m.kind = ANY (c.moments)
           AND CASE WHEN c.user_id IS NULL THEN c.team_id IS NULL OR c.team_id = m.team_id ELSE c.user_id = m.user_id END
           AND (m.kind <> 'won' OR c.min_amount IS NULL OR m.amount >= c.min_amount)
           AND (c.kind <> 'telegram' OR c.settings ? 'chat')
         ON CONFLICT DO NOTHING",
    )
    .bind(cols.0)
    .bind(cols.1)
    .bind(cols.2)
    .bind(cols.3)
    .bind(cols.4)
    .bind(cols.5)
    .bind(fold)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Won deals of `owners` (everyone's for `None`) closed in `[from, to]` and not yet a moment:
/// (deal, owner, owner's name, owner's team, amount).
pub async fn new_wins(
    tx: &mut Transaction<'_, Postgres>,
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, String, Option<String>, Decimal)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, d.owner_id, u.name, u.team_id, d.amount FROM deals d JOIN users u ON u.id = d.owner_id
         WHERE d.status = 'won' AND d.closed_at >= $2 AND d.closed_at <= $3 AND ($1::text[] IS NULL OR d.owner_id = ANY ($1))
           AND NOT EXISTS (SELECT 1 FROM notify_moments n WHERE n.key = 'won:' || d.id)
         ORDER BY d.closed_at, d.id",
    )
    .bind(owners)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// Each rep's rank by won revenue over `[start, end)` (ties share a rank).
pub async fn revenue_ranks(
    tx: &mut Transaction<'_, Postgres>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner_id, rank() OVER (ORDER BY sum(amount) DESC) FROM deals
         WHERE status = 'won' AND closed_at >= $1 AND closed_at < $2 AND owner_id IS NOT NULL GROUP BY owner_id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await
}

/// Badges of `owners` earned since `since` and not yet a moment: (user, name, team, badge).
pub async fn new_badges(
    tx: &mut Transaction<'_, Postgres>,
    owners: Option<&[String]>,
    since: DateTime<Utc>,
) -> Result<Vec<(String, String, Option<String>, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT b.user_id, u.name, u.team_id, b.badge FROM badge_awards b JOIN users u ON u.id = b.user_id
         WHERE b.earned_at >= $2 AND ($1::text[] IS NULL OR b.user_id = ANY ($1)) AND b.badge NOT LIKE 'challenge:%'
           AND NOT EXISTS (SELECT 1 FROM notify_moments n WHERE n.key = 'badge:' || b.user_id || ':' || b.badge)
         ORDER BY b.earned_at, b.user_id, b.badge",
    )
    .bind(owners)
    .bind(since)
    .fetch_all(&mut **tx)
    .await
}

/// Lifetime points of `owners` (everyone with points for `None`): (user, name, team, points).
pub async fn lifetime_points(
    tx: &mut Transaction<'_, Postgres>,
    owners: Option<&[String]>,
) -> Result<Vec<(String, String, Option<String>, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.team_id, coalesce(sum(p.points), 0)::bigint FROM users u
         JOIN points_entries p ON p.user_id = u.id
         WHERE $1::text[] IS NULL OR u.id = ANY ($1) GROUP BY u.id",
    )
    .bind(owners)
    .fetch_all(&mut **tx)
    .await
}

/// Each rep's points earned in `[start, end)` (reps with none have 0): (user, name, team, points).
pub async fn period_points(
    tx: &mut Transaction<'_, Postgres>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(String, String, Option<String>, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.team_id, coalesce(sum(p.points), 0)::bigint FROM users u
         LEFT JOIN points_entries p ON p.user_id = u.id AND p.at >= $1 AND p.at < $2 AND (p.period_end IS NULL OR p.period_end <= $2)
         WHERE u.role = 'rep' AND u.active GROUP BY u.id ORDER BY u.id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await
}

/// Whether some channel chose moments of `kind`.
pub async fn listening(pool: &PgPool, kind: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notify_channels WHERE $1 = ANY (moments))")
        .bind(kind)
        .fetch_one(pool)
        .await
}

/// Which of `keys` are moments already.
pub async fn known(pool: &PgPool, keys: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT key FROM notify_moments WHERE key = ANY ($1)").bind(keys).fetch_all(pool).await
}

/// The leader last told for challenge `id`, and how many lead changes were told.
pub async fn last_lead(pool: &PgPool, challenge: i64) -> Result<(Option<String>, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (array_agg(user_id ORDER BY id DESC))[1], count(*) FROM notify_moments
         WHERE kind = 'challenge_lead' AND key LIKE 'challenge:' || $1 || ':lead:%'",
    )
    .bind(challenge)
    .fetch_one(pool)
    .await
}

/// One channel's turn: the channel, locked for this sender, and its deliveries due now.
pub struct Turn {
    pub channel: ChannelRow,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub moment_id: i64,
    pub attempts: i32,
    pub data: Value,
}

/// Claims the channel whose turn it is (its pace allows, a delivery is due) with at most `limit`
/// of its deliveries, oldest first: the due ones and every new one not tried yet (a burst folds
/// into the first). Another sender skips the channel until `tx` ends; the scoring worker can
/// still add deliveries meanwhile (the lock leaves the key alone).
pub async fn claim_turn(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Option<Turn>, sqlx::Error> {
    let channel: Option<ChannelRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notify_channels c WHERE c.next_send_at <= arena_now()
           AND EXISTS (SELECT 1 FROM notify_outbox o WHERE o.channel_id = c.id AND o.state = 'queued' AND o.due_at <= arena_now())
         ORDER BY c.next_send_at, c.id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED"
    ))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(channel) = channel else { return Ok(None) };
    let deliveries = sqlx::query_as(
        "SELECT o.id, o.moment_id, o.attempts, m.data FROM notify_outbox o JOIN notify_moments m ON m.id = o.moment_id
         WHERE o.channel_id = $1 AND o.state = 'queued'
           AND (o.due_at <= arena_now()
                -- New ones fold in, unless a retry is due: a retry goes as the same message.
                OR (o.attempts = 0 AND NOT EXISTS (SELECT 1 FROM notify_outbox r WHERE r.channel_id = $1
                      AND r.state = 'queued' AND r.attempts > 0 AND r.due_at <= arena_now())))
         ORDER BY o.moment_id LIMIT $2",
    )
    .bind(channel.id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(Turn { channel, deliveries }))
}

/// The channel sends nothing before `at` (its pace, a 429's wait, quiet hours).
pub async fn pace(tx: &mut Transaction<'_, Postgres>, channel: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notify_channels SET next_send_at = $2 WHERE id = $1")
        .bind(channel)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deliveries that went out together in the message `key`.
pub async fn sent(tx: &mut Transaction<'_, Postgres>, ids: &[i64], key: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notify_outbox SET state = 'sent', sent_at = arena_now(), attempts = attempts + 1, message_key = $2,
           reason = NULL WHERE id = ANY ($1)",
    )
    .bind(ids)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What becomes of deliveries whose send failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// The service asked to wait (a 429): tried again then; the attempt does not count.
    Asked(DateTime<Utc>),
    /// Tried again then, unless this was a delivery's `give_up`th attempt.
    After(DateTime<Utc>, i32),
    /// Refused for good.
    Never,
}

/// A failed attempt, with the reason, decided per delivery.
pub async fn attempt_failed(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[i64],
    reason: &str,
    retry: Retry,
) -> Result<(), sqlx::Error> {
    let (at, counts, give_up) = match retry {
        Retry::Asked(at) => (Some(at), false, i32::MAX),
        Retry::After(at, give_up) => (Some(at), true, give_up),
        Retry::Never => (None, true, 0),
    };
    sqlx::query(
        "UPDATE notify_outbox SET attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, reason = $2,
           state = CASE WHEN $3::timestamptz IS NULL OR ($4 AND attempts + 1 >= $5) THEN 'failed' ELSE 'queued' END,
           due_at = coalesce($3, due_at) WHERE id = ANY ($1)",
    )
    .bind(ids)
    .bind(reason)
    .bind(at)
    .bind(counts)
    .bind(give_up)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets deliveries sent or failed before `deliveries`, and moments written before `moments`
/// that no delivery waits for. A moment's key is its idempotency, so `moments` lies well before
/// any change that could still be told (a day for news, last month for a digest). A challenge's
/// lead moments stay: they number its lead changes.
pub async fn prune(pool: &PgPool, deliveries: DateTime<Utc>, moments: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let outbox = sqlx::query("DELETE FROM notify_outbox WHERE state <> 'queued' AND coalesce(sent_at, due_at) < $1")
        .bind(deliveries)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::query(
        "DELETE FROM notify_moments m WHERE m.created_at < $1 AND m.kind <> 'challenge_lead'
           AND NOT EXISTS (SELECT 1 FROM notify_outbox o WHERE o.moment_id = m.id)",
    )
    .bind(moments)
    .execute(pool)
    .await?;
    Ok(outbox)
}

/// A channel's deliveries, newest first: (moment data, state, attempts, reason, sent at).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryLog {
    pub data: Value,
    pub state: String,
    pub attempts: i32,
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn recent(pool: &PgPool, channel: i64, limit: i64) -> Result<Vec<DeliveryLog>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.data, o.state, o.attempts, o.reason, o.sent_at FROM notify_outbox o
         JOIN notify_moments m ON m.id = o.moment_id WHERE o.channel_id = $1 ORDER BY o.id DESC LIMIT $2",
    )
    .bind(channel)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deliveries per state, for `/metrics` and the page: (channel kind, state, count).
pub async fn counts(pool: &PgPool) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.kind, o.state, count(*) FROM notify_outbox o JOIN notify_channels c ON c.id = o.channel_id
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
}
