#!/usr/bin/env bash
# Scale-out on the engines people run, end to end on this machine:
#
#   PostgreSQL primary ──streaming──▶ replica (pg_basebackup)
#        ▲   ▲                           ▲
#        │   └──────── PgBouncer (transaction mode) ────┘
#        │                 ▲        ▲        ▲
#   LISTEN, migrations     │        │        │
#        └── A, B ─────────┘        P        DEAF            D ──▶ primary, direct
#
# A and B: DATABASE_URL through PgBouncer, KPI_ARENA_LISTEN_DATABASE_URL direct,
# KPI_ARENA_READ_DATABASE_URL the replica through PgBouncer. P: PgBouncer, no replica.
# D: direct, no replica. DEAF: PgBouncer and nothing else (must say its live updates fail).
#
# Runs the scale-out tests (server/tests/it/scaleout.rs) through A, B and DEAF, then prints
# requests per second through PgBouncer against direct (`kpi-arena bench-http`) and the
# replica lag seen. Needs the release build (`cargo leptos build --release`) and PostgreSQL's
# server programs; builds PgBouncer 1.24 from Debian's source when no PgBouncer ≥ 1.21 is
# installed (Debian 12's 1.18 cannot keep prepared statements in transaction mode). Last, builds
# the container image and smoke-tests it against the same primary (scripts/image.sh).
#
#   scripts/scaleout.sh [SECONDS]    SECONDS: each bench-http run (default 10)
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_EACH=${1:-10}
BIN=$ROOT/target/release/kpi-arena
[ -x "$BIN" ] || { echo "scaleout: build first (cargo leptos build --release)"; exit 1; }

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# PostgreSQL's server programs: KPI_ARENA_PG_BIN, else the newest installed.
PGBIN=${KPI_ARENA_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "scaleout: PostgreSQL's server programs not found (set KPI_ARENA_PG_BIN)"; exit 1; }

# PgBouncer ≥ 1.21 (prepared statements in transaction mode: max_prepared_statements).
PGB_VERSION=1.24.1
PGB_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
PGBOUNCER=$(command -v pgbouncer || true)
if [ -n "$PGBOUNCER" ] && ! printf '1.21\n%s\n' "$("$PGBOUNCER" --version | awk 'NR==1{print $2}')" | sort -V -C; then
  PGBOUNCER=""
fi
if [ -z "$PGBOUNCER" ]; then
  PGBOUNCER=$ROOT/target/tools/pgbouncer-$PGB_VERSION/bin/pgbouncer
  if [ ! -x "$PGBOUNCER" ]; then
    echo "== building PgBouncer $PGB_VERSION from Debian's source (Debian 12 has 1.18)"
    missing=""
    for pkg in libevent-dev libssl-dev pkg-config make gcc curl; do
      dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
      [ "$(id -u)" = 0 ] || { echo "scaleout: install$missing (as root), or PgBouncer >= 1.21"; exit 1; }
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
    fi
    src=$(mktemp -d)
    curl -fsS -o "$src/pgbouncer.tar.gz" "http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_$PGB_VERSION.orig.tar.gz"
    echo "$PGB_SHA256  $src/pgbouncer.tar.gz" | sha256sum -c --quiet
    tar -xzf "$src/pgbouncer.tar.gz" -C "$src"
    (cd "$src/pgbouncer-$PGB_VERSION" \
      && ./configure --prefix="$ROOT/target/tools/pgbouncer-$PGB_VERSION" --without-cares --without-pam \
           --without-systemd --without-ldap >/dev/null \
      && make -j2 >/dev/null && make install >/dev/null)
    rm -rf "$src"
  fi
fi
echo "== $("$PGBOUNCER" --version | head -1), PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"

