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
