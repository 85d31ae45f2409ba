//! The sender every instance runs: one channel's turn at a time (its row locked, so instances
//! never send to one channel together), every due delivery of that channel folded into one
//! message, sent, and marked sent or failed with the reason in the same transaction. It keeps
//! each service's pace, honours a 429's wait, holds messages through quiet hours, and tries a
//! failure again with back-off. It also binds Telegram chats that sent `/start CODE`.

use crate::send::{self, Failure, Target};
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use connectors::Keyring;
use domain::fairness::Names;
use domain::lang::Lang;
use domain::notify::Moment;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;
use store::notify::{ChannelRow, Retry};

/// At most this many moments fold into one message.
const FOLD_LIMIT: i64 = 50;
/// A delivery that failed this many times (429s aside) has failed for good.
pub const GIVE_UP: i32 = 8;
/// How often the sender looks without being woken, and how often waiting Telegram chats are read.
const TICK: std::time::Duration = std::time::Duration::from_millis(500);
const BIND_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// How often deliveries older than `KEEP_DAYS` are forgotten.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
const KEEP_DAYS: i64 = 30;
/// Moments (their idempotency keys) are kept longer: last month's digest is looked for all month.
const KEEP_MOMENT_DAYS: i64 = 90;

#[derive(Clone)]
pub struct Sender {
    pool: PgPool,
    keyring: Option<Keyring>,
    client: reqwest::Client,
    wake: Arc<tokio::sync::Notify>,
}

