//! Fake messaging services on real HTTP and SMTP, for the notification tests: Telegram's Bot
//! API (`getMe`, `sendMessage`, `getUpdates`), Slack incoming webhooks and Teams Workflows
//! webhooks (any path under `/slack/` or `/teams/`), and a small SMTP server. Each records
//! what it received, and can be told to answer 429 (with its wait) or to refuse.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub const BOT_TOKEN: &str = "123456789:AAtestTokenForTheFakeBotApi0000";

/// One message a fake received: where (`telegram:<chat>`, `slack:<path>`, `teams:<path>`,
/// `email`), its body, and when.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
pub struct FakeState {
    pub received: Vec<Received>,
    /// Telegram updates waiting for `getUpdates`: (update_id, chat id, chat title, text).
    pub updates: Vec<(i64, i64, String, String)>,
    /// The next this many sends are answered 429 with this wait (seconds), and when each was.
    pub throttle: u32,
    pub retry_after: u64,
    pub throttled_at: Vec<Instant>,
}

#[derive(Clone)]
pub struct Fakes {
    pub base: String,
    pub smtp_port: u16,
    pub state: Arc<Mutex<FakeState>>,
}

impl Fakes {
    pub async fn start() -> Fakes {
        let state = Arc::new(Mutex::new(FakeState { retry_after: 2, ..Default::default() }));
        let app = Router::new()
            .route("/{bot}/{method}", post(telegram))
            .route("/slack/{hook}", post(slack))
            .route("/teams/{hook}", post(teams))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let smtp_port = smtp.local_addr().unwrap().port();
        let mail = state.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = smtp.accept().await.unwrap();
                tokio::spawn(smtp_session(socket, mail.clone()));
            }
        });
        Fakes { base, smtp_port, state }
    }

    pub fn set(&self, f: impl FnOnce(&mut FakeState)) {
        f(&mut self.state.lock().unwrap());
    }

    /// What arrived for `to` (a prefix: `telegram:`, `slack:team`, `email`), oldest first.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.state.lock().unwrap().received.iter().filter(|r| r.to.starts_with(to)).cloned().collect()
    }

    /// Waits until `to` has received `n` messages (at most 15 s), then returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        self.wait_for_within(to, n, 15).await
    }

    /// `wait_for`, waiting at most `seconds`.
    pub async fn wait_for_within(&self, to: &str, n: usize, seconds: u64) -> Vec<Received> {
        for _ in 0..seconds * 10 {
            if self.to(to).len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got = self.to(to);
        assert_eq!(got.len(), n, "messages to {to}: {got:#?}");
        got
    }
}

type Shared = State<Arc<Mutex<FakeState>>>;

fn throttled(s: &mut FakeState) -> bool {
    if s.throttle > 0 {
        s.throttle -= 1;
        s.throttled_at.push(Instant::now());
        return true;
    }
    false
}

async fn telegram(
    State(state): Shared,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut s = state.lock().unwrap();
    if bot != format!("bot{BOT_TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    match method.as_str() {
        "getMe" => Json(json!({"ok": true, "result": {"id": 123456789, "is_bot": true, "username": "arena_test_bot"}}))
            .into_response(),
        "getUpdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let result: Vec<Value> = s
                .updates
                .iter()
                .filter(|u| u.0 >= offset)
                .map(|(id, chat, title, text)| {
                    // A private chat has a positive id, a group a negative one, as in Telegram.
                    let kind = if *chat > 0 { "private" } else { "supergroup" };
                    json!({"update_id": id, "message": {"message_id": id, "text": text,
                        "chat": {"id": chat, "title": title, "type": kind}}})
                })
                .collect();
            Json(json!({"ok": true, "result": result})).into_response()
        }
        "sendMessage" => {
            if throttled(&mut s) {
                let wait = s.retry_after;
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {wait}"), "parameters": {"retry_after": wait}})),
                )
                    .into_response();
            }
            if body["chat_id"] == json!(-404) {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})),
                )
                    .into_response();
            }
            s.received.push(Received {
                to: format!("telegram:{}", body["chat_id"]),
                body: body.clone(),
                at: Instant::now(),
            });
            Json(json!({"ok": true, "result": {"message_id": s.received.len()}})).into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})))
            .into_response(),
    }
}

async fn slack(State(state): Shared, Path(hook): Path<String>, Json(body): Json<Value>) -> Response {
    let mut s = state.lock().unwrap();
    if hook == "gone" {
        return (StatusCode::NOT_FOUND, "no_service").into_response();
    }
    if throttled(&mut s) {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", s.retry_after.to_string())], "rate_limited")
            .into_response();
    }
    s.received.push(Received { to: format!("slack:{hook}"), body, at: Instant::now() });
    "ok".into_response()
}

async fn teams(State(state): Shared, Path(hook): Path<String>, Json(body): Json<Value>) -> Response {
    let mut s = state.lock().unwrap();
    s.received.push(Received { to: format!("teams:{hook}"), body, at: Instant::now() });
    StatusCode::ACCEPTED.into_response()
}

/// Enough SMTP for a client without TLS or authentication: greeting, EHLO, MAIL, RCPT, DATA, QUIT.
/// Each message is recorded as {"from", "to": […], "data"}.
async fn smtp_session(socket: tokio::net::TcpStream, state: Arc<Mutex<FakeState>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 fake.smtp ESMTP ready\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-fake.smtp\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            let body = json!({"from": from, "to": to, "data": data});
            state.lock().unwrap().received.push(Received { to: "email".into(), body, at: Instant::now() });
            to = Vec::new();
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            break;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        let _ = write.write_all(reply).await;
    }
}
