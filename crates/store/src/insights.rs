//! Manager insights built on the KPI engine: the revenue forecast for the
//! current period and the team's weak spots against targets (against their
//! pace while the period runs).

use crate::kpis::{gather, leaderboard, owners_of, Grouping, KpiError, Owners, Window};
use chrono::{DateTime, Utc};
use domain::insights::judged;
pub use domain::insights::{Forecast, Mover, WeakSpot};
use domain::kpi::{find, formulas, pace, Scope, Unit};
use domain::period::Period;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashMap;

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
    let elapsed = period.elapsed_share(tz, now);

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
    let target = targets.get("revenue").copied();
    let revenue = find("revenue").expect("revenue is a KPI");
    Ok(Forecast {
        period: period.to_string(),
        elapsed,
        revenue_to_date,
        run_rate: (elapsed > 0.0).then(|| revenue_to_date / elapsed),
        open_pipeline,
        recent_win_rate,
        pipeline: recent_win_rate.map(|rate| revenue_to_date + open_pipeline * rate / 100.0),
        target,
        pace: pace(revenue, Some(revenue_to_date), target, elapsed),
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
/// `threshold` %, largest gap first. While the period runs, attainment is
/// against its pace (`domain::kpi::pace`: the target prorated to the elapsed
/// part for a KPI that accumulates); once it has closed, against the whole
/// target; a KPI that sums or counts is judged once one step of it is due
/// (`domain::insights::judged`: a call, or the team's average won deal of the three
/// periods before). A KPI of 0 against a higher-is-better target counts as 0 %; a
/// lower-is-better one at 0 is met; a KPI with no value (no leads to respond
/// to, no closed deals for a win rate) is "no data", never a weak spot.
pub async fn weak_spots(
    pool: &PgPool,
    team: &str,
    period: Period,
    tz: chrono_tz::Tz,
    threshold: f64,
) -> Result<Vec<WeakSpot>, KpiError> {
    weak_spots_at(pool, team, period, tz, threshold, domain::clock::now()).await
}

/// `weak_spots` as seen at `now`.
pub async fn weak_spots_at(
    pool: &PgPool,
    team: &str,
    period: Period,
    tz: chrono_tz::Tz,
    threshold: f64,
    now: DateTime<Utc>,
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
    let window = Window::at(start, end, tz, now);
    let running = period.is_running(tz, now);
    let elapsed = period.elapsed_share(tz, now);
    let owners = Owners(Some(reps.iter().map(|r| r.0.clone()).collect()));
    let groups = gather(pool, &owners, window, Grouping::PerOwner).await?;
    // One step of money: the team's average won deal over the three periods before this one.
    let earlier = period.previous().previous().previous().bounds(tz).0;
    let recent = gather(pool, &owners, Window::at(earlier, start, tz, now), Grouping::Whole).await?;
    let average_deal =
        formulas::value("avg_deal_size", recent.get("").unwrap_or(&formulas::Aggregates::default())).value;
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
                // No value is no data: nothing to judge (`?`), not 0 %.
                let actual = formulas::value(def.id, aggregates).value?;
                // A closed period's pace is its whole target; `None` attainment: a lower-is-better KPI at 0, met.
                let paced = pace(def, Some(actual), Some(*target), elapsed)?;
                let step = if def.unit == Unit::Money { average_deal } else { Some(1.0) };
                if running && !judged(def.accumulates(), paced.expected, step) {
                    return None; // not even one deal or call due yet
                }
                let reached = paced.attainment?;
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
                so_far: running,
            });
        }
    }
    spots.sort_by(|a, b| b.gap.total_cmp(&a.gap).then_with(|| a.name.cmp(&b.name)));
    Ok(spots)
}

/// Every rep of `scope` ranked on revenue in `period` and in the previous
/// period's span that compares with it at `now` (`Period::comparable_previous`:
/// up to the same point while `period` runs), with both values and ranks; a
/// rep not ranked then is left out. `domain::insights::movers` picks the top and bottom.
pub async fn revenue_movers(
    pool: &PgPool,
    scope: &Scope,
    period: Period,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Vec<Mover>, KpiError> {
    let revenue = find("revenue").expect("revenue is a KPI");
    let (start, end) = period.bounds(tz);
    let ranked = leaderboard(pool, scope, Window::at(start, end, tz, now), revenue, None).await?;
    let (start, end) = period.comparable_previous(tz, now);
    let before: HashMap<String, (usize, f64)> =
        leaderboard(pool, scope, Window::at(start, end, tz, now), revenue, None)
            .await?
            .into_iter()
            .map(|r| (r.id, (r.rank, r.value.unwrap_or(0.0))))
            .collect();
    Ok(ranked
        .into_iter()
        .filter_map(|r| {
            let (previous_rank, previous) = *before.get(&r.id)?;
            Some(Mover {
                user_id: r.id,
                name: r.name,
                previous,
                current: r.value.unwrap_or(0.0),
                previous_rank,
                rank: r.rank,
            })
        })
        .collect())
}
