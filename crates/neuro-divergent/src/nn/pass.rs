//! Where a training forward pass runs: which pass, and which chunk of the batch. Layers that
//! draw random numbers (dropout masks, ProbSparse key samples) or move state with the batch's
//! statistics (batch normalisation) read it, so that neither depends on how the batch is cut
//! into chunks nor on the order the chunks run in.
//!
//! A training pass runs each chunk's forward pass inside a [`scope`] naming the pass, the
//! chunk's rows and the batch's size. Every use inside takes the scope's next use number (the
//! forward code makes the same uses in the same order in every chunk). A draw reads a stream
//! keyed by the layer's seed, the pass, the use and, for a draw per window, the window's row in
//! the whole batch: a window's mask is the same whether its batch ran as one chunk or several,
//! on any thread or device. Outside a scope (a model's `forward` called directly in training
//! mode) the uses are counted per thread, pass 0, each tensor's rows counted from 0, and the
//! tensor is the whole batch.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::error::{Error, Result};

/// One chunk's forward pass of a training pass.
struct Scope {
    pass: u64,
    chunk: Chunk,
    uses: u64,
}

/// A chunk of a training batch: its windows and the batch's size in windows. A window is one
/// row of the batch, or `n_series` rows for a multivariate model, whose tensors' first dimension
/// holds the windows or the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk's windows of the batch.
    pub rows: Range<usize>,
    /// Windows in the whole batch.
    pub batch_rows: usize,
}

thread_local! {
    /// The scopes open on this thread, innermost last (a worker waiting inside one chunk's
    /// forward pass may run another chunk's on the same thread).
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
    /// Uses counted outside any scope.
    static UNSCOPED_USES: Cell<u64> = const { Cell::new(0) };
}

/// Closes the innermost scope when dropped, also when the forward pass panics.
struct ScopeGuard;

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPES.with(|scopes| scopes.borrow_mut().pop());
    }
}

/// Runs `forward`, the forward pass over rows `rows` of a batch of `batch_rows` rows in training
/// pass number `pass`, so that the uses it makes know both.
pub(crate) fn scope<T>(
    pass: u64,
    rows: Range<usize>,
    batch_rows: usize,
    forward: impl FnOnce() -> T,
) -> T {
    SCOPES.with(|scopes| {
        scopes.borrow_mut().push(Scope {
            pass,
            chunk: Chunk { rows, batch_rows },
            uses: 0,
        })
    });
    let _guard = ScopeGuard;
    forward()
}

/// One use inside a training pass: its pass, its use number within the pass and its chunk
/// (none outside a scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassUse {
    /// The training pass.
    pub pass: u64,
    /// The use's number within the chunk's forward pass, the same in every chunk.
    pub index: u64,
    /// The chunk of the batch the forward pass computes; `None` outside a scope.
    pub chunk: Option<Chunk>,
}

impl PassUse {
    /// The next use of the current scope (or of this thread, outside any scope).
    pub fn next() -> PassUse {
        SCOPES.with(|scopes| match scopes.borrow_mut().last_mut() {
            Some(scope) => {
                scope.uses += 1;
                PassUse {
                    pass: scope.pass,
                    index: scope.uses - 1,
                    chunk: Some(scope.chunk.clone()),
                }
            }
            None => PassUse {
                pass: 0,
                index: UNSCOPED_USES.with(|uses| {
                    uses.set(uses.get() + 1);
                    uses.get() - 1
                }),
                chunk: None,
            },
        })
    }

    /// A stream shared by the whole batch: the same in every chunk of the pass.
    pub fn batch_stream(&self, seed: u64) -> StdRng {
        self.stream(seed, u64::MAX)
    }

    /// One stream per entry of the first dimension of a chunk's tensor with `entries` of them,
    /// in order. That dimension is the chunk's windows, or `m` entries per window (heads or
    /// steps folded into it); entry `i` is then entry `first_row * m + i` of the whole batch.
    pub fn entry_streams(&self, seed: u64, entries: usize) -> Result<Vec<StdRng>> {
        let first = match self.chunk.as_ref().map(|c| &c.rows) {
            Some(rows) => {
                if rows.is_empty() || !entries.is_multiple_of(rows.len()) {
                    return Err(Error::Train(format!(
                        "a random draw over {entries} entries cannot be split into the chunk's \
                         {} windows: its first dimension must hold the windows",
                        rows.len()
                    )));
                }
                rows.start * (entries / rows.len())
            }
            None => 0,
        };
        Ok((first..first + entries)
            .map(|entry| self.stream(seed, entry as u64))
            .collect())
    }

    /// The stream of `entry` of this use by the layer seeded with `seed`.
    fn stream(&self, seed: u64, entry: u64) -> StdRng {
        let mut key = [0u8; 32];
        for (slot, word) in key
            .chunks_exact_mut(8)
            .zip([seed, self.pass, self.index, entry])
        {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        StdRng::from_seed(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn first_values(streams: Vec<StdRng>) -> Vec<u32> {
        streams.into_iter().map(|mut s| s.random()).collect()
    }

    #[test]
    fn a_window_draws_the_same_values_in_any_chunk() {
        let whole = scope(3, 0..8, 8, || PassUse::next().entry_streams(7, 16).unwrap());
        let tail = scope(3, 4..8, 8, || PassUse::next().entry_streams(7, 8).unwrap());
        assert_eq!(first_values(whole)[8..], first_values(tail)[..]);
    }

    #[test]
    fn uses_passes_and_seeds_draw_apart() {
        let (first, second) = scope(0, 0..2, 2, || (PassUse::next(), PassUse::next()));
        let later = scope(1, 0..2, 2, PassUse::next);
        let values = |draw: &PassUse, seed| first_values(draw.entry_streams(seed, 2).unwrap());
        assert_ne!(values(&first, 1), values(&second, 1));
        assert_ne!(values(&first, 1), values(&later, 1));
        assert_ne!(values(&first, 1), values(&first, 2));
        assert_ne!(values(&first, 1)[0], values(&first, 1)[1]);
        assert_eq!(first, scope(0, 0..2, 2, PassUse::next));
    }

    #[test]
    fn nested_scopes_keep_their_own_counts() {
        let (outer_first, inner, outer_second) = scope(5, 0..4, 8, || {
            let first = PassUse::next();
            let inner = scope(5, 4..8, 8, PassUse::next);
            (first, inner, PassUse::next())
        });
        let chunk = |rows| {
            Some(Chunk {
                rows,
                batch_rows: 8,
            })
        };
        assert_eq!(outer_first.index, 0);
        assert_eq!(inner.index, 0);
        assert_eq!(inner.chunk, chunk(4..8));
        assert_eq!(outer_second.index, 1);
        assert_eq!(outer_second.chunk, chunk(0..4));
    }

    #[test]
    fn a_tensor_not_split_by_windows_is_refused() {
        let err = scope(0, 0..4, 4, || PassUse::next().entry_streams(1, 6)).unwrap_err();
        assert!(err.to_string().contains("6 entries"), "{err}");
        assert!(err.to_string().contains("4 windows"), "{err}");
    }
}
