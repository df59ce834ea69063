//! The CLI's error: the library's, the model store's or the forecast server's.

use neuro_divergent_serve::ServeError;
use neuro_divergent_store::StoreError;

/// An error of any command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the forecasting library (data, options, training, checkpoints, files).
    #[error(transparent)]
    Library(#[from] neuro_divergent::Error),
    /// From the model store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// From the forecast server.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl CliError {
    /// True when the caller can fix it (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            CliError::Library(e) => e.is_user_error(),
            CliError::Store(e) => e.is_user_error(),
            CliError::Serve(e) => e.is_user_error(),
        }
    }
}

/// Result of a command.
pub type CliResult<T> = std::result::Result<T, CliError>;
