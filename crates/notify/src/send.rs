//! One message to one service: Telegram's Bot API (`sendMessage`, HTML), a Slack incoming
//! webhook (Block Kit), a Teams Workflows webhook (an Adaptive Card) or email over SMTP
//! (plain text and HTML). A failure says whether trying again can help, and after how long
//! the service asked to be left alone (a 429's `retry_after` or `Retry-After`).

use domain::notify::Text;
use serde_json::{json, Value};
use std::time::Duration;

/// Telegram's Bot API unless a channel names its own (a local Bot API server).
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// Where and how one channel is reached: its kind, its opened secret and its settings.
pub struct Target<'a> {
    pub kind: &'a str,
    /// The bot token, the webhook's address or the SMTP password.
    pub secret: &'a str,
    pub settings: &'a Value,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The service asked to be left alone for `wait` (a 429 with its `retry_after` or `Retry-After`).
    #[error("{reason}")]
    Busy { reason: String, wait: Duration },
    /// The service failed or was unreachable: try again (after `wait` when it said so).
    #[error("{reason}")]
    Retry { reason: String, wait: Option<Duration> },
    /// Telegram: the group became a supergroup with a new chat id.
    #[error("{reason}")]
    Moved { chat: i64, reason: String },
    /// The service refused the message for good (a revoked token, a deleted webhook).
    #[error("{0}")]
    Refused(String),
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Busy { reason, .. }
            | Failure::Retry { reason, .. }
            | Failure::Moved { reason, .. }
            | Failure::Refused(reason) => reason,
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("kpi-arena/", env!("CARGO_PKG_VERSION")))
        // A service's address may not send the server elsewhere (its own network).
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client builds")
}

/// Sends `text`; `key` is the message's idempotency key (email's Message-ID).
pub async fn send(client: &reqwest::Client, target: &Target<'_>, text: &Text, key: &str) -> Result<(), Failure> {
    match target.kind {
        "telegram" => {
            let chat =
                target.settings.get("chat").cloned().ok_or_else(|| {
                    Failure::Refused("no chat is bound yet: send /start with the code to the bot".into())
                })?;
            telegram(
                client,
                target,
                "sendMessage",
                &json!({
                    "chat_id": chat,
                    "text": text.telegram_html(),
                    "parse_mode": "HTML",
                    "disable_web_page_preview": true,
                }),
            )
            .await
            .map(|_| ())
        }
        "slack" => webhook(client, "Slack", target.secret, &text.slack()).await,
        "teams" => webhook(client, "Teams", target.secret, &text.teams()).await,
        "email" => email(target, text, key).await,
        other => Err(Failure::Refused(format!("unknown channel kind `{other}`"))),
    }
}

/// The Bot API's address for `method` with this channel's token.
fn bot_url(target: &Target<'_>, method: &str) -> String {
    let api = target.settings.get("api").and_then(Value::as_str).unwrap_or(TELEGRAM_API).trim_end_matches('/');
    format!("{api}/bot{}/{method}", target.secret)
}

/// Calls the Bot API; its `result` on success.
pub async fn telegram(
    client: &reqwest::Client,
    target: &Target<'_>,
    method: &str,
    body: &Value,
) -> Result<Value, Failure> {
    let answer = client.post(bot_url(target, method)).json(body).send().await.map_err(|e| Failure::Retry {
        // reqwest's error names the address, which holds the token.
        reason: format!("Telegram is unreachable: {}", without_url(&e)),
        wait: None,
    })?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if body["ok"].as_bool() == Some(true) {
        return Ok(body["result"].clone());
    }
    let description = body["description"].as_str().unwrap_or("no description").to_string();
    let reason = format!("Telegram answered {}: {description}", status.as_u16());
    match status.as_u16() {
        429 => {
            let wait = body["parameters"]["retry_after"].as_u64().map(Duration::from_secs);
            Err(Failure::Busy { reason, wait: wait.unwrap_or(Duration::from_secs(5)) })
        }
        500..=599 => Err(Failure::Retry { reason, wait: None }),
        _ => match body["parameters"]["migrate_to_chat_id"].as_i64() {
            Some(chat) => Err(Failure::Moved { chat, reason }),
            None => Err(Failure::Refused(reason)),
        },
    }
}

