//! Thread configuration for Candle's CPU kernels.
//!
//! Candle runs matrix products on rayon's pool and elementwise kernels on a second pool whose
//! workers spin between jobs. With as many workers as cores in each pool, the spinning workers
//! take cores away from the matrix products (measured here: 2-thread NHITS training 20% slower).
//! Letting idle workers sleep right away removes that contention.

/// Sets the number of threads Candle uses (when `threads` is given) and makes idle elementwise
/// workers sleep instead of spinning. Both are read when Candle first starts its pools, so call
/// this before any tensor work, typically first thing in `main`, while the process has one thread.
pub fn configure_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        std::env::set_var("RAYON_NUM_THREADS", n.max(1).to_string());
    }
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", "1");
    }
}
