//! # neuro-divergent
//!
//! Neural time-series forecasting on the Candle tensor framework, following NeuralForecast's
//! models, names and defaults: long-format panels (`unique_id, ds, y`), window sampling with
//! per-window scalers, MLP / NBEATS / NHITS models, Adam training with early stopping, rolling
//! cross-validation, metrics and atomic safetensors checkpoints.
//!
//! ```
//! use neuro_divergent::{data::read_csv_from, FitOptions, ModelSpec, NeuralForecast};
//!
//! let csv: String = std::iter::once("unique_id,ds,y".to_string())
//!     .chain((1..=60).map(|t| format!("s1,{t},{}", (t as f64 * 0.5).sin() * 10.0 + 50.0)))
//!     .collect::<Vec<_>>()
//!     .join("\n");
//! let frame = read_csv_from(csv.as_bytes(), "example", None)?;
//! let mut nhits = ModelSpec::new("NHITS", 6, 12)?;
//! nhits.set_param("max_steps", "20")?;
//! nhits.set_param("mlp_units", "[[32, 32]]")?;
//! let mut nf = NeuralForecast::new(vec![nhits], None)?;
//! nf.fit(&frame, FitOptions::default(), None)?;
//! let forecasts = nf.predict(None)?;
//! assert_eq!(forecasts.len(), 6);
//! assert!(forecasts.column("NHITS").unwrap().iter().all(|v| v.is_finite()));
//! # Ok::<(), neuro_divergent::Error>(())
//! ```
#![warn(missing_docs)]

pub mod auto;
pub mod autoregressive;
pub mod checkpoint;
mod chunks;
pub mod conformal;
pub mod cpu;
pub mod data;
pub mod device;
pub mod ensemble;
pub mod error;
pub mod evaluate;
pub mod exog;
pub mod explain;
pub mod forecast;
mod forecast_output;
pub mod longhorizon;
pub mod losses;
pub mod metrics;
pub mod models;
mod multivariate;
pub mod nn;
pub mod output;
mod pipeline;
pub mod preprocess;
pub mod random;
mod tail_tensors;
pub mod threads;
pub mod train;
pub mod windows;

pub use device::ComputeDevice;
pub use error::{Error, Result};
pub use forecast::{FitOptions, Forecasts, NeuralForecast};
pub use models::{
    exogenous_readers, input_size_for, model_names, register_model, ExogenousKinds, ModelConfig,
    ModelSpec,
};
pub use train::{Kwargs, OptimizerName, ProgressEvent, ProgressFn, SchedulerName, TrainConfig};
