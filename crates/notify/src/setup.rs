//! What `/notifications` does. Admins manage the organisation's channels and every team's;
//! a manager only their own team's; a rep none. Every function checks, and nothing is stored
//! that the service has not accepted (a Telegram token is asked to `getMe` first).

use crate::runner::Sender;
use crate::send::{self, Target, TELEGRAM_API};
use domain::access::{CurrentUser, Role};
use domain::notify::{CHANNELS, KINDS};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::notify::{ChannelRow, ChannelSettings, NewChannel};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("no such channel")]
    NotFound,
    #[error("KPI_ARENA_SECRET_KEY is not set: channels cannot be saved without a key to seal their secrets")]
    NoKey,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn invalid(why: impl Into<String>) -> SetupError {
    SetupError::Invalid(why.into())
}

/// What the form gives.
#[derive(Debug, Clone, Default)]
pub struct ChannelForm {
    pub kind: String,
    pub name: String,
    /// Empty: the organisation's channel.
    pub team: String,
    pub lang: String,
    pub names: String,
    pub moments: Vec<String>,
    /// Decimal text; empty for every won deal.
    pub min_amount: String,
    /// Both hours (0–23) or neither.
    pub quiet_from: Option<i16>,
    pub quiet_to: Option<i16>,
    /// The bot token, the webhook's address or the SMTP password.
    pub secret: String,
    /// Telegram: a local Bot API server's address (empty: Telegram's own).
    pub api: String,
    pub host: String,
    pub port: Option<u16>,
    pub security: String,
    pub user: String,
    pub from: String,
    /// Email recipients, separated by commas, semicolons or new lines.
    pub to: String,
}

/// Whose channels `me` manages: `Some(None)` everyone's (admins), `Some(Some(team))` one
/// team's (a manager), `None` nobody's.
fn reach(me: &CurrentUser) -> Result<Option<&str>, SetupError> {
    match me.role {
        Role::Admin => Ok(None),
        Role::Manager => match me.team_id.as_deref() {
            Some(team) => Ok(Some(team)),
            None => Err(SetupError::Forbidden("a manager without a team has no channels to manage")),
        },
        Role::Rep => Err(SetupError::Forbidden("only admins and managers manage notification channels")),
    }
}

/// The channel `id` if `me` may manage it.
async fn reachable(pool: &PgPool, me: &CurrentUser, id: i64) -> Result<ChannelRow, SetupError> {
    let reach = reach(me)?;
    let channel = store::notify::find(pool, id).await?.ok_or(SetupError::NotFound)?;
    // A rep's own chat is theirs alone (`bind_mine`, `unbind_mine`).
    if channel.user_id.is_some() {
        return Err(SetupError::NotFound);
    }
    match reach {
        Some(team) if channel.team_id.as_deref() != Some(team) => Err(SetupError::NotFound),
        _ => Ok(channel),
    }
}

pub async fn list(pool: &PgPool, me: &CurrentUser) -> Result<Vec<ChannelRow>, SetupError> {
    let reach = reach(me)?;
    Ok(store::notify::list(pool, reach).await?)
}

fn settings_of(form: &ChannelForm) -> Result<ChannelSettings, SetupError> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("the channel's name must be 1 to 100 characters"));
    }
    let lang = match form.lang.as_str() {
        "ru" | "en" => form.lang.clone(),
        other => return Err(invalid(format!("the language `{other}` is not ru or en"))),
    };
    let names = match form.names.as_str() {
        "full" | "initials" => form.names.clone(),
        other => return Err(invalid(format!("names are shown `full` or as `initials`, not `{other}`"))),
    };
    let mut moments = Vec::new();
    for m in &form.moments {
        if !KINDS.contains(&m.as_str()) {
            return Err(invalid(format!("`{m}` is not a moment a channel can be told (one of {})", KINDS.join(", "))));
        }
        if !moments.contains(m) {
            moments.push(m.clone());
        }
    }
    let min_amount = match form.min_amount.trim() {
        "" => None,
        text => match text.replace(',', ".").replace(' ', "").parse::<Decimal>() {
            Ok(v) if v >= Decimal::ZERO => Some(v),
            _ => return Err(invalid(format!("the least amount `{text}` is not a number of 0 or more"))),
        },
    };
    let quiet = match (form.quiet_from, form.quiet_to) {
        (None, None) => None,
        (Some(f), Some(t)) if (0..24).contains(&f) && (0..24).contains(&t) && f != t => Some((f, t)),
        (Some(f), Some(t)) if f == t => return Err(invalid("quiet hours must start and end at different hours")),
        (Some(_), Some(_)) => return Err(invalid("quiet hours are whole hours from 0 to 23")),
        _ => return Err(invalid("quiet hours need both a start and an end")),
    };
    Ok(ChannelSettings { name: name.to_string(), lang, names, moments, min_amount, quiet })
}

