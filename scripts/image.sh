#!/usr/bin/env bash
# Builds the container image from the Dockerfile with Podman (Debian's package) and smoke-tests it:
# the runtime stage, on the release build's binary and site (ARTIFACTS=prebuilt: the builder stage
# would compile everything a second time), against a real PostgreSQL.
#
#   DATABASE_URL=postgres://… scripts/image.sh    a database the container may migrate and use
#
# Where no registry is reachable (this project's build machine reaches Debian's, not Docker Hub's),
# the base image debian:bookworm-slim is made from Debian's packages with debootstrap. Podman runs
# with runc and no default ulimits, which also works inside an unprivileged build container.
set -euo pipefail
# The image's files must be readable (and the binary runnable) by its non-root user.
umask 022
cd "$(dirname "$0")/.."
ROOT=$(pwd)
: "${DATABASE_URL:?usage: DATABASE_URL=postgres://… scripts/image.sh}"
[ -x target/release/kpi-arena ] || { echo "image: build first (cargo leptos build --release --precompress --split)"; exit 1; }

missing=""
command -v podman >/dev/null || missing="$missing podman"
command -v runc >/dev/null || missing="$missing runc"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
command -v curl >/dev/null || missing="$missing curl"
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || { echo "image: install$missing (as root)"; exit 1; }
  echo "== installing$missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi
CONF=$(mktemp -d)
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$CONF/containers.conf"
export CONTAINERS_CONF=$CONF/containers.conf
BASE=docker.io/library/debian:bookworm-slim
if ! podman image exists "$BASE" && ! podman pull -q "$BASE" >/dev/null 2>&1; then
  echo "== $BASE from Debian's packages (debootstrap; no registry)"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$rootfs" -c . | podman import -q - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

echo "== building the image (runtime stage on the release build)"
ctx=$(mktemp -d)
NAME=kpi-arena-smoke-$$
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$ctx" "$CONF"
}
trap cleanup EXIT
cp Dockerfile .dockerignore "$ctx/"
mkdir -p "$ctx/dist"
cp target/release/kpi-arena "$ctx/dist/"
if [ -f target/release/hash.txt ]; then cp target/release/hash.txt "$ctx/dist/"; else : >"$ctx/dist/hash.txt"; fi
cp -r target/site "$ctx/dist/site"
chmod -R a+rX "$ctx"
start=$(date +%s)
podman build -q --network host --build-arg ARTIFACTS=prebuilt -t localhost/kpi-arena:smoke "$ctx" >/dev/null
echo "   built in $(( $(date +%s) - start )) s: $(podman image inspect --format '{{.Size}}' localhost/kpi-arena:smoke) bytes"
user=$(podman image inspect --format '{{.Config.User}}' localhost/kpi-arena:smoke)
[ "$user" = "10001:10001" ] || { echo "image: runs as '$user', not the kpi-arena user"; exit 1; }

echo "== running it"
port=$(( 20000 + RANDOM % 20000 ))
# DATABASE_URL passes from this environment (its password never on a command line).
podman run -d --name "$NAME" --network host -e DATABASE_URL -e KPI_ARENA_ADDR="127.0.0.1:$port" \
  localhost/kpi-arena:smoke >/dev/null
ready=""
for _ in $(seq 150); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { podman logs "$NAME"; echo "image: the container never became ready"; exit 1; }
check() { # WHAT CONDITION
  if eval "$2"; then echo "   ok: $1"; else podman logs "$NAME" | tail -20; echo "image: $1 failed"; exit 1; fi
}
check "/healthz answers ok" '[ "$(curl -fsS http://127.0.0.1:$port/healthz)" = ok ]'
check "/readyz is ready" 'curl -fsS http://127.0.0.1:$port/readyz | grep -q "\"ready\":true"'
login=$(curl -fsS "http://127.0.0.1:$port/login")
check "the sign-in page is rendered on the server" 'echo "$login" | grep -q "name=\"password\""'
asset=$(echo "$login" | grep -o '/pkg/[^"]*\.wasm' | head -1)
check "its WASM ($asset) is served from the image's site" '[ -n "$asset" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port$asset"'
check "the process runs as uid 10001, not root" '[ "$(podman exec "$NAME" sh -c "id -u")" = 10001 ]'
check "pg_dump is in the image (kpi-arena backup)" 'podman exec "$NAME" sh -c "kpi-arena backup /tmp/smoke.dump" | grep -q "backup written"'
podman stop -t 20 "$NAME" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
check "SIGTERM stops it cleanly (exit 0)" '[ "$code" = 0 ]'
echo "== image passed"
