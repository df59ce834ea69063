//! The store's error type: each variant names the store, model and version involved.

/// Everything that can go wrong with a model store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store address is not `sqlite:PATH` or `postgres://…`.
    #[error("invalid store address '{url}': {message}")]
    Url {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The database could not be reached within the time allowed, or refused the connection.
    #[error("model store {store} is unreachable: {message}")]
    Unreachable {
        /// The store (password removed).
        store: String,
        /// Why.
        message: String,
    },
    /// The database exists but is not a model store (or not a database at all).
    #[error("{store} is not a neuro-divergent model store: {message}")]
    NotAStore {
        /// The store (password removed).
        store: String,
        /// What was found instead.
        message: String,
    },
    /// The store was written by a newer library whose schema this one cannot read.
    #[error(
        "model store {store} has schema version {found}; this library (neuro-divergent {library}) \
         reads versions up to {supported}: upgrade neuro-divergent to use it"
    )]
    SchemaTooNew {
        /// The store (password removed).
        store: String,
        /// The store's schema version.
        found: i64,
        /// The newest schema version this library knows.
        supported: i64,
        /// This library's version.
        library: String,
    },
    /// No model of that name has been published.
    #[error("model store {store} has no model named '{name}'")]
    UnknownModel {
        /// The store (password removed).
        store: String,
        /// The model name asked for.
        name: String,
    },
    /// The model exists but not that version.
    #[error("model store {store} has no version {version} of model '{name}'")]
    UnknownVersion {
        /// The store (password removed).
        store: String,
        /// The model name.
        name: String,
        /// The version asked for.
        version: i64,
    },
    /// The model exists but no alias of that name points to one of its versions.
    #[error("model store {store}: model '{name}' has no alias '{alias}'")]
    UnknownAlias {
        /// The store (password removed).
        store: String,
        /// The model name.
        name: String,
        /// The alias asked for.
        alias: String,
    },
    /// A stored version failed its checksum or could not be decoded; other versions are
    /// unaffected.
    #[error("model store {store}: version {version} of model '{name}' is corrupt: {message}")]
    Corrupt {
        /// The store (password removed).
        store: String,
        /// The model name.
        name: String,
        /// The version.
        version: i64,
        /// What failed.
        message: String,
    },
    /// The operation would break an invariant (deleting a version an alias points to).
    #[error("model store {store}: {message}")]
    Conflict {
        /// The store (password removed).
        store: String,
        /// What was refused and how to proceed.
        message: String,
    },
    /// A model name, reference, alias or tag is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The models could not be encoded, or a loaded checkpoint is unusable.
    #[error(transparent)]
    Model(#[from] neuro_divergent::Error),
    /// Any other database failure.
    #[error("model store {store}: database error: {message}")]
    Database {
        /// The store (password removed).
        store: String,
        /// The database's message.
        message: String,
    },
}

impl StoreError {
    /// True when the error is the caller's to fix (a bad address, name, reference or store
    /// file, or a refused operation): the CLI maps these to exit code 2.
    pub fn is_user_error(&self) -> bool {
        match self {
            StoreError::Model(e) => e.is_user_error(),
            StoreError::Database { .. } => false,
            _ => true,
        }
    }
}

/// Result alias of the store.
pub type Result<T> = std::result::Result<T, StoreError>;
