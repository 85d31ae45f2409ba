#!/usr/bin/env bash
# Quick start: install what is missing, build the release, and run KPI Arena
# on its embedded PostgreSQL with the demo organisation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo leptos build --release --precompress --split
exec target/release/kpi-arena serve --demo "$@"
