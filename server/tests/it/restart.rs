//! A rolling restart of two instances (`kpi-arena serve` processes on one database) while a
//! sync job sends records through them as a load balancer would: an instance that stops
//! (SIGTERM) finishes what it has begun and refuses new connections, the job retries a failed
//! call on the other instance (records are idempotent by id), and no record is lost.

use crate::helpers::{free_port, serve_process, two_teams_three_reps, TestApp};
use app::auth::Role;
use serde_json::json;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

struct Instance {
    child: Child,
}

impl Instance {
    fn start(database_url: &str, port: u16) -> Instance {
        Instance { child: serve_process(database_url, port, &[("KPI_ARENA_LOG", "warn")], Stdio::null()) }
    }

    /// SIGTERM, as systemd or Kubernetes stop it; waits for it to exit and returns its status.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }
}

const OWNERS: [&str; 3] = ["r1", "r2", "r3"];

#[tokio::test]
async fn records_sent_through_a_rolling_restart_of_two_instances_are_all_stored_and_scored() {
    let app = TestApp::spawn_without_worker().await;
    let token = app.user_with_token("sync@example.com", "Sync", Role::Admin, None).await;
    assert_eq!(app.post_records(&token, &two_teams_three_reps()).await.0, 200);
    let ports = [free_port(), free_port()];
    let mut instances = ports.map(|port| Some(Instance::start(&app.database_url, port)));
    // One point a won deal, no caps: the points to expect are the deals stored. (Through A:
    // a rule's change waits for its points, and only the instances score.)
    let rules = format!("http://127.0.0.1:{}/api/v1/points/rules", ports[0]);
    let defaults: serde_json::Value =
        app.client.get(&rules).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    for rule in defaults["rules"].as_array().unwrap() {
        let res = app.client.delete(format!("{rules}/{}", rule["id"])).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let rule = json!({"kind": "per_unit", "basis": "won_deals", "points": 1, "label": "Won deal"});
    let res = app.client.post(&rules).bearer_auth(&token).json(&rule).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // The sync job: 10-deal batches, round robin over both instances, each failed call retried
    // on the other until one answers 200.
    let done = Arc::new(AtomicBool::new(false));
    let retries = Arc::new(AtomicUsize::new(0));
    let job = {
        let (done, retries, token) = (done.clone(), retries.clone(), token.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
            let mut sent = 0usize;
            let mut turn = 0usize;
            while !done.load(Ordering::SeqCst) || sent < 100 {
                let batch: Vec<_> = (sent..sent + 10)
                    .map(|i| {
                        json!({"kind": "deal", "id": format!("d{i}"), "owner": OWNERS[i % 3],
                        "amount": 100, "status": "won", "created_at": "2026-10-01T00:00:00Z",
                        "closed_at": "2026-10-02T00:00:00Z"})
                    })
                    .collect();
                loop {
                    turn += 1;
                    let url = format!("http://127.0.0.1:{}/api/v1/records", ports[turn % 2]);
                    match client.post(url).bearer_auth(&token).json(&batch).send().await {
                        Ok(res) if res.status() == 200 => break,
                        Ok(res) if res.status().is_client_error() => panic!("refused: {}", res.status()),
                        _ => {
                            retries.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    }
                }
                sent += 10;
                // A sync job's pace, not a flood: the scoring at the end stays short.
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            }
            sent
        })
    };

    let pause = || tokio::time::sleep(std::time::Duration::from_millis(300));
    pause().await;
    // A goes down and comes back, then B.
    for (slot, name) in [(0, "A"), (1, "B")] {
        let instance = instances[slot].take().unwrap();
        let status = tokio::task::spawn_blocking(move || instance.stop()).await.unwrap();
        assert!(status.success(), "{name} stopped cleanly on SIGTERM: {status}");
        pause().await;
        instances[slot] = Some(Instance::start(&app.database_url, ports[slot]));
        pause().await;
    }
    done.store(true, Ordering::SeqCst);
    let sent = job.await.unwrap();

    assert!(sent >= 100);
    assert_eq!(app.count("deals").await as usize, sent, "every deal sent is stored, once");
    // The instances' workers scored them all: no work is left and every won deal has its points.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while app.count("score_work").await > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.count("score_work").await, 0, "no derived work left behind");
    let (scored, points): (i64, i64) =
        sqlx::query_as("SELECT count(DISTINCT key), coalesce(sum(points), 0)::bigint FROM points_entries")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((scored as usize, points as usize), (sent, sent), "each won deal earned its one point, once");
    eprintln!("rolling restart: {sent} deals, {} retried calls", retries.load(Ordering::SeqCst));
    for instance in instances.into_iter().flatten() {
        assert!(instance.stop().success());
    }
}
