//! The model versions a node serves: loaded from the store once, kept in memory (least recently
//! used evicted first), and the references (`air`, `air@production`) they answer for, kept
//! current by a background refresh so that an alias move reaches every node within one refresh
//! interval (at once on PostgreSQL, whose change notifications trigger the refresh) without a
//! request waiting on the store.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use neuro_divergent::{Forecasts, NeuralForecast};
use neuro_divergent_store::{ModelRef, ModelStore, Selector, VersionInfo};
use tokio::sync::OnceCell;

use crate::api_error::ApiError;
use crate::metrics::Metrics;

/// One loaded version.
pub struct Version {
    /// What the store says about it.
    pub info: VersionInfo,
    /// The fitted models.
    pub forecaster: NeuralForecast,
    /// Forecasts of the stored series, by interval levels: computed once per version.
    stored: Mutex<HashMap<String, Arc<Forecasts>>>,
}

impl Version {
    /// The forecasts of the stored series at `levels`, when computed before.
    pub fn stored_forecasts(&self, levels: &[f64]) -> Option<Arc<Forecasts>> {
        self.stored.lock().ok()?.get(&levels_key(levels)).cloned()
    }

    /// Keeps the forecasts of the stored series at `levels` (for the first few sets of levels
    /// asked for: clients cannot grow it without bound).
    pub fn keep_stored_forecasts(&self, levels: &[f64], forecasts: Arc<Forecasts>) {
        if let Ok(mut stored) = self.stored.lock() {
            if stored.len() < STORED_LEVEL_SETS {
                stored.insert(levels_key(levels), forecasts);
            }
        }
    }
}

/// Most sets of interval levels whose stored-series forecasts a version keeps.
const STORED_LEVEL_SETS: usize = 8;

fn levels_key(levels: &[f64]) -> String {
    let parts: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
    parts.join(",")
}

type Slot = Arc<OnceCell<Arc<Version>>>;

/// The store and the versions loaded from it.
pub struct Models {
    store: ModelStore,
    loaded: Mutex<LruCache<(String, i64), Slot>>,
    /// References that do not name a number (`air`, `air@production`) and the version each
    /// resolved to when last checked.
    tracked: Mutex<HashMap<String, i64>>,
    metrics: Arc<Metrics>,
}

