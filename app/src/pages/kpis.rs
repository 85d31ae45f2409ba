//! `/kpis`: the KPI card of a scope and period: every KPI with its target,
//! attainment, pace (while the period runs), change against the previous
//! period (like with like: up to the same point while this one runs), a
//! 6-period trend, and bars for the breakdown KPIs.

use crate::auth::CurrentUser;
use crate::components::{Sparkline, TopBar};
use crate::error::AppError;
use crate::kpi::{Better, Unit};
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiCardView {
    pub me: CurrentUser,
    pub scope: String,
    /// Whose card it is, for the reader: a person's, a team's or a region's name, the organisation's.
    pub scope_name: String,
    pub period: String,
    /// The period in words ("декабрь 2026" / "December 2026").
    pub period_name: String,
    /// While the period runs: how much of it has passed and what it is compared with.
    pub so_far: Option<String>,
    pub currency: String,
    pub scopes: Vec<Choice>,
    pub periods: Vec<Choice>,
    pub kpis: Vec<KpiTile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiTile {
    pub id: String,
    pub name_ru: String,
    pub name_en: String,
    pub unit: Unit,
    pub better: Better,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
    /// While the period runs: the value so far against the target prorated to the elapsed part.
    pub pace: Option<crate::kpi::Pace>,
    /// The previous period's value over the span that compares (up to the same point while this one runs).
    pub previous: Option<f64>,
    /// `previous` is up to the same point of the previous period (this one is running).
    pub previous_so_far: bool,
    /// Oldest first, ending with this period.
    pub trend: Vec<Option<f64>>,
    pub breakdown: Vec<(String, f64)>,
}

impl KpiTile {
    /// The change against the previous period, in % of the previous value (`None` without one).
    pub fn change(&self) -> Option<f64> {
        match (self.value, self.previous) {
            (Some(now), Some(before)) if before != 0.0 => Some((now - before) * 100.0 / before.abs()),
            _ => None,
        }
    }

    /// Whether the change is for the better, by the KPI's direction.
    pub fn improving(&self) -> Option<bool> {
        self.change().map(|c| match self.better {
            Better::Lower => c < 0.0,
            _ => c > 0.0,
        })
    }
}

/// `▲ 12,5 %` or `▼ 3 %`, `—` without a change.
pub fn change_text(change: Option<f64>, lang: crate::i18n::Lang) -> String {
    match change {
        Some(c) => format!("{} {}", if c >= 0.0 { "▲" } else { "▼" }, crate::format::percent(c.abs(), 1, lang)),
        None => "—".into(),
    }
}

/// The words under a change: against the previous period, or against its same point while this one runs.
pub fn versus_text(so_far: bool, lang: crate::i18n::Lang) -> String {
    lang.t(if so_far { "kpis.vs_same_point" } else { "board.vs_previous" })
}

/// One tile per KPI of the history's last card, with its trend over all of its
/// cards (oldest first) and its change against the comparable previous span
/// (see `store::kpis::card_history`).
#[cfg(feature = "ssr")]
pub fn tiles(history: &store::kpis::CardHistory) -> Vec<KpiTile> {
    let cards = &history.cards;
    let Some(current) = cards.last() else { return Vec::new() };
    current
        .iter()
        .map(|entry| {
            let def = crate::kpi::find(entry.id).expect("known KPI");
            let series: Vec<Option<f64>> =
                cards.iter().map(|c| c.iter().find(|e| e.id == entry.id).and_then(|e| e.value)).collect();
            let previous = history.previous.iter().find(|e| e.id == entry.id).and_then(|e| e.value);
            KpiTile {
                id: entry.id.to_string(),
                name_ru: def.name_ru.to_string(),
                name_en: def.name_en.to_string(),
                unit: entry.unit,
                better: entry.better,
                value: entry.value,
                target: entry.target,
                attainment: entry.attainment,
                pace: history.running.and_then(|elapsed| crate::kpi::pace(def, entry.value, entry.target, elapsed)),
                previous,
                previous_so_far: history.running.is_some(),
                trend: series,
                breakdown: entry.breakdown.clone().map(|b| b.into_iter().collect()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The KPI card for `scope` (default: your own) and `period` (default: this month).
#[server(prefix = "/api", endpoint = "kpi_card")]
pub async fn kpi_card(scope: Option<String>, period: Option<String>) -> Result<KpiCardView, AppError> {
    use crate::auth::Role;
    use crate::kpi::Scope;
    use crate::period::{Period, PeriodKind};
    use store::kpis::card_history;

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let state = expect_context::<crate::state::AppState>();
    let pool = state.pool.clone();
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let tz = settings.time_zone;
    let now = crate::clock::now();
    let today = now.with_timezone(&tz).date_naive();
    let own_scope = match (me.role, &me.team_id) {
        (Role::Rep, _) => format!("rep:{}", me.id),
        (Role::Manager, Some(team)) => format!("team:{team}"),
        _ => "org".to_string(),
    };
    let scope_text = scope.filter(|s| !s.is_empty()).unwrap_or(own_scope);
    let scope = Scope::parse(&scope_text).map_err(|_| crate::pages::errors::refusals::scope(&scope_text))?;
    let period = match period.filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(&p).map_err(crate::pages::errors::refusals::period)?,
        None => Period::containing(PeriodKind::Month, today),
    };

    // This period and the five before it (the trend), and the previous period's comparable span.
    let on = &scope;
    let history = state
        .reads
        .read(|pool| async move { card_history(&pool, on, period, tz, 6, now).await })
        .await
        .map_err(|e| crate::pages::errors::refusals::kpi(e, &scope))?;
    let kpis = tiles(&history);
    let so_far = history.running.map(|elapsed| {
        let (start, cut) = period.comparable_previous(tz, now);
        domain::tr!(
            lang,
            "kpis.so_far",
            elapsed = crate::format::percent(elapsed * 100.0, 0, lang),
            from = crate::format::date_time(start.with_timezone(&tz), lang),
            to = crate::format::date_time(cut.with_timezone(&tz), lang)
        )
        .into_owned()
    });
    let scope_name = match &scope {
        Scope::Org => settings.name.clone(),
        Scope::Team(id) => store::directory::team_names(&pool, Some(id))
            .await
            .map_err(AppError::server)?
            .into_iter()
            .next()
            .map_or(id.clone(), |(_, name)| name),
        Scope::Region(name) => format!("{}: {name}", lang.t("scope.region")),
        Scope::Rep(id) => store::directory::user_name(&pool, id).await.map_err(AppError::server)?.unwrap_or(id.clone()),
    };

    let mut scopes = vec![Choice { value: "org".into(), label: lang.t("scope.org") }];
    scopes.extend(crate::pages::choices::team_and_region_scopes(&pool).await?);
    // Every rep too: anyone may read any scope of the organisation, and the select must show the current one.
    let reps: Vec<(String, String)> =
        store::directory::reps(&pool, store::directory::Reps { team: None, active_only: true })
            .await
            .map_err(AppError::server)?;
    let rep = lang.t("scope.rep");
    scopes.extend(
        reps.into_iter().map(|(id, name)| Choice { value: format!("rep:{id}"), label: format!("{rep}: {name}") }),
    );
    if me.role == Role::Rep {
        scopes.insert(
            0,
            Choice { value: format!("rep:{}", me.id), label: format!("{}: {}", lang.t("scope.me"), me.name) },
        );
    }
    let periods = crate::pages::choices::recent_periods(today);
    Ok(KpiCardView {
        me,
        scope: scope.to_string(),
        scope_name,
        period: period.to_string(),
        period_name: period.in_words(lang),
        so_far,
        currency: settings.currency,
        scopes,
        periods,
        kpis,
    })
}

#[component]
pub fn Kpis() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || (query.read().get("scope"), query.read().get("period")),
        |(scope, period)| kpi_card(scope, period),
    );
    let lang = crate::i18n::use_lang();
    view! {
        <Transition fallback=move || view! { <p class="muted page">{lang.t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <Card view/> }.into_any(),
                    Err(e) => crate::components::failed(e).into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Card(view: KpiCardView) -> impl IntoView {
    let KpiCardView { me, scope, scope_name, period, period_name, so_far, currency, scopes, periods, kpis } = view;
    let scope_options = options(scopes, &scope);
    let period_options = options(periods, &period);
    let lang = crate::i18n::use_lang();
    let tiles = kpis.into_iter().map(|k| view! { <Tile kpi=k currency=currency.clone()/> }).collect_view();
    view! {
        <TopBar user=me/>
        <main class="page wide">
            <div class="heading">
                <h1>{lang.t("nav.kpis")}</h1>
                <p class="muted" data-testid="kpi-scope">{scope_name}" · "{period_name}</p>
                {so_far.map(|text| view! { <p class="muted" data-testid="kpi-so-far">{text}</p> })}
            </div>
            // A plain GET form: works before the WASM loads, then the router takes it over.
            <form method="get" action="/kpis" class="filters">
                <label>{lang.t("board.who")}" " <select name="scope">{scope_options}</select></label>
                <label>{lang.t("board.period")}" " <select name="period">{period_options}</select></label>
                <button type="submit" class="secondary">{lang.t("board.show")}</button>
            </form>
            <div class="tiles" data-testid="kpi-card">{tiles}</div>
        </main>
    }
}

#[component]
fn Tile(kpi: KpiTile, currency: String) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let fmt = |v: Option<f64>| crate::format::kpi_value(v, kpi.unit, &currency, lang);
    let value = fmt(kpi.value);
    let target = kpi.target.map(|t| fmt(Some(t)));
    let attainment = kpi.attainment;
    let change = kpi.change();
    let improving = kpi.improving();
    let versus = versus_text(kpi.previous_so_far, lang);
    // While the period runs: on pace or behind, and for a KPI that accumulates, what is due by now.
    let pace = kpi.pace.map(|p| {
        let due = crate::kpi::find(&kpi.id)
            .is_some_and(|k| k.accumulates())
            .then(|| format!(" · {}: {}", lang.t("kpis.due_by_now"), fmt(Some(p.expected))));
        let words = lang.t(if p.on_pace { "kpis.on_pace" } else { "kpis.behind_pace" });
        view! {
            <p class="pace" class:behind=!p.on_pace data-testid="kpi-pace" data-on-pace=p.on_pace.to_string()>
                <strong>{words}</strong>{due}
            </p>
        }
    });
    let max = kpi.breakdown.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let bars = kpi
        .breakdown
        .iter()
        .map(|(label, v)| {
            let width = if max > 0.0 { v / max * 100.0 } else { 0.0 };
            let shown = if kpi.id == "competitor_price_index" {
                crate::format::percent(*v, 1, lang)
            } else {
                crate::format::money(&format!("{v:.2}"), &currency, lang)
            };
            view! {
                <li>
                    <span class="bar-label">{label.clone()}</span>
                    <span class="bar" style=format!("width:{width:.1}%")></span>
                    <span class="bar-value">{shown}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="tile" data-kpi=kpi.id.clone()>
            <h2>{lang.pick(&kpi.name_ru, &kpi.name_en).to_string()}</h2>
            <p class="value" data-testid="kpi-value">{value}</p>
            <p class="target">
                {match target {
                    Some(t) => format!("{}: {t}", lang.t("kpis.target")),
                    None => lang.t("kpis.no_target"),
                }}
                {attainment.map(|a| view! { <strong class="attainment" class:met={a >= 100.0}>{format!(" · {}", crate::format::percent(a, 1, lang))}</strong> })}
            </p>
            {attainment.map(|a| view! {
                <div class="progress" role="progressbar" aria-label=lang.t("home.attainment") aria-valuenow=format!("{a:.0}") aria-valuemin="0" aria-valuemax="100">
                    <span style=format!("width:{:.1}%", a.clamp(0.0, 100.0))></span>
                </div>
            })}
            {pace}
            <p class="change" class:up={improving == Some(true)} class:down={improving == Some(false)}>
                {format!("{} {versus}", change_text(change, lang))}
            </p>
            <Sparkline values=kpi.trend.clone()/>
            <ul class="bars">{bars}</ul>
        </section>
    }
}
