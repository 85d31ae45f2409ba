#!/usr/bin/env bash
# Starts the release build on a fresh embedded database with the demo, runs the
# Playwright tests against it in the system's Chromium, then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${E2E_PORT:-3170}
export KPI_ARENA_DATA="$ROOT/target/e2e-data"

if [ -z "${DATABASE_URL:-}" ]; then
  # A fresh cluster every run; stop a leftover one first.
  if [ -d "$KPI_ARENA_DATA/pg" ]; then target/release/kpi-arena db stop >/dev/null 2>&1 || true; fi
  rm -rf "$KPI_ARENA_DATA"
fi
target/release/kpi-arena demo >/dev/null

(cd end2end && { [ -d node_modules/@playwright/test ] && [ -d node_modules/@axe-core/playwright ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; })

mkdir -p target/e2e-logs
target/release/kpi-arena serve --addr "127.0.0.1:$PORT" >target/e2e-logs/server.log 2>&1 &
server=$!
server_b=
stop_server() {
  kill -TERM $server_b "$server" 2>/dev/null || true
  [ -z "$server_b" ] || wait "$server_b" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT
wait_for() { # port, pid, log
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/login" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3"; exit 1; }
    sleep 0.2
  done
}
wait_for "$PORT" "$server" target/e2e-logs/server.log
# A second instance on the same database (started once the first one runs it):
# live updates must cross instances.
PORT_B=$((PORT + 1))
DATABASE_URL="${DATABASE_URL:-$(target/release/kpi-arena db url)}" \
  target/release/kpi-arena serve --addr "127.0.0.1:$PORT_B" >target/e2e-logs/server-b.log 2>&1 &
server_b=$!
wait_for "$PORT_B" "$server_b" target/e2e-logs/server-b.log
# An API token for the tests that send records, as an outside program would.
E2E_TOKEN=$(target/release/kpi-arena token create --email manager@demo.kpi-arena.local --name e2e)
export E2E_TOKEN BASE_URL_B="http://127.0.0.1:$PORT_B"

cd end2end
BASE_URL="http://127.0.0.1:$PORT" npx playwright test "$@"
