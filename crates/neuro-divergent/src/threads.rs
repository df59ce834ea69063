//! Thread configuration: one pool of workers that computes chunks of a batch's rows side by side.
//!
//! Candle parallelises inside each kernel: every matrix product is split across threads, and
//! elementwise kernels run on a second pool whose workers spin between jobs. On this workload
//! (dense layers over a batch of windows) that scaled poorly: NHITS training ran 1.4x faster on
//! 2 threads than on 1, while two single-threaded runs side by side each kept their full speed.
//! So, once configured, Candle's kernels run single-threaded and the parallelism is across
//! chunks of rows instead (`crate::chunks`): each worker runs whole forward and backward passes,
//! with no synchronisation inside a pass.
//!
//! Candle reads its thread count from the process environment, so configuring sets
//! `RAYON_NUM_THREADS=1` and `CANDLE_NUM_THREADS=1` for the whole process and the processes it
//! starts. This library's own default ignores those variables; other rayon users in the process
//! or its children that start after configuration see them.

use std::cell::Cell;
use std::sync::OnceLock;

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The chunk workers, once [`configure_threads`] has run (`None` when they could not start).
static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();

/// Sets the number of threads for tensor work: `threads`, or when `None` the physical cores
/// available to the process. Starts that many chunk workers and makes Candle's own kernels
/// single-threaded, so that the two never compete for cores.
///
/// Only the first call configures; later calls, from any thread, wait for it and keep its
/// setting. Call it before any tensor work and while no other thread reads the environment,
/// typically first thing in `main`. Without a call, every batch is a single chunk computed with
/// Candle's own threading.
pub fn configure_threads(threads: Option<usize>) {
    POOL.get_or_init(|| {
        let workers = threads.unwrap_or_else(default_threads).max(1);
        let pool = ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("neuro-divergent-{i}"))
            .build()
            // Where the workers cannot start, Candle keeps threading its own kernels.
            .ok()?;
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
        Some(pool)
    });
}

thread_local! {
    /// Set on the thread of a [`solo`] run: its tensor work stays on that thread.
    static SOLO: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with one tensor thread of its own, so that several fits can run side by side,
/// one per core, without competing for the chunk workers: `work` runs on a new single-worker
/// pool, where [`workers`] is 1 and [`install`] runs in place (parallel loops inside then stay
/// on that worker). Candle's kernels are single-threaded once [`configure_threads`] ran; call
/// this only then.
pub fn solo<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let run = || {
        /// Clears the flag however `work` ends, a panic included.
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                SOLO.set(self.0);
            }
        }
        let _reset = Reset(SOLO.replace(true));
        work()
    };
    match ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "neuro-divergent-solo".into())
        .build()
    {
        Ok(pool) => pool.install(run),
        // Without a worker of its own, the work runs on the calling thread.
        Err(_) => run(),
    }
}

fn is_solo() -> bool {
    SOLO.get()
}

/// The physical cores this process may run on.
fn default_threads() -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, usize::from);
    num_cpus::get_physical().clamp(1, allowed)
}

/// The chunk workers, when configured.
fn pool() -> Option<&'static ThreadPool> {
    POOL.get().and_then(Option::as_ref)
}

/// True once [`configure_threads`] has started the chunk workers (Candle's kernels are then
/// single-threaded).
pub fn configured() -> bool {
    pool().is_some()
}

/// Number of chunk workers: the configured thread count, or 1 when [`configure_threads`] was
/// not called (batches are then single chunks and Candle threads its own kernels) and inside
/// [`solo`].
pub fn workers() -> usize {
    if is_solo() {
        return 1;
    }
    pool().map_or(1, ThreadPool::current_num_threads)
}

/// True when a job may run a second stage on a thread of its own beside this one (a reader's
/// validation, the next batch of forecast windows): more than one core is available, the
/// configured thread count, when set, is more than one, and this is not a [`solo`] run.
pub(crate) fn side_by_side() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    cores > 1 && !is_solo() && (!configured() || workers() > 1)
}

/// Runs `work` on the chunk workers, where rayon's parallel iterators inside it use them; runs
/// it on the calling thread when none are configured and inside [`solo`].
pub fn install<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if is_solo() {
        return work();
    }
    match pool() {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Runs `work` once on each chunk worker at the same time, passing the worker's index; once on
/// the calling thread (index 0) when none are configured and inside [`solo`].
pub fn broadcast<R: Send>(work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if is_solo() {
        return vec![work(0)];
    }
    match pool() {
        Some(pool) => pool.broadcast(|context| work(context.index())),
        None => vec![work(0)],
    }
}