/// Extra hosts a webhook or Bot API address may name besides the services' own, comma-separated
/// (a proxy, a local Bot API server, a test's fake). Empty: the services' hosts only.
pub const HOSTS_VAR: &str = "KPI_ARENA_NOTIFY_HOSTS";

/// Where each service's addresses live: an address elsewhere would let whoever sets a channel
/// up make the server call anything on its network.
fn service_hosts(service: &str) -> &'static [&'static str] {
    match service {
        "slack" => &["hooks.slack.com"],
        "teams" => &[".logic.azure.com", ".api.powerplatform.com", ".webhook.office.com", "webhook.office.com"],
        _ => &["api.telegram.org"],
    }
}

/// An https address on `service`'s hosts, or any address on a host `KPI_ARENA_NOTIFY_HOSTS` lists.
fn service_address(what: &str, service: &str, url: &str) -> Result<(), SetupError> {
    let listed = std::env::var(HOSTS_VAR).unwrap_or_default();
    let listed: Vec<&str> = listed.split(',').map(str::trim).filter(|h| !h.is_empty()).collect();
    let known = service_hosts(service);
    let fits = |u: &reqwest::Url| {
        let host = u.host_str().unwrap_or("");
        let theirs = u.scheme() == "https"
            && known.iter().any(|k| if k.starts_with('.') { host.ends_with(k) } else { host == *k });
        let allowed = listed.contains(&host) && (u.scheme() == "https" || u.scheme() == "http");
        theirs || allowed
    };
    match reqwest::Url::parse(url.trim()) {
        Ok(u) if fits(&u) && !url.contains(char::is_whitespace) => Ok(()),
        _ => Err(invalid(format!(
            "{what} must be an https address on {} (other hosts only when {HOSTS_VAR} lists them)",
            known.iter().map(|k| k.trim_start_matches('.')).collect::<Vec<_>>().join(" or ")
        ))),
    }
}

/// Adds a channel. A Telegram bot is asked who it is first and the channel then waits for a
/// chat (the code returned); Slack and Teams addresses and SMTP settings are checked by form.
/// Returns the new channel.
pub async fn create(
    pool: &PgPool,
    sender: &Sender,
    me: &CurrentUser,
    form: &ChannelForm,
) -> Result<ChannelRow, SetupError> {
    let reach = reach(me)?;
    let team = match (reach, form.team.trim()) {
        (Some(own), "") => Some(own.to_string()),
        (Some(own), team) if team == own => Some(own.to_string()),
        (Some(_), _) => return Err(SetupError::Forbidden("a manager adds channels for their own team only")),
        (None, "") => None,
        (None, team) => {
            if !store::teams::list(pool).await?.iter().any(|t| t.id == team) {
                return Err(invalid(format!("there is no team `{team}`")));
            }
            Some(team.to_string())
        }
    };
    if !CHANNELS.contains(&form.kind.as_str()) {
        return Err(invalid(format!("`{}` is not a channel kind (one of {})", form.kind, CHANNELS.join(", "))));
    }
    // An SMTP server is the organisation's own network: admins set email up.
    if form.kind == "email" && reach.is_some() {
        return Err(SetupError::Forbidden(
            "only admins set up email channels (they name the organisation's mail server)",
        ));
    }
    let settings = settings_of(form)?;
    if team.is_some() && settings.moments.iter().any(|m| m == "digest_monthly") {
        return Err(invalid("the monthly digest is the organisation's: choose it on an organisation-wide channel"));
    }
    let keyring = sender.keyring().ok_or(SetupError::NoKey)?;
    let secret = form.secret.trim();
    let (service, bind_code) = match form.kind.as_str() {
        "telegram" => {
            let valid = secret
                .split_once(':')
                .is_some_and(|(id, rest)| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && rest.len() >= 20);
            if !valid {
                return Err(invalid("a Telegram bot token looks like 123456789:AA… (from @BotFather)"));
            }
            let api = match form.api.trim().trim_end_matches('/') {
                "" => TELEGRAM_API.to_string(),
                api => {
                    service_address("the Bot API server's address", "telegram", api)?;
                    api.to_string()
                }
            };
            let service = json!({"api": api});
            let target = Target { kind: "telegram", secret, settings: &service };
            let me = send::telegram(sender.client(), &target, "getMe", &json!({}))
                .await
                .map_err(|e| invalid(format!("the bot could not be reached: {}", e.reason())))?;
            let bot = me["username"].as_str().unwrap_or("").to_string();
            (json!({"api": api, "bot": bot}), Some(bind_code()))
        }
        "slack" | "teams" => {
            let what = if form.kind == "slack" { "the Slack webhook" } else { "the Teams workflow's address" };
            service_address(what, &form.kind, secret)?;
            (json!({}), None)
        }
        _ => (email_settings(form)?, None),
    };
    if secret.is_empty() && form.kind != "email" {
        return Err(invalid("the secret is empty"));
    }
    let new = NewChannel {
        kind: &form.kind,
        team_id: team.as_deref(),
        user_id: None,
        secret: keyring.seal(secret),
        secret_hint: if secret.is_empty() { String::new() } else { connectors::secret::masked(secret) },
        settings: service,
        bind_code,
        by: &me.id,
    };
    let id = store::notify::insert(pool, &new, &settings).await?;
    sender.wake();
    store::notify::find(pool, id).await?.ok_or(SetupError::NotFound)
}

