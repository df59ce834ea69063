//! A serving node: its shared state, its router and its lifecycle.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::Router;
use neuro_divergent_store::{ModelStore, OpenOptions, Scope};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::api_error::ApiError;
use crate::auth::Keys;
use crate::batch::Batcher;
use crate::compute::Compute;
use crate::config::ServeConfig;
use crate::error::ServeError;
use crate::metrics::Metrics;
use crate::models::{spawn_change_listener, spawn_refresh, Models};
use crate::response_cache::ResponseCache;
use crate::routes;

/// Request or response bytes below which parsing and encoding run on the thread that answers.
const INLINE_BYTES: usize = 32 * 1024;

/// What every request handler shares.
pub struct AppState {
    /// The settings.
    pub config: ServeConfig,
    /// The store and the loaded versions.
    pub models: Arc<Models>,
    /// Forecast workers.
    pub compute: Arc<Compute>,
    /// Dynamic batching, when the window is not zero.
    pub batcher: Option<Arc<Batcher>>,
    /// Recent responses.
    pub cache: ResponseCache,
    /// Admission: one permit per request being answered.
    pub in_flight: Arc<Semaphore>,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// API key checks, when `auth` is on.
    pub keys: Option<Keys>,
    /// Set once the preloaded references are in memory.
    pub preloaded: AtomicBool,
    /// Why the last attempt to preload failed, while it has not succeeded.
    pub preload_error: Mutex<Option<String>>,
}

impl AppState {
    /// Succeeds when API keys are off, or the request's key allows `scope`.
    pub async fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<(), ApiError> {
        match &self.keys {
            Some(keys) => keys.authorize(headers, scope).await,
            None => Ok(()),
        }
    }

    /// Runs `work` (parsing, encoding) over `bytes` of request or response: on a blocking thread
    /// so that large bodies never stall the threads answering other requests, or in place when
    /// `bytes` is at most [`INLINE_BYTES`], where handing it to another thread and waking this
    /// one again would cost more than the work (a one-series request: 7 KB, ~50 µs to read). A
    /// panic inside `work` becomes an internal error either way; the server keeps serving.
    pub async fn offload<T: Send + 'static>(
        &self,
        bytes: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        if bytes <= INLINE_BYTES {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .map_err(|_| ApiError::internal("a request failed unexpectedly".into()));
        }
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::internal(format!("a request failed unexpectedly: {e}")))
    }
}

/// The routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/models/{name}/forecast", post(routes::forecast))
        .route("/v1/models", get(routes::list_models))
        .route("/v1/models/{name}", get(routes::show_model))
        .route("/v1/models/{name}/aliases/{alias}", put(routes::move_alias))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            routes::track,
        ))
        .with_state(state)
}

/// A running node.
pub struct Server {
    local_addr: SocketAddr,
    store: String,
    shutdown: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
    background: [JoinHandle<()>; 3],
}

impl Server {
    /// Opens the store (creating its schema when new), binds and starts answering, then loads
    /// the preloaded references in the background (retried every refresh interval until they
    /// load; `/readyz` answers 503 until then). Forecasts then run single-threaded each on `config.workers`
    /// workers: this configures the library's tensor threads for the whole process, so call it
    /// before any other tensor work.
    pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
        neuro_divergent::threads::configure_threads(Some(1));
        let options = OpenOptions {
            create: true,
            timeout: config.store_timeout,
        };
        let store = ModelStore::open_with(&config.store, options).await?;
        let address = store.address().to_string();
        let keys = config
            .auth
            .then(|| Keys::new(store.clone(), config.refresh));
        let metrics = Arc::new(Metrics::new());
        let models = Arc::new(Models::new(
            store.clone(),
            config.max_models,
            Arc::clone(&metrics),
        ));
        let compute = Arc::new(Compute::new(config.workers));
        let batcher = (!config.batch_window.is_zero()).then(|| {
            Arc::new(Batcher::new(
                config.batch_window,
                config.max_batch,
                Arc::clone(&compute),
                Arc::clone(&metrics),
            ))
        });
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.bind,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: config.bind,
            source,
        })?;
        let refresh = spawn_refresh(&models, config.refresh);
        let changes = spawn_change_listener(&models, store, config.refresh);
        let state = Arc::new(AppState {
            cache: ResponseCache::new(config.cache_bytes),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            preloaded: AtomicBool::new(false),
            preload_error: Mutex::new(None),
            config,
            models,
            compute,
            batcher,
            metrics,
            keys,
        });
        let preload = tokio::spawn(preload(Arc::clone(&state)));
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = router(state);
        let serving = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await
        });
        Ok(Server {
            local_addr,
            store: address,
            shutdown,
            serving,
            background: [refresh, changes, preload],
        })
    }

    /// The address the node listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The store's address, without a password.
    pub fn store_address(&self) -> &str {
        &self.store
    }

    /// Stops accepting connections, lets the requests in flight finish, and returns.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(());
        for task in &self.background {
            task.abort();
        }
        match self.serving.await {
            Ok(result) => result.map_err(ServeError::Serve),
            Err(e) => Err(ServeError::Serve(std::io::Error::other(e))),
        }
    }
}

/// Loads the preloaded references, retrying every refresh interval until they load.
async fn preload(state: Arc<AppState>) {
    loop {
        let error = state.models.preload(&state.config.preload).await.err();
        let done = error.is_none();
        if let Ok(mut last) = state.preload_error.lock() {
            *last = error.map(|e| e.message);
        }
        if done {
            state.preloaded.store(true, Ordering::Release);
            return;
        }
        tokio::time::sleep(state.config.refresh).await;
    }
}
