//! Change notifications: on PostgreSQL, every write that can change what a reference resolves to
//! (a publish, an alias set or removed, a version deleted) sends the model's name on one channel
//! when it commits, and [`ChangeListener`] receives them, so that serving nodes can refresh at
//! once instead of at their next poll. SQLite has no such channel: nodes on it poll.

use sqlx::postgres::PgListener;

use crate::error::Result;
use crate::pool::{database_error, Pool};
use crate::store::ModelStore;

/// The PostgreSQL channel the changes go to.
pub const CHANGES_CHANNEL: &str = "nd_model_changes";

/// The statement that announces a change of model `$1` (delivered when the transaction
/// commits), for stores that can announce changes.
pub(crate) fn notify_statement(pool: &Pool) -> Option<&'static str> {
    match pool {
        Pool::Sqlite(_) => None,
        Pool::Postgres(_) => Some("SELECT pg_notify('nd_model_changes', $1)"),
    }
}

/// Receives the names of models whose versions or aliases changed, from a dedicated connection.
pub struct ChangeListener {
    listener: PgListener,
    store: String,
}

impl ChangeListener {
    /// Waits for the next change and returns the model's name. A lost connection is opened
    /// again on the next call (changes made meanwhile are not announced: refresh after an
    /// error).
    pub async fn next(&mut self) -> Result<String> {
        let notification = self
            .listener
            .recv()
            .await
            .map_err(|e| database_error(&self.store, e))?;
        Ok(notification.payload().to_string())
    }
}

impl ModelStore {
    /// A listener for this store's change notifications, or `None` when the backend has none
    /// (SQLite).
    pub async fn listen(&self) -> Result<Option<ChangeListener>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let db = |e| database_error(&self.store, e);
        let mut listener = PgListener::connect_with(pool).await.map_err(db)?;
        listener.listen(CHANGES_CHANNEL).await.map_err(db)?;
        Ok(Some(ChangeListener {
            listener,
            store: self.store.clone(),
        }))
    }
}
