#!/usr/bin/env bash
# The GPU checks of issue 19 as one run on a machine with an NVIDIA GPU (see benches/gpu_check.py
# for what is measured). Takes the CUDA build of the CLI, gzipped or not, and finds the CUDA
# libraries it links (cuBLAS, cuRAND, the runtime) where PyTorch's wheels or a toolkit put them.
#
#   bash benches/gpu_check.sh BINARY[.gz] SYNTHETIC_CSV OUT_DIR [gpu_check.py options]
set -euo pipefail
binary=$1 synthetic=$2 out=$3
shift 3
mkdir -p "$out"
if [[ $binary == *.gz ]]; then
    python3 -c 'import gzip, os, shutil, sys
with gzip.open(sys.argv[1]) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2], 0o755)' "$binary" /tmp/neuro-divergent-cuda
    binary=/tmp/neuro-divergent-cuda
fi
for lib in libcublas.so.13 libcurand.so.10 libcudart.so.13; do
    found=$(find /opt /usr -name "$lib" 2>/dev/null | head -1 || true)
    [ -n "$found" ] && export LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi: not found"; } | tee "$out/gpu.txt"
if ldd "$binary" | grep "not found"; then
    echo "libraries missing: install CUDA 13's cuBLAS, cuRAND and runtime" >&2
    exit 1
fi
PYTHONUNBUFFERED=1 python3 "$(dirname "$0")/gpu_check.py" --bin "$binary" --synthetic "$synthetic" \
    --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