impl Sender {
    pub fn new(pool: PgPool, keyring: Option<Keyring>) -> Sender {
        Sender { pool, keyring, client: send::client(), wake: Arc::new(tokio::sync::Notify::new()) }
    }

    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Runs the sender in the background; the returned handle wakes it.
    pub fn spawn(self) -> Sender {
        let runner = self.clone();
        tokio::spawn(async move {
            let mut last_bind = std::time::Instant::now() - BIND_EVERY;
            let mut last_prune: Option<std::time::Instant> = None;
            loop {
                loop {
                    match runner.pass().await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!("sending notifications failed, they stay queued: {e}");
                            break;
                        }
                    }
                }
                if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                    last_prune = Some(std::time::Instant::now());
                    let now = domain::clock::now();
                    let (deliveries, moments) =
                        (now - Duration::days(KEEP_DAYS), now - Duration::days(KEEP_MOMENT_DAYS));
                    if let Err(e) = store::notify::prune(&runner.pool, deliveries, moments).await {
                        tracing::warn!("forgetting old notification deliveries failed: {e}");
                    }
                }
                if last_bind.elapsed() >= BIND_EVERY {
                    last_bind = std::time::Instant::now();
                    if let Err(e) = runner.bind_chats().await {
                        tracing::warn!("reading the Telegram bots' new chats failed: {e}");
                    }
                }
                tokio::select! {
                    _ = runner.wake.notified() => {}
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        });
        self
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One channel's turn. Returns whether there was one.
    pub async fn pass(&self) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let Some(turn) = store::notify::claim_turn(&mut tx, FOLD_LIMIT).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        let channel = turn.channel;
        let now = domain::clock::now();
        let tz = store::settings::load(&self.pool).await?.time_zone;
        if let Some(until) = quiet_until(&channel, now, tz) {
            store::notify::pace(&mut tx, channel.id, until).await?;
            tx.commit().await?;
            return Ok(true);
        }
        // A digest goes alone, whole; other moments fold together up to the next digest.
        let mut deliveries = turn.deliveries;
        let is_digest = |d: &store::notify::Delivery| d.data.get("kind").and_then(Value::as_str) == Some("digest");
        let cut = match deliveries.iter().position(is_digest) {
            Some(0) => 1,
            Some(i) => i,
            None => deliveries.len(),
        };
        deliveries.truncate(cut);
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
        let moments: Vec<Moment> =
            deliveries.iter().filter_map(|d| serde_json::from_value(d.data.clone()).ok()).collect();
        let first = deliveries.first().map_or(0, |d| d.moment_id);
        let last = deliveries.last().map_or(0, |d| d.moment_id);
        let key = format!("kpi-arena-{}-{first}-{last}", channel.id);
        let outcome = match self.open(&channel) {
            Ok(secret) => {
                let text = domain::notify::render(&moments, lang(&channel), names(&channel));
                let target = Target { kind: &channel.kind, secret: &secret, settings: &channel.settings };
                send::send(&self.client, &target, &text, &key).await
            }
            Err(reason) => Err(Failure::Retry { reason, wait: Some(std::time::Duration::from_secs(300)) }),
        };
        let attempts = deliveries.iter().map(|d| d.attempts).max().unwrap_or(0) + 1;
        let error = match &outcome {
            Ok(()) => {
                store::notify::sent(&mut tx, &ids, &key).await?;
                store::notify::pace(&mut tx, channel.id, now + pace(&channel)).await?;
                None
            }
            Err(Failure::Busy { reason, wait }) => {
                // The service's own wait, however often it asks: a 429 is no failure.
                let at = now + Duration::from_std(*wait).unwrap_or(Duration::seconds(60)).max(pace(&channel));
                store::notify::pace(&mut tx, channel.id, at).await?;
                store::notify::attempt_failed(&mut tx, &ids, reason, Retry::Asked(at)).await?;
                Some(reason.clone())
            }
            Err(Failure::Retry { reason, wait: Some(wait) }) => {
                // A failure that says when to come back (a 5xx's Retry-After): it counts.
                let at = now + Duration::from_std(*wait).unwrap_or(Duration::seconds(60)).max(backoff(attempts));
                store::notify::pace(&mut tx, channel.id, at).await?;
                store::notify::attempt_failed(&mut tx, &ids, reason, Retry::After(at, GIVE_UP)).await?;
                Some(reason.clone())
            }
            Err(Failure::Retry { reason, wait: None }) => {
                let at = now + backoff(attempts);
                store::notify::pace(&mut tx, channel.id, at).await?;
                store::notify::attempt_failed(&mut tx, &ids, reason, Retry::After(at, GIVE_UP)).await?;
                Some(reason.clone())
            }
            Err(Failure::Moved { reason, .. }) => {
                // A group became a supergroup: its new id (stored below), the same message again at once.
                store::notify::attempt_failed(&mut tx, &ids, reason, Retry::Asked(now)).await?;
                None
            }
            Err(Failure::Refused(reason)) => {
                store::notify::pace(&mut tx, channel.id, now + pace(&channel)).await?;
                store::notify::attempt_failed(&mut tx, &ids, reason, Retry::Never).await?;
                Some(reason.clone())
            }
        };
        tx.commit().await?;
        if let Err(Failure::Moved { chat, .. }) = &outcome {
            store::notify::merge_settings(&self.pool, channel.id, &json!({"chat": chat}), false).await?;
        }
        // Shown on the page once the deliveries say the same.
        store::notify::set_error(&self.pool, channel.id, error.as_deref()).await?;
        let result = match &outcome {
            Ok(()) => "sent",
            Err(Failure::Busy { .. } | Failure::Retry { .. } | Failure::Moved { .. }) => "retried",
            Err(Failure::Refused(_)) => "failed",
        };
        metrics::counter!("kpi_arena_notify_messages_total", "kind" => channel.kind.clone(), "result" => result)
            .increment(1);
        Ok(true)
    }

    fn open(&self, channel: &ChannelRow) -> Result<String, String> {
        let keyring =
            self.keyring.as_ref().ok_or("KPI_ARENA_SECRET_KEY is not set: the channel's secret cannot be opened")?;
        keyring.open(&channel.secret).map_err(|e| format!("the channel's secret cannot be opened: {e}"))
    }

    /// Sends the "Send test" message now, outside the outbox; the service's exact error otherwise.
    pub async fn test(&self, channel: &ChannelRow) -> Result<(), String> {
        let secret = self.open(channel)?;
        let moment = Moment::Test { channel: channel.name.clone() };
        let text = domain::notify::render(&[moment], lang(channel), names(channel));
        let target = Target { kind: &channel.kind, secret: &secret, settings: &channel.settings };
        let key = format!("kpi-arena-test-{}-{}", channel.id, domain::clock::now().timestamp_millis());
        send::send(&self.client, &target, &text, &key).await.map_err(|e| e.reason().to_string())
    }

    /// Reads each waiting Telegram bot's new messages once (channels sharing a bot share its
    /// updates: reading acknowledges them) and binds each chat that sent a waiting `/start CODE`.
    pub async fn bind_chats(&self) -> Result<(), sqlx::Error> {
        // One instance at a time reads the bots (Telegram answers 409 to concurrent readers).
        let mut lock = self.pool.begin().await?;
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(7140003)").fetch_one(&mut *lock).await?;
        if !mine {
            lock.rollback().await?;
            return Ok(());
        }
        let mut bots: Vec<((String, String), Vec<ChannelRow>)> = Vec::new();
        for channel in store::notify::waiting_for_chat(&self.pool).await? {
            let Ok(secret) = self.open(&channel) else { continue };
            let api = channel.settings.get("api").and_then(Value::as_str).unwrap_or(send::TELEGRAM_API).to_string();
            match bots.iter_mut().find(|(bot, _)| *bot == (api.clone(), secret.clone())) {
                Some((_, waiting)) => waiting.push(channel),
                None => bots.push(((api, secret), vec![channel])),
            }
        }
        for ((_, secret), waiting) in bots {
            let first = &waiting[0];
            let target = Target { kind: "telegram", secret: &secret, settings: &first.settings };
            let offset =
                waiting.iter().filter_map(|c| c.settings.get("offset").and_then(Value::as_i64)).max().unwrap_or(0);
            let body = json!({"offset": offset, "timeout": 0, "allowed_updates": ["message"]});
            let updates = match send::telegram(&self.client, &target, "getUpdates", &body).await {
                Ok(updates) => updates.as_array().cloned().unwrap_or_default(),
                Err(e) => {
                    for c in &waiting {
                        store::notify::set_error(&self.pool, c.id, Some(e.reason())).await?;
                    }
                    continue;
                }
            };
            let Some(next) = updates.iter().filter_map(|u| u["update_id"].as_i64()).max().map(|id| id + 1) else {
                continue;
            };
            for channel in &waiting {
                let code = channel.bind_code.as_deref().unwrap_or_default();
                let chat = updates
                    .iter()
                    .filter_map(|u| u.get("message"))
                    .filter(|m| start_code(m["text"].as_str().unwrap_or("")) == Some(code))
                    // A rep's own channel binds only a private chat.
                    .find(|m| channel.user_id.is_none() || m["chat"]["type"] == "private")
                    .map(|m| &m["chat"]);
                match chat {
                    Some(chat) => {
                        let title = ["title", "username", "first_name"]
                            .iter()
                            .find_map(|k| chat[*k].as_str())
                            .unwrap_or("")
                            .to_string();
                        let settings = json!({"chat": chat["id"], "chat_title": title, "offset": next});
                        store::notify::merge_settings(&self.pool, channel.id, &settings, true).await?;
                        store::notify::set_error(&self.pool, channel.id, None).await?;
                        if let Some(bound) = store::notify::find(&self.pool, channel.id).await? {
                            if let Err(e) = self.test(&bound).await {
                                store::notify::set_error(&self.pool, channel.id, Some(&e)).await?;
                            }
                        }
                    }
                    None => {
                        store::notify::merge_settings(&self.pool, channel.id, &json!({"offset": next}), false).await?
                    }
                }
            }
        }
        Ok(())
    }
}

