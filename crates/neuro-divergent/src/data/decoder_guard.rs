//! Containing panics of the Arrow and Parquet decoders. arrow-rs panics on some corrupt files
//! (found by `tests/fuzz.rs`); bad input must be an error, not an abort. Only calls into
//! arrow-rs run guarded, so a panic in this crate's own code still fails loudly (and the fuzz
//! tests still catch it), and a guarded panic prints nothing.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

thread_local! {
    /// True while this thread runs a guarded decoder call.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per process, a panic hook that stays silent for guarded calls and defers to
/// the hook that was there before for every other panic.
fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `call` (a call into a decoder); a panic inside it becomes `Err` with the panic's
/// message, described as a corrupt or unsupported file.
pub(crate) fn guarded<T>(call: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_quiet_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(call));
    GUARDED.with(|g| g.set(was));
    outcome.map_err(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".to_string());
        format!("a corrupt or unsupported file ({reason})")
    })
}

/// A decoder's batches, each one decoded guarded; a panic ends the batches with an error.
pub(crate) struct GuardedBatches<I> {
    inner: Option<I>,
}

impl<I> GuardedBatches<I> {
    /// Guards the batches of `inner`.
    pub(crate) fn new(inner: I) -> Self {
        GuardedBatches { inner: Some(inner) }
    }
}

impl<I> Iterator for GuardedBatches<I>
where
    I: Iterator<Item = std::result::Result<RecordBatch, ArrowError>>,
{
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = self.inner.as_mut()?;
        match guarded(|| inner.next()) {
            Ok(item) => item,
            Err(reason) => {
                // A decoder that panicked may be in any state: read nothing more from it.
                self.inner = None;
                Some(Err(ArrowError::ExternalError(reason.into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_the_flag_is_reset() {
        let err = guarded(|| -> u8 { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(err, "a corrupt or unsupported file (index out of bounds)");
        assert!(!GUARDED.with(Cell::get));
        assert_eq!(guarded(|| 7), Ok(7));
    }

    #[test]
    fn batches_stop_after_a_panic() {
        let mut calls = 0;
        let source = std::iter::from_fn(move || {
            calls += 1;
            if calls == 2 {
                panic!("bad footer");
            }
            Some(Ok(RecordBatch::new_empty(std::sync::Arc::new(
                arrow_schema::Schema::empty(),
            ))))
        });
        let results: Vec<_> = GuardedBatches::new(source).take(5).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        let message = results[1].as_ref().unwrap_err().to_string();
        assert!(
            message.contains("a corrupt or unsupported file (bad footer)"),
            "{message}"
        );
    }
}
