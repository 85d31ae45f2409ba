//! `/leaderboard`: reps ranked by any KPI (revenue by default) for a period
//! and scope, with each rep's movement against the previous period and the
//! signed-in rep's row highlighted (and, on a phone, repeated at the top).
//! Works before hydration (links, GET form); once hydrated, every filter
//! updates the ranking in place and keeps its choice in the URL.

use crate::auth::CurrentUser;
use crate::components::{live_feed, loaded, LiveStatus, TopBar};
use crate::error::AppError;
use crate::kpi::Unit;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardView {
    pub me: CurrentUser,
    pub by: String,
    pub by_label: String,
    pub unit: Unit,
    /// `value` or `attainment`.
    pub measure: String,
    /// `top` (the top 50 and the reader's own row), `all`, or `neighbours` (the top 3 and the
    /// reader's own row with 2 above and below).
    pub view: String,
    /// How many reps the board ranks (the rows shown may be fewer).
    pub total: usize,
    /// `full`, `initials` or `none`.
    pub names: String,
    pub scope: String,
    pub period: String,
    pub range: String,
    pub currency: String,
    pub periods: Vec<Choice>,
    pub kpis: Vec<Choice>,
    pub scopes: Vec<Choice>,
    pub entries: Rows,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rank: usize,
    /// Places gained since the previous period (negative: lost); `None` when not ranked before.
    pub movement: Option<i64>,
    pub user_id: String,
    pub name: String,
    pub team: Option<String>,
    pub value: Option<f64>,
}

/// The ranked rows a page shows. On the server the rows every reader of one view
/// shares are built and written as JSON once per data version ([`Rows::Shared`]):
/// 2,000 open pages re-reading a board after a won deal copy those bytes instead
/// of each building and serialising its rows. The browser reads them back as
/// [`Rows::Owned`]. Only `serde_json` can write a shared row set (the server
/// function's and the page's encoding).
#[derive(Debug, Clone)]
pub enum Rows {
    Owned(Vec<Entry>),
    /// The shared rows: all of them (`true`), or the top [`crate::fairness::PAGE_TOP`].
    #[cfg(feature = "ssr")]
    Shared(std::sync::Arc<SharedRows>, bool),
}

/// A view's rows as any reader but their own rep sees them, and that as JSON: all of them, and
/// the top [`crate::fairness::PAGE_TOP`] when there are more.
#[cfg(feature = "ssr")]
#[derive(Debug)]
pub struct SharedRows {
    /// The ranking the rows were built from (the reader's own row is rebuilt from it).
    ranked: std::sync::Arc<Vec<store::kpis::RankedRep>>,
    entries: Vec<Entry>,
    json: Box<serde_json::value::RawValue>,
    top_json: Option<Box<serde_json::value::RawValue>>,
}

impl std::ops::Deref for Rows {
    type Target = [Entry];
    fn deref(&self) -> &[Entry] {
        match self {
            Rows::Owned(entries) => entries,
            #[cfg(feature = "ssr")]
            Rows::Shared(shared, true) => &shared.entries,
            #[cfg(feature = "ssr")]
            Rows::Shared(shared, false) => &shared.entries[..shared.entries.len().min(crate::fairness::PAGE_TOP)],
        }
    }
}

impl PartialEq for Rows {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Serialize for Rows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rows::Owned(entries) => entries.serialize(serializer),
            #[cfg(feature = "ssr")]
            Rows::Shared(shared, true) => shared.json.serialize(serializer),
            #[cfg(feature = "ssr")]
            Rows::Shared(shared, false) => shared.top_json.as_ref().unwrap_or(&shared.json).serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Entry>::deserialize(deserializer).map(Rows::Owned)
    }
}