async fn webhook(client: &reqwest::Client, service: &str, url: &str, body: &Value) -> Result<(), Failure> {
    let answer = client.post(url).json(body).send().await.map_err(|e| Failure::Retry {
        // The address is the secret: never in a reason.
        reason: format!("{service} is unreachable: {}", without_url(&e)),
        wait: None,
    })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let wait = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = answer.text().await.unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    let reason = format!("{service} answered {}: {}", status.as_u16(), text.trim());
    match status.as_u16() {
        429 => Err(Failure::Busy { reason, wait: wait.unwrap_or(Duration::from_secs(5)) }),
        500..=599 => Err(Failure::Retry { reason, wait }),
        _ => Err(Failure::Refused(reason)),
    }
}

/// The error and its causes, with the address (which holds the secret) left out.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    match e.url() {
        Some(url) => text.replace(url.as_str(), "the address"),
        None => text,
    }
}

/// Email settings, as stored in the channel's `settings`.
pub struct Smtp<'a> {
    pub host: &'a str,
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: &'a str,
    pub user: &'a str,
    pub from: &'a str,
    pub to: Vec<&'a str>,
}

impl<'a> Smtp<'a> {
    pub fn of(settings: &'a Value) -> Smtp<'a> {
        let text = |k: &str| settings.get(k).and_then(Value::as_str).unwrap_or("");
        Smtp {
            host: text("host"),
            port: settings.get("port").and_then(Value::as_u64).unwrap_or(587) as u16,
            security: text("security"),
            user: text("user"),
            from: text("from"),
            to: settings
                .get("to")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect()),
        }
    }
}

async fn email(target: &Target<'_>, text: &Text, key: &str) -> Result<(), Failure> {
    use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let smtp = Smtp::of(target.settings);
    let parse =
        |a: &str| a.parse::<Mailbox>().map_err(|e| Failure::Refused(format!("the address `{a}` is not valid: {e}")));
    let mut message =
        Message::builder().from(parse(smtp.from)?).subject(&text.title).message_id(Some(format!("<{key}@kpi-arena>")));
    for to in &smtp.to {
        message = message.to(parse(to)?);
    }
    let message = message
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text.plain()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(text.email_html())),
        )
        .map_err(|e| Failure::Refused(format!("the message cannot be built: {e}")))?;
    let builder = match smtp.security {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(smtp.host),
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(smtp.host),
        _ => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host)),
    }
    .map_err(|e| Failure::Refused(format!("the SMTP server `{}` cannot be used: {e}", smtp.host)))?;
    let mut builder = builder.port(smtp.port).timeout(Some(Duration::from_secs(20)));
    if !smtp.user.is_empty() {
        builder = builder.credentials(Credentials::new(smtp.user.to_string(), target.secret.to_string()));
    }
    let mailer = builder.build();
    match mailer.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Failure::Refused(format!("the SMTP server refused the message: {e}"))),
        Err(e) => {
            Err(Failure::Retry { reason: format!("the SMTP server could not take the message: {e}"), wait: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_settings_are_read_with_defaults() {
        let settings = json!({"host": "smtp.example.com", "security": "starttls", "from": "arena@example.com", "to": ["a@example.com", "b@example.com"]});
        let smtp = Smtp::of(&settings);
        assert_eq!((smtp.host, smtp.port, smtp.security), ("smtp.example.com", 587, "starttls"));
        assert_eq!(smtp.to, vec!["a@example.com", "b@example.com"]);
    }

    #[test]
    fn a_telegram_address_uses_the_channels_own_api_when_it_names_one() {
        let settings = json!({});
        let target = Target { kind: "telegram", secret: "123:abc", settings: &settings };
        assert_eq!(bot_url(&target, "getMe"), "https://api.telegram.org/bot123:abc/getMe");
        let settings = json!({"api": "http://127.0.0.1:8081/"});
        let target = Target { kind: "telegram", secret: "123:abc", settings: &settings };
        assert_eq!(bot_url(&target, "sendMessage"), "http://127.0.0.1:8081/bot123:abc/sendMessage");
    }
}
