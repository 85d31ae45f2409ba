//! `/notifications` (admins for the organisation and every team, managers for their own team):
//! connect Telegram, Slack, Microsoft Teams or email, choose what each channel is told, send a
//! test, and see what was delivered. The work is `notify::setup`'s; these server functions ask
//! who is asking and shape what the page shows. A secret never comes back to the browser.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub me: CurrentUser,
    /// Where a new channel may go: ("", the organisation) for admins, then teams.
    pub places: Vec<(String, String)>,
    pub channels: Vec<ChannelCard>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCard {
    pub id: i64,
    pub kind: String,
    pub name: String,
    /// The team's name, or "" for the organisation's.
    pub team: String,
    pub lang: String,
    pub names: String,
    pub moments: Vec<String>,
    pub min_amount: String,
    pub quiet_from: Option<i16>,
    pub quiet_to: Option<i16>,
    pub secret_hint: String,
    /// Where messages go: the bound chat, the SMTP server and recipients.
    pub target: String,
    pub bot: String,
    pub bind_code: Option<String>,
    pub last_error: Option<String>,
    /// (what, state, reason, when)
    pub recent: Vec<(String, String, String, String)>,
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::i18n::Message;

    pub fn state() -> crate::state::AppState {
        expect_context::<crate::state::AppState>()
    }

    /// Admins and managers; a rep is refused before anything is read.
    pub async fn manager() -> Result<CurrentUser, AppError> {
        let me = crate::auth::server::require_user().await?;
        if me.role == crate::auth::Role::Rep {
            return Err(crate::auth::server::forbidden("err.notify_reps").await);
        }
        Ok(me)
    }

    /// A setup's answer, its failure in the reader's language.
    pub async fn answer<T>(result: Result<T, notify::setup::SetupError>) -> Result<T, AppError> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(failed(e).await),
        }
    }

    pub async fn failed(e: notify::setup::SetupError) -> AppError {
        match e {
            notify::setup::SetupError::Db(e) => AppError::server(e),
            notify::setup::SetupError::Forbidden(why) => {
                crate::auth::server::forbidden(Message::new("notify.failed").with("why", why)).await
            }
            e => crate::i18n::error(Message::new("notify.failed").with("why", e.to_string())),
        }
    }

    pub fn hour(text: &str) -> Result<Option<i16>, AppError> {
        match text.trim() {
            "" => Ok(None),
            t => t.parse().map(Some).map_err(|_| {
                crate::i18n::error(Message::new("notify.failed").with("why", format!("`{t}` is not an hour")))
            }),
        }
    }

    pub fn moments(text: &str) -> Vec<String> {
        text.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect()
    }
}

