//! Notifications against fake services on real HTTP and a real SMTP conversation (`fakes`):
//! a won deal told once per subscribed channel in each channel's language, a burst folded into
//! one message, a 429's wait honoured, a refusal shown, a restart between the outbox and the
//! send, chat binding by code, quiet hours, challenges, badges and levels, and who may set
//! channels up.
//!
//! Fixture: teams t1 (Анна r1, Борис r2) and t2 (Вера r3); currency RUB, zone UTC. Default
//! points: 50 per won deal and 1 per whole 10,000 of revenue. Deals close a few minutes before
//! the app's clock (at it in a month's first minutes), so they are this month's news.

use crate::fakes::{Fakes, BOT_TOKEN};
use crate::helpers::{eventually, two_teams_three_reps, TestApp};
use app::auth::Role;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use domain::access::CurrentUser;
use notify::setup::{ChannelForm, SetupError};
use serde_json::{json, Value};

struct Fixture {
    app: TestApp,
    token: String,
    admin: CurrentUser,
    fakes: Fakes,
    sender: notify::Sender,
}

async fn fixture_on(app: TestApp) -> Fixture {
    let token = app.sync_token().await;
    assert_eq!(app.post_records(&token, &two_teams_three_reps()).await.0, 200);
    let admin = store::users::find_login(&app.pool, "sync@example.com").await.unwrap().unwrap().0;
    let fakes = Fakes::start().await;
    let sender = notify::Sender::new(app.pool.clone(), connectors::Keyring::from_env().ok());
    Fixture { app, token, admin, fakes, sender }
}

async fn fixture() -> Fixture {
    fixture_on(TestApp::spawn().await).await
}

/// A few minutes before the clock, but never before this month (UTC) began.
fn closed_now() -> DateTime<Utc> {
    let now = domain::clock::now();
    let month = Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).unwrap();
    if now - month > Duration::minutes(10) {
        now - Duration::minutes(5)
    } else {
        now
    }
}

fn won(id: &str, owner: &str, amount: f64) -> Value {
    json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": "won",
           "created_at": (closed_now() - Duration::seconds(1)).to_rfc3339(), "closed_at": closed_now().to_rfc3339()})
}

fn form(kind: &str, name: &str, lang: &str, moments: &[&str], secret: &str) -> ChannelForm {
    ChannelForm {
        kind: kind.into(),
        name: name.into(),
        lang: lang.into(),
        names: "full".into(),
        moments: moments.iter().map(|m| m.to_string()).collect(),
        secret: secret.into(),
        ..ChannelForm::default()
    }
}

impl Fixture {
    async fn channel(&self, form: &ChannelForm) -> store::notify::ChannelRow {
        notify::setup::create(&self.app.pool, &self.sender, &self.admin, form).await.unwrap()
    }

    /// A Telegram channel bound to chat `chat` through `/start CODE`, its confirmation received.
    async fn telegram(&self, name: &str, lang: &str, moments: &[&str], chat: i64) -> i64 {
        let mut f = form("telegram", name, lang, moments, BOT_TOKEN);
        f.api = self.fakes.base.clone();
        let channel = self.channel(&f).await;
        let code = channel.bind_code.clone().expect("a new Telegram channel waits for its chat");
        let update = self.fakes.state.lock().unwrap().updates.len() as i64 + 1;
        self.fakes.set(|s| s.updates.push((update, chat, format!("{name} chat"), format!("/start {code}"))));
        self.fakes.wait_for(&format!("telegram:{chat}"), 1).await;
        channel.id
    }

    fn email(&self, name: &str, lang: &str, moments: &[&str]) -> ChannelForm {
        ChannelForm {
            host: "127.0.0.1".into(),
            port: Some(self.fakes.smtp_port),
            security: "none".into(),
            from: "KPI Arena <arena@example.com>".into(),
            to: "floor@example.com, boss@example.com".into(),
            ..form("email", name, lang, moments, "")
        }
    }

    /// Waits until `sent` deliveries are sent and none waits: a delivery is marked sent only after
    /// its service answered, a moment after the message arrived.
    async fn all_sent(&self, sent: i64) {
        eventually(&format!("{sent} sent, none queued"), || async move {
            (self.deliveries("sent").await, self.deliveries("queued").await) == (sent, 0)
        })
        .await;
    }