/// The code in `/start CODE` (or `/start@the_bot CODE`).
pub fn start_code(text: &str) -> Option<&str> {
    let mut words = text.split_whitespace();
    let command = words.next()?;
    if command != "/start" && !command.starts_with("/start@") {
        return None;
    }
    words.next()
}

fn lang(channel: &ChannelRow) -> Lang {
    Lang::parse(&channel.lang).unwrap_or(Lang::Ru)
}

fn names(channel: &ChannelRow) -> Names {
    Names::parse(&channel.names).unwrap_or(Names::Full)
}

/// How long a channel waits after a message: Telegram allows about 20 a minute in a group
/// (a negative chat id) and one a second in a private chat; Slack and Teams about one a second.
pub fn pace(channel: &ChannelRow) -> Duration {
    let group = channel.settings.get("chat").and_then(Value::as_i64).is_some_and(|id| id < 0);
    match channel.kind.as_str() {
        "telegram" if group => Duration::seconds(3),
        "email" => Duration::seconds(2),
        _ => Duration::seconds(1),
    }
}

/// The wait before the next try after `attempts` failed ones: 5 s, 10 s, 20 s, … at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 12) - 1;
    Duration::seconds((5i64 << exp).min(3600))
}

/// When the channel's quiet hours end, if `now` falls in them (in the organisation's zone).
pub fn quiet_until(channel: &ChannelRow, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let (from, to) = (channel.quiet_from? as u32, channel.quiet_to? as u32);
    let local = now.with_timezone(&tz);
    if !domain::notify::is_quiet(local.hour(), from, to) {
        return None;
    }
    let mut day = local.date_naive();
    loop {
        let end = day.and_hms_opt(to, 0, 0)?;
        if let Some(at) = tz.from_local_datetime(&end).earliest() {
            if at > now {
                return Some(at.with_timezone(&Utc));
            }
        }
        day = day.succ_opt()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(quiet: Option<(i16, i16)>) -> ChannelRow {
        ChannelRow {
            id: 1,
            kind: "telegram".into(),
            name: "Sales".into(),
            team_id: None,
            user_id: None,
            lang: "ru".into(),
            names: "full".into(),
            secret: Vec::new(),
            secret_hint: String::new(),
            settings: json!({"chat": -100123}),
            moments: Vec::new(),
            min_amount: None,
            quiet_from: quiet.map(|q| q.0),
            quiet_to: quiet.map(|q| q.1),
            bind_code: None,
            next_send_at: DateTime::<Utc>::MIN_UTC,
            last_error: None,
            last_error_at: None,
        }
    }

    #[test]
    fn quiet_hours_hold_until_their_local_end() {
        let tz: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
        let c = channel(Some((22, 8)));
        // 23:30 in Moscow (20:30 UTC): held until 08:00 Moscow, 05:00 UTC the next day.
        let late: DateTime<Utc> = "2026-11-10T20:30:00Z".parse().unwrap();
        assert_eq!(quiet_until(&c, late, tz), Some("2026-11-11T05:00:00Z".parse().unwrap()));
        // 03:00 Moscow: the same morning's 08:00.
        let night: DateTime<Utc> = "2026-11-11T00:00:00Z".parse().unwrap();
        assert_eq!(quiet_until(&c, night, tz), Some("2026-11-11T05:00:00Z".parse().unwrap()));
        // 12:00 Moscow: not quiet.
        assert_eq!(quiet_until(&c, "2026-11-11T09:00:00Z".parse().unwrap(), tz), None);
        assert_eq!(quiet_until(&channel(None), late, tz), None);
    }

    #[test]
    fn the_pace_follows_each_services_limits_and_failures_back_off() {
        assert_eq!(pace(&channel(None)), Duration::seconds(3));
        let mut private = channel(None);
        private.settings = json!({"chat": 4242});
        assert_eq!(pace(&private), Duration::seconds(1));
        assert_eq!([1, 2, 3, 8].map(backoff), [5, 10, 20, 640].map(Duration::seconds));
        assert_eq!(backoff(12), Duration::seconds(3600));
    }

    #[test]
    fn the_start_command_gives_its_code() {
        assert_eq!(start_code("/start ABC123"), Some("ABC123"));
        assert_eq!(start_code("/start@arena_bot ABC123"), Some("ABC123"));
        assert_eq!(start_code("/start"), None);
        assert_eq!(start_code("hello ABC123"), None);
    }
}