#[server(prefix = "/api", endpoint = "notifications_view")]
pub async fn load_notifications() -> Result<NotificationsView, AppError> {
    let me = server::manager().await?;
    let state = server::state();
    let lang = crate::i18n::use_lang();
    let channels = server::answer(notify::setup::list(&state.pool, &me).await).await?;
    let tz = store::settings::load(&state.pool).await.map_err(AppError::server)?.time_zone;
    let when = |t: chrono::DateTime<chrono::Utc>| crate::format::date_time(t.with_timezone(&tz), lang);
    let teams = store::teams::list(&state.pool).await.map_err(AppError::server)?;
    let team_name = |id: &Option<String>| {
        id.as_ref()
            .map(|id| teams.iter().find(|t| &t.id == id).map_or(id.clone(), |t| t.name.clone()))
            .unwrap_or_default()
    };
    let mut places = Vec::new();
    if me.role == crate::auth::Role::Admin {
        places.push((String::new(), lang.t("notify.org")));
        places.extend(teams.iter().map(|t| (t.id.clone(), t.name.clone())));
    } else {
        places.extend(
            teams.iter().filter(|t| Some(&t.id) == me.team_id.as_ref()).map(|t| (t.id.clone(), t.name.clone())),
        );
    }
    let mut cards = Vec::new();
    for c in channels {
        let recent = store::notify::recent(&state.pool, c.id, 10).await.map_err(AppError::server)?;
        let recent = recent
            .into_iter()
            .map(|d| {
                let line = serde_json::from_value::<domain::notify::Moment>(d.data)
                    .map(|m| m.line(lang, domain::fairness::Names::Full))
                    .unwrap_or_default();
                (line, d.state, d.reason.unwrap_or_default(), d.sent_at.map(when).unwrap_or_default())
            })
            .collect();
        let text = |k: &str| c.settings.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let target = match c.kind.as_str() {
            "telegram" => text("chat_title"),
            "email" => {
                let to: Vec<String> = c.settings["to"]
                    .as_array()
                    .map_or(Vec::new(), |a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
                format!("{}:{} → {}", text("host"), c.settings["port"], to.join(", "))
            }
            _ => String::new(),
        };
        cards.push(ChannelCard {
            id: c.id,
            kind: c.kind.clone(),
            name: c.name.clone(),
            team: team_name(&c.team_id),
            lang: c.lang.clone(),
            names: c.names.clone(),
            moments: c.moments.clone(),
            min_amount: c.min_amount.map(|a| a.normalize().to_string()).unwrap_or_default(),
            quiet_from: c.quiet_from,
            quiet_to: c.quiet_to,
            secret_hint: c.secret_hint.clone(),
            target,
            bot: text("bot"),
            bind_code: c.bind_code.clone(),
            last_error: c
                .last_error
                .as_ref()
                .map(|e| format!("{} — {e}", c.last_error_at.map(when).unwrap_or_default())),
            recent,
        });
    }
    Ok(NotificationsView { me, places, channels: cards })
}

/// Adds a channel; `moments` is a comma-separated list, the hours are empty for none.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "add_channel")]
pub async fn add_channel(
    kind: String,
    name: String,
    team: String,
    lang: String,
    names: String,
    moments: String,
    min_amount: String,
    quiet_from: String,
    quiet_to: String,
    secret: String,
    #[server(default)] api: String,
    #[server(default)] host: String,
    #[server(default)] port: String,
    #[server(default)] security: String,
    #[server(default)] user: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
) -> Result<i64, AppError> {
    let me = server::manager().await?;
    let state = server::state();
    let port = match port.trim() {
        "" => None,
        p => p.parse().ok().or(Some(0)),
    };
    let form = notify::setup::ChannelForm {
        kind,
        name,
        team,
        lang,
        names,
        moments: server::moments(&moments),
        min_amount,
        quiet_from: server::hour(&quiet_from)?,
        quiet_to: server::hour(&quiet_to)?,
        secret,
        api,
        host,
        port,
        security,
        user,
        from,
        to,
    };
    server::answer(notify::setup::create(&state.pool, &state.notify, &me, &form).await).await.map(|channel| channel.id)
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "save_channel")]
pub async fn save_channel(
    id: i64,
    name: String,
    lang: String,
    names: String,
    moments: String,
    min_amount: String,
    quiet_from: String,
    quiet_to: String,
) -> Result<(), AppError> {
    let me = server::manager().await?;
    let state = server::state();
    let form = notify::setup::ChannelForm {
        name,
        lang,
        names,
        moments: server::moments(&moments),
        min_amount,
        quiet_from: server::hour(&quiet_from)?,
        quiet_to: server::hour(&quiet_to)?,
        ..Default::default()
    };
    server::answer(notify::setup::update(&state.pool, &state.notify, &me, id, &form).await).await
}

/// "Send test": the service's own error when it fails.
#[server(prefix = "/api", endpoint = "test_channel")]
pub async fn test_channel(id: i64) -> Result<(), AppError> {
    let me = server::manager().await?;
    let state = server::state();
    server::answer(notify::setup::test(&state.pool, &state.notify, &me, id).await).await
}

#[server(prefix = "/api", endpoint = "delete_channel")]
pub async fn delete_channel(id: i64) -> Result<(), AppError> {
    let me = server::manager().await?;
    let state = server::state();
    server::answer(notify::setup::delete(&state.pool, &me, id).await).await
}

/// Whether a Telegram channel waiting for its chat has it now.
#[server(prefix = "/api", endpoint = "channel_bound")]
pub async fn channel_bound(id: i64) -> Result<bool, AppError> {
    let me = server::manager().await?;
    let state = server::state();
    server::answer(notify::setup::bound(&state.pool, &me, id).await).await
}

/// A new one-time code for binding a Telegram chat.
#[server(prefix = "/api", endpoint = "new_bind_code")]
pub async fn new_bind_code(id: i64) -> Result<String, AppError> {
    let me = server::manager().await?;
    let state = server::state();
    server::answer(notify::setup::new_code(&state.pool, &state.notify, &me, id).await).await
}

#[component]
pub fn Notifications() -> impl IntoView {
    let changed = RwSignal::new(0u64);
    let data = Resource::new(move || changed.get(), |_| load_notifications());
    loaded(data, move |view| view! { <NotificationsPage view changed/> })
}

