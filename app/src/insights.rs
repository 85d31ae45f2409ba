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
