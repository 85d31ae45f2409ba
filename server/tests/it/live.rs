//! Live for a whole floor: changes are folded before screens hear them, each view
//! is computed once per change however many screens re-read it, and a revoked TV
//! or an ended session is told by the instance, not by each stream's own polling.

use crate::admin::browser;
use crate::helpers::{two_teams_three_reps, TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// An open event stream: its events (name, data) as they arrive.
pub(crate) fn listen(mut res: reqwest::Response) -> mpsc::UnboundedReceiver<(String, String)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_string())
                        .unwrap_or_default()
                };
                if tx.send((field("event:"), field("data:"))).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next event named `name` within `limit`, skipping others.
pub(crate) async fn next(
    rx: &mut mpsc::UnboundedReceiver<(String, String)>,
    name: &str,
    limit: Duration,
) -> Option<String> {
    tokio::time::timeout(limit, async {
        while let Some((event, data)) = rx.recv().await {
            if event == name {
                return Some(data);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

async fn figures(app: &TestApp, token: &str) -> Value {
    let res = app.client.get(app.url("/api/v1/live")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Anna's (r1) revenue on the November leaderboard, as her page reads it.
async fn annas_revenue(page: &reqwest::Client, app: &TestApp) -> f64 {
    let res = page.post(app.url("/api/leaderboard")).form(&[("period", "2026-11")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    view["entries"].as_array().unwrap().iter().find(|e| e["user_id"] == "r1").unwrap()["value"].as_f64().unwrap_or(0.0)
}

#[tokio::test]
async fn a_burst_of_fifty_batches_is_told_as_a_few_changes_each_computed_once_for_every_screen() {
    let app = TestApp::spawn().await;
    let sync = app.sync_token().await;
    assert_eq!(app.post_records(&sync, &two_teams_three_reps()).await.0, 200);
    store::users::set_password(&app.pool, "r1@example.com", PASSWORD.into()).await.unwrap();
    // Three of Anna's pages, each with its stream open.
    let mut pages = Vec::new();
    for _ in 0..3 {
        let page = browser(&app, "r1@example.com", PASSWORD).await;
        let stream = page.get(app.url("/api/live")).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        pages.push((page, listen(stream)));
    }
    for (_, rx) in pages.iter_mut() {
        next(rx, "ping", Duration::from_secs(5)).await.expect("a stream's first event");
    }
    assert_eq!(annas_revenue(&pages[0].0, &app).await, 0.0);
    let before = figures(&app, &sync).await;
    assert_eq!(before["open_streams"], 3);

    // Fifty batches of one won deal each (100 + i ₽), all sent at once, as a CRM backfill does.
    let sends = (0..50).map(|i| {
        let at = "2026-11-10T10:00:00Z";
        let body = json!([{"kind": "deal", "id": format!("burst-{i}"), "owner": "r1", "amount": 100 + i,
                           "status": "won", "created_at": at, "closed_at": at}]);
        let (app, sync) = (&app, &sync);
        async move { app.post_records(sync, &body).await.0 }
    });
    let burst = std::time::Instant::now();
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Every page re-reads at each `changed` it hears, until the burst is over: every deal read,
    // then quiet for 1.5 s (a slow machine may pause longer mid-burst: a page keeps listening then).
    let mut versions = std::collections::BTreeSet::new();
    let mut told = vec![0u64; pages.len()];
    let mut last = vec![0.0; pages.len()];
    for (n, (page, rx)) in pages.iter_mut().enumerate() {
        loop {
            let quiet = if last[n] == 6225.0 { Duration::from_millis(1500) } else { Duration::from_secs(30) };
            let Some(version) = next(rx, "changed", quiet).await else { break };
            versions.insert(version.parse::<u64>().expect("a version"));
            told[n] += 1;
            last[n] = annas_revenue(page, &app).await;
        }
    }
    let took = burst.elapsed().as_millis() as u64;
    // 50 × 100 + (0 + … + 49) = 6,225 ₽ on every page.
    assert_eq!(last, vec![6225.0; 3]);
    // Folded: at most one `changed` per 100 ms of the burst and of the scoring that follows it
    // (however long the machine takes), and fewer than the fifty batches.
    assert!(
        told.iter().all(|t| (1..50).contains(t) && *t <= took / 100 + 2),
        "changed events per page: {told:?} in {took} ms"
    );
    let after = figures(&app, &sync).await;
    let heard = after["notifications"].as_u64().unwrap() - before["notifications"].as_u64().unwrap();
    assert!(heard >= 50, "every batch's notification was heard: {heard}");
    // Each version's leaderboard is computed once for the three pages: the leaderboard reads five
    // snapshots (settings, scopes, this period's and the previous one's ranking, the rows built
    // from them), so at most 5 per version read.
    let computed = after["views_computed"].as_u64().unwrap() - before["views_computed"].as_u64().unwrap();
    assert!(
        computed <= 5 * versions.len() as u64,
        "{computed} views computed for {} versions read by 3 pages",
        versions.len()
    );
    let reads: u64 = told.iter().sum();
    assert!(computed < 5 * reads, "{reads} re-reads by three pages shared {computed} computations");
}

/// One page's leaderboard as (rank, user id, name, team, movement, value).
async fn board(
    page: &reqwest::Client,
    app: &TestApp,
    query: &[(&str, &str)],
) -> Vec<(u64, String, String, Value, Value, f64)> {
    let res = page.post(app.url("/api/leaderboard")).form(query).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_string();
    view["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rank"].as_u64().unwrap(),
                text(&e["user_id"]),
                text(&e["name"]),
                e["team"].clone(),
                e["movement"].clone(),
                e["value"].as_f64().unwrap_or(0.0),
            )
        })
        .collect()
}

#[tokio::test]
async fn readers_of_one_shared_leaderboard_each_see_their_own_row_by_name() {
    let app = TestApp::spawn().await;
    let sync = app.sync_token().await;
    assert_eq!(app.post_records(&sync, &two_teams_three_reps()).await.0, 200);
    let won = |id: &str, owner: &str, amount: f64, at: &str| json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": "won", "created_at": at, "closed_at": at});
    // October: Вера (r3) 500, Анна (r1) 100. November: Анна 300, Борис (r2) 200, Вера 100.
    let deals = json!([
        won("o1", "r3", 500.0, "2026-10-10T10:00:00Z"),
        won("o2", "r1", 100.0, "2026-10-11T10:00:00Z"),
        won("n1", "r1", 300.0, "2026-11-10T10:00:00Z"),
        won("n2", "r2", 200.0, "2026-11-10T11:00:00Z"),
        won("n3", "r3", 100.0, "2026-11-10T12:00:00Z"),
    ]);
    assert_eq!(app.post_records(&sync, &deals).await.0, 200);
    for email in ["r1@example.com", "r2@example.com"] {
        store::users::set_password(&app.pool, email, PASSWORD.into()).await.unwrap();
    }
    let anna = browser(&app, "r1@example.com", PASSWORD).await;
    let boris = browser(&app, "r2@example.com", PASSWORD).await;
    let (north, south) = (json!("T1"), json!("T2"));
    let row = |rank, id: &str, name: &str, team: &Value, movement: Value, value| {
        (rank, id.to_string(), name.to_string(), team.clone(), movement, value)
    };

    // Full names: one row set for everyone. In October Вера was 1st, Анна 2nd, Борис 3rd (0 ₽):
    // Анна +1, Борис +1, Вера -2.
    let full = vec![
        row(1, "r1", "Анна", &north, json!(1), 300.0),
        row(2, "r2", "Борис", &north, json!(1), 200.0),
        row(3, "r3", "Вера", &south, json!(-2), 100.0),
    ];
    let november = [("period", "2026-11")];
    assert_eq!(board(&anna, &app, &november).await, full);
    assert_eq!(board(&boris, &app, &november).await, full);

    // Initials or ranks only: every row but the reader's own is anonymised, with no id and no team.
    let initials = [("period", "2026-11"), ("names", "initials")];
    assert_eq!(
        board(&anna, &app, &initials).await,
        vec![
            row(1, "r1", "Анна", &north, json!(1), 300.0),
            row(2, "", "Б.", &Value::Null, json!(1), 200.0),
            row(3, "", "В.", &Value::Null, json!(-2), 100.0),
        ]
    );
    let hidden = [("period", "2026-11"), ("names", "none")];
    assert_eq!(
        board(&boris, &app, &hidden).await,
        vec![
            row(1, "", "#1", &Value::Null, json!(1), 300.0),
            row(2, "r2", "Борис", &north, json!(1), 200.0),
            row(3, "", "#3", &Value::Null, json!(-2), 100.0),
        ]
    );
    // Anna again after Boris: the shared anonymised rows did not keep his name.
    assert_eq!(board(&anna, &app, &hidden).await[1], row(2, "", "#2", &Value::Null, json!(1), 200.0));
    // A scope that names no team is refused, naming it (the shared computation's error is each reader's to word).
    let res = anna.post(app.url("/api/leaderboard")).form(&[("scope", "team:nope")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(text.contains("team:nope"), "{text}");
}

#[tokio::test]
async fn a_revoked_tv_is_told_by_its_notification_and_a_lost_one_by_the_instances_sweep() {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    let admin_user = store::users::user_for_token(&app.pool, &admin).await.unwrap().expect("the admin");
    let admin_id = admin_user.id.clone();
    // Two TVs, paired as a manager would, each with its display cookie and its stream open.
    let mut tvs = Vec::new();
    for name in ["Lobby", "Kitchen"] {
        let (code, secret) = store::displays::start_pairing(&app.pool).await.unwrap().expect("room for a pairing");
        let new = store::displays::NewDisplay {
            code,
            name: name.into(),
            names: "full".into(),
            rotate_seconds: 15,
            scope: "org".into(),
            sound: false,
        };
        let id = store::displays::pair(&app.pool, &admin_id, &new).await.unwrap();
        let token = store::displays::poll_pairing(&app.pool, &secret).await.unwrap().expect("paired");
        let res = app
            .client
            .get(app.url("/api/live"))
            .header("cookie", format!("{}={token}", app::live::DISPLAY_COOKIE))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let mut rx = listen(res);
        // The first event sets the browser's reconnection delay: somewhere in 1–5 s.
        next(&mut rx, "ping", Duration::from_secs(5)).await.expect("the first event");
        tvs.push((id, rx));
    }
    assert_eq!(figures(&app, &admin).await["open_streams"], 2);

    // Revoked by a manager: the notification tells the TV at once.
    let started = Instant::now();
    assert!(services::screens::revoke_display(&app.pool, &admin_user, tvs[0].0).await.unwrap());
    let told = next(&mut tvs[0].1, "revoked", Duration::from_secs(3)).await;
    assert_eq!(told.as_deref(), Some("revoked"), "the TV is told by the notification");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The other TV is not.
    assert_eq!(next(&mut tvs[1].1, "revoked", Duration::from_millis(300)).await, None);

    // Revoked with no notification (as if it were lost): the instance's sweep, one query for all
    // of its displays every 10 s, tells the TV.
    sqlx::query("UPDATE displays SET revoked_at = now() WHERE id = $1")
        .bind(tvs[1].0)
        .execute(&app.pool)
        .await
        .unwrap();
    let told = next(&mut tvs[1].1, "revoked", Duration::from_secs(15)).await;
    assert_eq!(told.as_deref(), Some("revoked"), "the sweep tells a TV whose notification was lost");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(figures(&app, &admin).await["open_streams"], 0, "both streams ended");
}

#[tokio::test]
async fn behind_a_proxy_speaking_http2_three_hundred_streams_share_one_connection_and_all_hear_a_win() {
    let app = TestApp::spawn().await;
    let sync = app.sync_token().await;
    assert_eq!(app.post_records(&sync, &two_teams_three_reps()).await.0, 200);
    store::users::set_password(&app.pool, "r1@example.com", PASSWORD.into()).await.unwrap();
    // As a reverse proxy in front of the instance: HTTP/2 without TLS, every page's stream on one connection.
    let proxy = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let res = proxy
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", "r1@example.com"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!((res.version(), res.status().as_u16()), (reqwest::Version::HTTP_2, 302));
    // More streams than hyper lets one HTTP/2 connection carry by default (200).
    let opening = (0..300).map(|_| {
        let (proxy, url) = (proxy.clone(), app.url("/api/live"));
        async move { proxy.get(url).send().await.unwrap() }
    });
    let mut streams = Vec::new();
    let opened = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(opening)).await;
    for res in opened.expect("300 streams opened on one connection within 20 s") {
        assert_eq!((res.version(), res.status().as_u16()), (reqwest::Version::HTTP_2, 200));
        streams.push(listen(res));
    }
    for rx in streams.iter_mut() {
        next(rx, "ping", Duration::from_secs(10)).await.expect("a stream's first event");
    }
    assert_eq!(figures(&app, &sync).await["open_streams"], 300);

    let at = "2026-11-10T10:00:00Z";
    let deal = json!([{"kind": "deal", "id": "h2-win", "owner": "r1", "amount": 700, "status": "won",
                       "created_at": at, "closed_at": at}]);
    assert_eq!(app.post_records(&sync, &deal).await.0, 200);
    for (n, rx) in streams.iter_mut().enumerate() {
        let won = next(rx, "won", Duration::from_secs(5)).await;
        assert_eq!(won.as_deref(), Some("h2-win"), "stream {n}");
    }
}
