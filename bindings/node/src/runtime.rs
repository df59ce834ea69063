//! Thread configuration, applied once before the first tensor operation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use napi_derive::napi;

use crate::errors::Failure;

static STARTED: AtomicBool = AtomicBool::new(false);
static REQUESTED: Mutex<Option<usize>> = Mutex::new(None);

/// Applies the thread settings; called by every operation before it touches tensors. The first
/// call configures; calls on other worker threads meanwhile wait until it has.
pub fn ensure_started() {
    STARTED.store(true, Ordering::Release);
    let threads = *REQUESTED.lock().expect("thread settings lock");
    neuro_divergent::threads::configure_threads(threads);
}

/// Sets the number of threads used for tensor work. Must be called before the first fit,
/// predict or checkpoint load; returns a failure afterwards.
#[napi(js_name = "setThreads")]
pub fn set_threads(threads: u32) -> Option<Failure> {
    if STARTED.load(Ordering::Acquire) {
        return Some(Failure::new(
            "ND_INVALID_CONFIG",
            "threads must be set before the first fit, predict or load",
        ));
    }
    if threads == 0 {
        return Some(Failure::new(
            "ND_INVALID_CONFIG",
            "threads must be at least 1",
        ));
    }
    *REQUESTED.lock().expect("thread settings lock") = Some(threads as usize);
    None
}

/// The machine speed figures are measured on (see the library's `cpu` module).
#[napi(object)]
pub struct SystemInfo {
    /// The CPU's model name, or `unknown`.
    pub cpu: String,
    /// The vector extensions relevant to the matrix kernels that the CPU has.
    pub simd: Vec<String>,
    /// The matrix-multiplication kernels in use: `avx512`, `avx2-fma`, `neon` or `scalar`.
    pub kernel_path: String,
    /// Whether this addon was built with the AVX-512 kernels (used where the CPU has them).
    pub avx512_build: bool,
}

/// Describes the CPU and the matrix kernels that run on it; starts nothing.
#[napi(js_name = "systemInfo")]
pub fn system_info() -> SystemInfo {
    use neuro_divergent::cpu;
    SystemInfo {
        cpu: cpu::cpu_model(),
        simd: cpu::simd_features().into_iter().map(String::from).collect(),
        kernel_path: cpu::KernelPath::current().name().to_string(),
        avx512_build: cpu::avx512_built(),
    }
}
