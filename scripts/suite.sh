#!/usr/bin/env bash
# Runs the built suite once: unit and HTTP integration tests against a real
# PostgreSQL (DATABASE_URL, or a private cluster under target/test-pg, a fresh
# database per test), then the browser tests against the release build.
#
#   scripts/suite.sh [INSTANT [ZONE]]   with an RFC 3339 instant, on a clock pinned
#                                       there (KPI_ARENA_TEST_NOW, test-only), else
#                                       today; the browser tests' demo organisation
#                                       in time zone ZONE (default Europe/Moscow)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ROOT=$(pwd)
export KPI_ARENA_TEST_NOW=${1:-}
export DEMO_TIME_ZONE=${2:-Europe/Moscow}
echo "== the suite at ${KPI_ARENA_TEST_NOW:-today ($(date -u +%FT%TZ))}, the demo in $DEMO_TIME_ZONE"

stop_test_db() {
  if [ -z "${DATABASE_URL:-}" ]; then KPI_ARENA_DATA="$ROOT/target/test-pg" target/release/kpi-arena db stop >/dev/null 2>&1 || true; fi
}
trap stop_test_db EXIT

echo "== unit and integration tests"
# The release profile and the release build's features: the test build reuses
# every dependency `cargo leptos build --release` compiled. cargo-leptos sets
# LEPTOS_OUTPUT_NAME, which leptos reads at compile time (option_env!): set the
# same value for the test build, or leptos and everything above it compile
# again. (Only there: a server started with it reads cargo-leptos's settings.)
LEPTOS_OUTPUT_NAME=kpi-arena KPI_ARENA_DATA="$ROOT/target/test-pg" cargo test --release -p domain -p store -p services -p connectors -p app --features app/ssr -p kpi-arena-server
stop_test_db

echo "== browser tests"
bash end2end/run.sh
