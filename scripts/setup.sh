#!/usr/bin/env bash
# Installs what building KPI Arena needs and is missing: the pinned Rust
# toolchain and WASM target, cargo-leptos, wasm-bindgen-cli at the exact
# version Cargo.lock pins, cargo-deny, wasm-opt, and PostgreSQL server binaries; with
# --browser also what the browser tests need (Chromium, Node.js and npm).
# Skips whatever is already there. Safe to run again. Missing system packages
# need root or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

source scripts/env.sh
if ! command -v rustup >/dev/null; then
  log "installing rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
fi
log "Rust toolchain from rust-toolchain.toml"
rustup toolchain install >/dev/null 2>&1 || rustup show active-toolchain >/dev/null
rustc --version

LEPTOS_VERSION=0.3.11
if ! cargo leptos --version 2>/dev/null | grep -q "$LEPTOS_VERSION"; then
  log "installing cargo-leptos $LEPTOS_VERSION (slow: about half an hour on 2 cores)"
  cargo install cargo-leptos --version "=$LEPTOS_VERSION" --locked
fi

WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WB_VERSION"; then
  log "installing wasm-bindgen-cli $WB_VERSION"
  # The registry mirror can lag behind the CLI's own lockfile: fall back to fresh resolution.
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --locked || cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

# Checks the dependency graph's licences, bans and sources (deny.toml) in the test command.
DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$DENY_VERSION"; then
  log "installing cargo-deny $DENY_VERSION"
  cargo install cargo-deny --version "=$DENY_VERSION" --locked || cargo install cargo-deny --version "=$DENY_VERSION"
fi

# wasm-opt older than 116 (Debian bookworm ships 108) breaks the reference-type
# tables that current rustc and wasm-bindgen emit; npm's binaryen is current.
WASM_OPT=$(wasm-opt --version 2>/dev/null | grep -oE '[0-9]+' | head -1 || true)
if [ "${WASM_OPT:-0}" -lt 116 ]; then
  log "installing wasm-opt (npm binaryen) into target/tools"
  command -v npm >/dev/null || apt_install nodejs npm
  npm install --prefix target/tools --no-audit --no-fund --no-save binaryen@132 >/dev/null
fi

if [ -z "${DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  log "installing PostgreSQL server binaries (the embedded default uses them)"
  apt_install postgresql || { echo "Install PostgreSQL, or set DATABASE_URL" >&2; exit 1; }
fi

if [ "${1:-}" = "--browser" ]; then
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    log "installing Chromium (the browser tests drive the system's Chromium)"
    apt_install chromium || { echo "Install Chromium, or point CHROMIUM_PATH at one" >&2; exit 1; }
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing Node.js and npm (Playwright runs on them)"
    apt_install nodejs npm || { echo "Install Node.js and npm" >&2; exit 1; }
  fi
fi