/// Reps of `scope` (default org) ranked by `by` (default revenue) for `period` (default this month).
#[server(prefix = "/api", endpoint = "leaderboard")]
pub async fn leaderboard(
    period: Option<String>,
    by: Option<String>,
    scope: Option<String>,
    measure: Option<String>,
    view: Option<String>,
    names: Option<String>,
) -> Result<LeaderboardView, AppError> {
    use crate::fairness::{neighbour_rows, top_rows, Names, PAGE_TOP};
    use crate::i18n::{error, Message};
    use crate::kpi::{find, Scope, ScopeKind, KPIS};
    use crate::pages::errors::refusals;
    use crate::period::{Period, PeriodKind};
    use std::collections::HashMap;

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let state = expect_context::<crate::state::AppState>();
    let (pool, snapshots) = (state.pool.clone(), state.snapshots.clone());
    // What every reader shares comes from the snapshots: computed once per data version.
    let settings =
        snapshots.get("settings".into(), store::settings::load(&pool)).await.map_err(|e| AppError::server(&*e))?;
    let tz = settings.time_zone;
    let today = crate::clock::now().with_timezone(&tz).date_naive();
    let period = match period.filter(|p| !p.is_empty()) {
        Some(text) => Period::parse(&text).map_err(refusals::period)?,
        None => Period::containing(PeriodKind::Month, today),
    };
    let by = by.filter(|b| !b.is_empty()).unwrap_or_else(|| "revenue".into());
    let by_points = by == "points";
    let def = match by_points {
        true => None,
        false => Some(
            find(&by)
                .filter(|k| k.applies_to(ScopeKind::Rep))
                .ok_or_else(|| error(Message::new("err.cannot_rank").with("by", &by)))?,
        ),
    };
    let names_text = names.filter(|n| !n.is_empty()).unwrap_or_else(|| "full".into());
    let name_mode =
        Names::parse(&names_text).ok_or_else(|| error(Message::new("err.names_option").with("names", &names_text)))?;
    let shown = match view.as_deref() {
        None | Some("") | Some("top") => "top",
        Some("all") => "all",
        Some("neighbours") => "neighbours",
        Some(other) => return Err(error(Message::new("err.view_option").with("view", other))),
    };
    let scope_text = scope.filter(|s| !s.is_empty()).unwrap_or_else(|| "org".into());
    let scope = Scope::parse(&scope_text).map_err(|_| refusals::scope(&scope_text))?;
    if scope.kind() == ScopeKind::Rep {
        return Err(error("err.leaderboard_scope"));
    }

    // Fairness option: rank by attainment % of each rep's own target instead of the raw value.
    let by_attainment = !by_points && measure.as_deref() == Some("attainment");
    let state = expect_context::<crate::state::AppState>();
    // Every row as a reader other than its rep sees it, built and serialised once per version.
    let rows_key =
        format!("rows:{by}:{scope}:{period}:{by_attainment}:{name_mode:?}:{tz}", by = def.map_or("points", |d| d.id));
    // The computation's error stays the store's: each reader words it in their own language and
    // sets their own answer's status (readers waiting on one computation share its result).
    let build = async {
        let ranked_for = |p: Period| ranking_snapshot(&state, def, &scope, p, tz, by_attainment);
        let ranked = ranked_for(period).await?;
        let previous = ranked_for(period.previous()).await?;
        let before: HashMap<&str, usize> =
            previous.iter().filter(|r| r.value.is_some()).map(|r| (r.id.as_str(), r.rank)).collect();
        let entries: Vec<Entry> = ranked
            .iter()
            .map(|r| {
                let full = name_mode == Names::Full;
                Entry {
                    movement: before.get(r.id.as_str()).map(|was| *was as i64 - r.rank as i64),
                    rank: r.rank,
                    name: name_mode.show(&r.name, r.rank),
                    team: if full { r.team.clone() } else { None },
                    // Anonymised rows carry no user id into the page either.
                    user_id: if full { r.id.clone() } else { String::new() },
                    value: r.value,
                }
            })
            .collect();
        // Strings, whole numbers and floats (a NaN is written as null): nothing here can fail.
        let write = |rows: &[Entry]| serde_json::value::to_raw_value(rows).expect("leaderboard rows serialise to JSON");
        let json = write(&entries);
        let top_json = (entries.len() > PAGE_TOP).then(|| write(&entries[..PAGE_TOP]));
        Ok::<_, std::sync::Arc<store::kpis::KpiError>>(SharedRows { ranked, entries, json, top_json })
    };
    let shared = snapshots.get(rows_key, build).await.map_err(|e| refusals::kpi_shared((*e).clone(), &scope))?;
    let mine = shared.ranked.iter().position(|r| r.id == me.id);
    let total = shared.entries.len();
    let entries = match (shown, name_mode) {
        // Everyone sees the same rows, the reader's own included: send the shared bytes.
        ("all", Names::Full) => Rows::Shared(shared, true),
        ("top", Names::Full) if mine.is_none_or(|i| i < PAGE_TOP) => Rows::Shared(shared, false),
        _ => {
            let rows = match shown {
                "neighbours" => neighbour_rows(total, mine),
                "top" => top_rows(total, mine),
                _ => (0..total).collect(),
            };
            // The reader's own row shows them by name.
            let own = |i: usize| {
                let r = &shared.ranked[i];
                Entry { name: r.name.clone(), team: r.team.clone(), user_id: r.id.clone(), ..shared.entries[i].clone() }
            };
            Rows::Owned(
                rows.into_iter().map(|i| if Some(i) == mine { own(i) } else { shared.entries[i].clone() }).collect(),
            )
        }
    };

    let periods = crate::pages::choices::recent_periods(today);
    let mut kpis = vec![Choice { value: "points".into(), label: lang.t("nav.points") }];
    kpis.extend(
        KPIS.iter()
            .filter(|k| k.applies_to(ScopeKind::Rep))
            .map(|k| Choice { value: k.id.into(), label: k.name(lang).into() }),
    );
    let mut scopes = vec![Choice { value: "org".into(), label: lang.t("scope.everyone") }];
    let shared_scopes = snapshots
        .get(format!("scopes:{lang:?}"), crate::pages::choices::team_and_region_scopes(&pool))
        .await
        .map_err(|e| (*e).clone())?;
    scopes.extend(shared_scopes.iter().cloned());

    Ok(LeaderboardView {
        me,
        by: def.map_or("points", |d| d.id).into(),
        by_label: def.map_or(lang.t("nav.points"), |d| d.name(lang).into()),
        unit: match def {
            _ if by_attainment => Unit::Percent,
            Some(d) => d.unit,
            None => Unit::Count,
        },
        measure: if by_attainment { "attainment".into() } else { "value".into() },
        view: shown.into(),
        total,
        names: names_text,
        scope: scope.to_string(),
        period: period.to_string(),
        range: format!(
            "{} — {}",
            crate::format::date(period.first_day(), lang),
            crate::format::date(period.end_day() - chrono::Duration::days(1), lang)
        ),
        currency: settings.currency.clone(),
        periods,
        kpis,
        scopes,
        entries,
    })
}

