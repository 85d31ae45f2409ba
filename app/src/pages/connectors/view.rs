//! The `/connectors` page: the new-connector form and each connector's card (its preview, people,
//! backfill, webhooks, stages, fields and deal types), over the server functions of `super`.

use super::*;
use crate::components::{loaded, TopBar};

#[component]
pub fn Connectors() -> impl IntoView {
    let save = ServerAction::<SaveConnector>::new();
    let map = ServerAction::<MapCrmUser>::new();
    let backfill = ServerAction::<StartBackfill>::new();
    let retry = ServerAction::<RetryCrmEvent>::new();
    let reconcile = ServerAction::<ReconcileConnector>::new();
    let delete = ServerAction::<DeleteConnector>::new();
    let hook_token = ServerAction::<SetHookToken>::new();
    let stage = ServerAction::<SetCrmStage>::new();
    let fields = ServerAction::<SetCrmFields>::new();
    let deal_type = ServerAction::<SetCrmDealType>::new();
    // While a backfill runs, the page looks again every second (its progress bar). Not
    // otherwise: a refresh would reset a form being filled in.
    let tick = RwSignal::new(0u64);
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = set_interval_with_handle(
                move || {
                    if running.get_untracked() {
                        tick.update(|t| *t += 1)
                    }
                },
                std::time::Duration::from_secs(1),
            );
        }
    });
    let data = Resource::new(
        move || {
            (
                save.version().get(),
                map.version().get(),
                backfill.version().get(),
                retry.version().get(),
                reconcile.version().get(),
                delete.version().get(),
                hook_token.version().get(),
                stage.version().get(),
                fields.version().get(),
                deal_type.version().get(),
                tick.get(),
            )
        },
        |_| load_connectors(),
    );
    Effect::new(move |_| {
        if let Some(Ok(view)) = data.get() {
            running.set(view.connectors.iter().any(|c| c.backfill_state == "running"));
        }
    });
    let actions = Actions { save, map, backfill, retry, reconcile, delete, hook_token, stage, fields, deal_type };
    loaded(data, move |view| view! { <ConnectorsPage view actions/> })
}

#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveConnector>,
    map: ServerAction<MapCrmUser>,
    backfill: ServerAction<StartBackfill>,
    retry: ServerAction<RetryCrmEvent>,
    reconcile: ServerAction<ReconcileConnector>,
    delete: ServerAction<DeleteConnector>,
    hook_token: ServerAction<SetHookToken>,
    stage: ServerAction<SetCrmStage>,
    fields: ServerAction<SetCrmFields>,
    deal_type: ServerAction<SetCrmDealType>,
}

fn outcome<T: Clone + Send + Sync + 'static>(
    action: ServerAction<
        impl leptos::server_fn::ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    >,
    show: impl Fn(T) -> Option<String> + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => show(v)
                .map(|text| view! { <p class="saved" role="status">{text}</p> }.into_any())
                .unwrap_or_else(|| ().into_any()),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}

#[component]
fn ConnectorsPage(view: ConnectorsView, actions: Actions) -> impl IntoView {
    let ConnectorsView { me, available, connectors, users } = view;
    let lang = crate::i18n::use_lang();
    let cards = connectors.into_iter().map(|card| view! { <Card card users=users.clone() actions/> }).collect_view();
    let new = (!available.is_empty()).then(|| view! { <NewConnector available save=actions.save/> });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("connectors.title")}</h1></div>
            <p class="hint">{lang.t("connectors.intro")}</p>
            {cards}
            {new}
            {outcome(actions.map, |link: Option<String>| link)}
            {outcome(actions.backfill, |_| None)}
            {outcome(actions.retry, |_| None)}
            {outcome(actions.delete, |_| None)}
            {outcome(actions.hook_token, |_| None)}
            {outcome(actions.stage, |_| None)}
            {outcome(actions.fields, |_| None)}
            {outcome(actions.deal_type, |_| None)}
        </main>
    }
}

