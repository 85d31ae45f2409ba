//! Logs and traces. Log lines go to standard error (`KPI_ARENA_LOG` filters them,
//! `KPI_ARENA_LOG_FORMAT` picks text or JSON). With `OTEL_EXPORTER_OTLP_ENDPOINT` set,
//! the same spans (every request's, with its id, method and path, and what runs inside
//! it) are also exported as OpenTelemetry traces over OTLP/HTTP (protobuf) to that
//! collector; the other standard `OTEL_*` variables apply (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
//! `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*`).
//! Crates: opentelemetry-otlp, opentelemetry_sdk, tracing-opentelemetry.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Sets up the process's log lines and, when a collector is configured, its trace export.
pub fn init() -> Result<(), String> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("KPI_ARENA_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    let lines = match std::env::var("KPI_ARENA_LOG_FORMAT").unwrap_or_default().as_str() {
        "" | "text" => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        "json" => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        other => return Err(format!("KPI_ARENA_LOG_FORMAT is `{other}`: use `text` (the default) or `json`")),
    };
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let traces = match endpoint {
        Some(endpoint) if !disabled => {
            let provider = provider().map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT is `{endpoint}`: {e}"))?;
            let tracer = provider.tracer("kpi-arena");
            let _ = PROVIDER.set(provider);
            Some(tracing_opentelemetry::layer().with_tracer(tracer))
        }
        _ => None,
    };
    tracing_subscriber::registry().with(filter).with(lines).with(traces).init();
    Ok(())
}

fn provider() -> Result<SdkTracerProvider, String> {
    // The exporter's blocking HTTP client must not be built on the async runtime's threads.
    std::thread::spawn(|| {
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().map_err(|e| e.to_string())?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        let named = std::env::var("OTEL_SERVICE_NAME").is_ok()
            || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="));
        if !named {
            resource = resource.with_service_name("kpi-arena");
        }
        Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build())
    })
    .join()
    .map_err(|_| "starting the trace exporter failed".to_string())?
}

/// Sends the spans not yet exported (at exit), waiting at most a few seconds.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let provider = provider.clone();
        let _ = std::thread::spawn(move || provider.shutdown()).join();
    }
}
