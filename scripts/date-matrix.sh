#!/usr/bin/env bash
# The whole suite on every date of scripts/dates.sh (or the instants given),
# after one build; prints a pass/fail line per date at the end.
#
#   scripts/date-matrix.sh ["INSTANT ZONE" …]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
source scripts/env.sh
source scripts/dates.sh
[ $# -eq 0 ] || MATRIX_DATES=("$@")
cargo leptos build --release --precompress --split
mkdir -p target/date-matrix
results=()
for when in "${MATRIX_DATES[@]}"; do
  log="target/date-matrix/$(echo "$when" | tr ':+/ ' '___-').log"
  started=$(date +%s)
  # shellcheck disable=SC2086 # "INSTANT ZONE": two arguments
  if bash scripts/suite.sh $when >"$log" 2>&1; then verdict=passed; else verdict=FAILED; fi
  counts=$(grep -E '^test result:|^browser: ' "$log" | awk '
    /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
    /^browser: / { p += $2; f += $4 }
    END { printf "%d passed, %d failed", p, f }')
  results+=("$when  $verdict  $counts  $(( $(date +%s) - started )) s  ($log)")
  echo "${results[-1]}"
done
echo "== date matrix"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q FAILED