fn email_settings(form: &ChannelForm) -> Result<Value, SetupError> {
    let host = form.host.trim();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid("the SMTP server's host name is missing"));
    }
    let port = form.port.filter(|p| *p > 0).ok_or_else(|| invalid("the SMTP port must be 1 to 65535"))?;
    if !["starttls", "tls", "none"].contains(&form.security.as_str()) {
        return Err(invalid(format!("the SMTP security `{}` is not starttls, tls or none", form.security)));
    }
    let address = |a: &str| -> Result<String, SetupError> {
        a.parse::<lettre::message::Mailbox>()
            .map(|_| a.to_string())
            .map_err(|_| invalid(format!("`{a}` is not an email address")))
    };
    let from = address(form.from.trim())?;
    let to: Vec<String> = form
        .to
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(address)
        .collect::<Result<_, _>>()?;
    if to.is_empty() {
        return Err(invalid("give at least one recipient"));
    }
    Ok(json!({"host": host, "port": port, "security": form.security, "user": form.user.trim(), "from": from, "to": to}))
}

fn bind_code() -> String {
    use rand::Rng;
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..10).map(|_| LETTERS[rng.gen_range(0..LETTERS.len())] as char).collect()
}

/// Saves the channel's name, language, moments, least amount and quiet hours.
pub async fn update(
    pool: &PgPool,
    sender: &Sender,
    me: &CurrentUser,
    id: i64,
    form: &ChannelForm,
) -> Result<(), SetupError> {
    reachable(pool, me, id).await?;
    let settings = settings_of(form)?;
    store::notify::update(pool, id, &settings).await?;
    sender.wake();
    Ok(())
}

pub async fn delete(pool: &PgPool, me: &CurrentUser, id: i64) -> Result<(), SetupError> {
    reachable(pool, me, id).await?;
    store::notify::delete(pool, id).await?;
    // Reps' own chats go through the organisation's bot: without one they end too.
    if store::notify::org_bot(pool).await?.is_none() {
        store::notify::delete_personal(pool).await?;
    }
    Ok(())
}

/// "Send test": the service's exact error when it fails (as `Invalid`).
pub async fn test(pool: &PgPool, sender: &Sender, me: &CurrentUser, id: i64) -> Result<(), SetupError> {
    let channel = reachable(pool, me, id).await?;
    let result = sender.test(&channel).await;
    store::notify::set_error(pool, id, result.as_ref().err().map(String::as_str)).await?;
    result.map_err(SetupError::Invalid)
}

/// Whether a Telegram channel has its chat and waits for none.
pub async fn bound(pool: &PgPool, me: &CurrentUser, id: i64) -> Result<bool, SetupError> {
    let channel = reachable(pool, me, id).await?;
    Ok(channel.bind_code.is_none() && channel.settings.get("chat").is_some())
}

/// A new one-time code to bind (another) Telegram chat.
pub async fn new_code(pool: &PgPool, sender: &Sender, me: &CurrentUser, id: i64) -> Result<String, SetupError> {
    let channel = reachable(pool, me, id).await?;
    if channel.kind != "telegram" {
        return Err(invalid("only a Telegram channel binds a chat"));
    }
    let code = bind_code();
    store::notify::set_bind_code(pool, id, &code).await?;
    sender.wake();
    Ok(code)
}

