//! Training: hyperparameters shared by all models, the optimisation loop, progress events.

mod adam;
mod config;
mod progress;
mod trainer;

pub use config::TrainConfig;
pub use progress::{ProgressEvent, ProgressFn};
pub use trainer::{train_model, TrainReport, TrainingData};
