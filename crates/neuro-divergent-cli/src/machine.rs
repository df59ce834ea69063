//! `info`, `--version`, and the head of `bench`'s report: the build and the machine a figure was
//! measured on.

use neuro_divergent::{cpu, threads, ComputeDevice};

/// The commit this binary was built from (12 hex digits), or `unknown` outside a repository.
pub const COMMIT: &str = env!("ND_GIT_COMMIT");

/// Prints `key: value` lines: version, commit, CPU model, vector extensions, the matrix kernels
/// in use, whether this build has the AVX-512 kernels and CUDA, and the threads for tensor work.
pub fn print() {
    println!("version: {}", env!("CARGO_PKG_VERSION"));
    println!("commit: {COMMIT}");
    println!("cpu: {}", cpu::cpu_model());
    println!("simd: {}", cpu::simd_features().join(" "));
    println!("kernel_path: {}", cpu::KernelPath::current());
    println!("avx512_build: {}", cpu::avx512_built());
    println!("cuda_build: {}", ComputeDevice::cuda_compiled());
    println!("threads: {}", threads::workers());
}

/// `-V`: the version, the commit and the kernels this build runs on this CPU, on one line.
pub fn short_version() -> String {
    format!(
        "{} ({COMMIT}, {} kernels)",
        env!("CARGO_PKG_VERSION"),
        cpu::KernelPath::current()
    )
}

/// `--version`: the version, the commit, the optional features compiled in, the CPU's vector
/// extensions and the kernels chosen from them.
pub fn long_version() -> String {
    let mut built = Vec::new();
    if cpu::avx512_built() {
        built.push("avx512");
    }
    if ComputeDevice::cuda_compiled() {
        built.push("cuda");
    }
    format!(
        "{}\ncommit: {COMMIT}\nbuild features: {}\ncpu features: {}\nkernel_path: {}",
        env!("CARGO_PKG_VERSION"),
        if built.is_empty() {
            "none".to_string()
        } else {
            built.join(" ")
        },
        cpu::simd_features().join(" "),
        cpu::KernelPath::current()
    )
}