/// While a Telegram channel waits for its chat, asks every 2 seconds whether it is bound, and
/// reads the page again once it is (nothing else is re-read meanwhile: forms keep their text).
#[component]
fn AwaitChat(id: i64, changed: RwSignal<u64>) -> impl IntoView {
    let check = Action::new(move |_: &()| async move {
        if channel_bound(id).await.unwrap_or(false) {
            changed.update(|c| *c += 1);
        }
    });
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Ok(handle) = set_interval_with_handle(
                move || {
                    check.dispatch(());
                },
                std::time::Duration::from_secs(2),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = check;
}

#[component]
fn NotificationsPage(view: NotificationsView, changed: RwSignal<u64>) -> impl IntoView {
    let NotificationsView { me, places, channels } = view;
    let lang = crate::i18n::use_lang();
    let cards = channels.into_iter().map(|card| view! { <Channel card changed/> }.into_any()).collect_view();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("notify.title")}</h1></div>
            <p class="hint">{lang.t("notify.intro")}</p>
            {cards}
            <NewChannel places changed/>
        </main>
    }
    .into_any()
}

/// The moments' checkboxes, bound to one signal holding the chosen kinds.
fn moment_boxes(chosen: RwSignal<Vec<String>>, testid: String) -> AnyView {
    let lang = crate::i18n::use_lang();
    let boxes = domain::notify::KINDS
        .into_iter()
        .map(|kind| {
            let testid = format!("{testid}-{kind}");
            let on = move || chosen.get().iter().any(|k| k == kind);
            view! {
                <label class="check">
                    <input type="checkbox" data-testid=testid prop:checked=on
                        on:change=move |ev| {
                            let checked = event_target_checked(&ev);
                            chosen.update(|c| {
                                c.retain(|k| k != kind);
                                if checked { c.push(kind.to_string()); }
                            });
                        }/>
                    " " {lang.t(&format!("notify.kind_{kind}"))}
                </label>
            }
        })
        .collect_view();
    view! { <fieldset class="moments"><legend>{lang.t("notify.moments")}</legend>{boxes}</fieldset> }.into_any()
}

fn text_input(label: String, value: RwSignal<String>, testid: impl Into<String>, kind: &'static str) -> AnyView {
    let testid = testid.into();
    view! {
        <label>{label}" "
            <input type=kind data-testid=testid autocomplete="off" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    }
    .into_any()
}

fn select(
    label: String,
    value: RwSignal<String>,
    testid: impl Into<String>,
    options: Vec<(String, String)>,
) -> AnyView {
    let options = options
        .into_iter()
        .map(|(v, text)| {
            let selected = value.get_untracked() == v;
            view! { <option value=v selected=selected>{text}</option> }
        })
        .collect_view();
    let testid = testid.into();
    view! {
        <label>{label}" "
            <select data-testid=testid on:change=move |ev| value.set(event_target_value(&ev))>{options}</select>
        </label>
    }
    .into_any()
}

/// False until this component is hydrated. These forms work only in the browser (their fields are
/// signals): until then they are disabled, or a choice made before hydration would show in the
/// field while the form sent the default (a phone may take seconds to hydrate).
fn hydrated() -> RwSignal<bool> {
    let ready = RwSignal::new(false);
    Effect::new(move || ready.set(true));
    ready
}

