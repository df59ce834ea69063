#!/usr/bin/env bash
# M4 Hourly with an N-BEATS-style ensemble (issue 16, acceptance 1): one model (NHITS unless
# MODEL says otherwise) trained for every look-back (LOOKBACKS, multiples of h=48), loss
# (LOSSES) and seed (SEEDS), combined by the median; sMAPE, MASE and OWA of the Ensemble column
# and of every member against the official Naive2, with the member count and the wall time.
# Usage: [MODEL=nhits] [LOOKBACKS=2,3,4] [LOSSES=smape,mase:24,mape] [SEEDS=1]
#        benches/m4_hourly_ensemble.sh [THREADS] [EXTRA forecast ARGS...]
# (needs ../shared/datasets)
set -euo pipefail
source "$(dirname "$0")/m4_common.sh"
threads="${1:-2}"; shift || true
model="${MODEL:-nhits}"
lookbacks="${LOOKBACKS:-2,3,4}"
losses="${LOSSES:-smape,mase:24,mape}"
seeds="${SEEDS:-1}"
start=$(date +%s%N)
"$bin" forecast --data "$data/m4_hourly_train.csv" --horizon 48 --model "$model" \
  --scaler robust --max-steps 1000 --threads "$threads" \
  --ensemble-lookbacks "$lookbacks" --ensemble-losses "$losses" --ensemble-seeds "$seeds" \
  --ensemble-members "$@" --out "$out/ensemble.csv"
end=$(date +%s%N)
members=$(( $(head -n 1 "$out/ensemble.csv" | tr ',' '\n' | wc -l) - 3 ))
echo "$model ensemble: $members members (look-backs $lookbacks x losses $losses x seeds $seeds), fit+predict $(( (end - start) / 1000000000 )) s on $threads threads"
"$bin" evaluate --forecasts "$out/ensemble.csv" --actuals "$data/m4_hourly_test.csv" \
  --train "$data/m4_hourly_train.csv" --season-length 24 \
  --naive2 "$data/m4_hourly_naive2_forecasts.csv" --metrics smape,mase,owa
echo "reference (official M4 Hourly): Naive2 sMAPE 18.383 MASE 2.395 OWA 1.000; winner (Smyl) sMAPE 9.328; N-BEATS 8.197"
