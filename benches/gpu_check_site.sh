#!/usr/bin/env bash
# Prepares what benches/gpu_check.sh needs on a GPU machine that cannot download anything: the
# CUDA build of the CLI (gzipped), the synthetic 100x1000 panel, and a folder of Python packages
# (`--nf-site`) holding NeuralForecast 3.3 and its two small dependencies as wheels for Python
# 3.12, unpacked, plus an import shim for Ray (NeuralForecast imports Ray Tune for its Auto
# models, which the speed check does not use; every Ray name resolves to an inert placeholder).
# The machine must have PyTorch, Lightning, pandas and numpy (GPU images usually do).
#
#   bash benches/gpu_check_site.sh OUT_DIR [CUDA_BINARY]
# then, there: bash benches/gpu_check.sh OUT_DIR/nd-cuda.gz OUT_DIR/synthetic_100x1000.csv RESULTS \
#   --nf-site OUT_DIR/nfsite
set -euo pipefail
out=$1
binary=${2:-target/release/neuro-divergent}
mkdir -p "$out/nfsite" "$out/wheels"
# Stripped (debug info is most of a release binary), then gzipped: about 19 MB.
strip -o "$out/nd-cuda" "$binary"
python3 -c 'import gzip, shutil, sys
with open(sys.argv[1], "rb") as src, gzip.open(sys.argv[2], "wb", compresslevel=6) as dst:
    shutil.copyfileobj(src, dst)' "$out/nd-cuda" "$out/nd-cuda.gz"
rm "$out/nd-cuda"
python3 ../shared/peers/neuralforecast/gen_synthetic.py --out "$out/synthetic_100x1000.csv" \
    2>/dev/null || "${NF_PYTHON:-$HOME/.cache/nd-peers/nf-venv/bin/python}" \
    ../shared/peers/neuralforecast/gen_synthetic.py --out "$out/synthetic_100x1000.csv"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$out/wheels" \
    neuralforecast==3.3.0 utilsforecast==0.2.17 coreforecast==0.0.20
for wheel in "$out"/wheels/*.whl; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$wheel" "$out/nfsite"
done
rm -rf "$out/wheels"
ray=$out/nfsite/ray
mkdir -p "$ray/tune/integration" "$ray/tune/search"
inert='def __getattr__(name):
    return lambda *args, **kwargs: None'
printf '"""Import shim for benchmarks: no Ray here."""\nfrom . import air, tune  # noqa: F401\n\n\n%s\n' "$inert" >"$ray/__init__.py"
printf '%s\n' "$inert" >"$ray/air.py"
printf 'from . import integration, search  # noqa: F401\n\n\n%s\n' "$inert" >"$ray/tune/__init__.py"
printf 'from . import pytorch_lightning  # noqa: F401\n' >"$ray/tune/integration/__init__.py"
printf 'class TuneReportCallback:\n    def __init__(self, *args, **kwargs):\n        pass\n' \
    >"$ray/tune/integration/pytorch_lightning.py"
printf 'from . import basic_variant  # noqa: F401\n' >"$ray/tune/search/__init__.py"
printf 'class BasicVariantGenerator:\n    def __init__(self, *args, **kwargs):\n        pass\n' \
    >"$ray/tune/search/basic_variant.py"
du -sh "$out"
