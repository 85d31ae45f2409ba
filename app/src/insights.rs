//! What the manager insights (forecast, weak spots) report; computed in `db::insights`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub period: String,
    /// Share of the period that has passed at `now`, 0–1.
    pub elapsed: f64,
    pub revenue_to_date: f64,
    /// Revenue to date ÷ elapsed share.
    pub run_rate: Option<f64>,
    pub open_pipeline: f64,
    /// Win rate (%) over the three periods before this one.
    pub recent_win_rate: Option<f64>,
    /// Revenue to date + open pipeline × recent win rate.
    pub pipeline: Option<f64>,
    pub target: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeakSpot {
    pub user_id: String,
    pub name: String,
    /// The targeted KPI with the lowest attainment: the one that drags most.
    pub kpi: String,
    pub attainment: f64,
    /// Threshold minus that attainment, in percentage points.
    pub gap: f64,
    /// How many of the rep's targeted KPIs are under the threshold.
    pub kpis_below: usize,
}

/// How many more won deals of `average` size lift `mine` above `ahead` (the
/// value of the rep one place up): `None` without an average to go by.
pub fn deals_to_pass(mine: f64, ahead: f64, average: Option<f64>) -> Option<u64> {
    let average = average.filter(|a| *a > 0.0)?;
    let gap = ahead - mine;
    // Passing means strictly more: an equal value only ties.
    Some(if gap < 0.0 { 0 } else { (gap / average).floor() as u64 + 1 })
}

#[cfg(test)]
mod tests {
    use super::deals_to_pass;

    #[test]
    fn deals_to_pass_counts_whole_deals_past_the_next_rep() {
        // 250 behind with deals of 100: 3 deals (300) pass, 2 (200) do not.
        assert_eq!(deals_to_pass(750.0, 1000.0, Some(100.0)), Some(3));
        // Exactly 200 behind: 2 deals only tie, so 3.
        assert_eq!(deals_to_pass(800.0, 1000.0, Some(100.0)), Some(3));
        assert_eq!(deals_to_pass(800.0, 1000.0, None), None);
    }
}
