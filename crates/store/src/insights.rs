//! Manager insights built on the KPI engine: the revenue forecast for the
//! current period and the team's weak spots against targets.

use crate::kpis::{gather, owners_of, Grouping, KpiError, Owners, Window};
use chrono::{DateTime, Utc};
pub use domain::insights::{Forecast, WeakSpot};
use domain::kpi::{attainment, find, formulas, Scope};
use domain::period::Period;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Projected revenue at the end of `period` for `scope`, as seen at `now`.
pub async fn forecast(
    pool: &PgPool,
    scope: &Scope,
    period: Period,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Forecast, KpiError> {
    let owners = owners_of(pool, scope).await?;
    let (start, end) = period.bounds(tz);
    let so_far = Window { start, end, asof: now.clamp(start, end), tz };
    let now_in = now.clamp(start, end);
    let elapsed = (now_in - start).num_milliseconds() as f64 / (end - start).num_milliseconds() as f64;

    let whole = |w: Window| {
        let owners = owners.clone();
        async move { Ok::<_, KpiError>(gather(pool, &owners, w, Grouping::Whole).await?.remove("").unwrap_or_default()) }
    };
    // Won up to now: the window ends at `now`, so deals closed later do not count yet.
    let to_date = whole(Window { end: now_in, ..so_far }).await?;
    let revenue_to_date = formulas::value("revenue", &to_date).value.unwrap_or(0.0);
    let earlier_start = period.previous().previous().previous().bounds(tz).0;
    let recent = whole(Window::new(earlier_start, start, tz)).await?;
    let recent_win_rate = formulas::value("win_rate", &recent).value;
    let open_pipeline = open_pipeline(pool, &owners).await?;
    let targets = crate::targets::for_scope(pool, &scope.to_string(), &period.to_string()).await?;
    Ok(Forecast {
        period: period.to_string(),
        elapsed,
        revenue_to_date,
        run_rate: (elapsed > 0.0).then(|| revenue_to_date / elapsed),
        open_pipeline,
        recent_win_rate,
        pipeline: recent_win_rate.map(|rate| revenue_to_date + open_pipeline * rate / 100.0),
        target: targets.get("revenue").copied(),
    })
}

/// Sum of the amounts of the scope's deals that are open now.
async fn open_pipeline(pool: &PgPool, owners: &Owners) -> Result<f64, sqlx::Error> {
    let sum: Decimal = sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM deals WHERE status = 'open' AND ($1::text[] IS NULL OR owner_id = ANY($1))",
    )
    .bind(&owners.0)
    .fetch_one(pool)
    .await?;
    Ok(sum.to_f64().unwrap_or(0.0))
}

/// Reps of `team` whose attainment on a targeted KPI in `period` is under
/// `threshold` %, largest gap first. A KPI of 0 against a target counts as 0 %
/// attained; a KPI with no value (no leads to respond to, no closed deals for a
/// win rate) is "no data", never a weak spot.
pub async fn weak_spots(
    pool: &PgPool,
    team: &str,
    period: Period,
    tz: chrono_tz::Tz,
    threshold: f64,
) -> Result<Vec<WeakSpot>, KpiError> {
    owners_of(pool, &Scope::Team(team.to_string())).await?;
    let reps: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM users WHERE team_id = $1 AND role = 'rep' AND active ORDER BY name")
            .bind(team)
            .fetch_all(pool)
            .await?;
    let targets: Vec<(String, String, f64)> =
        sqlx::query_as("SELECT scope, kpi, value FROM targets WHERE period = $1 AND scope = ANY($2)")
            .bind(period.to_string())
            .bind(reps.iter().map(|r| format!("rep:{}", r.0)).collect::<Vec<_>>())
            .fetch_all(pool)
            .await?;
    let (start, end) = period.bounds(tz);
    let owners = Owners(Some(reps.iter().map(|r| r.0.clone()).collect()));
    let groups = gather(pool, &owners, Window::new(start, end, tz), Grouping::PerOwner).await?;
    let empty = formulas::Aggregates::default();
    let mut spots = Vec::new();
    for (id, name) in reps {
        let scope = format!("rep:{id}");
        let aggregates = groups.get(&id).unwrap_or(&empty);
        let mut below: Vec<(String, f64)> = targets
            .iter()
            .filter(|(s, _, _)| *s == scope)
            .filter_map(|(_, kpi, target)| {
                let def = find(kpi)?;
                let actual = formulas::value(def.id, aggregates).value?;
                if def.better == domain::kpi::Better::Lower && actual == 0.0 {
                    return None; // nothing spent or waited: a lower-is-better target is met
                }
                let reached = attainment(def.better, Some(actual), Some(*target)).unwrap_or(0.0);
                (reached < threshold).then(|| (def.id.to_string(), reached))
            })
            .collect();
        below.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        if let Some((kpi, reached)) = below.first().cloned() {
            spots.push(WeakSpot {
                user_id: id,
                name,
                kpi,
                attainment: reached,
                gap: threshold - reached,
                kpis_below: below.len(),
            });
        }
    }
    spots.sort_by(|a, b| b.gap.total_cmp(&a.gap).then_with(|| a.name.cmp(&b.name)));
    Ok(spots)
}
