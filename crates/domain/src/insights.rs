//! What the manager insights (forecast, weak spots, movers) report; computed in `store::insights`
//! and the team report.

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
    /// Revenue to date against the target prorated to the elapsed share (the
    /// same ratio as run rate ÷ target); `None` without a target or elapsed time.
    pub pace: Option<crate::kpi::Pace>,
}

/// Whether a running period's pace may call a rep behind on a KPI. A KPI that sums or
/// counts (`accumulates`) moves in steps (a deal, a call): it is judged once what is due by
/// now (`expected`) reaches one `step` (1 for a count, an average won deal for money), so that
/// a rep at 0 has missed at least one; until then a single deal puts them on pace (at 0 on the
/// 2nd of a month nobody is behind yet). Rates, means and medians are judged from the start;
/// without a step to go by, so is everything.
pub fn judged(accumulates: bool, expected: f64, step: Option<f64>) -> bool {
    !accumulates || step.is_none_or(|step| expected >= step)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeakSpot {
    pub user_id: String,
    pub name: String,
    /// The targeted KPI with the lowest attainment: the one that drags most.
    pub kpi: String,
    /// Against the pace while the period runs (`so_far`), else against the whole target.
    pub attainment: f64,
    /// Threshold minus that attainment, in percentage points.
    pub gap: f64,
    /// How many of the rep's targeted KPIs are under the threshold.
    pub kpis_below: usize,
    /// The period is running: `attainment` is against the target prorated to its elapsed part.
    pub so_far: bool,
}

/// A rep's revenue in a period and the one before, with their places in the team's ranking of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mover {
    pub user_id: String,
    pub name: String,
    pub previous: f64,
    pub current: f64,
    pub previous_rank: usize,
    pub rank: usize,
}

impl Mover {
    pub fn change(&self) -> f64 {
        self.current - self.previous
    }

    /// Places gained (negative: lost).
    pub fn places(&self) -> i64 {
        self.previous_rank as i64 - self.rank as i64
    }
}

/// The `n` reps who gained most and the `n` who lost most, biggest change
/// first (ties by name); a rep whose value did not change is in neither.
pub fn movers(mut reps: Vec<Mover>, n: usize) -> (Vec<Mover>, Vec<Mover>) {
    reps.sort_by(|a, b| b.change().total_cmp(&a.change()).then_with(|| a.name.cmp(&b.name)));
    let up: Vec<Mover> = reps.iter().filter(|m| m.change() > 0.0).take(n).cloned().collect();
    let mut down: Vec<Mover> = reps.into_iter().filter(|m| m.change() < 0.0).collect();
    down.sort_by(|a, b| a.change().total_cmp(&b.change()).then_with(|| a.name.cmp(&b.name)));
    down.truncate(n);
    (up, down)
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
    use super::{deals_to_pass, judged, movers, Mover};

    fn rep(name: &str, previous: f64, current: f64, previous_rank: usize, rank: usize) -> Mover {
        Mover { user_id: name.to_lowercase(), name: name.into(), previous, current, previous_rank, rank }
    }

    #[test]
    fn sums_and_counts_are_judged_once_one_step_is_due_rates_from_the_start() {
        // 55 000 due by the 2nd against deals of 300 000: not yet; 310 000 due by the 8th: yes.
        assert!(!judged(true, 55_000.0, Some(300_000.0)));
        assert!(judged(true, 310_000.0, Some(300_000.0)));
        // 2.9 touchpoints due: at least one step of 1.
        assert!(judged(true, 2.9, Some(1.0)));
        assert!(!judged(true, 0.4, Some(1.0)));
        // A rate from the start; no step to go by (no deal won lately): judged.
        assert!(judged(false, 0.1, Some(300_000.0)));
        assert!(judged(true, 55_000.0, None));
    }

    #[test]
    fn movers_are_the_biggest_gains_and_losses_and_the_unchanged_are_neither() {
        let reps = vec![
            rep("A", 100.0, 500.0, 4, 1), // +400
            rep("B", 300.0, 300.0, 2, 2), // unchanged
            rep("C", 900.0, 200.0, 1, 3), // −700
            rep("D", 0.0, 50.0, 5, 4),    // +50
            rep("E", 250.0, 0.0, 3, 5),   // −250
            rep("F", 10.0, 60.0, 6, 6),   // +50, ties with D: by name
        ];
        let (up, down) = movers(reps, 2);
        let names = |m: &[Mover]| m.iter().map(|m| (m.name.clone(), m.change(), m.places())).collect::<Vec<_>>();
        assert_eq!(names(&up), vec![("A".into(), 400.0, 3), ("D".into(), 50.0, 1)]);
        assert_eq!(names(&down), vec![("C".into(), -700.0, -2), ("E".into(), -250.0, -2)]);
    }

    #[test]
    fn deals_to_pass_counts_whole_deals_past_the_next_rep() {
        // 250 behind with deals of 100: 3 deals (300) pass, 2 (200) do not.
        assert_eq!(deals_to_pass(750.0, 1000.0, Some(100.0)), Some(3));
        // Exactly 200 behind: 2 deals only tie, so 3.
        assert_eq!(deals_to_pass(800.0, 1000.0, Some(100.0)), Some(3));
        assert_eq!(deals_to_pass(800.0, 1000.0, None), None);
    }
}
