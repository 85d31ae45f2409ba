//! The printable team report (`/team/report`), rendered on the server, on a
//! small fixture worked out by hand: September and October 2026, UTC, roubles.

use crate::admin::browser;
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};

fn deal(id: &str, owner: &str, amount: f64, status: &str, closed: &str) -> Value {
    json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": status,
           "created_at": "2026-09-01T00:00:00Z", "closed_at": closed})
}

/// Teams t1 (Анна r1, Борис r2, manager Мила) and t2 (Вера r3, manager Олег), an admin.
/// September: Анна wins 1000, Борис 200, Вера 300.
/// October: Анна wins 250.50 and 149.50 and loses 700, Борис wins 1000.
/// October targets: the team 2000 revenue and a 60 % win rate, each of Анна and Борис 800 revenue.
async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    app.user_with_token("south@example.com", "Олег", Role::Manager, Some("t2")).await;
    store::users::set_password(&app.pool, "r1@example.com", PASSWORD.into()).await.unwrap();
    let deals = json!([
        deal("s1", "r1", 1000.0, "won", "2026-09-10T10:00:00Z"),
        deal("s2", "r2", 200.0, "won", "2026-09-11T10:00:00Z"),
        deal("s3", "r3", 300.0, "won", "2026-09-12T10:00:00Z"),
        deal("o1", "r1", 250.50, "won", "2026-10-05T10:00:00Z"),
        deal("o2", "r1", 149.50, "won", "2026-10-06T10:00:00Z"),
        deal("o3", "r1", 700.0, "lost", "2026-10-07T10:00:00Z"),
        deal("o4", "r2", 1000.0, "won", "2026-10-08T10:00:00Z"),
    ]);
    let (status, body) = app.post_records(&admin, &deals).await;
    assert_eq!(status, 200, "{body}");
    for (kpi, scope, value) in [
        ("revenue", "team:t1", 2000.0),
        ("win_rate", "team:t1", 60.0),
        ("revenue", "rep:r1", 800.0),
        ("revenue", "rep:r2", 800.0),
    ] {
        store::targets::set(&app.pool, kpi, scope, "2026-10", value, "r1").await.unwrap();
    }
    app
}

async fn page(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = c.get(app.url(path)).header("accept-language", "en").send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The text of an HTML fragment: tags dropped, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the element that starts at `marker` (an attribute) and ends at the next `end` tag.
fn part(html: &str, marker: &str, end: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("`{marker}` in the page"));
    let rest = &html[from..];
    text(&rest[rest.find('>').unwrap() + 1..rest.find(end).unwrap()])
}