/// The ranking every reader of (KPI or points, scope, period, measure) shares: computed once per
/// data version (`services::snapshots`), for the leaderboard and the homes. The error is the
/// store's, as every reader of the snapshot shares it (each words it for themselves).
#[cfg(feature = "ssr")]
pub async fn ranking_snapshot(
    state: &crate::state::AppState,
    def: Option<&'static crate::kpi::KpiDef>,
    scope: &crate::kpi::Scope,
    period: crate::period::Period,
    tz: chrono_tz::Tz,
    by_attainment: bool,
) -> Result<std::sync::Arc<Vec<store::kpis::RankedRep>>, std::sync::Arc<store::kpis::KpiError>> {
    let (start, end) = period.bounds(tz);
    let key = format!("leaderboard:{}:{scope}:{period}:{by_attainment}:{tz}", def.map_or("points", |d| d.id));
    let reads = state.reads.clone();
    let compute = async move {
        reads
            .read(|pool| async move {
                match def {
                    Some(def) => {
                        let of = by_attainment.then(|| period.to_string());
                        let window = store::kpis::Window::new(start, end, tz);
                        store::kpis::leaderboard(&pool, scope, window, def, of.as_deref()).await
                    }
                    None => store::points::points_leaderboard(&pool, scope, start, end).await,
                }
            })
            .await
    };
    state.snapshots.get(key, compute).await
}

#[component]
pub fn Leaderboard() -> impl IntoView {
    let query = use_query_map();
    // Live: a won deal anywhere re-reads the ranking in place.
    let feed = live_feed();
    let data = Resource::new(
        move || {
            let q = query.read();
            let live = feed.version.get();
            (q.get("period"), q.get("by"), q.get("scope"), q.get("measure"), q.get("view"), q.get("names"), live)
        },
        |(period, by, scope, measure, view, names, _)| leaderboard(period, by, scope, measure, view, names),
    );
    // The filter last changed, focused again once the ranking is re-read (the form is drawn anew).
    let refocus = RwSignal::new(None::<String>);
    loaded(data, move |view| view! { <Board view refocus/> })
}

