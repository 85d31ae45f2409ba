#!/usr/bin/env bash
# The whole test suite: unit and HTTP integration tests against a real
# PostgreSQL (DATABASE_URL, or a private cluster under target/test-pg), then
# the browser tests in the system's Chromium against the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
ROOT=$(pwd)
start=$(date +%s)

echo "== build (release: server + WASM)"
cargo leptos build --release --precompress

echo "== unit and integration tests"
# Release profile, so the test build reuses the dependencies just built.
KPI_ARENA_DATA="$ROOT/target/test-pg" cargo test --release -p app --features app/ssr -p kpi-arena-server
stop_test_db() {
  if [ -z "${DATABASE_URL:-}" ]; then KPI_ARENA_DATA="$ROOT/target/test-pg" target/release/kpi-arena db stop >/dev/null 2>&1 || true; fi
}
trap stop_test_db EXIT

echo "== browser tests"
bash end2end/run.sh

echo "== all tests passed in $(( $(date +%s) - start )) s"
