#!/usr/bin/env bash
# M4 Hourly accuracy benchmark: fits NHITS and NBEATS (or the models MODELS lists, e.g.
# MODELS="lstm gru tcn") on the 414 training series, forecasts the 48-hour test horizon and scores
# sMAPE, MASE (m=24) and OWA against the official Naive2 forecasts.
# Usage: [MODELS="..."] benches/m4_hourly.sh [THREADS] [EXTRA forecast ARGS...]
# (needs ../shared/datasets)
set -euo pipefail
source "$(dirname "$0")/m4_common.sh"
threads="${1:-1}"; shift || true
read -r -a models <<< "${MODELS:-nhits nbeats}"
for model in "${models[@]}"; do
  start=$(date +%s%N)
  "$bin" forecast --data "$data/m4_hourly_train.csv" --horizon 48 --input-size 96 --model "$model" \
    --scaler robust --max-steps 1000 --seed 1 --threads "$threads" "$@" --out "$out/$model.csv"
  end=$(date +%s%N)
  echo "$model: fit+predict $(( (end - start) / 1000000 )) ms"
  "$bin" evaluate --forecasts "$out/$model.csv" --actuals "$data/m4_hourly_test.csv" \
    --train "$data/m4_hourly_train.csv" --season-length 24 \
    --naive2 "$data/m4_hourly_naive2_forecasts.csv" --metrics smape,mase,owa
done
echo "reference (official M4 Hourly): Naive2 sMAPE 18.383 MASE 2.395 OWA 1.000; winner (Smyl) sMAPE 9.328"
