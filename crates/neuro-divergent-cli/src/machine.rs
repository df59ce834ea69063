//! `info`, and the head of `bench`'s report: the machine a figure was measured on.

use neuro_divergent::{cpu, threads, ComputeDevice};

/// Prints `key: value` lines: version, CPU model, vector extensions, the matrix kernels in use,
/// whether this build has the AVX-512 kernels and CUDA, and the threads for tensor work.
pub fn print() {
    println!("version: {}", env!("CARGO_PKG_VERSION"));
    println!("cpu: {}", cpu::cpu_model());
    println!("simd: {}", cpu::simd_features().join(" "));
    println!("kernel_path: {}", cpu::KernelPath::current());
    println!("avx512_build: {}", cpu::avx512_built());
    println!("cuda_build: {}", ComputeDevice::cuda_compiled());
    println!("threads: {}", threads::workers());
}
