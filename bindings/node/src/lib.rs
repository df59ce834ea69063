//! Native half of the `neuro-divergent` npm package: a `NativeForecaster` class whose long calls
//! run on libuv worker threads, a `NativeStore` over the model store, plus the model registry used to generate the TypeScript model
//! classes. The JavaScript layer in `lib/` turns results and failures into the public API.

pub mod auto;
pub mod errors;
pub mod forecaster;
pub mod io;
pub mod metrics;
pub mod registry;
pub mod runtime;
pub mod store;

/// The addon's allocations on musl: mimalloc instead of musl's `malloc`, which halved the CLI's
/// training speed (see the CLI's `main.rs`).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