#[tokio::test]
async fn the_report_shows_the_teams_kpis_against_targets_the_reps_and_the_movers() {
    let app = setup().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let (status, html) = page(&boss, &app, "/team/report?period=2026-10").await;
    assert_eq!(status, 200);

    let head = part(&html, r#"class="report-head""#, "</header>");
    assert!(head.starts_with("KPI Arena Team report: T1 2026-10 · 1 Oct 2026 — 31 Oct 2026 Generated "), "{head}");
    assert!(head.ends_with("(UTC)"), "{head}");

    // Team revenue 250.50 + 149.50 + 1000 = 1400 of 2000 (70 %); September 1000 + 200 = 1200: +16.7 %.
    assert_eq!(part(&html, r#"data-kpi="revenue""#, "</tr>"), "Revenue ₽1,400 ₽2,000 70% ▲ 16.7%");
    // Win rate 3 won of 4 = 75 % against 60 % (125 %); September 2 of 2 = 100 %: −25 %.
    assert_eq!(part(&html, r#"data-kpi="win_rate""#, "</tr>"), "Win rate 75% 60% 125% ▼ 25%");
    assert!(html.contains(r#"data-kpi="cac""#), "team-scope KPIs are listed, costs too");
    assert!(!html.contains(r#"data-kpi="competitor_price_index""#), "org-only KPIs are not");
    let trend = &html[html.find(r#"data-kpi="revenue""#).unwrap()..];
    let trend = &trend[..trend.find("</tr>").unwrap()];
    assert!(trend.contains("<svg") && trend.contains("sparkline") && trend.contains("<polyline"), "its trend: {trend}");

    // The targeted KPIs only, in KPI order; the team, then each rep.
    let reps = &html[html.find(r#"data-testid="report-reps""#).expect("the reps table")..];
    assert_eq!(part(reps, "<thead", "</thead>"), "Who Win rate Revenue");
    assert_eq!(
        part(reps, r#"data-scope="team:t1""#, "</tr>"),
        "Whole team 75% Target: 60% · 125% ₽1,400 Target: ₽2,000 · 70%"
    );
    // Анна: 2 won of 3 = 66.7 %, no target; 400 of 800 = 50 %.
    assert_eq!(part(reps, r#"data-scope="rep:r1""#, "</tr>"), "Анна 66.7% ₽400 Target: ₽800 · 50%");
    assert_eq!(part(reps, r#"data-scope="rep:r2""#, "</tr>"), "Борис 100% ₽1,000 Target: ₽800 · 125%");
    assert!(!html.contains("Вера"), "another team's rep is not in the report");

    // Борис went from 200 to 1000 and from 2nd to 1st; Анна from 1000 to 400 and 1st to 2nd.
    assert_eq!(
        part(&html, r#"data-testid="movers-up""#, "</table>"),
        "Name 2026-09 2026-10 Change Rank Борис ₽200 ₽1,000 +₽800 (+400%) 1 ▲1"
    );
    assert_eq!(
        part(&html, r#"data-testid="movers-down""#, "</table>"),
        "Name 2026-09 2026-10 Change Rank Анна ₽1,000 ₽400 −₽600 (−60%) 2 ▼1"
    );
}

#[tokio::test]
async fn only_the_teams_manager_or_an_admin_opens_the_report() {
    let app = setup().await;
    // Signed out: to the sign-in page, and back here after it.
    let (status, _) = page(&app.client, &app, "/team/report?period=2026-10").await;
    assert_eq!(status, 303);

    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let (status, html) = page(&rep, &app, "/team/report?period=2026-10").await;
    assert_eq!(status, 403);
    assert!(html.contains(r#"data-testid="forbidden""#) && !html.contains("report-kpis"), "{html}");

    let south = browser(&app, "south@example.com", PASSWORD).await;
    let (status, html) = page(&south, &app, "/team/report?team=t1&period=2026-10").await;
    assert_eq!(status, 403);
    assert!(!html.contains("Анна"), "nothing of t1 leaks");
    // Their own team: Вера alone, 300 in September and nothing in October.
    let (status, html) = page(&south, &app, "/team/report?period=2026-10").await;
    assert_eq!(status, 200);
    assert_eq!(
        part(&html, r#"data-testid="movers-down""#, "</table>"),
        "Name 2026-09 2026-10 Change Rank Вера ₽300 ₽0 −₽300 (−100%) 1 ="
    );

    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let (status, html) = page(&admin, &app, "/team/report?team=t2&period=2026-10").await;
    assert_eq!(status, 200);
    assert!(html.contains("Team report: T2"));
    let (_, html) = page(&admin, &app, "/team/report?team=t1&period=2026-13").await;
    assert!(html.contains(r#"role="alert""#) && !html.contains("report-kpis"), "a period that does not exist: {html}");
}

#[tokio::test]
async fn the_csv_download_is_written_for_russian_excel_and_the_import_reads_its_template_back() {
    let app = setup().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let download = |path: &str| boss.get(app.url(path)).header("accept-language", "ru").send();
    let res = download("/team/report.csv?period=2026-10").await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    // A UTF-8 byte-order mark, then `;` between cells and decimal commas, no thousands separators.
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 byte-order mark: {:?}", &bytes[..8.min(bytes.len())]);
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Код;Имя;Период;Код показателя;Показатель;Значение;Цель;Выполнение, %");
    let row = |scope: &str, kpi: &str| {
        let start = format!("{scope};");
        let kpi = format!(";{kpi};");
        *lines
            .iter()
            .find(|l| l.starts_with(&start) && l.contains(&kpi))
            .unwrap_or_else(|| panic!("a {kpi} row for {scope}: {text}"))
    };
    // The team: 250.50 + 149.50 + 1000 = 1400,00 of 2000,00 (70,0 %); 3 won of 4 closed = 75,0 % of 60,0 % (125,0 %).
    assert_eq!(row("team:t1", "revenue"), "team:t1;(команда);2026-10;revenue;Выручка;1400,00;2000,00;70,0");
    assert_eq!(
        row("team:t1", "win_rate"),
        "team:t1;(команда);2026-10;win_rate;Процент выигранных сделок;75,0;60,0;125,0"
    );
    // Money to the kopeck: 1400 / 3 won deals = 466,666… → 466,67.
    assert_eq!(
        row("team:t1", "avg_deal_size"),
        "team:t1;(команда);2026-10;avg_deal_size;Средний размер сделки;466,67;;"
    );
    // Анна: 400,00 of 800,00 (50,0 %); 2 won of 3 = 66,666… % → 66,7, no target.
    assert_eq!(row("r1", "revenue"), "r1;Анна;2026-10;revenue;Выручка;400,00;800,00;50,0");
    assert_eq!(row("r1", "win_rate"), "r1;Анна;2026-10;win_rate;Процент выигранных сделок;66,7;;");
    assert_eq!(row("r1", "avg_deal_size"), "r1;Анна;2026-10;avg_deal_size;Средний размер сделки;200,00;;");
    // Борис: 1000,00 of 800,00 (125,0 %).
    assert_eq!(row("r2", "revenue"), "r2;Борис;2026-10;revenue;Выручка;1000,00;800,00;125,0");
    for line in &lines[1..] {
        assert!(line.split(';').skip(5).all(|cell| !cell.contains('.')), "numbers with a decimal comma: {line}");
    }

    // The import template in the same convention; the import reads it back unchanged.
    let res = download("/import/template/deal.csv").await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let (header, example) = text.trim_end().split_once('\n').expect("a header and an example row");
    let amount = header.split(';').position(|c| c == "amount").expect("an amount column");
    assert!(header.starts_with("id;owner;"), "{text}");
    let cell = example.split(';').nth(amount).unwrap();
    assert!(cell.contains(',') && !cell.contains('.'), "the amount with a decimal comma: {cell}");
    let sheet = app::records::sheet::read(&bytes, app::records::Kind::Deal, chrono_tz::UTC).unwrap();
    assert_eq!(sheet.records.len(), 1);
    assert_eq!(sheet.records[0]["amount"], cell.replace(',', "."));
    assert_eq!(sheet.records[0]["status"], "won");
    // In English: commas and decimal points, as the template always was.
    let res = boss.get(app.url("/import/template/deal.csv")).header("accept-language", "en").send().await.unwrap();
    let bytes = res.bytes().await.unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)).unwrap().to_string();
    let (header, example) = text.trim_end().split_once('\n').expect("a header and an example row");
    assert!(header.starts_with("id,owner,"), "{text}");
    let sheet = app::records::sheet::read(&bytes, app::records::Kind::Deal, chrono_tz::UTC).unwrap();
    let amount = header.split(',').position(|c| c == "amount").expect("an amount column");
    assert_eq!(sheet.records[0]["amount"], example.split(',').nth(amount).unwrap());
}
