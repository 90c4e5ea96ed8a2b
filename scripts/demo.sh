#!/usr/bin/env bash
# The demo: runs the plugin's algorithms headless through scripts/qgis-process on the built-in demo region.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/demo-output}")
QP="$ROOT/scripts/qgis-process"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "Demo region (synthetic study area with a known ground truth) -> $OUT/region"
"$QP" run landslide:createdemoregion -- SEED=1 SIZE=300 CELL_SIZE=30 OUTPUT_FOLDER="$OUT/region" \
    | sed -n '/^Results/,$p'

step "Written"
(cd "$OUT/region" && ls -l --time-style=+ | awk 'NR > 1 {printf "  %-24s %10d bytes\n", $NF, $5}')
