//! `neuro-divergent`: the command-line interface. Parses arguments, sets the thread count,
//! runs one command and maps errors to exit codes (2: bad input or arguments, 1: other failure).

mod args;
mod bench;
mod commands;
mod error;
mod keys;
mod longhorizon;
mod machine;
mod plot;
mod plotting;
mod progress;
mod search;
mod serve;
mod shell;
mod store;

use std::process::ExitCode;

/// musl's `malloc` takes one lock for every allocation and keeps little memory for reuse: the
/// static musl build trained NHITS on AirPassengers at 23.5 steps/s against 49 for the glibc
/// build on the same machine. mimalloc serves it instead there.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = args::parse();
    neuro_divergent::threads::configure_threads(cli.threads());
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if err.is_user_error() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Training allocates and frees the same large buffers every step. glibc's default serves
/// them with fresh `mmap`s, so each step pays page faults for every activation and gradient:
/// measured here, that doubled the wall time of a fit. Serving them from the heap and never
/// trimming it reuses the pages instead. No allocation is mapped on its own: glibc caps its
/// `mmap` threshold at 32 MiB, and buffers above it (a DeepAR chunk's gates, PatchTST's
/// attention scores at 1,024 windows) were mapped and unmapped every step — on this 2-vCPU EPYC
/// that cost PatchTST (ETTh1, h 96, input 336, 1 thread) 0.136 against 0.187 steps/s and DeepAR
/// (2 threads) 1.41 against 1.92 (three interleaved runs each; peak RSS +2–8%). Worker threads
/// allocate from their own 64 MiB heaps, which glibc deletes (and maps again) whenever one is
/// free and the one before has `M_TOP_PAD` spare; a pad of a whole heap keeps them: PatchTST on 2
/// threads mapped and unmapped 2,272 times in 3 steps, 56 with the pad, and ran 0.25 against
/// 0.38 steps/s (DeepAR 1.78 against 2.11, NHITS 11.7 against 12.1; 1 thread unchanged). The
/// heap is never trimmed (`M_TRIM_THRESHOLD` -1): with a 1 GiB threshold, the free top of a
/// 4 GB training step (PatchTST, 1,024 windows) was returned after every step and faulted in
/// again, a sixth of the step in page faults (Xeon, 1 thread: 0.156 against 0.177 steps/s).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator thresholds; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
