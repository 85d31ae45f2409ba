#!/usr/bin/env bash
# The browser tests: the demo organisation is loaded once into a template
# database; each spec file then gets its own copy of it (CREATE DATABASE …
# TEMPLATE), two instances of the release build on that copy (live updates
# must cross instances), and runs in the system's Chromium. No spec sees
# another's changes.
#
#   end2end/run.sh [NAME …]   only the spec files whose names contain a NAME
#   E2E_ARGS="--repeat-each 15" end2end/run.sh NAME   more arguments for Playwright (a flake hunt)
#
# KPI_ARENA_TEST_NOW (test-only) pins the clock of the demo and the servers;
# DEMO_TIME_ZONE (default Europe/Moscow) is the demo organisation's time zone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/target/release/kpi-arena"
PORT=${E2E_PORT:-3170}
PORT_B=$((PORT + 1))
export KPI_ARENA_DATA="$ROOT/target/e2e-data"
# The key that seals CRM tokens: the two instances share it (with DATABASE_URL none is made for them).
export KPI_ARENA_SECRET_KEY=${KPI_ARENA_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# The notification spec's fake Slack listens on this host.
export KPI_ARENA_NOTIFY_HOSTS=127.0.0.1
mkdir -p target/e2e-logs

psql_bin() {
  command -v psql 2>/dev/null && return
  ls ${KPI_ARENA_PG_BIN:+"$KPI_ARENA_PG_BIN"/psql} /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1
}
PSQL=$(psql_bin)
[ -n "$PSQL" ] || { echo "end2end/run.sh needs psql (PostgreSQL's client)" >&2; exit 1; }

started_cluster=
server=
server_b=
stop_servers() {
  kill -TERM $server_b $server 2>/dev/null || true
  [ -z "$server_b" ] || wait "$server_b" 2>/dev/null || true
  [ -z "$server" ] || wait "$server" 2>/dev/null || true
  server= server_b=
}
cleanup() {
  stop_servers
  # Without DATABASE_URL (exported for the specs), or `db stop` takes the cluster for an outside one and leaves it running.
  if [ -n "$started_cluster" ]; then env -u DATABASE_URL "$BIN" db stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  # A fresh cluster every run; stop a leftover one first.
  if [ -d "$KPI_ARENA_DATA/pg" ]; then "$BIN" db stop >/dev/null 2>&1 || true; fi
  rm -rf "$KPI_ARENA_DATA"
  SERVER_URL=$("$BIN" db start)
  started_cluster=1
else
  SERVER_URL=$DATABASE_URL
fi
db_url() { echo "${SERVER_URL%/*}/$1"; }
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$(db_url postgres)" -c "$1" >/dev/null; }
# The app's role is no superuser: it may not end an autovacuum worker in the database (a spec that
# stored many records leaves one behind), and PostgreSQL refuses the drop then. Wait for the worker.
drop_db() {
  local err
  for _ in $(seq 1 120); do
    err=$(sql "DROP DATABASE IF EXISTS $1 WITH (FORCE)" 2>&1) && return 0
    case "$err" in *pg_signal_backend*) sleep 0.5 ;; *) echo "$err" >&2; return 1 ;; esac
  done
  echo "$err" >&2
  return 1
}

drop_db e2e_demo
sql "CREATE DATABASE e2e_demo"
export DEMO_TIME_ZONE=${DEMO_TIME_ZONE:-Europe/Moscow}
DATABASE_URL=$(db_url e2e_demo) "$BIN" demo --time-zone "$DEMO_TIME_ZONE" >target/e2e-logs/demo.log

(cd end2end && { [ -d node_modules/@playwright/test ] && [ -d node_modules/@axe-core/playwright ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; })

wait_for() { # port, pid, log
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$1/login" && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3"; exit 1; }
    sleep 0.2
  done
  echo "the server on port $1 did not answer in 20 s" >&2
  cat "$3"
  exit 1
}

specs=()
for file in end2end/tests/*.spec.ts; do
  name=$(basename "$file")
  if [ $# -eq 0 ]; then specs+=("$name"); continue; fi
  for want in "$@"; do
    case "$name" in *"$want"*) specs+=("$name"); break ;; esac
  done
done
[ ${#specs[@]} -gt 0 ] || { echo "no spec file matches: $*" >&2; exit 1; }

failed=()
passed_tests=0
failed_tests=0
for spec in "${specs[@]}"; do
  drop_db e2e_spec
  sql "CREATE DATABASE e2e_spec TEMPLATE e2e_demo"
  export DATABASE_URL
  DATABASE_URL=$(db_url e2e_spec)
  log="target/e2e-logs/${spec%.spec.ts}"
  "$BIN" serve --addr "127.0.0.1:$PORT" >"$log-a.log" 2>&1 &
  server=$!
  wait_for "$PORT" "$server" "$log-a.log"
  "$BIN" serve --addr "127.0.0.1:$PORT_B" >"$log-b.log" 2>&1 &
  server_b=$!
  wait_for "$PORT_B" "$server_b" "$log-b.log"
  # An API token for the tests that send records, as an outside program would.
  E2E_TOKEN=$("$BIN" token create --email manager@demo.kpi-arena.local --name e2e)
  echo "== $spec"
  if ! (cd end2end && E2E_BIN="$BIN" E2E_TOKEN="$E2E_TOKEN" BASE_URL="http://127.0.0.1:$PORT" BASE_URL_B="http://127.0.0.1:$PORT_B" \
    npx playwright test "tests/$spec" ${E2E_ARGS:-}) 2>&1 | tee "$log-playwright.log"; then
    failed+=("$spec")
  fi
  passed_tests=$((passed_tests + $(grep -oE '^ +[0-9]+ passed' "$log-playwright.log" | grep -oE '[0-9]+' || echo 0)))
  failed_tests=$((failed_tests + $(grep -oE '^ +[0-9]+ failed' "$log-playwright.log" | grep -oE '[0-9]+' || echo 0)))
  stop_servers
done

echo "browser: $passed_tests passed, $failed_tests failed"
if [ ${#failed[@]} -gt 0 ]; then
  # Said again at the end, where a log's tail shows it: each failed test's first lines.
  for spec in "${failed[@]}"; do
    echo "== failed: $spec (whole log: target/e2e-logs/${spec%.spec.ts}-playwright.log)"
    awk '/^  [0-9]+\) /{n=0; show=1} show && n++ < 40' "target/e2e-logs/${spec%.spec.ts}-playwright.log" | cut -c1-300
  done
  echo "browser tests failed in: ${failed[*]}" >&2
  exit 1
fi
