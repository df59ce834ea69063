//! What a serving node is told at start-up.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of a serving node; [`ServeConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The model store's URL (`sqlite:PATH` or `postgres://…`).
    pub store: String,
    /// The address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Forecasts computed at the same time, each on one core (default: the physical cores).
    pub workers: usize,
    /// Requests admitted at once, computing or waiting for a worker; more are answered 503 with
    /// `Retry-After` (default: 64 per worker).
    pub max_in_flight: usize,
    /// Largest request body in bytes (default 16 MiB); larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Most series in one request (default 10,000); more are answered 413.
    pub max_series: usize,
    /// Time limit of one request (default 30 s); past it the answer is 503 with `Retry-After`.
    pub request_timeout: Duration,
    /// How often references without a number (`air`, `air@production`) are resolved again
    /// (default 2 s): an alias move is served within about this long.
    pub refresh: Duration,
    /// Bytes of recent responses kept for identical requests (default 64 MiB; 0 turns it off).
    pub cache_bytes: usize,
    /// Model versions kept in memory (default 16), least recently used evicted first.
    pub max_models: usize,
    /// References loaded at start-up; `/readyz` answers 200 once they are.
    pub preload: Vec<String>,
    /// Wait this long for more requests for the same version to compute them in one forward
    /// pass (default 0: off).
    pub batch_window: Duration,
    /// Most requests computed in one forward pass (default 64).
    pub max_batch: usize,
    /// Seconds the model store may take to answer on open (default 10 s).
    pub store_timeout: Duration,
    /// Require API keys (kept in the store; `neuro-divergent keys create`) on the model routes
    /// (default off). Moving aliases over HTTP needs it on.
    pub auth: bool,
}

impl ServeConfig {
    /// The defaults, serving `store` on `bind`.
    pub fn new(store: &str, bind: SocketAddr) -> ServeConfig {
        let workers = num_cpus::get_physical().max(1);
        ServeConfig {
            store: store.to_string(),
            bind,
            workers,
            max_in_flight: 64 * workers,
            max_body_bytes: 16 << 20,
            max_series: 10_000,
            request_timeout: Duration::from_secs(30),
            refresh: Duration::from_secs(2),
            cache_bytes: 64 << 20,
            max_models: 16,
            preload: Vec::new(),
            batch_window: Duration::ZERO,
            max_batch: 64,
            store_timeout: Duration::from_secs(10),
            auth: false,
        }
    }
}
