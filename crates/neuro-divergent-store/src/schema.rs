//! The store's tables, created and migrated when a store is opened, and the checks that refuse a
//! database that is not a store or is newer than this library.
//!
//! `nd_store` records the schema version. Migrations run in one transaction that holds the
//! database's write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so nodes that
//! open a new store at the same time create it once.

use crate::error::{Result, StoreError};
use crate::pool::{database_error, with_pool, Pool};

/// The newest schema version this library reads and writes.
pub const SCHEMA_VERSION: i64 = 2;

/// The scripts that take a store from version `i` to `i + 1`; `{blob}` is the backend's type
/// of byte strings.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    r#"
CREATE TABLE nd_models (
    name TEXT PRIMARY KEY,
    next_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE nd_versions (
    name TEXT NOT NULL REFERENCES nd_models (name),
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    library_version TEXT NOT NULL,
    model_names TEXT NOT NULL,
    params TEXT NOT NULL,
    data TEXT,
    scores TEXT NOT NULL,
    manifest {blob} NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    weights {blob} NOT NULL,
    weights_sha256 TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE nd_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES nd_versions (name, version)
);
CREATE TABLE nd_tags (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES nd_versions (name, version)
);
"#,
    r#"
CREATE TABLE nd_api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    label TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
"#,
];

/// Key of the schema version in `nd_store`.
const VERSION_KEY: &str = "schema_version";

/// Creates or migrates the store's tables, or says why the database cannot be one. `create`
/// allows making the tables in an empty SQLite database (PostgreSQL databases are always
/// initialised: they are made by an administrator for the store).
pub(crate) async fn prepare(pool: &Pool, store: &str, create: bool) -> Result<()> {
    let tables = list_tables(pool, store).await?;
    if tables.iter().any(|t| t == "nd_store") {
        let found = read_version(pool, store).await?;
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        check_not_newer(store, found)?;
    } else if let Pool::Sqlite(_) = pool {
        if !tables.is_empty() {
            return Err(StoreError::NotAStore {
                store: store.to_string(),
                message: format!(
                    "the database holds other tables ({}) and none of a model store",
                    tables.join(", ")
                ),
            });
        }
        if !create {
            return Err(StoreError::NotAStore {
                store: store.to_string(),
                message: "the database is empty".into(),
            });
        }
    }
    migrate(pool, store).await
}

fn check_not_newer(store: &str, found: i64) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            store: store.to_string(),
            found,
            supported: SCHEMA_VERSION,
            library: env!("CARGO_PKG_VERSION").to_string(),
        });
    }
    Ok(())
}

async fn list_tables(pool: &Pool, store: &str) -> Result<Vec<String>> {
    let sql = match pool {
        Pool::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Pool::Postgres(_) => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1"
        }
    };
    let rows: Vec<(String,)> = with_pool!(pool, p => sqlx::query_as(sql).fetch_all(p).await)
        .map_err(|e| match e {
            sqlx::Error::Database(db) => StoreError::NotAStore {
                store: store.to_string(),
                message: db.message().to_string(),
            },
            other => database_error(store, other),
        })?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

async fn read_version(pool: &Pool, store: &str) -> Result<i64> {
    let sql = "SELECT value FROM nd_store WHERE key = $1";
    let row: Option<(String,)> =
        with_pool!(pool, p => sqlx::query_as(sql).bind(VERSION_KEY).fetch_optional(p).await)
            .map_err(|e| database_error(store, e))?;
    parse_version(store, row)
}

fn parse_version(store: &str, row: Option<(String,)>) -> Result<i64> {
    let text = row.map(|(v,)| v).unwrap_or_else(|| "0".into());
    text.parse().map_err(|_| StoreError::NotAStore {
        store: store.to_string(),
        message: format!("its schema version '{text}' is not a number"),
    })
}

/// Applies the missing migrations in one transaction holding the write lock.
async fn migrate(pool: &Pool, store: &str) -> Result<()> {
    let db = |e| database_error(store, e);
    let (begin, lock, blob) = match pool {
        Pool::Sqlite(_) => ("BEGIN IMMEDIATE", None, "BLOB"),
        Pool::Postgres(_) => (
            "BEGIN",
            // Any constant: the store's lock among the database's advisory locks.
            Some("SELECT pg_advisory_xact_lock(7236091834)"),
            "BYTEA",
        ),
    };
    with_pool!(pool, p => {
        let mut tx = p.begin_with(begin).await.map_err(db)?;
        if let Some(lock) = lock {
            sqlx::query(lock).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS nd_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM nd_store WHERE key = $1")
            .bind(VERSION_KEY)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let found = parse_version(store, row)?;
        check_not_newer(store, found)?;
        for script in &MIGRATIONS[found as usize..] {
            sqlx::raw_sql(&script.replace("{blob}", blob))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(
            "INSERT INTO nd_store (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(VERSION_KEY)
        .bind(SCHEMA_VERSION.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
    });
    if let Pool::Sqlite(p) = pool {
        // Readers never wait for a publisher, and a commit is durable once it returns
        // (with synchronous = FULL, set on every connection).
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(p)
            .await
            .map_err(db)?;
    }
    Ok(())
}
