#!/usr/bin/env bash
# First load (issue 21): the browser benchmark (end2end/bench/first-load.mjs: /login, /leaderboard
# and /tv throttled to a slow phone), then wrk against the signed-in /leaderboard beside /healthz
# on the same server, to see what rendering a page costs against a route that does nothing.
#
#   scripts/bench-first-load.sh
#
# Needs the release build (`cargo leptos build --release --precompress --split`). Its own embedded
# PostgreSQL cluster (target/bench-first-load-data) and port (3190), so it does not clash with
# end2end/run.sh. KPI_ARENA_TEST_NOW (test-only), when set, pins the demo's and the server's clock.
# RUNS: browser loads per page (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
source scripts/env.sh
BIN="$ROOT/target/release/kpi-arena"
PORT=3190
BASE="http://127.0.0.1:$PORT"
[ -x "$BIN" ] || { echo "bench-first-load: build first (cargo leptos build --release --precompress --split)" >&2; exit 1; }
export KPI_ARENA_DATA="$ROOT/target/bench-first-load-data"
# With DATABASE_URL set the server makes no key of its own: give it one.
export KPI_ARENA_SECRET_KEY=${KPI_ARENA_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
LOGS="$ROOT/target/bench-first-load-logs"
mkdir -p "$LOGS"
[ -z "${KPI_ARENA_TEST_NOW:-}" ] || echo "== clock pinned: KPI_ARENA_TEST_NOW=$KPI_ARENA_TEST_NOW"

PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
[ -n "$PSQL" ] || { echo "bench-first-load needs psql (PostgreSQL's client)" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "bench-first-load needs wrk (apt-get install wrk)" >&2; exit 1; }
  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi

server=
started_cluster=
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  # Without DATABASE_URL, or `db stop` takes the cluster for an outside one and leaves it running.
  if [ -n "$started_cluster" ]; then env -u DATABASE_URL "$BIN" db stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# A fresh cluster and demo organisation every run; stop a leftover cluster first.
if [ -d "$KPI_ARENA_DATA/pg" ]; then "$BIN" db stop >/dev/null 2>&1 || true; fi
rm -rf "$KPI_ARENA_DATA"
SERVER_URL=$("$BIN" db start)
started_cluster=1
"$PSQL" -q -v ON_ERROR_STOP=1 "${SERVER_URL%/*}/postgres" -c "CREATE DATABASE bench_first_load" >/dev/null
export DATABASE_URL="${SERVER_URL%/*}/bench_first_load"
echo "== loading the demo organisation"
"$BIN" demo --time-zone "${DEMO_TIME_ZONE:-Europe/Moscow}" >"$LOGS/demo.log"

"$BIN" serve --addr "127.0.0.1:$PORT" >"$LOGS/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "$BASE/healthz" && break
  kill -0 "$server" 2>/dev/null || { cat "$LOGS/server.log"; exit 1; }
  sleep 0.2
done
curl -fs -o /dev/null "$BASE/healthz" || { echo "the server did not answer in 20 s" >&2; cat "$LOGS/server.log"; exit 1; }

(cd end2end && { [ -d node_modules/@playwright/test ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund; })
echo "== browser: first load"
(cd end2end && BASE_URL="$BASE" node bench/first-load.mjs)

# The demo rep's session, signed in as the sign-in form posts (a server function, form-encoded).
cookie=$(curl -fsS -o /dev/null -D - "$BASE/api/login" \
  --data-urlencode "email=rep@demo.kpi-arena.local" --data-urlencode "password=demo-arena" --data-urlencode "next=/leaderboard" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(kpi_arena_session=[^;]*\).*/\1/p' | tail -1)
[ -n "$cookie" ] || { echo "signing in as the demo rep set no session cookie" >&2; exit 1; }

# As a browser asks: compressed, in Russian. (wrk counts a redirect to /login as a success, so
# check the page first, and the size of its answers after.)
headers=(-H "Cookie: $cookie" -H "Accept-Encoding: br, gzip" -H "Accept-Language: ru-RU,ru;q=0.9")
check_board() {
  local status
  status=$(curl -s -o "$LOGS/leaderboard.html" -w '%{http_code}' -H "Cookie: $cookie" "$BASE/leaderboard")
  [ "$status" = 200 ] || { echo "/leaderboard with the rep's cookie answered $status, not 200" >&2; exit 1; }
  grep -q 'Анна Смирнова' "$LOGS/leaderboard.html" || { echo "/leaderboard does not show the rep (Анна Смирнова)" >&2; exit 1; }
}
check_board

# Requests/s and mean bytes per answer from wrk's summary.
run_wrk() { # name, path, wrk options…
  local name=$1 path=$2 out
  shift 2
  out=$(wrk -t2 -c32 -d10s --latency "$@" "$BASE$path")
  echo "$out" >"$LOGS/wrk-$name.txt"
  local rps requests read errors
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  read=$(echo "$out" | awk '/requests in/ {print $5}')
  errors=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
  printf '%-13s %9s requests/s  p50 %-8s p99 %-8s %s read (%s requests, %s non-2xx/3xx)\n' \
    "$path" "$rps" "$(echo "$out" | awk '$1 == "50%" {print $2}')" "$(echo "$out" | awk '$1 == "99%" {print $2}')" \
    "$read" "$requests" "${errors:-0}"
  [ -z "$errors" ] || { echo "$path: wrk saw $errors failed answers" >&2; exit 1; }
  eval "${name}_rps=$rps ${name}_requests=$requests"
  eval "${name}_read=$read"
}
echo
echo "== wrk: 2 threads, 32 connections, 10 s each, on the same 2 cores as the server"
run_wrk healthz /healthz -H "Accept-Encoding: br, gzip"
run_wrk board /leaderboard "${headers[@]}"
check_board

# A redirect to /login is a few hundred bytes; the page, even compressed, is kilobytes.
per_answer=$(awk -v read="$board_read" -v n="$board_requests" 'BEGIN {
  unit = substr(read, length(read) - 1); v = substr(read, 1, length(read) - 2) + 0
  if (unit == "KB") v *= 1024; else if (unit == "MB") v *= 1048576; else if (unit == "GB") v *= 1073741824; else v = read + 0
  printf "%d", v / n }')
[ "$per_answer" -gt 2000 ] || { echo "/leaderboard answers average $per_answer bytes: redirects, not the page?" >&2; exit 1; }
echo "/leaderboard answers average $per_answer bytes (brotli), headers included"

ratio=$(awk -v a="$board_rps" -v b="$healthz_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 30 ? "met" : "MISSED") }')
echo
echo "goal: server-rendered /leaderboard ≥ 30 % of /healthz requests/s: $ratio % — $verdict"
