//! `/kpis`: the KPI card of a scope and period: every KPI with its target,
//! attainment, change against the previous period, a 6-period trend, and
//! bars for the breakdown KPIs.

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
    pub period: String,
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
    pub previous: Option<f64>,
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

/// One tile per KPI of the last card, with its trend over all of `cards` (oldest first, see `cards_through`).
#[cfg(feature = "ssr")]
pub fn tiles(cards: &[Vec<store::kpis::KpiEntry>]) -> Vec<KpiTile> {
    let Some(current) = cards.last() else { return Vec::new() };
    current
        .iter()
        .map(|entry| {
            let def = crate::kpi::find(entry.id).expect("known KPI");
            let series: Vec<Option<f64>> =
                cards.iter().map(|c| c.iter().find(|e| e.id == entry.id).and_then(|e| e.value)).collect();
            KpiTile {
                id: entry.id.to_string(),
                name_ru: def.name_ru.to_string(),
                name_en: def.name_en.to_string(),
                unit: entry.unit,
                better: entry.better,
                value: entry.value,
                target: entry.target,
                attainment: entry.attainment,
                previous: series.len().checked_sub(2).and_then(|i| series[i]),
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
    use store::kpis::cards_through;

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool;
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let tz = settings.time_zone;
    let today = crate::clock::now().with_timezone(&tz).date_naive();
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

    // This period and the five before it: the trend, the previous value and the current one.
    let cards = cards_through(&pool, &scope, period, tz, 6)
        .await
        .map_err(|e| crate::pages::errors::refusals::kpi(e, &scope))?;
    let kpis = tiles(&cards);

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
        period: period.to_string(),
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
                    Err(e) => view! { <main class="page narrow"><p class="error">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Card(view: KpiCardView) -> impl IntoView {
    let KpiCardView { me, scope, period, currency, scopes, periods, kpis } = view;
    let scope_options = options(scopes, &scope);
    let period_options = options(periods, &period);
    let lang = crate::i18n::use_lang();
    let tiles = kpis.into_iter().map(|k| view! { <Tile kpi=k currency=currency.clone()/> }).collect_view();
    view! {
        <TopBar user=me/>
        <main class="page wide">
            <div class="heading">
                <h1>{lang.t("nav.kpis")}</h1>
                <p class="muted" data-testid="kpi-scope">{scope.clone()}" · "{period.clone()}</p>
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
            <p class="change" class:up={improving == Some(true)} class:down={improving == Some(false)}>
                {format!("{} {}", change_text(change, lang), lang.t("board.vs_previous"))}
            </p>
            <Sparkline values=kpi.trend.clone()/>
            <ul class="bars">{bars}</ul>
        </section>
    }
}
