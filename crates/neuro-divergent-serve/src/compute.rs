//! The workers that compute forecasts: blocking threads, at most one per configured worker at a
//! time, each forecast single-threaded so that the workers never compete for cores with the
//! tensor kernels' own threads.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::api_error::ApiError;

/// A bounded pool of blocking forecast computations.
pub struct Compute {
    permits: Arc<Semaphore>,
}

impl Compute {
    /// A pool running up to `workers` computations at once.
    pub fn new(workers: usize) -> Compute {
        Compute {
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// Runs `work` on a blocking thread once a worker is free. A panic inside it becomes an
    /// internal error; the server keeps serving.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the forecast workers have stopped".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::internal(format!("a forecast failed unexpectedly: {e}")))
    }
}
