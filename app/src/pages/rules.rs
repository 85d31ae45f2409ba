//! `/rules`: the points rules, edited by managers and admins. A change
//! recomputes the open periods at once; switched-off rules stay in the ledger's history.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub text: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesView {
    pub me: CurrentUser,
    pub rules: Vec<RuleRow>,
    pub measures: Vec<Choice>,
    pub kpis: Vec<Choice>,
}

#[cfg(feature = "ssr")]
async fn editor() -> Result<CurrentUser, ServerFnError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    if me.role == Role::Rep {
        return Err(crate::auth::server::forbidden("Only managers and admins edit points rules.").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "rules_view")]
pub async fn load_rules() -> Result<RulesView, ServerFnError> {
    let me = editor().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let rules = crate::db::points::rules(&pool, false).await.map_err(ServerFnError::new)?;
    Ok(RulesView {
        me,
        rules: rules
            .iter()
            .map(|r| RuleRow {
                id: r.rule.id,
                label: r.rule.label.clone(),
                kind: r.rule.kind.as_str().into(),
                text: crate::scoring::describe(&r.rule),
                active: r.active,
            })
            .collect(),
        measures: crate::scoring::MEASURES
            .iter()
            .map(|m| Choice { value: m.id.into(), label: format!("{} / {}", m.name_ru, m.name_en) })
            .collect(),
        kpis: crate::kpi::KPIS
            .iter()
            .filter(|k| k.applies_to(crate::kpi::ScopeKind::Rep) && k.better != crate::kpi::Better::None)
            .map(|k| Choice { value: k.id.into(), label: format!("{} / {}", k.name_ru, k.name_en) })
            .collect(),
    })
}

/// Adds a rule from the form: `basis` is the measure (per unit) or the KPI (the other kinds).
#[server(prefix = "/api", endpoint = "save_rule")]
#[allow(clippy::too_many_arguments)]
pub async fn save_rule(
    label: String,
    kind: String,
    measure: String,
    kpi: String,
    points: String,
    per: Option<String>,
    threshold: Option<String>,
    attainment_cap: Option<String>,
    period: Option<String>,
    cap_points: Option<String>,
    cap_per: Option<String>,
) -> Result<i64, ServerFnError> {
    use crate::api::gamification::{rule_from, RuleBody};
    let me = editor().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let clean = |t: Option<String>| {
        t.map(|t| t.trim().replace(',', ".").replace([' ', '\u{a0}'], "")).filter(|t| !t.is_empty())
    };
    let parse_f = |label: &str, t: Option<String>| -> Result<Option<f64>, ServerFnError> {
        clean(t)
            .map(|t| t.parse().map_err(|_| ServerFnError::new(format!("{label} is not a number: `{t}`"))))
            .transpose()
    };
    let parse_i = |label: &str, t: Option<String>| -> Result<Option<i64>, ServerFnError> {
        clean(t)
            .map(|t| t.parse().map_err(|_| ServerFnError::new(format!("{label} must be a whole number: `{t}`"))))
            .transpose()
    };
    let per_unit = kind == "per_unit";
    let mut body = RuleBody {
        id: None,
        basis: if per_unit { measure } else { kpi },
        points: parse_i("Points", Some(points))?.ok_or_else(|| ServerFnError::new("Points are required"))?,
        per: clean(per)
            .map(|t| t.parse().map_err(|_| ServerFnError::new(format!("Per is not a number: `{t}`"))))
            .transpose()?,
        threshold: parse_f("Threshold", threshold)?,
        attainment_cap: parse_f("Attainment cap", attainment_cap)?,
        period: if per_unit { None } else { period },
        cap_points: parse_i("Cap", cap_points)?,
        cap_per: if per_unit { cap_per } else { None },
        label,
        kind,
    };
    // The form always sends a cap period; it means something only with a cap.
    if body.cap_points.is_none() {
        body.cap_per = None;
    }
    let rule = rule_from(&body).map_err(ServerFnError::new)?;
    crate::db::points::save_rule(&pool, &rule, &me.id).await.map_err(ServerFnError::new)
}

