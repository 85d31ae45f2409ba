#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what is missing (the
# build's tools, PostgreSQL, Chromium, Node.js; root or sudo for system
# packages), checks the dependencies' licences, bans and sources (cargo-deny),
# builds the release,
# then runs every test (unit, HTTP integration, browser) twice: at today's date
# and on a clock pinned to one date of the date matrix (scripts/date-matrix.sh),
# a different one each day; then the scale-out setup (scripts/scaleout.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
source scripts/env.sh
start=$(date +%s)

echo "== dependencies: bans, licences and sources (deny.toml; advisories need GitHub, see README)"
cargo deny --log-level error check bans licenses sources

echo "== build (release: server + WASM)"
cargo leptos build --release --precompress --split
built=$(date +%s)

bash scripts/suite.sh
source scripts/dates.sh
pick=$(( $(date -u +%j | sed 's/^0*//') % ${#MATRIX_DATES[@]} ))
bash scripts/suite.sh ${MATRIX_DATES[$pick]} # "INSTANT ZONE": two arguments

echo "== scale-out: PgBouncer, a streaming replica and instances through them"
bash scripts/scaleout.sh

echo "== all tests passed: build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
