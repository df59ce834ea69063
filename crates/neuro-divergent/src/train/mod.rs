//! Training: hyperparameters shared by all models, optimizers and learning-rate schedules, the
//! optimisation loop, progress events.

mod config;
mod kwargs;
mod names;
mod optimizer;
mod progress;
mod rules;
mod scheduler;
mod trainer;
mod update_rule;

pub use config::TrainConfig;
pub use kwargs::Kwargs;
pub(crate) use names::word_choices;
pub use optimizer::OptimizerName;
pub use progress::{ProgressEvent, ProgressFn};
pub use scheduler::SchedulerName;
pub use trainer::{train_model, TrainReport, TrainingData};
