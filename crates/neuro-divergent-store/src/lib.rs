//! # neuro-divergent-store
//!
//! A versioned store of fitted [`neuro_divergent::NeuralForecast`] models, in an embedded SQLite
//! file (`sqlite:models.db`, the default: no server) or in PostgreSQL (`postgres://…`, shared by
//! every node of a deployment).
//!
//! A stored version holds the checkpoint's manifest and weights (bytes, with their SHA-256
//! checked on every load), the model names and hyperparameters, the fingerprint of the training
//! data, the scores of the fit, the library version, the time and free-form tags. Versions are
//! numbered per model name and never change once published; aliases such as `production` point
//! to one version each and move atomically. The store also keeps the API keys of the
//! forecasting service (hashed, with scopes), so that every node checks the same keys.
//!
//! ```no_run
//! # async fn example(nf: &neuro_divergent::NeuralForecast) -> neuro_divergent_store::Result<()> {
//! use neuro_divergent_store::{ModelStore, PublishOptions};
//!
//! let store = ModelStore::open("sqlite:models.db").await?;
//! let options = PublishOptions { aliases: vec!["production".into()], ..Default::default() };
//! let published = store.publish(nf, "air", &options).await?;
//! let loaded = store.load("air@production").await?;
//! assert_eq!(loaded.info.version, published.version);
//! let forecasts = loaded.forecaster.predict(None)?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod changes;
mod error;
mod keys;
mod location;
mod pool;
mod reference;
mod schema;
mod store;
mod version;

pub use changes::{ChangeListener, CHANGES_CHANNEL};
pub use error::{Result, StoreError};
pub use keys::{ApiKeyInfo, NewApiKey, Scope};
pub use location::Location;
pub use reference::{check_alias, check_name, parse_tag, ModelRef, Selector, LATEST};
pub use schema::SCHEMA_VERSION;
pub use store::{ModelStore, OpenOptions};
pub use version::{LoadedModel, PublishOptions, VersionInfo};
