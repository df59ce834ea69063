#!/usr/bin/env bash
# Coverage of the default conformal intervals (--levels 80,95, nothing else) under rolling
# cross-validation, over several seeds, next to NeuralForecast's per-series default
# (conformal_distribution, 2 windows one step apart):
#   AirPassengers: NHITS, h=12, input 24, 500 steps, cv --n-windows 4 (the last 48 months);
#   ETTh1 (needs ../shared/datasets): target OT, the standard 14,400 rows, NHITS, h=24,
#     input 96, 500 steps, cv over the test part (the last 2,880 hours: 120 windows one horizon
#     apart).
# The intervals of each cross-validation are calibrated on windows before its first cutoff.
# Usage: benches/interval_coverage.sh [THREADS] [SEEDS]   (SEEDS: e.g. 1,2,3)
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-1}"
IFS=, read -r -a seeds <<< "${2:-1,2,3}"
data="${ND_DATASETS:-../shared/datasets}"
out="${ND_BENCH_OUT:-target/bench/intervals}"
mkdir -p "$out"
cargo build --release -q -p neuro-divergent-cli
bin=target/release/neuro-divergent

run() {
  local name="$1"; shift
  for seed in "${seeds[@]}"; do
    for method in conformal_pooled conformal_distribution; do
      local file="$out/${name}_${method}_seed$seed.csv"
      "$bin" cv "$@" --levels 80,95 --conformal-method "$method" --seed "$seed" \
        --threads "$threads" --out "$file"
      echo "== $name $method seed $seed"
      "$bin" evaluate --forecasts "$file" --actuals "$file" --metrics coverage,width
    done
  done
}

run air_passengers --data examples/air_passengers.csv --horizon 12 --input-size 24 \
  --model nhits --max-steps 500 --n-windows 4

if [ -f "$data/ETTh1.csv" ]; then
  python3 - "$data/ETTh1.csv" "$out/etth1_ot.csv" <<'PY'
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f, open(dst, "w", newline="") as g:
    rows = csv.reader(f)
    next(rows)
    out = csv.writer(g)
    out.writerow(["unique_id", "ds", "y"])
    for i, row in enumerate(rows):
        if i == 14400:
            break
        out.writerow(["OT", row[0], row[-1]])
PY
  run etth1 --data "$out/etth1_ot.csv" --horizon 24 --input-size 96 --model nhits \
    --scaler standard --max-steps 500 --n-windows 120 --step-size 24
else
  echo "skipped ETTh1: $data/ETTh1.csv not found (it lives in ../shared/datasets)" >&2
fi
echo "nominal coverage: 80 and 95"
