//! OpenTelemetry: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `kpi-arena serve` exports its
//! request spans as OTLP/HTTP protobuf to that collector; here the collector is a real
//! HTTP server in the test that keeps what it is sent.

use crate::helpers::{free_port, serve_process, TestApp};
use app::auth::Role;
use axum::body::Bytes;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The child process, killed if the test fails before it is stopped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn with_an_otlp_endpoint_each_request_is_a_span_with_its_id_method_and_path() {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;

    // The collector: every body posted to /v1/traces, with its content type.
    let received: Arc<Mutex<Vec<(String, Vec<u8>)>>> = Arc::default();
    let kept = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                let kind =
                    headers.get("content-type").map(|v| v.to_str().unwrap_or("").to_string()).unwrap_or_default();
                kept.lock().unwrap().push((kind, body.to_vec()));
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let port = free_port();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let mut child = Child(serve_process(&app.database_url, port, &env, std::process::Stdio::null()));
    let res = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/v1/kpis?scope=org&period=2025-10"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();

    let start = Instant::now();
    let span = loop {
        let found = received.lock().unwrap().iter().find(|(_, body)| holds(body, &id)).cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no span with the request id {id} reached the collector");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(span.0, "application/x-protobuf");
    for part in ["request", "/api/v1/kpis", "GET", "service.name", "kpi-arena"] {
        assert!(holds(&span.1, part), "the exported span carries `{part}`");
    }

    // Stopped as systemd stops it, it exits cleanly, its exporter shut down within the bound.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.0.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the instance did not exit within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
}
