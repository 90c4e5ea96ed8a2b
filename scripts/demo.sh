#!/usr/bin/env bash
# The demo: the whole chain, headless, through scripts/qgis-process, on a new demo region:
# demo region → terrain variables → aggregation onto slope units → PINN (spatial CV) → SNN → a scenario
# prediction for a second, stronger earthquake. Prints the AUCs and where the styled layers and reports are.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/demo-output}")
QP="$ROOT/scripts/qgis-process"
SIZE=${DEMO_SIZE:-300}
mkdir -p "$OUT"
start=$(date +%s)

step() { printf '\n== %s\n' "$*"; }
run() {  # run NAME ALGORITHM PARAMS... ; keeps the JSON results in $OUT/<name>.json
    local name=$1 alg=$2 t0
    t0=$(date +%s)
    shift 2
    "$QP" --json run "$alg" -- "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" || {
        echo "FAILED: $alg (see $OUT/$name.log)"; tail -5 "$OUT/$name.log"; exit 1; }
    echo "   $alg: $(( $(date +%s) - t0 )) s"
    python3 -c "import json,sys; [print('   warning:', w) for w in json.load(open(sys.argv[1]))['log'].get('warning', [])]" \
        "$OUT/$name.json"
}
result() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(r[sys.argv[2]])" "$OUT/$1.json" "$2"; }

step "1. Demo region (SIZE=$SIZE cells of 30 m) -> $OUT/region"
run region landslide:createdemoregion SEED=1 SIZE="$SIZE" CELL_SIZE=30 OUTPUT_FOLDER="$OUT/region"
echo "   $(result region N_UNITS) slope units, share with a landslide $(result region LANDSLIDE_UNIT_SHARE)"

step "2. Terrain variables from the DEM"
run terrain landslide:terrainvariables INPUT="$OUT/region/dem.tif" SLOPE="$OUT/slope.tif" \
    EASTNESS="$OUT/eastness.tif" NORTHNESS="$OUT/northness.tif" PLAN_CURVATURE="$OUT/plan_curvature.tif" \
    PROFILE_CURVATURE="$OUT/profile_curvature.tif"

step "3. Aggregation of 12 rasters, geology and the inventory onto the slope units"
rasters=()
for f in slope eastness northness plan_curvature profile_curvature; do rasters+=(RASTERS="$OUT/$f.tif"); done
for f in precipitation ndvi sand silt clay bulk_density pga; do rasters+=(RASTERS="$OUT/region/$f.tif"); done
run aggregate landslide:aggregateslopeunits INPUT="$OUT/region/slope_units.gpkg" "${rasters[@]}" \
    CATEGORICAL_RASTERS="$OUT/region/geology.tif" INVENTORY="$OUT/region/landslides.gpkg" STATISTICS=0 \
    OUTPUT="$OUT/slope_unit_table.gpkg"
features=()
for f in slope eastness northness plan_curvature profile_curvature precipitation ndvi sand silt clay bulk_density; do
    features+=(FEATURES="${f}_mean")
done

step "4. PINN with spatial 5-fold cross-validation and 20 bootstraps (percentile maps of C/t, φ, a_c)"
run pinn landslide:trainpinn INPUT="$OUT/slope_unit_table.gpkg" "${features[@]}" CATEGORICAL_FEATURES=geology_maj \
    LABEL_FIELD=landslide SLOPE_FIELD=slope_mean PGA_FIELD=pga_mean PGA_UNITS=0 VALIDATION=2 FOLDS=5 EPOCHS=100 \
    BOOTSTRAPS=20 OUTPUT="$OUT/pinn.gpkg" MODEL="$OUT/pinn.lsm" REPORT="$OUT/pinn_report.html"

step "5. SNN (Level 2 over six features, Pythagorean tiling split, the authors' schedule)"
run snn landslide:trainsnn INPUT="$OUT/slope_unit_table.gpkg" FEATURES=slope_mean FEATURES=pga_mean \
    FEATURES=clay_mean FEATURES=sand_mean FEATURES=precipitation_mean FEATURES=ndvi_mean \
    LABEL_FIELD=landslide LEVEL=2 SPLIT=0 TOURNAMENT_MODELS="${DEMO_TOURNAMENT:-4000}" \
    FKD_ITERATIONS="${DEMO_FKD:-50}" OUTPUT="$OUT/snn.gpkg" MODEL="$OUT/snn.lsm" REPORT="$OUT/snn_report.html"

step "6. Scenario: the region's second, stronger earthquake, predicted without retraining"
run scenario landslide:predict INPUT="$OUT/slope_unit_table.gpkg" MODEL="$OUT/pinn.lsm" \
    SCENARIO_PGA_RASTER="$OUT/region/pga_scenario.tif" PGA_UNITS=0 OUTPUT="$OUT/scenario.gpkg" \
    RASTER_FIELD=susceptibility CELL_SIZE=30 OUTPUT_RASTER="$OUT/scenario_susceptibility.tif" \
    REPORT="$OUT/scenario_report.html"

step "Results ($(( $(date +%s) - start )) s)"
printf '   PINN  test AUC %.3f | spatial CV AUC %.3f (%.3f–%.3f) | logistic regression: test %.3f, spatial CV %.3f\n' \
    "$(result pinn AUC)" "$(result pinn AUC_CV_MEAN)" "$(result pinn AUC_CV_MIN)" "$(result pinn AUC_CV_MAX)" \
    "$(result pinn AUC_LOGISTIC)" "$(result pinn AUC_CV_LOGISTIC)"
printf '   SNN   test AUC %.3f | teacher %.3f | logistic regression %.3f | likelihood ratio %.3f\n' \
    "$(result snn AUC)" "$(result snn AUC_TEACHER)" "$(result snn AUC_LOGISTIC)" "$(result snn AUC_LIKELIHOOD_RATIO)"
printf '   Scenario: mean susceptibility %.3f, %d of %d units predicted to slide\n' \
    "$(result scenario MEAN_SUSCEPTIBILITY)" "$(result scenario N_PREDICTED)" "$(result scenario N_UNITS)"
cat <<TXT
   Styled GeoPackages (open in QGIS): $OUT/pinn.gpkg, $OUT/snn.gpkg, $OUT/scenario.gpkg
   Reports (open in a browser):       $OUT/pinn_report.html, $OUT/snn_report.html, $OUT/scenario_report.html
TXT
