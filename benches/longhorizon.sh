#!/usr/bin/env bash
# The long-horizon benchmark protocol (`neuro-divergent longhorizon`) on ETTh1 (horizons 96 and
# 336) and ETTm1 (96 and 720) with look-back 336, next to the published MSE / MAE
# (../shared/datasets/REFERENCE_RESULTS.md §4). Needs ../shared/datasets.
# Usage: benches/longhorizon.sh [THREADS] [MODELS]   (MODELS: e.g. dlinear,nlinear or
# itransformer,tsmixer, which get n_series = the file's variables)
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-1}"
models="${2:-dlinear,nlinear}"
data="${ND_DATASETS:-../shared/datasets}"
out="${ND_BENCH_OUT:-target/bench/longhorizon}"
if [ ! -f "$data/ETTh1.csv" ]; then
  echo "skipped: $data/ETTh1.csv not found (it lives in ../shared/datasets)" >&2
  exit 0
fi
mkdir -p "$out"
cargo build --release -q -p neuro-divergent-cli
bin=target/release/neuro-divergent
for case in ETTh1:96 ETTh1:336 ETTm1:96 ETTm1:720; do
  file="${case%%:*}"; h="${case##*:}"
  # Multivariate models (iTransformer, TSMixer, TSMixerx) forecast every variable together.
  panel=()
  if [[ ",$models," =~ ,(itransformer|tsmixer|tsmixerx), ]]; then
    panel=(--param "n_series=$(head -n 1 "$data/$file.csv" | awk -F, '{print NF - 1}')")
  fi
  "$bin" longhorizon --data "$data/$file.csv" --horizon "$h" --input-size 336 --model "$models" \
    --threads "$threads" "${panel[@]}" --out "$out/${file}_$h.csv"
  echo "== $file h=$h"
  cat "$out/${file}_$h.csv"
done
echo "published (MSE / MAE): ETTh1 96: DLinear 0.375 / 0.399, NLinear 0.374 / 0.394;" \
  "336: DLinear 0.439 / 0.443, NLinear 0.429 / 0.427; ETTm1 96: DLinear 0.299 / 0.343," \
  "NLinear 0.306 / 0.348; 720: DLinear 0.425 / 0.421, NLinear 0.433 / 0.422"
