//! Which implementation the ops with a fused CPU kernel run: the fused kernel (tensors in host
//! memory), or Candle's generic ops, which run on every device (a CUDA GPU's tensors).
//!
//! Tests can run the generic path on the CPU ([`with_generic_ops`]), to check that it computes
//! what the fused kernels compute: the same code a GPU runs, minus the device's own kernels.

use std::cell::Cell;

use candle_core::Device;

thread_local! {
    /// Set while a test runs the generic ops on the CPU (this thread only).
    static GENERIC_ON_CPU: Cell<bool> = const { Cell::new(false) };
}

/// Whether tensors on `device` run the fused CPU kernels (and a batch is split into chunks
/// across the CPU's workers).
pub(crate) fn fused(device: &Device) -> bool {
    device.is_cpu() && !GENERIC_ON_CPU.with(Cell::get)
}

/// Runs `work` with the generic ops on the CPU, as a GPU runs them, on this thread.
#[cfg(test)]
pub(crate) fn with_generic_ops<T>(work: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            GENERIC_ON_CPU.with(|g| g.set(false));
        }
    }
    GENERIC_ON_CPU.with(|g| g.set(true));
    let _reset = Reset;
    work()
}
