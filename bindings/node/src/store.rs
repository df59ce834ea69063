//! `NativeStore`: the model store for JavaScript. Each call runs on a libuv worker thread,
//! which drives the store's I/O on a small Tokio runtime the store owns. Results come back as a
//! [`StoreOutcome`] (`failure` or a JSON `value`); the JavaScript layer turns failures into
//! errors with code `ND_STORE` (or the library's code for a model problem).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use neuro_divergent_store::{ModelStore, PublishOptions, StoreError};

use crate::errors::{code_of, Failure};
use crate::forecaster::{fitted, guarded, kept_searches, BusyGuard, NativeForecaster, Shared};
use crate::runtime::ensure_started;
use neuro_divergent::ComputeDevice;

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        match error {
            StoreError::Model(e) => Failure::new(code_of(&e), e.to_string()),
            StoreError::UnknownModel { .. }
            | StoreError::UnknownVersion { .. }
            | StoreError::UnknownAlias { .. } => Failure::new("ND_NOT_FOUND", error.to_string()),
            other => Failure::new("ND_STORE", other.to_string()),
        }
    }
}

/// The result of a store call: a failure, or the answer as JSON.
#[napi(object)]
pub struct StoreOutcome {
    /// Set when the call failed.
    pub failure: Option<Failure>,
    /// The answer (version records, a previous version number), as JSON text.
    pub value: Option<String>,
}

/// What the store holds once opened.
struct Opened {
    runtime: tokio::runtime::Runtime,
    store: ModelStore,
}

/// A model store handle; `open` connects it.
#[napi]
pub struct NativeStore {
    opened: Arc<Mutex<Option<Arc<Opened>>>>,
}

/// A forecaster claimed by a store call.
struct Claimed {
    _guard: BusyGuard,
    state: Shared,
    device: ComputeDevice,
}

/// What a [`StoreJob`] does.
enum StoreOp {
    Open(String),
    Publish {
        forecaster: Option<Claimed>,
        name: String,
        options: PublishOptions,
    },
    Load {
        forecaster: Option<Claimed>,
        reference: String,
    },
    List(Option<String>),
    Show(String),
    SetAlias {
        name: String,
        alias: String,
        version: i64,
    },
    Close,
}

/// One store call running on a worker thread.
pub struct StoreJob {
    opened: Arc<Mutex<Option<Arc<Opened>>>>,
    op: Option<StoreOp>,
}

fn claim(forecaster: &NativeForecaster) -> Option<Claimed> {
    forecaster
        .claim_state()
        .map(|(guard, state, device)| Claimed {
            _guard: guard,
            state,
            device,
        })
}

fn busy() -> Failure {
    Failure::new(
        "ND_BUSY",
        "this forecaster is already running a call; await it (or use another forecaster)",
    )
}

fn json<T: serde::Serialize>(value: &T) -> Option<String> {
    Some(serde_json::to_string(value).expect("store records serialise to JSON"))
}

#[napi]
impl NativeStore {
    /// A handle that is not connected yet.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeStore {
            opened: Arc::new(Mutex::new(None)),
        }
    }

    fn job(&self, op: StoreOp) -> AsyncTask<StoreJob> {
        AsyncTask::new(StoreJob {
            opened: self.opened.clone(),
            op: Some(op),
        })
    }

    /// Connects to the store at `url` (creating a missing SQLite file and the tables).
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn open(&self, url: String) -> AsyncTask<StoreJob> {
        self.job(StoreOp::Open(url))
    }

    /// Publishes the forecaster's fitted models as the next version of `name`.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn publish(
        &self,
        forecaster: &NativeForecaster,
        name: String,
        aliases: Vec<String>,
        tags: BTreeMap<String, String>,
        scores: BTreeMap<String, f64>,
    ) -> AsyncTask<StoreJob> {
        self.job(StoreOp::Publish {
            forecaster: claim(forecaster),
            name,
            options: PublishOptions {
                aliases,
                tags,
                scores,
            },
        })
    }

    /// Loads `reference` (`NAME`, `NAME@VERSION`, `NAME@ALIAS`) into `forecaster`.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn load(&self, reference: String, forecaster: &NativeForecaster) -> AsyncTask<StoreJob> {
        self.job(StoreOp::Load {
            forecaster: claim(forecaster),
            reference,
        })
    }

    /// Every version, or those of `name`.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn list(&self, name: Option<String>) -> AsyncTask<StoreJob> {
        self.job(StoreOp::List(name))
    }

    /// The record of one version.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn show(&self, reference: String) -> AsyncTask<StoreJob> {
        self.job(StoreOp::Show(reference))
    }

    /// Points `alias` of `name` at `version`; the value is the version it pointed to before.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn set_alias(&self, name: String, alias: String, version: i64) -> AsyncTask<StoreJob> {
        self.job(StoreOp::SetAlias {
            name,
            alias,
            version,
        })
    }

    /// Closes the store's connections.
    #[napi(ts_return_type = "Promise<StoreOutcome>")]
    pub fn close(&self) -> AsyncTask<StoreJob> {
        self.job(StoreOp::Close)
    }
}

