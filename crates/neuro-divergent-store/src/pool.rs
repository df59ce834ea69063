//! Connections to either backend, and [`with_pool!`], which runs one piece of query code
//! against whichever pool the store holds.

use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Result, StoreError};
use crate::location::Location;

/// A connection pool of one backend.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the pool, once written, compiled for both backends.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::pool::Pool::Sqlite($p) => $body,
            $crate::pool::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Opens a pool on `location`. A missing SQLite file is created when `create` is set;
/// connecting gives up after `timeout`.
pub(crate) async fn connect(location: &Location, create: bool, timeout: Duration) -> Result<Pool> {
    let store = location.display();
    let unreachable = |e: sqlx::Error| StoreError::Unreachable {
        store: store.clone(),
        message: connect_message(e, timeout),
    };
    match location {
        Location::Sqlite(path) => {
            check_sqlite_file(path, create, &store)?;
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(create)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(timeout)
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(timeout)
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            Ok(Pool::Sqlite(pool))
        }
        Location::Postgres(url) => {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url {
                    url: store.clone(),
                    message: e.to_string(),
                })?
                // A writer waits at most `timeout` for another's lock, as SQLite's busy timeout.
                .options([("lock_timeout", format!("{}ms", timeout.as_millis()))]);
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(timeout)
                .connect_with(options);
            let pool = tokio::time::timeout(timeout, pool)
                .await
                .map_err(|_| StoreError::Unreachable {
                    store: store.clone(),
                    message: format!("no answer within {} s", timeout.as_secs_f64()),
                })?
                .map_err(unreachable)?;
            Ok(Pool::Postgres(pool))
        }
    }
}

/// Refuses, before SQLite touches it, a path that is not an SQLite database: a directory, a
/// file of other bytes, or a missing file when none may be created.
fn check_sqlite_file(path: &Path, create: bool, store: &str) -> Result<()> {
    let not_a_store = |message: String| StoreError::NotAStore {
        store: store.to_string(),
        message,
    };
    match std::fs::metadata(path) {
        Err(_) if create => Ok(()),
        Err(_) => Err(not_a_store(
            "no such file (a store is created when a model is first published to it)".into(),
        )),
        Ok(meta) if meta.is_dir() => Err(not_a_store("it is a directory".into())),
        Ok(meta) if meta.len() == 0 => Ok(()),
        Ok(_) => {
            let mut header = [0u8; 16];
            let read = std::fs::File::open(path)
                .and_then(|mut f| f.read_exact(&mut header))
                .map_err(|e| not_a_store(format!("cannot read it: {e}")));
            match read {
                Ok(()) if &header == SQLITE_HEADER => Ok(()),
                Ok(()) => Err(not_a_store("the file is not an SQLite database".into())),
                Err(_) => Err(not_a_store(
                    "the file is too short to be an SQLite database".into(),
                )),
            }
        }
    }
}

fn connect_message(e: sqlx::Error, timeout: Duration) -> String {
    match e {
        sqlx::Error::PoolTimedOut => {
            format!("no connection within {} s", timeout.as_secs_f64())
        }
        other => other.to_string(),
    }
}

/// Maps a database error met after connecting.
pub(crate) fn database_error(store: &str, e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => StoreError::Unreachable {
            store: store.to_string(),
            message: e.to_string(),
        },
        other => StoreError::Database {
            store: store.to_string(),
            message: other.to_string(),
        },
    }
}
