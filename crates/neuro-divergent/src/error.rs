//! The one error type of the library.

use std::path::PathBuf;

/// Everything that can go wrong in neuro-divergent.
///
/// Each variant carries a message written for the person who has to fix the problem: it names the
/// file, row, series and column where one applies.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input data is malformed or violates an invariant (bad value, duplicate, gap, ...).
    #[error("invalid data: {0}")]
    Data(String),
    /// A hyperparameter or option is out of range or unknown.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A checkpoint could not be written or read back.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint directory or file involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The models must be fitted (or loaded) before this call.
    #[error("not fitted: {0}")]
    NotFitted(String),
    /// The caller asked a running fit to stop.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// Training could not proceed (for example the loss became NaN).
    #[error("training failed: {0}")]
    Train(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path that was being accessed.
        path: PathBuf,
        /// The underlying operating-system error.
        source: std::io::Error,
    },
    /// An error raised inside the tensor framework.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
}

impl Error {
    /// True when the error is the caller's fault (bad data, bad options, bad checkpoint):
    /// the CLI maps these to exit code 2.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::Data(_)
                | Error::Config(_)
                | Error::NotFitted(_)
                | Error::Checkpoint { .. }
                | Error::Io { .. }
        )
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
