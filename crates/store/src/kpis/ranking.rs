//! Reps ranked by a KPI, or by their attainment of their own targets.

use super::{gather_only, reps_of, Grouping, KpiError, Needs, Owners, Window};
use domain::kpi::formulas::Aggregates;
use domain::kpi::Scope;
use sqlx::PgPool;
use std::collections::HashMap;

#[derive(Debug, Clone, serde::Serialize)]
pub struct RankedRep {
    pub rank: usize,
    pub id: String,
    pub name: String,
    pub team: Option<String>,
    pub value: Option<f64>,
}

/// The scope's reps ranked by KPI `kpi`: best first, equal values share a rank
/// (1, 2, 2, 4), nulls last sharing one rank. With `attainment_of` (a calendar
/// period's text) the value is each rep's attainment % of their own target for
/// that period instead: it levels large and small territories. When no rep of
/// the scope has a target then, nobody is ranked (an empty list).
pub async fn leaderboard(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
    kpi: &domain::kpi::KpiDef,
    attainment_of: Option<&str>,
) -> Result<Vec<RankedRep>, KpiError> {
    let reps = reps_of(pool, scope).await?;
    let owners = Owners(Some(reps.iter().map(|(id, _, _)| id.clone()).collect()));
    let groups = gather_only(pool, &owners, window, Grouping::PerOwner, Needs::ranking(kpi.id)).await?;
    let empty = Aggregates::default();
    let teams: HashMap<String, Option<String>> = reps.iter().map(|(id, _, team)| (id.clone(), team.clone())).collect();
    let values: Vec<(String, String, Option<f64>)> = reps
        .into_iter()
        .map(|(id, name, _)| {
            let value = domain::kpi::formulas::value(kpi.id, groups.get(&id).unwrap_or(&empty)).value;
            (id, name, value)
        })
        .collect();
    let mut ranked = match attainment_of {
        None => rank(values, kpi.better),
        Some(period) => {
            let scopes: Vec<String> = values.iter().map(|(id, _, _)| format!("rep:{id}")).collect();
            let targets: HashMap<String, f64> = sqlx::query_as::<_, (String, f64)>(
                "SELECT substr(scope, 5), value FROM targets WHERE kpi = $1 AND period = $2 AND scope = ANY($3)",
            )
            .bind(kpi.id)
            .bind(period)
            .bind(&scopes)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
            // Nobody to rank by attainment without a target: no rows, not everyone first with no value.
            if targets.is_empty() {
                return Ok(Vec::new());
            }
            let attained = values
                .into_iter()
                .map(|(id, name, actual)| {
                    let reached = domain::kpi::attainment(kpi.better, actual, targets.get(&id).copied());
                    (id, name, reached)
                })
                .collect();
            rank(attained, domain::kpi::Better::Higher)
        }
    };
    for r in &mut ranked {
        r.team = teams.get(&r.id).cloned().flatten();
    }
    Ok(ranked)
}

/// Competition ranking of (id, name, value); ties keep name order.
pub fn rank(mut values: Vec<(String, String, Option<f64>)>, better: domain::kpi::Better) -> Vec<RankedRep> {
    use std::cmp::Ordering;
    let order = |a: &Option<f64>, b: &Option<f64>| match (a, b) {
        (Some(x), Some(y)) => match better {
            domain::kpi::Better::Lower => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            _ => y.partial_cmp(x).unwrap_or(Ordering::Equal),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    values.sort_by(|a, b| order(&a.2, &b.2).then_with(|| a.1.cmp(&b.1)).then_with(|| a.0.cmp(&b.0)));
    let mut ranked: Vec<RankedRep> = Vec::with_capacity(values.len());
    for (i, (id, name, value)) in values.into_iter().enumerate() {
        let rank = match ranked.last() {
            Some(prev) if prev.value == value => prev.rank,
            _ => i + 1,
        };
        ranked.push(RankedRep { rank, id, name, team: None, value });
    }
    ranked
}
