# Shared set-up of the M4 Hourly benchmarks (sourced): locates the data set (skipping with a
# message when ../shared is absent), builds the CLI and prepares the output folder.
# Sets: data, bin, out.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data="${ND_DATASETS:-../shared/datasets}"
if [ ! -f "$data/m4_hourly_train.csv" ]; then
  echo "skipped: $data/m4_hourly_train.csv not found (M4 Hourly lives in ../shared/datasets)" >&2
  exit 0
fi
cargo build --release -q -p neuro-divergent-cli
bin=target/release/neuro-divergent
out="${ND_BENCH_OUT:-target/bench/m4_hourly}"
mkdir -p "$out"