/// Anyone's own Telegram chat, through the organisation's bot: their own won deals, badges,
/// levels and passes. A new code each time it is asked for; the chat is bound by `/start CODE`
/// in a private chat with the bot.
pub async fn bind_mine(pool: &PgPool, sender: &Sender, me: &CurrentUser, lang: &str) -> Result<ChannelRow, SetupError> {
    let bot = store::notify::org_bot(pool)
        .await?
        .ok_or_else(|| invalid("the organisation has no Telegram bot yet: an admin connects one on /notifications"))?;
    let code = bind_code();
    let channel = match store::notify::personal(pool, &me.id).await? {
        Some(mine) => {
            // The bot's token as it is now (an admin may have replaced it).
            let settings = json!({"api": bot.settings["api"], "bot": bot.settings["bot"]});
            store::notify::refresh_bot(pool, mine.id, &bot.secret, &bot.secret_hint, &settings).await?;
            store::notify::set_bind_code(pool, mine.id, &code).await?;
            mine.id
        }
        None => {
            let settings = json!({"api": bot.settings["api"], "bot": bot.settings["bot"]});
            let new = NewChannel {
                kind: "telegram",
                team_id: None,
                user_id: Some(&me.id),
                // Sealed under the same key: the bot's token is never opened here.
                secret: bot.secret.clone(),
                secret_hint: bot.secret_hint.clone(),
                settings,
                bind_code: Some(code),
                by: &me.id,
            };
            let own = ChannelSettings {
                name: me.name.clone(),
                lang: if lang == "en" { "en" } else { "ru" }.to_string(),
                names: "full".into(),
                moments: ["won", "badge", "level", "passed"].map(String::from).to_vec(),
                min_amount: None,
                quiet: None,
            };
            store::notify::insert(pool, &new, &own).await?
        }
    };
    sender.wake();
    store::notify::find(pool, channel).await?.ok_or(SetupError::NotFound)
}

/// The user's own chat, if any.
pub async fn mine(pool: &PgPool, me: &CurrentUser) -> Result<Option<ChannelRow>, SetupError> {
    Ok(store::notify::personal(pool, &me.id).await?)
}

/// Ends the user's own chat.
pub async fn unbind_mine(pool: &PgPool, me: &CurrentUser) -> Result<(), SetupError> {
    if let Some(mine) = store::notify::personal(pool, &me.id).await? {
        store::notify::delete(pool, mine.id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ChannelForm {
        ChannelForm {
            kind: "email".into(),
            name: "Sales floor".into(),
            lang: "ru".into(),
            names: "full".into(),
            moments: vec!["won".into(), "won".into(), "badge".into()],
            host: "smtp.example.com".into(),
            port: Some(587),
            security: "starttls".into(),
            from: "arena@example.com".into(),
            to: "a@example.com; b@example.com\n".into(),
            ..ChannelForm::default()
        }
    }

    #[test]
    fn webhook_addresses_must_be_the_services_own() {
        assert!(service_address("x", "slack", "https://hooks.slack.com/services/T0/B0/abc").is_ok());
        assert!(service_address("x", "teams", "https://prod-12.westeurope.logic.azure.com:443/workflows/abc").is_ok());
        assert!(service_address("x", "teams", "https://acme.webhook.office.com/webhookb2/abc").is_ok());
        let refused = service_address("the Slack webhook", "slack", "http://hooks.slack.com/services/T0").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the Slack webhook must be an https address on hooks.slack.com (other hosts only when KPI_ARENA_NOTIFY_HOSTS lists them)"
        );
        assert!(service_address("x", "slack", "https://hooks.slack.com.evil.example/x").is_err());
        assert!(service_address("x", "slack", "https://10.0.0.5/metadata").is_err());
        assert!(service_address("x", "teams", "https://logic.azure.com.evil.example/x").is_err());
    }

    #[test]
    fn a_form_is_checked_field_by_field() {
        let s = settings_of(&form()).unwrap();
        assert_eq!(s.moments, vec!["won".to_string(), "badge".to_string()]);
        let email = email_settings(&form()).unwrap();
        assert_eq!(email["to"], json!(["a@example.com", "b@example.com"]));
        let bad = |f: fn(&mut ChannelForm)| {
            let mut form = form();
            f(&mut form);
            settings_of(&form).and_then(|_| email_settings(&form)).unwrap_err().to_string()
        };
        assert_eq!(bad(|f| f.lang = "de".into()), "the language `de` is not ru or en");
        assert!(bad(|f| f.moments = vec!["gossip".into()]).starts_with("`gossip` is not a moment"));
        assert_eq!(bad(|f| f.min_amount = "-5".into()), "the least amount `-5` is not a number of 0 or more");
        assert_eq!(bad(|f| f.quiet_from = Some(22)), "quiet hours need both a start and an end");
        assert_eq!(
            bad(|f| (f.quiet_from, f.quiet_to) = (Some(9), Some(24))),
            "quiet hours are whole hours from 0 to 23"
        );
        assert_eq!(bad(|f| f.to = "nobody".into()), "`nobody` is not an email address");
        assert_eq!(bad(|f| f.security = "ssl".into()), "the SMTP security `ssl` is not starttls, tls or none");
        assert_eq!(bad(|f| f.name = "  ".into()), "the channel's name must be 1 to 100 characters");
        let mut ok = form();
        ok.min_amount = "10 000,50".into();
        assert_eq!(settings_of(&ok).unwrap().min_amount, Some(Decimal::new(1000050, 2)));
    }
}