/// The query the filter form would send, read from the form (after hydration):
/// its fields in the order the URL carries them.
#[cfg(feature = "hydrate")]
fn filter_query(form: &web_sys::HtmlFormElement) -> Option<String> {
    let data = web_sys::FormData::new_with_form(form).ok()?;
    let pairs: Vec<String> = ["period", "by", "scope", "measure", "view", "names"]
        .iter()
        .filter_map(|name| data.get(name).as_string().map(|v| (name, v)))
        .map(|(name, value)| format!("{name}={}", String::from(js_sys::encode_uri_component(&value))))
        .collect();
    Some(pairs.join("&"))
}

/// Focuses the form's field `name` (the page was re-drawn under the reader's hand).
#[cfg(feature = "hydrate")]
fn focus_filter(name: &str) {
    use wasm_bindgen::JsCast;
    let field = document()
        .query_selector(&format!("form.filters [name=\"{name}\"]"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(field) = field {
        let _ = field.focus();
    }
}

/// A rep's places gained or lost since the previous period.
fn movement_badge(movement: Option<i64>, lang: crate::i18n::Lang) -> AnyView {
    let vs_previous = lang.t("board.vs_previous");
    match movement {
        Some(m) if m > 0 => view! { <span class="move up" title=vs_previous>{format!("▲{m}")}</span> }.into_any(),
        Some(m) if m < 0 => view! { <span class="move down" title=vs_previous>{format!("▼{}", -m)}</span> }.into_any(),
        Some(_) => view! { <span class="move same" title=vs_previous>"="</span> }.into_any(),
        None => view! { <span class="move new" title=lang.t("board.not_ranked_before")>"•"</span> }.into_any(),
    }
}

#[component]
fn Board(view: LeaderboardView, refocus: RwSignal<Option<String>>) -> impl IntoView {
    let LeaderboardView {
        me,
        by,
        by_label,
        unit,
        measure,
        view: shown,
        total,
        names,
        scope,
        period,
        range,
        currency,
        periods,
        kpis,
        scopes,
        entries,
    } = view;
    let lang = crate::i18n::use_lang();
    let choices = |pairs: &[(&str, &str)]| -> Vec<Choice> {
        pairs.iter().map(|(value, key)| Choice { value: value.to_string(), label: lang.t(key) }).collect()
    };
    let measures = choices(&[("value", "board.measure_value"), ("attainment", "board.measure_attainment")]);
    let views = choices(&[("top", "board.top"), ("all", "scope.everyone"), ("neighbours", "board.neighbours")]);
    let name_modes =
        choices(&[("full", "board.names_full"), ("initials", "board.names_initials"), ("none", "board.names_none")]);
    // A link to this board with one choice changed (every other one kept).
    let href = |period: &str, view: &str| {
        format!("/leaderboard?period={period}&by={by}&scope={scope}&measure={measure}&view={view}&names={names}")
    };
    let my_id = me.id.clone();
    // On a phone the reader's own row is repeated at the top of the table (the
    // stylesheet shows it only there), so it is on the first screen wherever it ranks.
    let pinned = entries.iter().skip(1).find(|e| e.user_id == my_id).cloned().map(|e| {
        view! {
            <tr class="pinned" data-testid="my-row" aria-hidden="true">
                <td class="rank">{e.rank}</td>
                <td class="movement">{movement_badge(e.movement, lang)}</td>
                <td class="name">{e.name}</td>
                <td class="team">{e.team.unwrap_or_default()}</td>
                <td class="num">{crate::format::kpi_value(e.value, unit, &currency, lang)}</td>
            </tr>
        }
    });
    // By attainment with no target set for the period, nobody is ranked (`store::kpis::leaderboard`): say so.
    let no_targets = (measure == "attainment" && entries.is_empty())
        .then(|| view! { <p class="muted" data-testid="no-targets">{lang.t("board.no_targets")}</p> });
    // The top rows only: say how many there are, and where the rest are.
    let more = (shown == "top" && total > crate::fairness::PAGE_TOP).then(|| {
        let all = href(&period, "all");
        let said =
            crate::i18n::Message::new("board.top_of").with("top", crate::fairness::PAGE_TOP).with("total", total);
        view! {
            <p class="muted more" data-testid="board-more">
                {said.in_lang(lang)}" "<a href=all>{lang.t("board.show_everyone")}</a>
            </p>
        }
    });
    let rows = entries
        .iter()
        .cloned()
        .map(|e| {
            let mine = e.user_id == my_id;
            let movement = movement_badge(e.movement, lang);
            view! {
                <tr class:mine=mine aria-current=mine.then_some("true") data-user=e.user_id>
                    <td class="rank">{e.rank}</td>
                    <td class="movement">{movement}</td>
                    <td class="name">{e.name}</td>
                    <td class="team">{e.team.unwrap_or_default()}</td>
                    <td class="num">{crate::format::kpi_value(e.value, unit, &currency, lang)}</td>
                </tr>
            }
        })
        .collect_view();
    let chips = periods
        .iter()
        .map(|c| {
            let current = c.value == period;
            // Plain links: they navigate before the WASM loads; once hydrated, the router takes them over.
            view! {
                <a
                    href=href(&c.value, &shown)
                    class=if current { "chip current" } else { "chip" }
                    aria-current=current.then_some("page")
                >
                    {c.label.clone()}
                </a>
            }
        })
        .collect_view();
    // Once hydrated, a changed filter navigates in place (no page load): the URL
    // carries it and the ranking is re-read. Before that, the form's GET does the same.
    let navigate = use_navigate();
    let form = NodeRef::<leptos::html::Form>::new();
    let apply = move |ev: &leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            // The form the changed field is in: when the page was re-drawn between the
            // change and this handler, the node ref already holds the new form, whose
            // fields do not have the reader's latest choice.
            let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
            let own_form = target
                .as_ref()
                .and_then(|e| e.closest("form").ok().flatten())
                .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok());
            let Some(query) = own_form.or_else(|| form.get_untracked()).and_then(|form| filter_query(&form)) else {
                return;
            };
            ev.prevent_default();
            let changed = target.and_then(|e| e.get_attribute("name"));
            refocus.set(changed);
            navigate(
                &format!("/leaderboard?{query}"),
                leptos_router::NavigateOptions { scroll: false, ..Default::default() },
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &navigate, refocus, form);
    };
    let on_submit = apply.clone();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(name) = refocus.get_untracked() {
            refocus.set(None);
            focus_filter(&name);
        }
    });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>{by_label.clone()}</h1>
                <p class="muted" data-testid="period">{period.clone()}" · "{range}</p>
                <LiveStatus/>
            </div>
            <nav class="periods" aria-label=lang.t("board.period")>{chips}</nav>
            <form
                method="get"
                action="/leaderboard"
                class="filters"
                data-testid="filters"
                node_ref=form
                on:change=move |ev| apply(&ev)
                on:submit=move |ev| on_submit(&ev)
            >
                <input type="hidden" name="period" value=period.clone()/>
                <label>{lang.t("board.kpi")}" " <select name="by">{options(kpis, &by)}</select></label>
                <label>{lang.t("board.who")}" " <select name="scope">{options(scopes, &scope)}</select></label>
                <label>{lang.t("board.measure")}" " <select name="measure">{options(measures, &measure)}</select></label>
                <label>{lang.t("board.show")}" " <select name="view">{options(views, &shown)}</select></label>
                <label>{lang.t("board.names")}" " <select name="names">{options(name_modes, &names)}</select></label>
                // Needed only before hydration (or without JavaScript); the stylesheet hides it after.
                <button type="submit" class="secondary apply">{lang.t("board.show")}</button>
            </form>
            <table class="board leaderboard" data-testid="leaderboard" data-period=period data-by=by data-scope=scope.clone()>
                <thead>
                    <tr>
                        <th class="rank">"#"</th>
                        <th class="movement"><span class="sr-only">{lang.t("board.movement")}</span></th>
                        <th class="name">{lang.t("board.name")}</th>
                        // Hidden with the team cells on a phone, so the columns stay aligned.
                        <th class="team">{lang.t("nav.team")}</th>
                        <th class="num">{by_label}</th>
                    </tr>
                    {pinned}
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {more}
            {no_targets}
        </main>
    }
}
