//! `/leaderboard` rendered on the server from the database.

use crate::helpers::{TestApp, PASSWORD};
use serde_json::{json, Value};

/// Three reps in October 2026 (UTC):
/// - Anna: won 300 + 200 = 500 (and 1000 won at exactly 2026-11-01T00:00Z, which is November)
/// - Boris: won 500; a lost 1000 does not count
/// - Vera: won 100 on 2026-10-01T00:00Z (the first instant of October counts)
/// - Gleb: nothing → 0, last
async fn fixture(app: &TestApp, token: &str) {
    let won = |id: &str, owner: &str, amount: f64, closed: &str| {
        json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "created_at": "2026-09-01T00:00:00Z",
               "status": "won", "closed_at": closed})
    };
    let mut records: Vec<Value> = ["anna", "boris", "vera", "gleb"]
        .iter()
        .map(|u| json!({"kind": "user", "id": u, "name": u.to_uppercase(), "email": format!("{u}@example.com"), "role": "rep"}))
        .collect();
    records.extend([
        won("a1", "anna", 300.0, "2026-10-05T10:00:00Z"),
        won("a2", "anna", 200.0, "2026-10-31T23:59:59+00:00"),
        won("a3", "anna", 1000.0, "2026-11-01T03:00:00+03:00"),
        won("b1", "boris", 500.0, "2026-10-15T12:00:00Z"),
        json!({"kind": "deal", "id": "b2", "owner": "boris", "amount": 1000, "created_at": "2026-09-01T00:00:00Z",
               "status": "lost", "closed_at": "2026-10-16T12:00:00Z"}),
        won("v1", "vera", 100.0, "2026-10-01T00:00:00Z"),
    ]);
    let (status, body) = app.post_records(token, &json!(records)).await;
    assert_eq!(status, 200, "{body}");
}

/// The rows of the rendered board (rank, movement, name, team, value) as (rank, name, value digits).
fn rows(html: &str) -> Vec<(String, String, String)> {
    html.split("<tr")
        .skip(2)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let text = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
                    text.replace("<!>", "").trim().to_string()
                })
                .collect();
            let digits: String = cells[4].chars().filter(|c| c.is_ascii_digit() || *c == ',').collect();
            (cells[0].clone(), cells[2].clone(), digits)
        })
        .collect()
}

