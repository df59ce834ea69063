//! # neuro-divergent-serve
//!
//! Forecasts over HTTP from a model store: one node of a deployment in which many nodes behind
//! a load balancer share one store (PostgreSQL), or a single node over an embedded SQLite file.
//!
//! | route | answers |
//! |---|---|
//! | `POST /v1/models/{name}/forecast` | forecasts as JSON (records or columns) or CSV (`Accept: text/csv`); the `x-model-version` header and the JSON name the version used; an `x-forecast-warning` header per level the calibration cannot support |
//! | `GET /v1/models`, `GET /v1/models/{name}` | the versions in the store |
//! | `PUT /v1/models/{name}/aliases/{alias}` | points the alias at `{"version": N}` (needs `auth` and a `publish` key) |
//! | `GET /healthz` | 200 while the process answers |
//! | `GET /readyz` | 200 once the preloaded models are in memory and forecasts can be answered |
//! | `GET /metrics` | Prometheus text: requests, latency, errors by kind, cache lookups, model loads, batch sizes |
//!
//! The forecast body is JSON, every field optional: `data` (records
//! `[{ "unique_id", "ds", "y", ... }]` or columns `{ "unique_id": [], "ds": [], "y": [] }`; the
//! series stored with the model when absent), `version` or `alias`, `level`, `futr_data`,
//! `static_data`, `format` (`records` or `columns`). Bad requests get 400 with the library's
//! message, unknown models 404, bodies or series past the limits 413, a node with every slot
//! taken or past its time limit 503 with `Retry-After`. With `auth` on, the model routes need an
//! API key from the store (`Authorization: Bearer nd_…`): 401 without a valid one, 403 without
//! the route's scope (`forecast` to forecast and read, `publish` to move aliases).
//!
//! ```no_run
//! # async fn example() -> Result<(), neuro_divergent_serve::ServeError> {
//! use neuro_divergent_serve::{ServeConfig, Server};
//!
//! let config = ServeConfig::new("sqlite:models.db", "127.0.0.1:8080".parse().unwrap());
//! let server = Server::start(config).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod api_error;
mod auth;
mod batch;
mod compute;
mod config;
mod error;
mod json_table;
mod metrics;
mod models;
mod payload;
mod reply;
mod response_cache;
mod routes;
mod server;

pub use config::ServeConfig;
pub use error::ServeError;
pub use routes::VERSION_HEADER;
pub use server::Server;