impl Models {
    /// Serves from `store`, keeping up to `capacity` versions in memory.
    pub fn new(store: ModelStore, capacity: usize, metrics: Arc<Metrics>) -> Models {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Models {
            store,
            loaded: Mutex::new(LruCache::new(capacity)),
            tracked: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The store.
    pub fn store(&self) -> &ModelStore {
        &self.store
    }

    /// The version `reference` names, loaded. A reference without a number answers with the
    /// version it last resolved to (checked again by [`Models::refresh`]); the first request for
    /// it resolves it in the store.
    pub async fn get(&self, reference: &str) -> Result<Arc<Version>, ApiError> {
        let parsed = ModelRef::parse(reference)?;
        let version = match parsed.selector {
            Selector::Version(version) => version,
            _ => match self.tracked_version(reference) {
                Some(version) => version,
                None => {
                    let version = self.store.resolve(&parsed).await?;
                    let loaded = self.load(&parsed.name, version).await?;
                    self.track(reference, version);
                    return Ok(loaded);
                }
            },
        };
        self.load(&parsed.name, version).await
    }

    /// Resolves every tracked reference again and loads the versions that changed before
    /// switching to them, so requests never wait on the move. A reference that fails to resolve
    /// (the store is down, the alias was removed) keeps its version.
    pub async fn refresh(&self) {
        self.refresh_references(None).await;
    }

    /// [`Models::refresh`] for the references of model `name` only (the model a change
    /// notification names).
    pub async fn refresh_model(&self, name: &str) {
        self.refresh_references(Some(name)).await;
    }

    /// Refreshes the tracked references of `model`, or all of them.
    async fn refresh_references(&self, model: Option<&str>) {
        let references: Vec<String> = match self.tracked.lock() {
            Ok(tracked) => tracked.keys().cloned().collect(),
            Err(_) => return,
        };
        for reference in references {
            let Ok(parsed) = ModelRef::parse(&reference) else {
                continue;
            };
            if model.is_some_and(|name| name != parsed.name) {
                continue;
            }
            let Ok(version) = self.store.resolve(&parsed).await else {
                continue;
            };
            if self.tracked_version(&reference) == Some(version) {
                continue;
            }
            if self.load(&parsed.name, version).await.is_ok() {
                self.track(&reference, version);
            }
        }
    }

    /// Loads every reference in `references` (at start-up).
    pub async fn preload(&self, references: &[String]) -> Result<(), ApiError> {
        for reference in references {
            self.get(reference).await?;
        }
        Ok(())
    }

    /// Number of versions in memory.
    pub fn loaded_count(&self) -> usize {
        self.loaded.lock().map_or(0, |loaded| {
            loaded.iter().filter(|(_, slot)| slot.initialized()).count()
        })
    }

    fn tracked_version(&self, reference: &str) -> Option<i64> {
        self.tracked.lock().ok()?.get(reference).copied()
    }

    fn track(&self, reference: &str, version: i64) {
        if let Ok(mut tracked) = self.tracked.lock() {
            tracked.insert(reference.to_string(), version);
        }
    }

    /// Version `version` of `name`, from memory or loaded once however many requests ask.
    async fn load(&self, name: &str, version: i64) -> Result<Arc<Version>, ApiError> {
        let key = (name.to_string(), version);
        let slot: Slot = {
            let mut loaded = self
                .loaded
                .lock()
                .map_err(|_| ApiError::internal("model cache poisoned".into()))?;
            loaded
                .get_or_insert(key, || Arc::new(OnceCell::new()))
                .clone()
        };
        let loaded = slot
            .get_or_try_init(|| async {
                let start = Instant::now();
                let result = self.store.load(&format!("{name}@{version}")).await;
                self.metrics.model_load(result.is_ok(), start.elapsed());
                let model = result?;
                Ok::<_, ApiError>(Arc::new(Version {
                    info: model.info,
                    forecaster: model.forecaster,
                    stored: Mutex::new(HashMap::new()),
                }))
            })
            .await?;
        Ok(loaded.clone())
    }
}

/// Refreshes the references of each model `store` announces a change of (PostgreSQL's
/// notifications), until the models are dropped: an alias move reaches the node at once instead
/// of at its next poll. After (re)connecting it refreshes every reference once. Ends at once on a store without notifications (SQLite); if listening fails, the poll
/// of [`spawn_refresh`] keeps the node current and the listener retries after `retry`.
pub fn spawn_change_listener(
    models: &Arc<Models>,
    store: ModelStore,
    retry: Duration,
) -> tokio::task::JoinHandle<()> {
    let models = Arc::downgrade(models);
    tokio::spawn(async move {
        loop {
            let mut listener = match store.listen().await {
                Ok(Some(listener)) => listener,
                Ok(None) => return,
                Err(_) => {
                    tokio::time::sleep(retry).await;
                    continue;
                }
            };
            // After (re)connecting, changes made while not listening are picked up at once.
            let mut changed: Option<String> = None;
            loop {
                let Some(current) = models.upgrade() else {
                    return;
                };
                match &changed {
                    Some(name) => current.refresh_model(name).await,
                    None => current.refresh().await,
                }
                drop(current);
                match listener.next().await {
                    Ok(name) => changed = Some(name),
                    Err(_) => {
                        tokio::time::sleep(retry).await;
                        break;
                    }
                }
            }
        }
    })
}

/// Runs [`Models::refresh`] every `interval` until the models are dropped.
pub fn spawn_refresh(models: &Arc<Models>, interval: Duration) -> tokio::task::JoinHandle<()> {
    let models = Arc::downgrade(models);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(models) = models.upgrade() else {
                break;
            };
            models.refresh().await;
        }
    })
}
