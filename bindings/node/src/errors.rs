//! Stable error codes: every library error maps to one `ND_*` code the JavaScript layer exposes
//! as `err.code`.

use neuro_divergent::Error;

/// The code of a library error.
pub fn code_of(error: &Error) -> &'static str {
    match error {
        Error::Data(_) => "ND_INVALID_DATA",
        Error::Config(_) => "ND_INVALID_CONFIG",
        Error::NotFitted(_) => "ND_NOT_FITTED",
        Error::Cancelled(_) => "ND_ABORTED",
        Error::Checkpoint { .. } => "ND_CHECKPOINT",
        Error::Io { .. } => "ND_IO",
        Error::Train(_) => "ND_TRAIN",
        Error::Tensor(_) => "ND_INTERNAL",
    }
}

/// A failure as the JavaScript layer receives it: `{ code, message }`.
#[napi_derive::napi(object)]
pub struct Failure {
    /// Stable error code (`ND_INVALID_DATA`, `ND_BUSY`, ...).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with an explicit code.
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::new(code_of(&error), error.to_string())
    }
}
