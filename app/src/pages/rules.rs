//! `/rules`: the points rules, edited by managers and admins. A change
//! recomputes the open periods at once; switched-off rules stay in the ledger's history.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
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
async fn editor() -> Result<CurrentUser, AppError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    if me.role == Role::Rep {
        return Err(crate::auth::server::forbidden("err.rules_managers").await);
    }
    Ok(me)
}

/// Who may change the rules: admins only (`services::access::may_edit_rules`:
/// the rules score the whole organisation; managers read them).
#[cfg(feature = "ssr")]
async fn admin() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if !services::access::may_edit_rules(&me) {
        return Err(crate::auth::server::forbidden("err.rules_admins").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "rules_view")]
pub async fn load_rules() -> Result<RulesView, AppError> {
    let me = editor().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let rules = store::points::rules(&pool, false).await.map_err(AppError::server)?;
    Ok(RulesView {
        me,
        rules: rules
            .iter()
            .map(|r| RuleRow {
                id: r.rule.id,
                label: crate::scoring::rule_label(&r.rule.label, lang),
                kind: r.rule.kind.as_str().into(),
                text: crate::scoring::describe(&r.rule, lang),
                active: r.active,
            })
            .collect(),
        measures: crate::scoring::MEASURES
            .iter()
            .map(|m| Choice { value: m.id.into(), label: lang.pick(m.name_ru, m.name_en).into() })
            .collect(),
        kpis: crate::kpi::KPIS
            .iter()
            .filter(|k| k.applies_to(crate::kpi::ScopeKind::Rep) && k.better != crate::kpi::Better::None)
            .map(|k| Choice { value: k.id.into(), label: k.name(lang).into() })
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
    min_deal_amount: Option<String>,
) -> Result<i64, AppError> {
    use crate::api::gamification::{rule_from, RuleBody};
    let me = admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let clean = |t: Option<String>| {
        t.map(|t| t.trim().replace(',', ".").replace([' ', '\u{a0}'], "")).filter(|t| !t.is_empty())
    };
    let lang = crate::i18n::use_lang();
    let bad = |key: &'static str, label: &str, t: &str| {
        crate::i18n::error(crate::i18n::Message::new(key).with("field", lang.t(label)).with("text", t))
    };
    let parse_f = |label: &str, t: Option<String>| -> Result<Option<f64>, AppError> {
        clean(t).map(|t| t.parse().map_err(|_| bad("err.not_a_number", label, &t))).transpose()
    };
    let parse_i = |label: &str, t: Option<String>| -> Result<Option<i64>, AppError> {
        clean(t).map(|t| t.parse().map_err(|_| bad("err.not_a_whole_number", label, &t))).transpose()
    };
    let per_unit = kind == "per_unit";
    let mut body = RuleBody {
        id: None,
        basis: if per_unit { measure } else { kpi },
        points: parse_i("rules.points", Some(points))?.ok_or_else(|| crate::i18n::error("err.points_required"))?,
        per: clean(per).map(|t| t.parse().map_err(|_| bad("err.not_a_number", "rules.per", &t))).transpose()?,
        threshold: parse_f("team.threshold", threshold)?,
        attainment_cap: parse_f("rules.attainment_cap", attainment_cap)?,
        period: if per_unit { None } else { period },
        cap_points: parse_i("rules.cap_points", cap_points)?,
        cap_per: if per_unit { cap_per } else { None },
        min_deal_amount: clean(min_deal_amount)
            .map(|t| t.parse().map_err(|_| bad("err.not_a_number", "rules.min_deal_amount", &t)))
            .transpose()?,
        label,
        kind,
    };
    // The form always sends a cap period; it means something only with a cap.
    if body.cap_points.is_none() {
        body.cap_per = None;
    }
    let rule = rule_from(&body).map_err(crate::i18n::error)?;
    services::ingest::save_rule(&pool, &rule, &me.id).await.map_err(AppError::server)
}

#[server(prefix = "/api", endpoint = "switch_off_rule")]
pub async fn switch_off_rule(id: i64) -> Result<(), AppError> {
    let me = admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    services::ingest::deactivate_rule(&pool, id, &me.id).await.map_err(AppError::server)?;
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
    let lang = crate::i18n::use_lang();
    let admin = me.role == crate::auth::Role::Admin;
    let choices = |pairs: &[(&str, &str)]| -> Vec<Choice> {
        pairs.iter().map(|(value, key)| Choice { value: value.to_string(), label: lang.t(key) }).collect()
    };
    let rows = rules
        .into_iter()
        .map(|r| {
            let switch = (r.active && admin).then(|| {
                view! {
                    <ActionForm action=off>
                        <input type="hidden" name="id" value=r.id.to_string()/>
                        <button type="submit" class="link">{lang.t("rules.switch_off")}</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:inactive=!r.active data-rule=r.id.to_string()>
                    <td>{r.label}</td>
                    <td>{r.text}</td>
                    <td>{lang.t(if r.active { "rules.on" } else { "rules.off" })}</td>
                    <td>{switch}</td>
                </tr>
            }
        })
        .collect_view();
    let kinds = choices(&[
        ("per_unit", "rules.per_unit"),
        ("attainment", "rules.attainment"),
        ("threshold", "rules.threshold"),
    ]);
    let periods = choices(&[
        ("week", "period.week"),
        ("month", "period.month"),
        ("quarter", "period.quarter"),
        ("year", "period.year"),
    ]);
    let cap_pers = choices(&[("day", "rules.per_day"), ("week", "rules.per_week"), ("month", "rules.per_month")]);
    let error = move || {
        save.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    // The rules score the whole organisation: admins change them, managers read them.
    let note = (!admin).then(|| view! { <p class="muted" data-testid="rules-admins">{lang.t("err.rules_admins")}</p> });
    let form = admin.then(|| {
        view! {
                <ActionForm action=save attr:class="card form" attr:data-testid="new-rule">
                    <h2>{lang.t("rules.new")}</h2>
                    {error}
                    <label>{lang.t("tokens.label")}" " <input name="label" required/></label>
                    <label>{lang.t("challenges.kind")}" " <select name="kind">{options(kinds, "per_unit")}</select></label>
                    <label>{lang.t("rules.measure")}" " <select name="measure">{options(measures, "won_deals")}</select></label>
                    <label>{lang.t("rules.kpi")}" " <select name="kpi">{options(kpis, "revenue")}</select></label>
                    <label>{lang.t("rules.points")}" " <input name="points" type="number" min="1" required/></label>
                    <label>{lang.t("rules.per")}" " <input name="per" inputmode="decimal" placeholder="1"/></label>
                    <label>{lang.t("team.threshold")}" " <input name="threshold" inputmode="decimal" placeholder="100"/></label>
                    <label>{lang.t("rules.attainment_cap")}" " <input name="attainment_cap" inputmode="decimal" placeholder="150"/></label>
                    <label>{lang.t("rules.period")}" " <select name="period">{options(periods, "month")}</select></label>
                    <label>{lang.t("rules.cap_points")}" " <input name="cap_points" type="number" min="1"/></label>
                    <label>{lang.t("rules.cap_per")}" " <select name="cap_per">{options(cap_pers, "day")}</select></label>
                    <label>{lang.t("rules.min_deal_amount")}" " <input name="min_deal_amount" inputmode="decimal" placeholder="0"/></label>
                    <button type="submit">{lang.t("rules.add")}</button>
                </ActionForm>
        }
    });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("rules.title")}</h1></div>
            <p class="muted">
                {lang.t("rules.recompute")}
            </p>
            <table class="board" data-testid="rules">
                <thead><tr><th>{lang.t("points.rule")}</th><th>{lang.t("rules.how")}</th><th>{lang.t("rules.status")}</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {note}
            {form}
        </main>
    }
}
