//! Why a node could not start or stopped.

use std::net::SocketAddr;

use neuro_divergent_store::StoreError;

/// A failure to start or run a serving node.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The model store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

impl ServeError {
    /// True when the caller can fix it (a bad store address, an address in use).
    pub fn is_user_error(&self) -> bool {
        match self {
            ServeError::Store(e) => e.is_user_error(),
            ServeError::Bind { .. } => true,
            ServeError::Serve(_) => false,
        }
    }
}
