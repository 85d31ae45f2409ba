//! Prometheus metrics (`GET /metrics`). What the whole process counts goes through the
//! `metrics` facade into one recorder: HTTP requests by route, method and status with
//! their latency, records ingested by source and kind. What an instance is right now
//! (open streams, the scoring queue, the database pool) is read when it is scraped.

use crate::ingest::Source;
use crate::live::Hub;
use domain::records::Record;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use std::fmt::Write;
use std::sync::OnceLock;

/// Requests answered: labels `route` (the route's pattern), `method`, `status`.
pub const REQUESTS: &str = "kpi_arena_http_requests_total";
/// Time to the response's head, in seconds (a histogram): labels `route`, `method`.
pub const REQUEST_SECONDS: &str = "kpi_arena_http_request_duration_seconds";
/// Records stored: labels `source` (`api`, `import`, `deal_form`) and `kind`.
pub const RECORDS: &str = "kpi_arena_records_ingested_total";

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's recorder, installed on first use (one per process: every instance the
/// process runs counts into it).
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &BUCKETS)
            .expect("latency buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        // The recorder keeps each latency sample until its histograms are drained: drain them
        // every 5 s whether anyone scrapes or not (a thread: it outlives any one runtime).
        let upkeep = handle.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        });
        handle
    })
}

/// A request method as a label: the standard ones by name, anything else `OTHER` (any token
/// is a valid method, and each new label value would be a series of its own).
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

/// Counts a request answered (`route`: the matched pattern, or `unmatched`).
pub fn request(route: &str, method: &str, status: u16, seconds: f64) {
    let (route, method) = (route.to_string(), method_label(method));
    metrics::counter!(REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "route" => route, "method" => method).record(seconds);
}

/// Counts records stored from `source`, by kind.
pub fn ingested(source: Source, records: &[Record]) {
    let source = match source {
        Source::Api => "api",
        Source::Import => "import",
        Source::DealForm => "deal_form",
        Source::Connector => "connector",
    };
    for kind in domain::records::Kind::ALL {
        let n = records.iter().filter(|r| r.kind() == kind).count();
        if n > 0 {
            metrics::counter!(RECORDS, "source" => source, "kind" => kind.name()).increment(n as u64);
        }
    }
}

/// A CRM webhook delivery and how it was answered (`queued`, `repeated`, `refused`, `not_found`, `error`).
pub fn connector_webhook(kind: &'static str, answer: &'static str) {
    metrics::counter!("kpi_arena_connector_webhooks_total", "kind" => kind, "answer" => answer).increment(1);
}