# Private to the postgres user (and root): the clusters, their sockets, the passwords.
WORK=$(mktemp -d /tmp/kpi-scaleout.XXXXXX)
chmod 700 "$WORK"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; fi
# The postgres user may not reach a checkout under /root: PgBouncer runs from here.
cp "$PGBOUNCER" "$WORK/pgbouncer"
PGBOUNCER=$WORK/pgbouncer
if [ "$(id -u)" = 0 ]; then chown postgres "$PGBOUNCER"; fi
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
  for dir in replica primary; do
    [ -d "$WORK/$dir" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/$dir" -m fast stop >/dev/null 2>&1 || true
  done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

port() { # a free TCP port
  local p
  while :; do
    p=$(( 20000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
P1=$(port); P2=$(port); P3=$(port)

echo "== primary on $P1, replica on $P2, PgBouncer on $P3 ($WORK)"
SUPERPASS=super-$RANDOM$RANDOM$RANDOM
PASS=arena-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$SUPERPASS" >"$WORK/superpass"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/superpass"; fi
as_pg "$PGBIN/initdb" -D "$WORK/primary" -U postgres --pwfile="$WORK/superpass" --auth-local=peer \
  --auth-host=scram-sha-256 >/dev/null
cat >>"$WORK/primary/postgresql.conf" <<EOF
port = $P1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
wal_level = replica
max_wal_senders = 4
max_connections = 300
EOF
# The replica's own connection (first: the first matching line decides).
as_pg "$PGBIN/pg_ctl" -D "$WORK/primary" -l "$WORK/primary.log" -w start >/dev/null
# The password through standard input, not the command line.
as_pg "$PGBIN/psql" -w -q -X -v ON_ERROR_STOP=1 -v pass="$PASS" -h "$WORK" -p "$P1" -U postgres -d postgres <<'SQL'
CREATE ROLE arena LOGIN PASSWORD :'pass';
CREATE DATABASE kpi OWNER arena;
SQL

(export PGPASSWORD=$SUPERPASS; as_pg "$PGBIN/pg_basebackup" -w --checkpoint=fast -h 127.0.0.1 -p "$P1" -U postgres \
  -D "$WORK/replica" -R -X stream </dev/null)
echo "port = $P2" >>"$WORK/replica/postgresql.conf"
as_pg "$PGBIN/pg_ctl" -D "$WORK/replica" -l "$WORK/replica.log" -w start >/dev/null

cat >"$WORK/pgbouncer.ini" <<EOF
[databases]
kpi = host=127.0.0.1 port=$P1 dbname=kpi
kpi_replica = host=127.0.0.1 port=$P2 dbname=kpi
; DEAF's own pool: its LISTEN stays on a server connection PgBouncer hands to the next client,
; whose queries would then meet notifications they never asked for. Kept apart from A's and B's.
kpi_deaf = host=127.0.0.1 port=$P1 dbname=kpi
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $P3
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = transaction
max_prepared_statements = 200
default_pool_size = 20
max_client_conn = 2000
; `options` too, only so that DEAF (no direct URL) starts: without it such an instance is refused
; at connect ("unsupported startup parameter"), which is what README advises.
ignore_startup_parameters = extra_float_digits,options
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
EOF
echo "\"arena\" \"$PASS\"" >"$WORK/userlist.txt"
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK/pgbouncer.ini" "$WORK/userlist.txt"; fi
as_pg "$PGBOUNCER" -d "$WORK/pgbouncer.ini"

DIRECT=postgres://arena:$PASS@127.0.0.1:$P1/kpi
POOLED=postgres://arena:$PASS@127.0.0.1:$P3/kpi
REPLICA=postgres://arena:$PASS@127.0.0.1:$P3/kpi_replica
DEAF_POOLED=postgres://arena:$PASS@127.0.0.1:$P3/kpi_deaf
REPLICA_ADMIN=postgres://postgres:$SUPERPASS@127.0.0.1:$P2/postgres

start() { # NAME VAR=VALUE... : a `kpi-arena serve` on a free port; sets URL_<NAME>
  local name=$1; shift
  local p; p=$(port)
  # The URLs (with their passwords) go through the environment, never the command line.
  (
    unset DATABASE_URL KPI_ARENA_LISTEN_DATABASE_URL KPI_ARENA_READ_DATABASE_URL KPI_ARENA_TEST_NOW
    export LEPTOS_SITE_ROOT="$ROOT/target/site" KPI_ARENA_LOG=warn
    for setting in "$@"; do export "$setting"; done
    exec "$BIN" serve --addr "127.0.0.1:$p"
  ) >"$WORK/$name.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 600); do
    grep -q "KPI Arena is running" "$WORK/$name.log" && break
    kill -0 "$!" 2>/dev/null || { cat "$WORK/$name.log"; echo "scaleout: $name did not start"; exit 1; }
    sleep 0.1
  done
  grep -q "KPI Arena is running" "$WORK/$name.log" || { cat "$WORK/$name.log"; echo "scaleout: $name did not start"; exit 1; }
  printf -v "URL_$name" 'http://127.0.0.1:%s' "$p"
  echo "   $name on port $p"
}
echo "== instances"
SCALED=(DATABASE_URL="$POOLED" KPI_ARENA_LISTEN_DATABASE_URL="$DIRECT" KPI_ARENA_READ_DATABASE_URL="$REPLICA")
start A "${SCALED[@]}"
start B "${SCALED[@]}"
start P DATABASE_URL="$POOLED" KPI_ARENA_LISTEN_DATABASE_URL="$DIRECT"
start D DATABASE_URL="$DIRECT"
# The benchmark's admin, made before DEAF starts: DEAF's migrations run through PgBouncer, whose
# shared server connections may keep the migration lock; later ones must not wait on it.
echo "bench password $RANDOM$RANDOM" | DATABASE_URL=$DIRECT "$BIN" user create --email bench@example.com --name Bench \
  --role admin --password-stdin >/dev/null
TOKEN=$(DATABASE_URL=$DIRECT "$BIN" token create --email bench@example.com --name bench | tail -1)
start DEAF DATABASE_URL="$DEAF_POOLED"

# The replica's lag as A sees it, every 200 ms while the tests write.
( while :; do curl -fsS "$URL_A/readyz" 2>/dev/null | grep -o '"lag_bytes":[0-9]*,"lag_seconds":[0-9.e-]*' || true; sleep 0.2; done ) >"$WORK/lag.txt" &
PIDS+=("$!")

echo "== the scale-out tests through PgBouncer, the replica and two instances"
(
  export SCALEOUT_A=$URL_A SCALEOUT_B=$URL_B SCALEOUT_DEAF=$URL_DEAF SCALEOUT_DIRECT=$DIRECT
  export SCALEOUT_REPLICA_ADMIN=$REPLICA_ADMIN LEPTOS_OUTPUT_NAME=kpi-arena KPI_ARENA_DATA="$ROOT/target/test-pg"
  exec cargo test --release -p kpi-arena-server --features app/ssr --test it -- --ignored --nocapture scaleout::
) || { for log in A B P D DEAF pgbouncer; do echo "--- $log.log"; tail -20 "$WORK/$log.log"; done; exit 1; }
kill "${PIDS[-1]}" 2>/dev/null || true

echo "== requests per second: GET /api/v1/kpis?scope=org&period=2025-03, 32 clients, $SECONDS_EACH s each"
figures=$WORK/figures.txt
for name in D P A; do
  case $name in
    D) label="direct to PostgreSQL         ";;
    P) label="through PgBouncer            ";;
    A) label="through PgBouncer + replica  ";;
  esac
  url_var=URL_$name
  line=$(KPI_ARENA_BENCH_TOKEN=$TOKEN "$BIN" bench-http --url "${!url_var}" --clients 32 --seconds "$SECONDS_EACH")
  echo "$label ${line#* }" | tee -a "$figures"
done
max_bytes=$( (grep -o '"lag_bytes":[0-9]*' "$WORK/lag.txt" || true) | cut -d: -f2 | sort -n | tail -1)
samples=$(wc -l <"$WORK/lag.txt")
echo "replica lag as A's /readyz reported it (measured every second) over $samples samples while the tests wrote: at most ${max_bytes:-0} bytes" | tee -a "$figures"

echo "== replica lag under a write load: kpi-arena bench-ingest on the primary, pg_stat_replication every 100 ms"
( while :; do
    as_pg "$PGBIN/psql" -w -X -A -t -h "$WORK" -p "$P1" -U postgres -d postgres -c \
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint || ' ' || coalesce(round(extract(epoch FROM replay_lag) * 1000, 1), 0) FROM pg_stat_replication" 2>/dev/null
    sleep 0.1
  done ) >"$WORK/write-lag.txt" &
PIDS+=("$!")
DATABASE_URL=postgres://postgres:$SUPERPASS@127.0.0.1:$P1/postgres "$BIN" bench-ingest --reps 50 --deals 50000 --batch 5000 \
  --small-batches 10 >"$WORK/ingest.txt" 2>&1 || { cat "$WORK/ingest.txt"; exit 1; }
kill "${PIDS[-1]}" 2>/dev/null || true
grep -i "records/s\|deals/s" "$WORK/ingest.txt" | head -2 | sed 's/^/   /'
samples=$(grep -c . "$WORK/write-lag.txt" || true)
bytes=$(cut -d' ' -f1 "$WORK/write-lag.txt" | sort -n)
ms=$(cut -d' ' -f2 "$WORK/write-lag.txt" | sort -g)
pick() { echo "$1" | awk -v q="$2" '{a[NR]=$1} END {i=int((NR-1)*q+0.5)+1; print a[i]}'; }
echo "replica lag under bench-ingest's writes ($samples samples): replay lag p50 $(pick "$ms" 0.5) ms, p95 $(pick "$ms" 0.95) ms, max $(pick "$ms" 1) ms; bytes behind p50 $(pick "$bytes" 0.5), p95 $(pick "$bytes" 0.95), max $(pick "$bytes" 1)" | tee -a "$figures"
mkdir -p target && cp "$figures" target/scaleout-figures.txt
echo "== scale-out passed"

echo "== the container image, on this primary"
DATABASE_URL=$DIRECT bash scripts/image.sh
