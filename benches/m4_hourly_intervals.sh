#!/usr/bin/env bash
# M4 Hourly probabilistic benchmark: NHITS with MQLoss (levels 80, 95), NHITS with a StudentT
# DistributionLoss, and a point NHITS with conformal intervals (--levels 80,95; NeuralForecast's
# 2 windows one step apart, and 14 windows one horizon apart with both conformal methods);
# reports interval coverage and width, scaled CRPS, sMAPE and MASE on the 48-hour test horizon.
# Usage: benches/m4_hourly_intervals.sh [THREADS]
set -euo pipefail
source "$(dirname "$0")/m4_common.sh"
threads="${1:-1}"
common=(--data "$data/m4_hourly_train.csv" --horizon 48 --input-size 96 --model nhits --scaler robust
        --max-steps 1000 --seed 1 --threads "$threads")
run() {
  local name="$1"; shift
  local start end
  start=$(date +%s%N)
  "$bin" forecast "${common[@]}" "$@" --out "$out/$name.csv"
  end=$(date +%s%N)
  echo "$name: fit+predict $(( (end - start) / 1000000 )) ms"
  "$bin" evaluate --forecasts "$out/$name.csv" --actuals "$data/m4_hourly_test.csv" \
    --train "$data/m4_hourly_train.csv" --season-length 24 \
    --metrics smape,mase,coverage,width,scaled_crps
}
run nhits_mqloss --param loss=mqloss:80,95
run nhits_studentt --param loss=studentt:80,95
run nhits_conformal --levels 80,95
run nhits_conformal_14x48 --levels 80,95 --conformal-windows 14 --conformal-step 48
run nhits_conformal_error_14x48 --levels 80,95 --conformal-windows 14 --conformal-step 48 \
  --conformal-method conformal_error
echo "nominal coverage: 80 and 95 (acceptance: within 7 points)"
