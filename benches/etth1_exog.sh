#!/usr/bin/env bash
# ETTh1 with exogenous variables: target OT, the other six columns as historic exogenous.
# Standard split: train rows [0, 8640), validation [8640, 11520), test [11520, 14400); h = 96,
# rolling windows over the test part one step apart (2785 windows). Runs NHITS with and without
# the exogenous columns and reports MAE and MSE on the data's scale and on the scale normalised
# by the training part's mean and standard deviation (as the long-horizon literature reports).
# Usage: benches/etth1_exog.sh [THREADS] [MAX_STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${ND_DATASETS:-../shared/datasets}"
if [ ! -f "$data/ETTh1.csv" ]; then
  echo "skipped: $data/ETTh1.csv not found (ETTh1 lives in ../shared/datasets)" >&2
  exit 0
fi
threads="${1:-1}"
steps="${2:-1000}"
out="${ND_BENCH_OUT:-target/bench/etth1}"
mkdir -p "$out"
cargo build --release -q -p neuro-divergent-cli
bin=target/release/neuro-divergent
python3 - "$data/ETTh1.csv" "$out/etth1_long.csv" <<'PY'
import csv, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src) as f, open(dst, "w", newline="") as g:
    rows = csv.reader(f)
    header = next(rows)
    out = csv.writer(g)
    out.writerow(["unique_id", "ds", "y"] + header[1:-1])
    for i, row in enumerate(rows):
        if i == 14400:
            break
        out.writerow(["OT", row[0], row[-1]] + row[1:-1])
PY
exog=HUFL,HULL,MUFL,MULL,LUFL,LULL
common=(cv --data "$out/etth1_long.csv" --horizon 96 --input-size 480 --model nhits
        --scaler standard --val-size 2880 --early-stop-patience 5 --param val_check_steps=100
        --n-windows 2785 --step-size 1 --max-steps "$steps" --seed 1 --threads "$threads")
for variant in without with; do
  extra=()
  if [ "$variant" = with ]; then extra=(--hist-exog "$exog"); fi
  start=$(date +%s)
  "$bin" "${common[@]}" "${extra[@]}" --out "$out/cv_$variant.csv"
  echo "NHITS $variant exogenous: $(( $(date +%s) - start )) s"
  python3 - "$out/etth1_long.csv" "$out/cv_$variant.csv" <<'PY'
import csv, sys
train = [float(r["y"]) for i, r in enumerate(csv.DictReader(open(sys.argv[1]))) if i < 8640]
mean = sum(train) / len(train)
std = (sum((v - mean) ** 2 for v in train) / len(train)) ** 0.5
err = [(float(r["NHITS"]) - float(r["y"])) for r in csv.DictReader(open(sys.argv[2]))]
mae = sum(abs(e) for e in err) / len(err)
mse = sum(e * e for e in err) / len(err)
print(f"  MAE {mae:.4f}  MSE {mse:.4f}  normalised MAE {mae / std:.4f}  MSE {mse / std ** 2:.4f}"
      f"  ({len(err)} points)")
PY
done