fn result_line<T: Clone + Send + Sync + 'static>(
    action: Action<(), Result<T, AppError>>,
    done: impl Fn(T) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => view! { <p class="saved" role="status">{done(v)}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

/// The settings every channel shares, as signals.
#[derive(Clone, Copy)]
struct Common {
    name: RwSignal<String>,
    lang: RwSignal<String>,
    names: RwSignal<String>,
    moments: RwSignal<Vec<String>>,
    min_amount: RwSignal<String>,
    quiet_from: RwSignal<String>,
    quiet_to: RwSignal<String>,
}

impl Common {
    fn new(
        name: String,
        lang: String,
        names: String,
        moments: Vec<String>,
        min: String,
        quiet: (Option<i16>, Option<i16>),
    ) -> Common {
        let hour = |h: Option<i16>| h.map(|h| h.to_string()).unwrap_or_default();
        Common {
            name: RwSignal::new(name),
            lang: RwSignal::new(lang),
            names: RwSignal::new(names),
            moments: RwSignal::new(moments),
            min_amount: RwSignal::new(min),
            quiet_from: RwSignal::new(hour(quiet.0)),
            quiet_to: RwSignal::new(hour(quiet.1)),
        }
    }

    fn view(self, prefix: &'static str) -> AnyView {
        let lang = crate::i18n::use_lang();
        let tid = |s: &str| format!("{prefix}-{s}");
        view! {
            {text_input(lang.t("notify.name"), self.name, tid("name"), "text")}
            {select(lang.t("notify.lang"), self.lang, tid("lang"), vec![("ru".into(), "Русский".into()), ("en".into(), "English".into())])}
            {select(lang.t("notify.names"), self.names, tid("names"),
                vec![("full".into(), lang.t("notify.names_full")), ("initials".into(), lang.t("notify.names_initials"))])}
            {moment_boxes(self.moments, tid("moment"))}
            {text_input(lang.t("notify.min_amount"), self.min_amount, tid("min-amount"), "text")}
            <p class="hint">{lang.t("notify.quiet_hint")}</p>
            {text_input(lang.t("notify.quiet_from"), self.quiet_from, tid("quiet-from"), "number")}
            {text_input(lang.t("notify.quiet_to"), self.quiet_to, tid("quiet-to"), "number")}
        }
        .into_any()
    }

    fn values(self) -> (String, String, String, String, String, String, String) {
        (
            self.name.get_untracked(),
            self.lang.get_untracked(),
            self.names.get_untracked(),
            self.moments.get_untracked().join(","),
            self.min_amount.get_untracked(),
            self.quiet_from.get_untracked(),
            self.quiet_to.get_untracked(),
        )
    }
}

#[component]
fn NewChannel(places: Vec<(String, String)>, changed: RwSignal<u64>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let kind = RwSignal::new("telegram".to_string());
    let team = RwSignal::new(places.first().map(|p| p.0.clone()).unwrap_or_default());
    let defaults = domain::notify::DEFAULT_KINDS.iter().map(|k| k.to_string()).collect();
    let common =
        Common::new(String::new(), lang.code().to_string(), "full".into(), defaults, String::new(), (None, None));
    let secret = RwSignal::new(String::new());
    let (api, host, port, security, user, from, to) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("587".to_string()),
        RwSignal::new("starttls".to_string()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let save = Action::new(move |_: &()| {
        let (name, l, names, moments, min, qf, qt) = common.values();
        let args = (
            kind.get_untracked(),
            team.get_untracked(),
            secret.get_untracked(),
            [api, host, port, security, user, from, to].map(|s| s.get_untracked()),
        );
        async move {
            let (kind, team, secret, [api, host, port, security, user, from, to]) = args;
            let id = add_channel(
                kind, name, team, l, names, moments, min, qf, qt, secret, api, host, port, security, user, from, to,
            )
            .await?;
            changed.update(|c| *c += 1);
            Ok(id)
        }
    });
    let ready = hydrated();
    let kinds =
        domain::notify::CHANNELS.iter().map(|k| (k.to_string(), lang.t(&format!("notify.channel_{k}")))).collect();
    let secret_label = move || lang.t(&format!("notify.secret_{}", kind.get()));
    let hint = move || lang.t(&format!("notify.hint_{}", kind.get()));
    let email = move || {
        (kind.get() == "email").then(|| {
            view! {
                {text_input(lang.t("notify.smtp_host"), host, "new-channel-host", "text")}
                {text_input(lang.t("notify.smtp_port"), port, "new-channel-port", "number")}
                {select(lang.t("notify.smtp_security"), security, "new-channel-security",
                    vec![("starttls".into(), "STARTTLS".into()), ("tls".into(), "TLS".into()), ("none".into(), lang.t("notify.smtp_plain"))])}
                {text_input(lang.t("notify.smtp_user"), user, "new-channel-user", "text")}
                {text_input(lang.t("notify.smtp_from"), from, "new-channel-from", "text")}
                <label>{lang.t("notify.smtp_to")}" "
                    <textarea data-testid="new-channel-to" prop:value=to on:input=move |ev| to.set(event_target_value(&ev))></textarea>
                </label>
            }
        })
    };
    let telegram = move || {
        (kind.get() == "telegram").then(|| {
            view! {
                <details><summary>{lang.t("notify.api")}</summary>
                    {text_input(lang.t("notify.api_address"), api, "new-channel-api", "text")}
                </details>
            }
        })
    };
    view! {
        <form class="card form" data-testid="new-channel" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
            <h2>{lang.t("notify.new")}</h2>
            <fieldset class="gate" disabled=move || !ready.get()>
            {select(lang.t("notify.kind"), kind, "new-channel-kind", kinds)}
            {select(lang.t("notify.place"), team, "new-channel-team", places)}
            <p class="hint">{hint}</p>
            <label>{secret_label}" "
                <input type="password" data-testid="new-channel-secret" autocomplete="off" prop:value=secret
                    on:input=move |ev| secret.set(event_target_value(&ev))/>
            </label>
            {telegram}
            {email}
            {common.view("new-channel")}
            <button type="submit" data-testid="add-channel">{lang.t("notify.add")}</button>
            </fieldset>
        </form>
        {result_line(save, move |_| lang.t("notify.added"))}
    }
    .into_any()
}

#[component]
fn Channel(card: ChannelCard, changed: RwSignal<u64>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let id = card.id;
    let common = Common::new(
        card.name.clone(),
        card.lang.clone(),
        card.names.clone(),
        card.moments.clone(),
        card.min_amount.clone(),
        (card.quiet_from, card.quiet_to),
    );
    let save = Action::new(move |_: &()| {
        let (name, l, names, moments, min, qf, qt) = common.values();
        async move {
            save_channel(id, name, l, names, moments, min, qf, qt).await?;
            changed.update(|c| *c += 1);
            Ok(())
        }
    });
    let test = Action::new(move |_: &()| test_channel(id));
    let ready = hydrated();
    let remove = Action::new(move |_: &()| async move {
        delete_channel(id).await?;
        changed.update(|c| *c += 1);
        Ok(())
    });
    let code = Action::new(move |_: &()| async move {
        let code = new_bind_code(id).await?;
        changed.update(|c| *c += 1);
        Ok(code)
    });
    let place = if card.team.is_empty() { lang.t("notify.org") } else { card.team.clone() };
    let binding = card.bind_code.clone().map(|code| {
        let link = format!("https://t.me/{}?startgroup={code}", card.bot);
        view! {
            <AwaitChat id changed/>
            <p class="notice" data-testid="bind-code">
                {crate::i18n::Message::new("notify.bind").with("code", &code).with("bot", &card.bot).in_lang(lang)}" "
                <a href=link target="_blank" rel="noopener">{lang.t("notify.bind_link")}</a>
            </p>
        }
    });
    let rows = card
        .recent
        .iter()
        .map(|(what, state, why, when)| {
            view! { <tr><td>{what.clone()}</td><td>{lang.t(&format!("notify.state_{state}"))}</td><td>{why.clone()}</td><td>{when.clone()}</td></tr> }
        })
        .collect_view();
    let error = card.last_error.clone().map(|e| view! { <p class="error" data-testid="channel-error">{e}</p> });
    let target = (!card.target.is_empty())
        .then(|| view! { <p data-testid="channel-target">{lang.t("notify.target")}": "{card.target.clone()}</p> });
    view! {
        <section class="card" data-testid="channel" data-kind=card.kind.clone()>
            <h2>{lang.t(&format!("notify.channel_{}", card.kind))}" · "{card.name.clone()}" · "{place}</h2>
            {(!card.secret_hint.is_empty()).then(|| view! { <p class="hint">{lang.t("notify.secret_kept")}" "{card.secret_hint.clone()}</p> })}
            {target}
            {binding}
            {error}
            <form class="form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <fieldset class="gate" disabled=move || !ready.get()>
                {common.view("channel")}
                <button type="submit" data-testid="save-channel">{lang.t("notify.save")}</button>
                </fieldset>
            </form>
            {result_line(save, move |_| lang.t("notify.saved"))}
            <p>
                <button type="button" data-testid="test-channel" disabled=move || !ready.get() on:click=move |_| { test.dispatch(()); }>{lang.t("notify.send_test")}</button>" "
                {(card.kind == "telegram").then(|| view! {
                    <button type="button" disabled=move || !ready.get() on:click=move |_| { code.dispatch(()); }>{lang.t("notify.new_code")}</button>" "
                })}
                <button type="button" class="danger" data-testid="delete-channel" disabled=move || !ready.get() on:click=move |_| { remove.dispatch(()); }>{lang.t("notify.delete")}</button>
            </p>
            {result_line(test, move |_| lang.t("notify.test_sent"))}
            {result_line(code, move |code: String| crate::i18n::Message::new("notify.code_made").with("code", code).in_lang(lang))}
            {result_line(remove, move |_| String::new())}
            {(!card.recent.is_empty()).then(|| view! {
                <table class="board" data-testid="deliveries">
                    <thead><tr><th>{lang.t("notify.what")}</th><th>{lang.t("notify.state")}</th><th>{lang.t("notify.reason")}</th><th>{lang.t("notify.when")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
        </section>
    }
    .into_any()
}
