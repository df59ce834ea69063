//! Progress bars on standard error (drawn only when it is a terminal).

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuro_divergent::ProgressEvent;

/// One bar per model, created when that model reports its first step.
pub struct TrainingBars {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl TrainingBars {
    /// No bar yet.
    pub fn new() -> TrainingBars {
        TrainingBars {
            current: Mutex::new(None),
        }
    }

    /// Draws one progress event.
    pub fn update(&self, event: &ProgressEvent) {
        let mut current = self.current.lock().expect("progress lock");
        let stale = current
            .as_ref()
            .is_none_or(|(name, _)| *name != event.model);
        if stale {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::with_draw_target(
                Some(event.max_steps as u64),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(event.model.clone());
            *current = Some((event.model.clone(), bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(event.step as u64);
            let mut msg = format!("loss {:.4}", event.train_loss);
            if let Some(v) = event.val_loss {
                msg.push_str(&format!(" val {v:.4}"));
            }
            bar.set_message(msg);
        }
    }

    /// Closes the last bar.
    pub fn finish(&self) {
        if let Some((_, bar)) = self.current.lock().expect("progress lock").take() {
            bar.finish();
        }
    }
}
