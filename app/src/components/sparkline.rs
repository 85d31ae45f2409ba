//! A small inline SVG line of a KPI's last periods (nulls leave gaps).

use leptos::prelude::*;

#[component]
pub fn Sparkline(values: Vec<Option<f64>>) -> impl IntoView {
    let (w, h, pad) = (120.0, 28.0, 3.0);
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = known.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = if values.len() > 1 { (w - 2.0 * pad) / (values.len() - 1) as f64 } else { 0.0 };
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (pad + i as f64 * step, h - pad - (v - lo) / span * (h - 2.0 * pad))))
        .collect();
    let line = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let last = points.last().copied();
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {w} {h}") width=w height=h role="img" aria-label="trend, last 6 periods">
            <polyline points=line fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>
            {last.map(|(x, y)| view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="2.5" fill="currentColor"/> })}
        </svg>
    }
}
