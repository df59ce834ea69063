//! Progress reporting: library code never prints; it calls one callback.

/// One training progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    /// Name of the model being trained (as in the forecast columns).
    pub model: String,
    /// Steps completed.
    pub step: usize,
    /// Total steps planned.
    pub max_steps: usize,
    /// Training loss of the latest step.
    pub train_loss: f64,
    /// Latest validation loss, when a validation set is used.
    pub val_loss: Option<f64>,
}

/// The callback that receives progress events.
pub type ProgressFn<'a> = dyn Fn(&ProgressEvent) + Send + Sync + 'a;
