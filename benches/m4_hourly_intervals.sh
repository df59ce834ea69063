#!/usr/bin/env bash
# M4 Hourly probabilistic benchmark: NHITS with MQLoss (levels 80, 95), NHITS with a StudentT
# DistributionLoss, and a point NHITS with conformal intervals (--levels 80,95 with the default
# calibration: scaled errors pooled across series; and NeuralForecast's per-series default,
# 2 windows one step apart); reports interval coverage and width, scaled CRPS, sMAPE and MASE on
# the 48-hour test horizon.
# Usage: benches/m4_hourly_intervals.sh [THREADS] [SEEDS]   (SEEDS: e.g. 1,2,3; default 1)
set -euo pipefail
source "$(dirname "$0")/m4_common.sh"
threads="${1:-1}"
IFS=, read -r -a seeds <<< "${2:-1}"
common=(--data "$data/m4_hourly_train.csv" --horizon 48 --input-size 96 --model nhits --scaler robust
        --max-steps 1000 --threads "$threads")
run() {
  local name="$1"; shift
  local start end seed
  for seed in "${seeds[@]}"; do
    start=$(date +%s%N)
    "$bin" forecast "${common[@]}" --seed "$seed" "$@" --out "$out/${name}_seed$seed.csv"
    end=$(date +%s%N)
    echo "$name seed $seed: fit+predict $(( (end - start) / 1000000 )) ms"
    "$bin" evaluate --forecasts "$out/${name}_seed$seed.csv" --actuals "$data/m4_hourly_test.csv" \
      --train "$data/m4_hourly_train.csv" --season-length 24 \
      --metrics smape,mase,coverage,width,scaled_crps
  done
}
run nhits_mqloss --param loss=mqloss:80,95
run nhits_studentt --param loss=studentt:80,95
run nhits_conformal --levels 80,95
run nhits_conformal_nf --levels 80,95 --conformal-method conformal_distribution
echo "nominal coverage: 80 and 95"