#[server(prefix = "/api", endpoint = "switch_off_rule")]
pub async fn switch_off_rule(id: i64) -> Result<(), ServerFnError> {
    let me = editor().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    crate::db::points::deactivate_rule(&pool, id, &me.id).await.map_err(ServerFnError::new)?;
    Ok(())
}

#[component]
pub fn Rules() -> impl IntoView {
    let save = ServerAction::<SaveRule>::new();
    let off = ServerAction::<SwitchOffRule>::new();
    let data = Resource::new(move || (save.version().get(), off.version().get()), |_| load_rules());
    loaded(data, move |view| view! { <RulesPage view save off/> })
}

#[component]
fn RulesPage(view: RulesView, save: ServerAction<SaveRule>, off: ServerAction<SwitchOffRule>) -> impl IntoView {
    let RulesView { me, rules, measures, kpis } = view;
    let rows = rules
        .into_iter()
        .map(|r| {
            let switch = r.active.then(|| {
                view! {
                    <ActionForm action=off>
                        <input type="hidden" name="id" value=r.id.to_string()/>
                        <button type="submit" class="link">"Отключить / Switch off"</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:inactive=!r.active data-rule=r.id.to_string()>
                    <td>{r.label}</td>
                    <td>{r.text}</td>
                    <td>{if r.active { "вкл. / on" } else { "выкл. / off" }}</td>
                    <td>{switch}</td>
                </tr>
            }
        })
        .collect_view();
    let kinds = vec![
        Choice { value: "per_unit".into(), label: "За единицу / Per unit".into() },
        Choice { value: "attainment".into(), label: "От выполнения цели / Attainment-based".into() },
        Choice { value: "threshold".into(), label: "Бонус за порог / Threshold bonus".into() },
    ];
    let periods = vec![
        Choice { value: "week".into(), label: "Неделя / Week".into() },
        Choice { value: "month".into(), label: "Месяц / Month".into() },
        Choice { value: "quarter".into(), label: "Квартал / Quarter".into() },
        Choice { value: "year".into(), label: "Год / Year".into() },
    ];
    let cap_pers = vec![
        Choice { value: "day".into(), label: "в день / per day".into() },
        Choice { value: "week".into(), label: "в неделю / per week".into() },
        Choice { value: "month".into(), label: "в месяц / per month".into() },
    ];
    let error = move || {
        save.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>"Правила начисления очков / Points rules"</h1></div>
            <p class="muted">
                "Изменение пересчитывает текущий месяц и идущие периоды; закрытые месяцы сохраняют свои очки. / "
                "A change recomputes this month and the periods still running; closed months keep their points."
            </p>
            <table class="board" data-testid="rules">
                <thead><tr><th>"Правило / Rule"</th><th>"Как / How"</th><th>"Статус / Status"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ActionForm action=save attr:class="card form" attr:data-testid="new-rule">
                <h2>"Новое правило / New rule"</h2>
                {error}
                <label>"Название / Label" <input name="label" required/></label>
                <label>"Вид / Kind" <select name="kind">{options(kinds, "per_unit")}</select></label>
                <label>"За что (за единицу) / Counts (per unit)" <select name="measure">{options(measures, "won_deals")}</select></label>
                <label>"Показатель (цель) / KPI (target)" <select name="kpi">{options(kpis, "revenue")}</select></label>
                <label>"Очки (за единицу, вес или бонус) / Points (per unit, weight or bonus)" <input name="points" type="number" min="1" required/></label>
                <label>"Единица выручки / Revenue unit (per)" <input name="per" inputmode="decimal" placeholder="1"/></label>
                <label>"Порог, % / Threshold, %" <input name="threshold" inputmode="decimal" placeholder="100"/></label>
                <label>"Предел выполнения, % / Attainment cap, %" <input name="attainment_cap" inputmode="decimal" placeholder="150"/></label>
                <label>"Период цели / Target period" <select name="period">{options(periods, "month")}</select></label>
                <label>"Не больше очков / Cap, points" <input name="cap_points" type="number" min="1"/></label>
                <label>"Предел за / Cap per" <select name="cap_per">{options(cap_pers, "day")}</select></label>
                <button type="submit">"Добавить / Add"</button>
            </ActionForm>
        </main>
    }
}