impl StoreJob {
    fn run(&mut self) -> Result<Option<String>, Failure> {
        let op = self.op.take().expect("a job runs once");
        if let StoreOp::Open(url) = op {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| Failure::new("ND_INTERNAL", format!("cannot start I/O: {e}")))?;
            let store = runtime.block_on(ModelStore::open(&url))?;
            *self.opened.lock().expect("store lock") = Some(Arc::new(Opened { runtime, store }));
            return Ok(None);
        }
        let opened = if let StoreOp::Close = op {
            self.opened.lock().expect("store lock").take()
        } else {
            self.opened.lock().expect("store lock").clone()
        };
        let Some(opened) = opened else {
            return Err(Failure::new(
                "ND_STORE",
                "the store is not open (ModelStore.open(url) opens one; close() closed it)",
            ));
        };
        let store = &opened.store;
        opened.runtime.block_on(async {
            match op {
                StoreOp::Open(_) => Ok(None),
                StoreOp::Publish {
                    forecaster,
                    name,
                    options,
                } => {
                    let claimed = forecaster.ok_or_else(busy)?;
                    ensure_started();
                    // The forecaster is claimed: no other call reads its models meanwhile,
                    // so they can leave the lock while the store writes them.
                    let nf = {
                        let mut state = claimed.state.lock().expect("state lock");
                        fitted(&state, "nothing to publish, call fit first")?;
                        state.take().expect("checked above")
                    };
                    let published = store.publish(&nf, &name, &options).await;
                    *claimed.state.lock().expect("state lock") = Some(nf);
                    Ok(json(&published?))
                }
                StoreOp::Load {
                    forecaster,
                    reference,
                } => {
                    let claimed = forecaster.ok_or_else(busy)?;
                    ensure_started();
                    let loaded = store.load(&reference).await?;
                    let forecaster = loaded.forecaster.with_device(claimed.device)?;
                    let searches = kept_searches(&forecaster).cloned();
                    *claimed.state.lock().expect("state lock") = Some(forecaster);
                    // The version, and the search histories its models carry.
                    Ok(json(
                        &serde_json::json!({ "version": loaded.info, "searches": searches }),
                    ))
                }
                StoreOp::List(name) => Ok(json(&store.list(name.as_deref()).await?)),
                StoreOp::Show(reference) => Ok(json(&store.show(&reference).await?)),
                StoreOp::SetAlias {
                    name,
                    alias,
                    version,
                } => Ok(json(&store.set_alias(&name, &alias, version).await?)),
                StoreOp::Close => {
                    store.clone().close().await;
                    Ok(None)
                }
            }
        })
    }
}

impl Task for StoreJob {
    type Output = StoreOutcome;
    type JsValue = StoreOutcome;

    fn compute(&mut self) -> napi::Result<StoreOutcome> {
        Ok(match guarded(|| self.run()) {
            Ok(value) => StoreOutcome {
                failure: None,
                value,
            },
            Err(failure) => StoreOutcome {
                failure: Some(failure),
                value: None,
            },
        })
    }

    fn resolve(&mut self, _env: Env, output: StoreOutcome) -> napi::Result<StoreOutcome> {
        Ok(output)
    }
}