#[tokio::test]
async fn reps_are_ranked_by_won_revenue_in_the_period_with_ties_sharing_a_rank() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    fixture(&app, &token).await;
    store::users::set_password(&app.pool, "anna@example.com", PASSWORD.into()).await.unwrap();
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .form(&[("email", "anna@example.com"), ("password", PASSWORD), ("next", "/leaderboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);

    let html = app.client.get(app.url("/leaderboard?period=2026-10")).send().await.unwrap().text().await.unwrap();
    let board = &html[html.find("data-testid=\"leaderboard\"").expect("the board is rendered")..];
    assert_eq!(
        rows(board),
        vec![
            ("1".into(), "ANNA".into(), "500".into()),
            ("1".into(), "BORIS".into(), "500".into()),
            ("3".into(), "VERA".into(), "100".into()),
            ("4".into(), "GLEB".into(), "0".into()),
        ]
    );
    // Anna's own row is marked; nobody else's is.
    assert_eq!(board.matches("class=\"mine\"").count(), 1);
    let anna_row = &board[board.find("data-user=\"anna\"").unwrap().saturating_sub(80)..];
    assert!(anna_row.contains("class=\"mine\""));

    let html = app.client.get(app.url("/leaderboard?period=2026-11")).send().await.unwrap().text().await.unwrap();
    let board = &html[html.find("data-testid=\"leaderboard\"").unwrap()..];
    assert_eq!(rows(board)[0], ("1".into(), "ANNA".into(), "1000".into()));
}

#[tokio::test]
async fn static_files_are_served_precompressed_with_long_cache_headers() {
    let site = std::env::temp_dir().join(format!("kpi-site-{}", rand::random::<u32>()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/app.abc123.wasm"), b"raw wasm bytes").unwrap();
    std::fs::write(site.join("pkg/app.abc123.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(site.join("pkg/app.abc123.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(site.join("pkg/kpi-arena.abc123.js"), b"main script").unwrap();
    std::fs::write(site.join("pkg/kpi-arena.abc123.wasm"), b"main wasm").unwrap();
    std::fs::write(site.join("pkg/kpi-arena.abc123.css"), b"styles").unwrap();
    let app = TestApp::spawn_with_site(site.to_str().unwrap()).await;
    // The main script and WASM of a split build keep their names across some releases: checked on
    // every load. Every other hashed file is kept for a year.
    for (file, kept) in [
        ("kpi-arena.abc123.js", "no-cache"),
        ("kpi-arena.abc123.wasm", "no-cache"),
        ("kpi-arena.abc123.css", "public, max-age=31536000, immutable"),
    ] {
        let res = app.client.get(app.url(&format!("/pkg/{file}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(res.headers()["cache-control"], kept, "{file}");
    }
    let url = app.url("/pkg/app.abc123.wasm");

    let res = app.client.get(&url).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let res = app.client.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let res = app.client.get(&url).header("accept-encoding", "identity").send().await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"raw wasm bytes");

    // Pages are compressed on the fly.
    let res = app.client.get(app.url("/login")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
}

/// A board of 55 reps, rep k having won 100 × k in November 2026: rep 55 ranks 1st, rep 1 55th.
/// A page shows the top 50 and the reader's own row below them, says so, and links to everyone.
#[tokio::test]
async fn a_large_board_shows_the_top_fifty_and_the_readers_own_row_with_everyone_a_click_away() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let id = |k: u64| format!("r{k:02}");
    let mut records: Vec<Value> = (1..=55)
        .map(|k| json!({"kind": "user", "id": id(k), "name": format!("Rep {k:02}"), "email": format!("{}@example.com", id(k)), "role": "rep"}))
        .collect();
    records.extend((1..=55).map(|k| {
        json!({"kind": "deal", "id": format!("d{k}"), "owner": id(k), "amount": 100 * k, "status": "won",
               "created_at": "2026-11-02T10:00:00Z", "closed_at": "2026-11-03T10:00:00Z"})
    }));
    let (status, body) = app.post_records(&token, &json!(records)).await;
    assert_eq!(status, 200, "{body}");
    for k in [1, 55] {
        store::users::set_password(&app.pool, &format!("{}@example.com", id(k)), PASSWORD.into()).await.unwrap();
    }
    let last = crate::admin::browser(&app, "r01@example.com", PASSWORD).await;
    let first = crate::admin::browser(&app, "r55@example.com", PASSWORD).await;
    let read = |page: &reqwest::Client, query: &[(&str, &str)]| {
        let res = page.post(app.url("/api/leaderboard")).form(query).send();
        async move {
            let res = res.await.unwrap();
            let status = res.status().as_u16();
            (status, res.text().await.unwrap())
        }
    };
    let view = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    // (rank, user id, value)
    let rows = |view: &Value| -> Vec<(u64, String, f64)> {
        let entries = view["entries"].as_array().unwrap().iter();
        entries
            .map(|e| (e["rank"].as_u64().unwrap(), e["user_id"].as_str().unwrap().into(), e["value"].as_f64().unwrap()))
            .collect()
    };
    let top: Vec<(u64, String, f64)> = (1..=50).map(|rank| (rank, id(56 - rank), 100.0 * (56 - rank) as f64)).collect();
    let november = [("period", "2026-11")];

    // The last rep: the top 50, then their own row, 55th.
    let (status, text) = read(&last, &november).await;
    assert_eq!(status, 200, "{text}");
    let seen = view(&text);
    assert_eq!((&seen["view"], &seen["total"]), (&json!("top"), &json!(55)));
    assert_eq!(rows(&seen), [top.clone(), vec![(55, id(1), 100.0)]].concat());
    // The first: the top 50, their own among them.
    assert_eq!(rows(&view(&read(&first, &november).await.1)), top);
    // Everyone: 55 rows, the 51st rep 5 with 500.
    let all = rows(&view(&read(&last, &[("period", "2026-11"), ("view", "all")]).await.1));
    assert_eq!((all.len(), &all[50], &all[54]), (55, &(51, id(5), 500.0), &(55, id(1), 100.0)));
    // Initials: the top 50 anonymised, the reader's own row by name.
    let initials = view(&read(&last, &[("period", "2026-11"), ("names", "initials")]).await.1);
    let entries = initials["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 51);
    assert_eq!((&entries[0]["name"], &entries[0]["user_id"]), (&json!("R. 5."), &json!("")));
    assert_eq!((&entries[50]["name"], &entries[50]["rank"]), (&json!("Rep 01"), &json!(55)));
    // An unknown view is refused, naming it.
    let (status, text) = read(&last, &[("view", "bogus")]).await;
    assert_eq!(status, 400);
    assert!(text.contains("bogus"), "{text}");

    // The page: 51 rows, how many are shown, and a link to everyone; none with everyone shown.
    let page = |path: &str| last.get(app.url(path)).header("accept-language", "en").send();
    let html = page("/leaderboard?period=2026-11").await.unwrap().text().await.unwrap();
    let board = &html[html.find("data-testid=\"leaderboard\"").expect("the board is rendered")..];
    assert_eq!(board.matches("data-user=").count(), 51);
    let note = &board[board.find("data-testid=\"board-more\"").expect("the note is there")..];
    assert!(note.contains("Showing the top 50 of 55."), "{}", &note[..300.min(note.len())]);
    assert!(note.contains("view=all"), "{}", &note[..300.min(note.len())]);
    let html = page("/leaderboard?period=2026-11&view=all").await.unwrap().text().await.unwrap();
    assert_eq!(html.matches("data-user=").count(), 55);
    assert!(!html.contains("board-more"));
}