/// The Prometheus text of the process's counters and of this instance now.
pub async fn render(pool: &PgPool, hub: &Hub, reads: &crate::replica::Reads, views_computed: u64) -> String {
    let mut text = recorder().render();
    let live = hub.figures();
    let mut line = |name: &str, kind: &str, help: &str, values: &[(&str, f64)]| {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in values {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    line("kpi_arena_live_streams", "gauge", "Event streams open on this instance.", &[("", live.open_streams as f64)]);
    line(
        "kpi_arena_live_notifications_total",
        "counter",
        "Notifications this instance heard on the live channel.",
        &[("", live.notifications as f64)],
    );
    line(
        "kpi_arena_live_events_delivered_total",
        "counter",
        "Events handed to this instance's streams (not pings).",
        &[("", live.delivered as f64)],
    );
    line(
        "kpi_arena_live_lag_seconds",
        "gauge",
        "From a change's commit to its event reaching the streams, over the last 1,000 events.",
        &[
            ("{quantile=\"0.5\"}", live.lag_p50_ms as f64 / 1000.0),
            ("{quantile=\"0.95\"}", live.lag_p95_ms as f64 / 1000.0),
            ("{quantile=\"1\"}", live.lag_max_ms as f64 / 1000.0),
        ],
    );
    line(
        "kpi_arena_views_computed_total",
        "counter",
        "Views (rankings, TV walls, standings) this instance computed for its screens.",
        &[("", views_computed as f64)],
    );
    if let Ok(pending) = store::work::pending(pool).await {
        line(
            "kpi_arena_scoring_work_pending",
            "gauge",
            "Derived work waiting for a scoring worker.",
            &[("", pending as f64)],
        );
    }
    if let Ok(age) = store::health::oldest_work_age_ms(pool).await {
        line(
            "kpi_arena_scoring_lag_seconds",
            "gauge",
            "How long the oldest waiting work has waited (0: none waits).",
            &[("", age.unwrap_or(0).max(0) as f64 / 1000.0)],
        );
    }
    let (size, idle) = (pool.size() as f64, pool.num_idle() as f64);
    line(
        "kpi_arena_db_pool_connections",
        "gauge",
        "This instance's database connections.",
        &[("{state=\"in_use\"}", size - idle), ("{state=\"idle\"}", idle)],
    );
    line(
        "kpi_arena_db_pool_max_connections",
        "gauge",
        "The most connections this instance's pool opens.",
        &[("", pool.options().get_max_connections() as f64)],
    );
    let counts = reads.counts();
    line(
        "kpi_arena_reads_total",
        "counter",
        "KPI cards, leaderboards and reports computed, by the server that answered.",
        &[("{on=\"replica\"}", counts.replica as f64), ("{on=\"primary\"}", counts.primary as f64)],
    );
    if let Some(replica) = reads.status() {
        line(
            "kpi_arena_replica_up",
            "gauge",
            "1 when the read replica answers as a standby, else 0 (reads go to the primary).",
            &[("", if replica.usable { 1.0 } else { 0.0 })],
        );
        line(
            "kpi_arena_replica_lag_bytes",
            "gauge",
            "Bytes of the primary's write-ahead log the read replica has not replayed.",
            &[("", replica.lag_bytes as f64)],
        );
        line(
            "kpi_arena_replica_lag_seconds",
            "gauge",
            "How far the read replica's replay is behind the primary (0 when caught up).",
            &[("", replica.lag_seconds)],
        );
    }
    if let Ok(connectors) = store::connectors::figures(pool).await {
        if !connectors.is_empty() {
            let each = |value: &dyn Fn(&store::connectors::Figures) -> Option<f64>, extra: &str| {
                connectors
                    .iter()
                    .filter_map(|c| value(c).map(|v| (format!("{{kind=\"{}\"{extra}}}", c.kind), v)))
                    .collect::<Vec<_>>()
            };
            let mut events = each(&|c| Some(c.queued as f64), ",state=\"queued\"");
            events.extend(each(&|c| Some(c.failed as f64), ",state=\"failed\""));
            let mut backfill = each(&|c| Some(c.backfill_done as f64), ",of=\"done\"");
            backfill.extend(each(&|c| c.backfill_total.map(|t| t as f64), ",of=\"total\""));
            let groups: [(&str, &str, Vec<(String, f64)>); 5] = [
                (
                    "kpi_arena_connector_events",
                    "CRM webhook deliveries waiting for the connector runner, or failed for good.",
                    events,
                ),
                (
                    "kpi_arena_connector_deals_waiting",
                    "CRM deals waiting for their owner to be mapped.",
                    each(&|c| Some(c.waiting as f64), ""),
                ),
                (
                    "kpi_arena_connector_last_event_age_seconds",
                    "Seconds since the CRM's last webhook.",
                    each(&|c| c.last_event_age, ""),
                ),
                (
                    "kpi_arena_connector_backfill_deals",
                    "The history backfill's deals: read so far, and expected.",
                    backfill,
                ),
                (
                    "kpi_arena_connector_last_error_timestamp_seconds",
                    "When the connector last failed (Unix time).",
                    each(&|c| c.last_error_at, ""),
                ),
            ];
            for (name, help, values) in groups {
                let values: Vec<(&str, f64)> = values.iter().map(|(l, v)| (l.as_str(), *v)).collect();
                line(name, "gauge", help, &values);
            }
        }
    }
    if let Ok(counts) = store::notify::counts(pool).await {
        if !counts.is_empty() {
            let values: Vec<(String, f64)> = counts
                .iter()
                .map(|(kind, state, n)| (format!("{{kind=\"{kind}\",state=\"{state}\"}}"), *n as f64))
                .collect();
            let values: Vec<(&str, f64)> = values.iter().map(|(l, v)| (l.as_str(), *v)).collect();
            line(
                "kpi_arena_notify_deliveries",
                "gauge",
                "Notification deliveries of the last 30 days by channel kind: queued, sent, or failed for good.",
                &values,
            );
        }
    }
    line(
        "kpi_arena_live_listener_deaf",
        "gauge",
        "1 when this instance's LISTEN does not hear its own probe (a pooler in transaction mode).",
        &[("", if hub.deaf() { 1.0 } else { 0.0 })],
    );
    if let Some(bytes) = live.resident_bytes {
        line(
            "kpi_arena_resident_memory_bytes",
            "gauge",
            "Memory this process holds (resident set).",
            &[("", bytes as f64)],
        );
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_made_up_method_is_one_label_not_a_series_each() {
        assert_eq!(super::method_label("POST"), "POST");
        assert_eq!(super::method_label("AAAA1"), "OTHER");
        assert_eq!(super::method_label("get"), "OTHER");
    }
}
