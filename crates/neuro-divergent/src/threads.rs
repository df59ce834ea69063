//! Thread configuration: one pool of workers that computes row chunks of a batch side by side.
//!
//! Candle parallelises inside each kernel: every matrix product is split across threads, and
//! elementwise kernels run on a second pool whose workers spin between jobs. On this workload
//! (dense layers over a batch of windows) that scaled poorly: NHITS training ran 1.4x faster on
//! 2 threads than on 1, while two single-threaded runs side by side each kept their full speed.
//! So, once configured, Candle's kernels run single-threaded and the parallelism is across
//! chunks of batch rows instead (see `crate::chunks`): each worker runs whole forward and backward
//! passes, with no synchronisation inside a pass.

use std::sync::OnceLock;

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The chunk workers, created by [`configure_threads`].
static POOL: OnceLock<ThreadPool> = OnceLock::new();

/// Sets the number of threads for tensor work: `threads`, or when `None` the number Candle
/// would use by default (`RAYON_NUM_THREADS`, else the physical cores). Creates that many chunk
/// workers and makes Candle's own kernels single-threaded, so that the two never compete for
/// cores.
///
/// Candle reads its setting when it first starts its pools, so call this before any tensor
/// work, typically first thing in `main`, while the process has one thread. Later calls keep
/// the first setting. Without a call, chunks are computed one after another, each with Candle's
/// own threading.
pub fn configure_threads(threads: Option<usize>) {
    if POOL.get().is_some() {
        return;
    }
    let workers = threads
        .unwrap_or_else(candle_core::utils::get_num_threads)
        .max(1);
    let pool = ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("neuro-divergent-{i}"))
        .build();
    // Where the workers cannot start, Candle keeps threading its own kernels.
    if let Ok(pool) = pool {
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
        let _ = POOL.set(pool);
    }
}

/// Number of threads tensor work runs on: the configured workers, or 1 when
/// [`configure_threads`] was not called (Candle then threads its own kernels).
pub fn workers() -> usize {
    POOL.get().map_or(1, ThreadPool::current_num_threads)
}

/// Runs `work` on the configured workers, where rayon's parallel iterators inside it use them;
/// runs it on the calling thread when none are configured.
pub fn install<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match POOL.get() {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Runs `work` once on each configured worker at the same time, passing the worker's index;
/// once on the calling thread (index 0) when none are configured.
pub fn broadcast<R: Send>(work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    match POOL.get() {
        Some(pool) => pool.broadcast(|context| work(context.index())),
        None => vec![work(0)],
    }
}