#[component]
fn NewConnector(available: Vec<(String, String)>, save: ServerAction<SaveConnector>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let kind = RwSignal::new(available.first().map(|(k, _)| k.clone()).unwrap_or_default());
    let base_url = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let since = RwSignal::new(String::from("2026-01-01"));
    let test = Action::new(move |_: &()| {
        let (kind, base_url, token, since) =
            (kind.get_untracked(), base_url.get_untracked(), token.get_untracked(), since.get_untracked());
        async move { test_connector(kind, base_url, token, since).await }
    });
    let options = available.into_iter().map(|(k, title)| view! { <option value=k>{title}</option> }).collect_view();
    // amoCRM's OAuth 2.0: the integration's keys and code give tokens, which fill the token field sealed.
    let (client_id, client_secret, code, redirect) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let oauth = Action::new(move |_: &()| {
        let (base, id, secret, code, redirect) = (
            base_url.get_untracked(),
            client_id.get_untracked(),
            client_secret.get_untracked(),
            code.get_untracked(),
            redirect.get_untracked(),
        );
        async move { authorize_amocrm(base, id, secret, code, redirect).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(sealed)) = oauth.value().get() {
            token.set(sealed);
        }
    });
    let oauth_outcome = move || {
        oauth.value().get().map(|r| match r {
            Ok(_) => view! { <p class="saved" role="status">{lang.t("connectors.oauth_done")}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let oauth_form = move || {
        (kind.get() == "amocrm").then(|| {
            view! {
                <details data-testid="amocrm-oauth">
                    <summary>{lang.t("connectors.oauth")}</summary>
                    <p class="hint">{lang.t("connectors.oauth_hint")}</p>
                    <label>{lang.t("connectors.client_id")}" "
                        <input autocomplete="off" prop:value=client_id on:input=move |ev| client_id.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.client_secret")}" "
                        <input type="password" autocomplete="off" prop:value=client_secret
                            on:input=move |ev| client_secret.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.oauth_code")}" "
                        <input autocomplete="off" prop:value=code on:input=move |ev| code.set(event_target_value(&ev))/></label>
                    <label>{lang.t("connectors.redirect_uri")}" "
                        <input placeholder="https://" prop:value=redirect on:input=move |ev| redirect.set(event_target_value(&ev))/></label>
                    <button type="button" on:click=move |_| { oauth.dispatch(()); }>{lang.t("connectors.oauth_get")}</button>
                    {oauth_outcome}
                </details>
            }
        })
    };
    let preview = move || {
        test.value().get().map(|r| match r {
            Ok(p) => {
                let rows = p
                    .first
                    .into_iter()
                    .map(|(id, name, owner, amount, status)| {
                        view! { <tr><td>{id}</td><td>{name}</td><td>{owner}</td><td class="num">{amount}</td><td>{status}</td></tr> }
                    })
                    .collect_view();
                view! {
                    <div class="card" data-testid="connector-preview">
                        <p role="status">{crate::i18n::Message::new("connectors.seen").with("account", &p.account).with("users", p.users)
                            .with("pipelines", p.pipelines).with("deals", p.deals).with("activities", p.activities).in_lang(lang)}</p>
                        <table class="board">
                            <thead><tr><th>"ID"</th><th>{lang.t("connectors.deal")}</th><th>{lang.t("connectors.owner")}</th>
                                <th>{lang.t("connectors.amount")}</th><th>{lang.t("connectors.status")}</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <ActionForm action=save attr:class="card form" attr:data-testid="new-connector">
            <h2>{lang.t("connectors.new")}</h2>
            <label>{lang.t("connectors.crm")}" "
                <select name="kind" on:change=move |ev| kind.set(event_target_value(&ev))>{options}</select>
            </label>
            <label>{lang.t("connectors.base_url")}" "
                <input name="base_url" placeholder="https://example.amocrm.ru" on:input=move |ev| base_url.set(event_target_value(&ev))/>
            </label>
            <label>{lang.t("connectors.token")}" "
                <input name="token" type="password" required autocomplete="off" prop:value=token
                    on:input=move |ev| token.set(event_target_value(&ev))/>
            </label>
            <p class="hint">{lang.t("connectors.token_hint")}</p>
            {oauth_form}
            <label>{lang.t("connectors.since")}" "
                <input type="date" prop:value=since on:input=move |ev| since.set(event_target_value(&ev))/>
            </label>
            <button type="button" data-testid="test-connector" on:click=move |_| { test.dispatch(()); }>{lang.t("connectors.test")}</button>
            " "
            <button type="submit">{lang.t("connectors.save")}</button>
        </ActionForm>
        {preview}
        {outcome(save, |_| None)}
    }
}

#[component]
fn Card(card: ConnectorCard, users: Vec<(String, String)>, actions: Actions) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let id = card.id;
    let progress = {
        let total = card.backfill_total.unwrap_or(0).max(card.backfill_done);
        let state_key = format!("connectors.backfill.{}", card.backfill_state);
        view! {
            <p data-testid="backfill-state">{lang.t(&state_key)}" · "{format!("{} / {}", card.backfill_done, total)}</p>
            <progress max=total.max(1).to_string() value=card.backfill_done.to_string() data-testid="backfill-progress"></progress>
        }
    };
    let people = card
        .people
        .iter()
        .cloned()
        .map(|(crm_user, name, email, user_id, ignored, waiting)| {
            let choices = users
                .iter()
                .map(|(uid, label)| {
                    let selected = user_id.as_deref() == Some(uid.as_str());
                    view! { <option value=uid.clone() selected=selected>{label.clone()}</option> }
                })
                .collect_view();
            let unmapped = user_id.is_none() && !ignored;
            view! {
                <tr class:inactive=ignored data-testid="crm-person">
                    <td>{name}</td><td>{email}</td>
                    <td class="num">{(waiting > 0).then(|| waiting.to_string())}</td>
                    <td>
                        <ActionForm action=actions.map>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="crm_user" value=crm_user/>
                            <select name="choice" aria-label=lang.t("connectors.maps_to")>
                                <option value="" disabled selected=unmapped>{lang.t("connectors.unmapped")}</option>
                                <option value="ignore" selected=ignored>{lang.t("connectors.ignore")}</option>
                                <option value="invite">{lang.t("connectors.invite")}</option>
                                {choices}
                            </select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let failed = card
        .failed
        .iter()
        .cloned()
        .map(|(event, crm_id, at, why)| {
            view! {
                <tr data-testid="failed-event">
                    <td>{at}</td><td>{crm_id}</td><td>{why}</td>
                    <td><ActionForm action=actions.retry>
                        <input type="hidden" name="connector" value=id.to_string()/>
                        <input type="hidden" name="event" value=event.to_string()/>
                        <button type="submit" class="link">{lang.t("connectors.retry")}</button>
                    </ActionForm></td>
                </tr>
            }
        })
        .collect_view();
    let has_failed = !card.failed.is_empty();
    let stages = card
        .stages
        .iter()
        .cloned()
        .map(|(key, pipeline, name, crm, chosen)| {
            let crm_word = lang.t(&format!("connectors.outcome.{crm}"));
            let options = options(
                [
                    ("", format!("{} ({crm_word})", lang.t("connectors.as_crm"))),
                    ("open", lang.t("connectors.outcome.open")),
                    ("won", lang.t("connectors.outcome.won")),
                    ("lost", lang.t("connectors.outcome.lost")),
                ],
                &chosen,
            );
            view! {
                <tr data-testid="crm-stage">
                    <td>{pipeline}</td><td>{name}</td><td>{crm_word.clone()}</td>
                    <td>
                        <ActionForm action=actions.stage>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="stage" value=key/>
                            <select name="outcome" aria-label=lang.t("connectors.stage_here")>
                                {options}
                            </select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="connector">
            <h2>{card.title.clone()}</h2>
            <dl class="facts">
                <dt>{lang.t("connectors.base_url")}</dt><dd>{card.base_url.clone()}</dd>
                <dt>{lang.t("connectors.token")}</dt><dd>{card.token.clone()}</dd>
                <dt>{lang.t("connectors.account")}</dt><dd>{card.account.clone()}</dd>
                <dt>{lang.t("connectors.hook_url")}</dt><dd><code data-testid="hook-url">{card.hook_url.clone()}</code></dd>
                {card.hook_credentials.clone().map(|c| view! {
                    <dt>{lang.t("connectors.hook_credentials")}</dt><dd><code data-testid="hook-credentials">{c}</code></dd>
                })}
                <dt>{lang.t("connectors.last_event")}</dt><dd>{card.last_event.clone()}</dd>
                <dt>{lang.t("connectors.events_hour")}</dt><dd data-testid="events-hour">{card.events_last_hour}</dd>
                <dt>{lang.t("connectors.reconciled")}</dt><dd>{card.reconciled.clone()}</dd>
                <dt>{lang.t("connectors.last_error")}</dt><dd class="error-text">{card.last_error.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>{lang.t("connectors.waiting")}</dt><dd data-testid="waiting">{card.waiting}</dd>
            </dl>
            <p class="hint">{lang.t(&card.hook_hint)}</p>
            {card.needs_hook_secret.then(|| view! {
                <ActionForm action=actions.hook_token attr:data-testid="hook-token-form">
                    <input type="hidden" name="connector" value=id.to_string()/>
                    <label>{lang.t(&format!("{}_secret", card.hook_hint))}" "
                        <input name="secret" type="password" required autocomplete="off"
                            placeholder=if card.hook_secret_set { "••••" } else { "" }/>
                    </label>
                    " "<button type="submit">{lang.t("connectors.save")}</button>
                    {(!card.hook_secret_set).then(|| view! { <p class="error-text" role="status">{lang.t("connectors.hook_token_missing")}</p> })}
                </ActionForm>
            })}
            <h3>{lang.t("connectors.backfill")}</h3>
            {progress}
            <ActionForm action=actions.backfill attr:data-testid="backfill-form">
                <input type="hidden" name="connector" value=id.to_string()/>
                <label>{lang.t("connectors.since")}" "<input type="date" name="from" required value="2026-01-01"/></label>
                " "<button type="submit">{lang.t("connectors.start_backfill")}</button>
            </ActionForm>
            <h3>{lang.t("connectors.people")}</h3>
            <table class="board" data-testid="crm-people">
                <thead><tr><th>{lang.t("connectors.crm_user")}</th><th>"Email"</th><th>{lang.t("connectors.waiting")}</th><th>{lang.t("connectors.maps_to")}</th></tr></thead>
                <tbody>{people}</tbody>
            </table>
            <h3>{lang.t("connectors.stages")}</h3>
            <table class="board" data-testid="crm-stages">
                <thead><tr><th>{lang.t("connectors.pipeline")}</th><th>{lang.t("connectors.stage")}</th>
                    <th>{lang.t("connectors.in_crm")}</th><th>{lang.t("connectors.stage_here")}</th></tr></thead>
                <tbody>{stages}</tbody>
            </table>
            <DealFields id fields=card.fields.clone() mapped=card.mapped.clone() values=card.deal_type_values.clone() actions/>
            {has_failed.then(|| view! {
                <h3>{lang.t("connectors.failed_events")}</h3>
                <table class="board" data-testid="failed-events"><tbody>{failed}</tbody></table>
            })}
            <ActionForm action=actions.reconcile>
                <input type="hidden" name="connector" value=id.to_string()/>
                <button type="submit" class="link">{lang.t("connectors.reconcile")}</button>
            </ActionForm>
            <ActionForm action=actions.delete>
                <input type="hidden" name="connector" value=id.to_string()/>
                <label class="check">
                    <input type="checkbox" name="remove_records" value="true"/>
                    {lang.t("connectors.delete_records")}
                </label>
                <button type="submit" class="link danger">{lang.t("connectors.delete")}</button>
            </ActionForm>
            <p class="hint">{lang.t("connectors.delete_keeps")}</p>
        </section>
    }
}

/// The CRM deal fields that give the records' customer, product and deal type, and what each
/// value of the deal-type field means.
#[component]
fn DealFields(
    id: i64,
    fields: Vec<(String, String)>,
    mapped: (String, String, String),
    values: Vec<(String, String, i64, String)>,
    actions: Actions,
) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let select = |name: &'static str, label: &'static str, current: &str| {
        // A mapped field the CRM no longer lists stays chosen (saving keeps it) until changed.
        let gone = (!current.is_empty() && !fields.iter().any(|(key, _)| key == current))
            .then(|| (current.to_string(), lang.t("connectors.field_gone")));
        let options = fields
            .iter()
            .chain(gone.iter())
            .map(|(key, field)| {
                let selected = key == current;
                view! { <option value=key.clone() selected=selected>{format!("{field} ({key})")}</option> }
            })
            .collect_view();
        view! {
            <label>{lang.t(label)}" "
                <select name=name>
                    <option value="" selected=current.is_empty()>{lang.t("connectors.field_none")}</option>
                    {options}
                </select>
            </label>
        }
    };
    let rows = values
        .into_iter()
        .map(|(value, label, deals, chosen)| {
            let options = options(
                [
                    ("", lang.t("connectors.as_crm")),
                    ("new", lang.t("deals.type_new")),
                    ("upsell", lang.t("deals.type_upsell")),
                    ("cross_sell", lang.t("deals.type_cross_sell")),
                ],
                &chosen,
            );
            view! {
                <tr data-testid="crm-deal-type">
                    <td>{label}</td><td class="num">{deals}</td>
                    <td>
                        <ActionForm action=actions.deal_type>
                            <input type="hidden" name="connector" value=id.to_string()/>
                            <input type="hidden" name="value" value=value/>
                            <select name="deal_type" aria-label=lang.t("connectors.deal_type_here")>{options}</select>
                            " "<button type="submit" class="link">{lang.t("connectors.map")}</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let customer = select("customer", "connectors.field_customer", &mapped.0);
    let product = select("product", "connectors.field_product", &mapped.1);
    let deal_type = select("deal_type", "connectors.field_deal_type", &mapped.2);
    let typed = !mapped.2.is_empty();
    view! {
        <h3>{lang.t("connectors.deal_fields")}</h3>
        <p class="hint">{lang.t("connectors.deal_fields_hint")}</p>
        <ActionForm action=actions.fields attr:data-testid="deal-fields-form">
            <input type="hidden" name="connector" value=id.to_string()/>
            {customer}" "{product}" "{deal_type}" "
            <button type="submit">{lang.t("connectors.save")}</button>
        </ActionForm>
        {typed.then(|| view! {
            <table class="board" data-testid="crm-deal-types">
                <thead><tr><th>{lang.t("connectors.field_value")}</th><th>{lang.t("connectors.deals")}</th>
                    <th>{lang.t("connectors.deal_type_here")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })}
    }
}

/// A select's options, the one whose value is `chosen` selected (`""`: the CRM's own).
fn options<const N: usize>(choices: [(&'static str, String); N], chosen: &str) -> impl IntoView {
    choices
        .into_iter()
        .map(|(value, label)| {
            let selected = chosen == value;
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view()
}
