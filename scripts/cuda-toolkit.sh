#!/usr/bin/env bash
# Fetches what a `--features cuda` build needs — CUDA 13.0's compiler (nvcc, NVVM), headers and
# the libraries Candle links (cuBLAS, cuBLASLt, cuRAND, NVRTC) — from NVIDIA's PyPI wheels into
# one folder, writes a link-time stub of the driver library (`libcuda.so`; the real one comes
# with the GPU driver on the machine that runs the binary), and prints the environment to build
# with. Nothing is installed system-wide.
#
#   eval "$(bash scripts/cuda-toolkit.sh)"          # folder: ~/.cache/nd-cuda
#   CUDA_COMPUTE_CAP=90 cargo build --release -p neuro-divergent-cli --features cuda
#
# CUDA_COMPUTE_CAP names the GPU generation the kernels are compiled for (90: H100/H200, 80:
# A100, 89: L4/L40); without it the build asks `nvidia-smi`, which a machine with no GPU lacks.
# The binary needs a driver for CUDA 13.0 or newer and the same libraries (their `.so.13`/`.so.10`
# files) on its library path where it runs.
set -euo pipefail

dir=${1:-$HOME/.cache/nd-cuda}
root=$dir/nvidia/cu13
wheels=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-cuda-cccl==13.0.85
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-nvrtc==13.0.88
    nvidia-curand==10.4.0.35
    nvidia-cublas==13.0.0.19
)

if [ ! -x "$root/bin/nvcc" ] || [ ! -e "$root/lib/stubs/libcuda.so" ]; then
    mkdir -p "$dir/wheels"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 \
        --platform manylinux1_x86_64 --python-version 3.11 \
        -d "$dir/wheels" "${wheels[@]}" >&2
    for wheel in "$dir"/wheels/*.whl; do
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
            "$wheel" "$dir"
    done
    chmod +x "$root"/bin/* "$root"/nvvm/bin/*
    # The linker looks for the unversioned names.
    for lib in cublas cublasLt cudart nvrtc curand; do
        versioned=$(cd "$root/lib" && ls "lib$lib.so."* | grep -v builtins | sort | head -1)
        ln -sf "$versioned" "$root/lib/lib$lib.so"
    done
    # A stub of the driver library: every entry point cudarc binds, answering "not initialised".
    # It only satisfies the linker; at run time the driver's own libcuda.so.1 is loaded instead.
    cudarc=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* | sort | tail -1)
    mkdir -p "$root/lib/stubs"
    grep -oh 'load::<_F>("cu[A-Za-z0-9_]*")' "$cudarc/src/driver/sys/mod.rs" \
        | sed 's/.*("\(.*\)")/int \1(void) { return 3; }/' | sort -u >"$root/lib/stubs/cuda_stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" \
        "$root/lib/stubs/cuda_stub.c"
fi

echo "export CUDA_ROOT=$root"
echo "export PATH=$root/bin:\$PATH"
echo "export LIBRARY_PATH=$root/lib:$root/lib/stubs\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