    async fn deliveries(&self, state: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notify_outbox WHERE state = $1")
            .bind(state)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

/// The text of a Slack message: its first block's, without the bold marks.
fn slack_title(body: &Value) -> String {
    body["blocks"][0]["text"]["text"].as_str().unwrap().trim_matches('*').to_string()
}

#[tokio::test]
async fn a_won_deal_is_told_once_to_each_subscribed_channel_in_its_language() {
    let f = fixture().await;
    f.telegram("Продажи", "ru", &["won"], -1001).await;
    f.channel(&{
        let mut c = form("slack", "Sales", "en", &["won"], &format!("{}/slack/sales", f.fakes.base));
        c.names = "initials".into();
        c
    })
    .await;
    f.channel(&form("teams", "Команда", "ru", &["won"], &format!("{}/teams/floor", f.fakes.base))).await;
    f.channel(&f.email("Floor mail", "en", &["won"])).await;
    // Not told of wins: a channel for badges only (it hears the first-win badges), another
    // team's, and one for wins from 200,000.
    f.channel(&form("slack", "Badges", "en", &["badge"], &format!("{}/slack/badges", f.fakes.base))).await;
    f.channel(&ChannelForm {
        team: "t2".into(),
        ..form("slack", "T2", "en", &["won"], &format!("{}/slack/t2", f.fakes.base))
    })
    .await;
    f.channel(&ChannelForm {
        min_amount: "200000".into(),
        ..form("slack", "Big", "en", &["won"], &format!("{}/slack/big", f.fakes.base))
    })
    .await;

    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d1", "r1", 125000.0)])).await.0, 200);
    // Анна: 125,000 ₽, first by this month's won revenue.
    let tg = f.fakes.wait_for("telegram:-1001", 2).await;
    assert_eq!(tg[1].body["text"], "<b>🎉 Анна: сделка на 125\u{202f}000\u{a0}₽ выиграна, теперь №1 в рейтинге</b>");
    assert_eq!(tg[1].body["parse_mode"], "HTML");
    let slack = f.fakes.wait_for("slack:sales", 1).await;
    assert_eq!(slack_title(&slack[0].body), "🎉 А. won a deal worth ₽125,000, now #1 on the leaderboard");
    assert_eq!(slack[0].body["text"], "🎉 А. won a deal worth ₽125,000, now #1 on the leaderboard");
    let teams = f.fakes.wait_for("teams:floor", 1).await;
    let card = &teams[0].body["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(
        card["content"]["body"][0]["text"],
        "🎉 Анна: сделка на 125\u{202f}000\u{a0}₽ выиграна, теперь №1 в рейтинге"
    );
    let mail = f.fakes.wait_for("email", 1).await;
    assert_eq!(mail[0].body["to"], json!(["<floor@example.com>", "<boss@example.com>"]));
    let data = mail[0].body["data"].as_str().unwrap();
    assert!(data.contains("Content-Type: text/plain") && data.contains("Content-Type: text/html"), "{data}");
    assert!(data.contains("Message-ID: <kpi-arena-"), "{data}");

    // Sent again, and a second smaller win for Борис: only Борис's win is new (rank 2).
    assert_eq!(
        f.app.post_records_scored(&f.token, &json!([won("d1", "r1", 125000.0), won("d2", "r2", 500.0)])).await.0,
        200
    );
    let slack = f.fakes.wait_for("slack:sales", 2).await;
    assert_eq!(slack_title(&slack[1].body), "🎉 Б. won a deal worth ₽500, now #2 on the leaderboard");
    f.fakes.wait_for("telegram:-1001", 3).await;
    assert!(f.fakes.to("slack:t2").is_empty() && f.fakes.to("slack:big").is_empty());
    let mut badges = Vec::new();
    for _ in 0..100 {
        badges = told_lines(&f.fakes.to("slack:badges"));
        if badges.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(badges, ["🥇 Анна earned the “First win” badge", "🥇 Борис earned the “First win” badge"]);
    // Ten deliveries (two wins on four channels, two badges on one) are sent; none waits.
    f.all_sent(10).await;
    let metrics =
        f.app.client.get(f.app.url("/metrics")).bearer_auth(&f.token).send().await.unwrap().text().await.unwrap();
    for line in [
        "kpi_arena_notify_deliveries{kind=\"email\",state=\"sent\"} 2",
        "kpi_arena_notify_deliveries{kind=\"slack\",state=\"sent\"} 4",
        "kpi_arena_notify_deliveries{kind=\"telegram\",state=\"sent\"} 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "/metrics lacks `{line}`");
    }
}

#[tokio::test]
async fn a_burst_of_twenty_wins_folds_into_one_message() {
    let f = fixture().await;
    f.channel(&form("slack", "Sales", "en", &["won"], &format!("{}/slack/sales", f.fakes.base))).await;
    f.channel(&form("teams", "Команда", "ru", &["won"], &format!("{}/teams/floor", f.fakes.base))).await;
    let burst: Vec<Value> =
        (1..=20).map(|i| won(&format!("b{i}"), if i % 2 == 0 { "r2" } else { "r1" }, 1000.0 * i as f64)).collect();
    assert_eq!(f.app.post_records_scored(&f.token, &Value::Array(burst)).await.0, 200);
    let slack = f.fakes.wait_for("slack:sales", 1).await;
    assert_eq!(slack_title(&slack[0].body), "📣 20 deals won");
    let lines = slack[0].body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(lines.lines().count(), 20);
    // Борис won 2,000 + 4,000 + … + 20,000 = 110,000; Анна 1,000 + 3,000 + … + 19,000 = 100,000.
    assert_eq!(lines.lines().next().unwrap(), "• 🎉 Анна won a deal worth ₽1,000, now #2 on the leaderboard");
    // In the order they closed (b1 first, b20 last).
    assert_eq!(lines.lines().nth(1).unwrap(), "• 🎉 Борис won a deal worth ₽2,000, now #1 on the leaderboard");
    assert_eq!(lines.lines().last().unwrap(), "• 🎉 Борис won a deal worth ₽20,000, now #1 on the leaderboard");
    let teams = f.fakes.wait_for("teams:floor", 1).await;
    assert_eq!(teams[0].body["attachments"][0]["content"]["body"][0]["text"], "📣 Выиграно 20 сделок");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(f.fakes.to("slack:").len(), 1, "one message, not twenty");
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_refusal_is_shown_with_its_reason() {
    let f = fixture().await;
    f.telegram("Продажи", "ru", &["won"], -1001).await;
    let gone = f.channel(&form("slack", "Old", "en", &["won"], &format!("{}/slack/gone", f.fakes.base))).await;
    f.fakes.set(|s| (s.throttle, s.retry_after) = (1, 2));
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d1", "r1", 700.0)])).await.0, 200);
    let tg = f.fakes.wait_for("telegram:-1001", 2).await;
    let throttled = f.fakes.state.lock().unwrap().throttled_at.clone();
    assert_eq!(throttled.len(), 1);
    assert!(
        tg[1].at.duration_since(throttled[0]) >= std::time::Duration::from_secs(2),
        "sent again only after retry_after"
    );
    let (state, reason, attempts): (String, String, i32) = sqlx::query_as(
        "SELECT o.state, o.reason, o.attempts FROM notify_outbox o JOIN notify_channels c ON c.id = o.channel_id WHERE c.kind = 'slack'",
    )
    .fetch_one(&f.app.pool)
    .await
    .unwrap();
    assert_eq!((state.as_str(), reason.as_str(), attempts), ("failed", "Slack answered 404: no_service", 1));
    let shown = store::notify::find(&f.app.pool, gone.id).await.unwrap().unwrap().last_error;
    assert_eq!(shown.as_deref(), Some("Slack answered 404: no_service"));
    // "Send test" gives the same words.
    let test = notify::setup::test(&f.app.pool, &f.sender, &f.admin, gone.id).await.unwrap_err();
    assert_eq!(test.to_string(), "Slack answered 404: no_service");
}

#[tokio::test]
async fn a_restart_between_the_outbox_and_the_send_delivers_exactly_once() {
    let f = fixture_on(TestApp::spawn_without_worker().await).await;
    f.channel(&form("slack", "Sales", "en", &["won"], &format!("{}/slack/sales", f.fakes.base))).await;
    assert_eq!(f.app.post_records(&f.token, &json!([won("d1", "r1", 900.0)])).await.0, 200);
    // This instance runs no worker and no sender: the pass writes the outbox, nothing sends it.
    while services::worker::run_once(&f.app.pool).await.unwrap() {}
    assert_eq!(f.deliveries("queued").await, 1);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(f.fakes.to("slack:").is_empty());
    // An instance starts (as after a restart): it sends the message once.
    let second = f.app.another(kpi_arena_server::Worker::On).await;
    f.fakes.wait_for("slack:sales", 1).await;
    let third = f.app.another(kpi_arena_server::Worker::On).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(f.fakes.to("slack:").len(), 1, "exactly once across instances");
    assert_eq!(f.deliveries("sent").await, 1);
    drop((second, third));
}

#[tokio::test]
async fn a_chat_is_bound_by_its_code_and_no_other() {
    let f = fixture().await;
    let mut c = form("telegram", "Продажи", "ru", &["won"], BOT_TOKEN);
    c.api = f.fakes.base.clone();
    let channel = f.channel(&c).await;
    assert_eq!(channel.settings["bot"], "arena_test_bot");
    let code = channel.bind_code.unwrap();
    // A wrong code and a plain message bind nothing; the right one binds its chat.
    f.fakes.set(|s| {
        s.updates.push((1, -2001, "Strangers".into(), "/start WRONGCODE".into()));
        s.updates.push((2, -2002, "Chatter".into(), format!("hello {code}")));
    });
    // Both updates are read and acknowledged (the offset passes them), and no chat is bound.
    let (pool, id) = (&f.app.pool, channel.id);
    let row = || async move { store::notify::find(pool, id).await.unwrap().unwrap() };
    eventually("the updates read are acknowledged", || async move { row().await.settings["offset"] == 3 }).await;
    let row = row().await;
    assert_eq!((row.bind_code.as_deref(), row.settings.get("chat")), (Some(code.as_str()), None));
    f.fakes.set(|s| s.updates.push((3, -2003, "Отдел продаж".into(), format!("/start@arena_test_bot {code}"))));
    let hello = f.fakes.wait_for("telegram:-2003", 1).await;
    assert_eq!(hello[0].body["text"], "<b>✅ Проверка связи: канал «Продажи» KPI Arena работает</b>");
    let row = store::notify::find(&f.app.pool, channel.id).await.unwrap().unwrap();
    assert_eq!(
        (row.bind_code, row.settings["chat"].clone(), row.settings["chat_title"].clone()),
        (None, json!(-2003), json!("Отдел продаж"))
    );
    assert!(f.fakes.to("telegram:-2001").is_empty() && f.fakes.to("telegram:-2002").is_empty());
    // A bad token is refused before anything is stored.
    let mut bad = form("telegram", "X", "ru", &["won"], "987654321:AAwrongTokenForTheFakeBotApi00");
    bad.api = f.fakes.base.clone();
    let e = notify::setup::create(&f.app.pool, &f.sender, &f.admin, &bad).await.unwrap_err();
    assert_eq!(e.to_string(), "the bot could not be reached: Telegram answered 401: Unauthorized");
    assert_eq!(f.app.count("notify_channels").await, 1);
}

#[tokio::test]
async fn quiet_hours_hold_messages_until_they_end() {
    let f = fixture().await;
    // Quiet from this hour (UTC, the organisation's zone) for two hours, whatever the time now.
    let hour = domain::clock::now().format("%H").to_string().parse::<i16>().unwrap();
    let quiet = ChannelForm {
        quiet_from: Some(hour),
        quiet_to: Some((hour + 2) % 24),
        ..form("slack", "Sales", "en", &["won"], &format!("{}/slack/sales", f.fakes.base))
    };
    let channel = f.channel(&quiet).await;
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d1", "r1", 900.0)])).await.0, 200);
    // The sender takes its turn (after the fold's wait) and holds the message until the quiet hours end.
    // (Until then the channel's next send is at the epoch: at once.)
    let pool = &f.app.pool;
    let next_send = || async move {
        sqlx::query_scalar::<_, DateTime<Utc>>("SELECT next_send_at FROM notify_channels")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    eventually("the sender holds the message", || async move { next_send().await > DateTime::<Utc>::UNIX_EPOCH }).await;
    let held = next_send().await;
    assert!(f.fakes.to("slack:").is_empty(), "held in quiet hours");
    assert_eq!(f.deliveries("queued").await, 1);
    assert_eq!(held.format("%H:%M").to_string(), format!("{:02}:00", (hour + 2) % 24));
    // The quiet hours end (here: the manager removes them); the held message goes out.
    let open = ChannelForm { quiet_from: None, quiet_to: None, ..quiet };
    notify::setup::update(&f.app.pool, &f.sender, &f.admin, channel.id, &open).await.unwrap();
    let slack = f.fakes.wait_for("slack:sales", 1).await;
    assert_eq!(slack_title(&slack[0].body), "🎉 Анна won a deal worth ₽900, now #1 on the leaderboard");
}

#[tokio::test]
async fn challenges_badges_and_levels_are_told_as_they_happen() {
    let f = fixture().await;
    let all = ["won", "badge", "level", "challenge_launched", "challenge_lead", "challenge_ended"];
    f.channel(&form("slack", "Everything", "en", &all, &format!("{}/slack/all", f.fakes.base))).await;
    // A team's channel hears its own team's news only.
    f.channel(&ChannelForm {
        team: "t2".into(),
        ..form("slack", "T2", "en", &all, &format!("{}/slack/t2", f.fakes.base))
    })
    .await;
    // 5,000,000 won: 50 + 500 points = 550 (level 2, Hunter, from 500), the "first win" badge.
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d1", "r1", 5_000_000.0)])).await.0, 200);
    let got = f.fakes.wait_for("slack:all", 1).await;
    assert_eq!(slack_title(&got[0].body), "📣 3 news");
    let lines = got[0].body["blocks"][1]["text"]["text"].as_str().unwrap().to_string();
    assert!(lines.contains("• 🎉 Анна won a deal worth ₽5,000,000, now #1 on the leaderboard"), "{lines}");
    assert!(lines.contains("Анна earned the “First win” badge"), "{lines}");
    assert!(lines.contains("• ⭐ Анна reached level 2: Hunter"), "{lines}");
    // A challenge among Анна and Вера (two teams: the organisation's news) is launched.
    let now = domain::clock::now();
    let new = services::challenges::NewChallenge {
        name: "Декабрьский спринт".into(),
        kind: "top_n".into(),
        basis: "revenue".into(),
        goal: None,
        top_n: Some(1),
        starts_at: now - Duration::hours(1),
        ends_at: now + Duration::hours(1),
        participants: vec!["r1".into(), "r3".into()],
        prize: String::new(),
        launch: false,
    };
    let id = services::challenges::create(&f.app.pool, &f.admin, &new).await.unwrap();
    services::challenges::launch(&f.app.pool, &f.admin, id).await.unwrap();
    // Scores move (Вера wins 100 ₽): Анна leads. Then its end comes (moved to now: the worker's
    // clock ends it) with Анна the winner. However these fold into messages, each is told once.
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d2", "r3", 100.0)])).await.0, 200);
    let ends = domain::format::date((now + Duration::hours(1)).date_naive(), domain::lang::Lang::En);
    let want = [
        format!("🏁 The “Декабрьский спринт” challenge has started; it ends on {ends}"),
        "🎉 Вера won a deal worth ₽100, now #2 on the leaderboard".to_string(),
        "🥇 Вера earned the “First win” badge".to_string(),
        "🔥 Анна now leads the “Декабрьский спринт” challenge".to_string(),
        "🏆 The “Декабрьский спринт” challenge has ended. Winners: Анна".to_string(),
    ];
    let told = || told_lines(&f.fakes.to("slack:all")[1..]);
    let heard = |n: usize| {
        let count = told().len();
        async move { count >= n }
    };
    eventually("the challenge's start, Вера's win and badge, and Анна's lead", || heard(4)).await;
    assert!(told().iter().any(|l| l.contains("now leads")), "{:?}", told());
    sqlx::query("UPDATE challenges SET ends_at = arena_now() WHERE id = $1")
        .bind(id)
        .execute(&f.app.pool)
        .await
        .unwrap();
    eventually("the challenge's end", || heard(5)).await;
    let mut told = told();
    told.sort();
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(told, want);
    // t2's channel hears Вера's win and badge only: not Анна's news, not a two-team challenge.
    let mut t2 = told_lines(&f.fakes.to("slack:t2"));
    t2.sort();
    assert_eq!(
        t2,
        ["🎉 Вера won a deal worth ₽100, now #2 on the leaderboard", "🥇 Вера earned the “First win” badge"]
    );
}

/// Every moment's line in `messages`: a folded message's lines, or a single one's title.
fn told_lines(messages: &[crate::fakes::Received]) -> Vec<String> {
    let mut lines = Vec::new();
    for m in messages {
        match m.body["blocks"][1]["text"]["text"].as_str() {
            Some(list) if m.body["blocks"][1]["type"] == "section" => {
                lines.extend(list.lines().map(|l| l.trim_start_matches("• ").to_string()))
            }
            _ => lines.push(slack_title(&m.body)),
        }
    }
    lines
}

#[tokio::test]
async fn reps_set_up_no_channels_and_managers_only_their_teams() {
    let f = fixture().await;
    f.app.user_with_token("m1@example.com", "Мила", Role::Manager, Some("t1")).await;
    let manager = store::users::find_login(&f.app.pool, "m1@example.com").await.unwrap().unwrap().0;
    let rep = store::users::find_login(&f.app.pool, "r1@example.com").await.unwrap();
    let rep = match rep {
        Some((user, _)) => user,
        None => CurrentUser {
            id: "r1".into(),
            name: "Анна".into(),
            email: "r1@example.com".into(),
            role: Role::Rep,
            team_id: Some("t1".into()),
        },
    };
    let slack = |team: &str| ChannelForm {
        team: team.into(),
        ..form("slack", "S", "en", &["won"], &format!("{}/slack/x", f.fakes.base))
    };
    let org = f.channel(&slack("")).await;
    let e = notify::setup::create(&f.app.pool, &f.sender, &rep, &slack("t1")).await.unwrap_err();
    assert!(matches!(e, SetupError::Forbidden(_)), "{e}");
    assert!(matches!(notify::setup::list(&f.app.pool, &rep).await.unwrap_err(), SetupError::Forbidden(_)));
    let e = notify::setup::create(&f.app.pool, &f.sender, &manager, &slack("t2")).await.unwrap_err();
    assert_eq!(e.to_string(), "a manager adds channels for their own team only");
    // Email names the organisation's mail server: admins only. The monthly digest is the organisation's.
    let e =
        notify::setup::create(&f.app.pool, &f.sender, &manager, &f.email("Mail", "ru", &["won"])).await.unwrap_err();
    assert_eq!(e.to_string(), "only admins set up email channels (they name the organisation's mail server)");
    let monthly = ChannelForm { moments: vec!["digest_monthly".into()], ..slack("t1") };
    let e = notify::setup::create(&f.app.pool, &f.sender, &f.admin, &monthly).await.unwrap_err();
    assert_eq!(e.to_string(), "the monthly digest is the organisation's: choose it on an organisation-wide channel");
    // A manager's channel is their team's, whatever the form said.
    let own = notify::setup::create(&f.app.pool, &f.sender, &manager, &slack("")).await.unwrap();
    assert_eq!(own.team_id.as_deref(), Some("t1"));
    let seen: Vec<i64> = notify::setup::list(&f.app.pool, &manager).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(seen, vec![own.id]);
    for e in [
        notify::setup::delete(&f.app.pool, &manager, org.id).await.unwrap_err(),
        notify::setup::test(&f.app.pool, &f.sender, &manager, org.id).await.unwrap_err(),
        notify::setup::update(&f.app.pool, &f.sender, &manager, org.id, &slack("")).await.unwrap_err(),
    ] {
        assert!(matches!(e, SetupError::NotFound), "{e}");
    }
    assert_eq!(f.app.count("notify_channels").await, 2);
    // Secrets are sealed at rest and shown masked.
    let raw: Vec<u8> = sqlx::query_scalar("SELECT secret FROM notify_channels WHERE id = $1")
        .bind(org.id)
        .fetch_one(&f.app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("/slack/x"));
    assert_eq!(org.secret_hint, "••••ck/x");
}

#[tokio::test]
async fn a_rep_binds_their_own_private_chat_and_hears_only_their_own_news() {
    let f = fixture().await;
    f.telegram("Продажи", "ru", &["won"], -1001).await;
    let anna = CurrentUser {
        id: "r1".into(),
        name: "Анна".into(),
        email: "r1@example.com".into(),
        role: Role::Rep,
        team_id: Some("t1".into()),
    };
    let mine = notify::setup::bind_mine(&f.app.pool, &f.sender, &anna, "en").await.unwrap();
    assert_eq!((mine.user_id.as_deref(), mine.settings["bot"].clone()), (Some("r1"), json!("arena_test_bot")));
    let code = mine.bind_code.clone().unwrap();
    // The code sent in a group binds nothing: a personal channel takes a private chat only.
    f.fakes.set(|s| {
        s.updates.push((10, -3003, "Флуд".into(), format!("/start {code}")));
        s.updates.push((11, 4242, "anna_s".into(), format!("/start {code}")));
    });
    let hello = f.fakes.wait_for("telegram:4242", 1).await;
    assert_eq!(hello[0].body["text"], "<b>✅ Test message: the KPI Arena channel “Анна” works</b>");
    assert!(f.fakes.to("telegram:-3003").is_empty());
    // Анна's and Борис's wins: the team chat hears both, Анна's chat only hers (and her badge).
    let wins = json!([won("d1", "r1", 1000.0), won("d2", "r2", 2000.0)]);
    assert_eq!(f.app.post_records_scored(&f.token, &wins).await.0, 200);
    let group = f.fakes.wait_for("telegram:-1001", 2).await;
    assert!(
        group[1].body["text"].as_str().unwrap().starts_with("<b>📣 Выиграно 2 сделки</b>\n"),
        "{:?}",
        group[1].body
    );
    let own = f.fakes.wait_for("telegram:4242", 2).await;
    assert_eq!(
        own[1].body["text"],
        "<b>📣 2 news</b>\n🎉 Анна won a deal worth ₽1,000, now #2 on the leaderboard\n🥇 Анна earned the “First win” badge"
    );
    // Managers and admins do not list a rep's own chat; the rep ends it.
    assert!(notify::setup::list(&f.app.pool, &f.admin).await.unwrap().iter().all(|c| c.user_id.is_none()));
    notify::setup::unbind_mine(&f.app.pool, &anna).await.unwrap();
    assert!(notify::setup::mine(&f.app.pool, &anna).await.unwrap().is_none());
}

#[tokio::test]
async fn digests_tell_a_teams_week_and_the_organisations_month_once() {
    use domain::period::{Period, PeriodKind};
    let f = fixture().await;
    let tz = chrono_tz::UTC;
    let today = domain::clock::now().date_naive();
    let week = Period::containing(PeriodKind::Week, today).previous();
    let (_, week_end) = week.bounds(tz);
    let sunday = week_end - Duration::hours(23);
    let month = Period::containing(PeriodKind::Month, sunday.date_naive());
    // Анна won 30,000 and 20,000 on last week's Sunday; t1's revenue target for that month is 200,000.
    let deal = |id: &str, amount: f64| {
        json!({"kind": "deal", "id": id, "owner": "r1", "amount": amount, "status": "won",
               "created_at": (sunday - Duration::hours(1)).to_rfc3339(), "closed_at": sunday.to_rfc3339()})
    };
    assert_eq!(f.app.post_records_scored(&f.token, &json!([deal("w1", 30000.0), deal("w2", 20000.0)])).await.0, 200);
    sqlx::query("INSERT INTO targets (kpi, scope, period, value) VALUES ('revenue', 'team:t1', $1, 200000)")
        .bind(month.to_string())
        .execute(&f.app.pool)
        .await
        .unwrap();
    let weekly = ChannelForm {
        team: "t1".into(),
        ..form("slack", "Managers", "en", &["digest_weekly"], &format!("{}/slack/managers", f.fakes.base))
    };
    f.channel(&weekly).await;
    f.channel(&form("slack", "Directors", "en", &["digest_monthly"], &format!("{}/slack/directors", f.fakes.base)))
        .await;

    // t1's week: the month to last Sunday against the month's target (t2's week goes nowhere).
    let got = f.fakes.wait_for("slack:managers", 1).await;
    assert_eq!(slack_title(&got[0].body), format!("📊 T1: the week {week}"));
    let lines: Vec<String> = got[0].body["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches("• ").to_string())
        .collect();
    assert_eq!(lines[0], "Average deal size: ₽25,000");
    assert_eq!(lines[1], "Win rate: 100%");
    assert_eq!(lines[2], "Revenue: ₽50,000 (target ₽200,000, 25%)");
    assert!(
        lines[3].starts_with("Forecast for the month: ₽") && lines[3].ends_with("against a target of ₽200,000"),
        "{lines:?}"
    );
    // Slack's text escapes its three control characters (&, <, >).
    assert_eq!(lines[4], format!("The report: /team/report?team=t1&amp;period={month}"));
    assert_eq!(lines.len(), 5);

    // The organisation's last month: the deals count only if last Sunday was in it.
    let last_month = Period::containing(PeriodKind::Month, today).previous();
    let got = f.fakes.wait_for("slack:directors", 1).await;
    let org = store::settings::load(&f.app.pool).await.unwrap().name;
    assert_eq!(slack_title(&got[0].body), format!("📊 {org}: the month {last_month}"));
    let text = got[0].body["blocks"][1]["text"]["text"].as_str().unwrap().to_string();
    if month == last_month {
        assert!(text.contains("• Revenue: ₽50,000\n"), "{text}");
    } else {
        assert!(text.contains("• Revenue: ₽0\n"), "{text}");
    }
    // Told once: the worker comes round every second, and nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(f.fakes.to("slack:").len(), 2);
}

#[tokio::test]
async fn a_rep_passing_someone_and_a_new_flag_are_told_to_the_channels_that_chose_them() {
    let f = fixture().await;
    f.channel(&form("slack", "Floor", "en", &["passed"], &format!("{}/slack/floor", f.fakes.base))).await;
    // The managers' channel of t1 hears its reps' anti-gaming flags.
    f.channel(&ChannelForm {
        team: "t1".into(),
        ..form("slack", "Managers", "en", &["flag"], &format!("{}/slack/managers", f.fakes.base))
    })
    .await;
    // Борис wins 10,000 (50 + 1 points): he passes nobody (everyone else had none).
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d1", "r2", 10000.0)])).await.0, 200);
    // Анна wins 100,000 (50 + 10 = 60 points): she passes Борис (51) and leads.
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d2", "r1", 100000.0)])).await.0, 200);
    let floor = f.fakes.wait_for("slack:floor", 1).await;
    assert_eq!(slack_title(&floor[0].body), "⬆️ Анна passed Борис on this month's points and is now #1");
    // A won deal of 0 is flagged: the managers hear of it in the flag's own words.
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d3", "r1", 0.0)])).await.0, 200);
    // Flags are looked for at most every 10 seconds.
    let managers = f.fakes.wait_for_within("slack:managers", 1, 25).await;
    let flag = store::flags::flags(&f.app.pool, Some("t1")).await.unwrap();
    assert_eq!(flag.len(), 1);
    let about = flag[0].about.clone().unwrap().english();
    assert_eq!(slack_title(&managers[0].body), format!("🚩 A flag on Анна's records: {about}"));
    assert!(about.contains("d3"), "{about}");
    // Told once, however often scores move again.
    assert_eq!(f.app.post_records_scored(&f.token, &json!([won("d4", "r3", 5.0)])).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(f.fakes.to("slack:managers").len(), 1);
    assert_eq!(f.fakes.to("slack:floor").len(), 1);
}
