//! The choices the pages' filters offer (scopes, periods) and their `<option>`s.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// `<option>`s for a select, the current value selected.
pub fn options(choices: Vec<Choice>, current: &str) -> impl IntoView {
    choices
        .into_iter()
        .map(|c| {
            let selected = c.value == current;
            view! { <option value=c.value selected=selected>{c.label}</option> }
        })
        .collect_view()
}

/// This week, this month, last month, this quarter and this year.
#[cfg(feature = "ssr")]
pub fn recent_periods(today: chrono::NaiveDate) -> Vec<Choice> {
    use crate::period::{Period, PeriodKind};
    let lang = crate::i18n::use_lang();
    let this_month = Period::containing(PeriodKind::Month, today);
    [
        ("period.week", Period::containing(PeriodKind::Week, today)),
        ("period.month", this_month),
        ("period.last_month", this_month.previous()),
        ("period.quarter", Period::containing(PeriodKind::Quarter, today)),
        ("period.year", Period::containing(PeriodKind::Year, today)),
    ]
    .into_iter()
    .map(|(key, p)| Choice { value: p.to_string(), label: lang.t(key) })
    .collect()
}

/// Every team, then every region, as scope choices.
#[cfg(feature = "ssr")]
pub async fn team_and_region_scopes(pool: &sqlx::PgPool) -> Result<Vec<Choice>, crate::error::AppError> {
    let teams = store::directory::teams(pool).await.map_err(crate::error::AppError::server)?;
    let mut regions: Vec<String> = teams.iter().map(|t| t.2.clone()).collect();
    regions.sort();
    regions.dedup();
    let teams = teams.into_iter().map(|(id, name, _)| Choice { value: format!("team:{id}"), label: name });
    let region = crate::i18n::use_lang().t("scope.region");
    let regions = regions.into_iter().map(|r| Choice { value: format!("region:{r}"), label: format!("{region}: {r}") });
    Ok(teams.chain(regions).collect())
}
