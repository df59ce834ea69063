//! [`ModelStore`]: publish, load, list, alias, tag and delete versions of fitted models.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use neuro_divergent::checkpoint::CheckpointBytes;
use neuro_divergent::NeuralForecast;
use sha2::{Digest, Sha256};

use crate::changes::notify_statement;
use crate::error::{Result, StoreError};
use crate::location::Location;
use crate::pool::{connect, database_error, with_pool, Pool};
use crate::reference::{check_alias, check_name, check_tag, ModelRef, Selector};
use crate::schema;
use crate::version::{
    fit_scores, get, info_from_row, LoadedModel, PublishOptions, VersionInfo, INFO_COLUMNS,
};

/// How to open a store.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Create a missing SQLite file (and the tables in an empty database).
    pub create: bool,
    /// How long to wait for a connection or a lock before giving up.
    pub timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A versioned store of fitted models in SQLite (`sqlite:PATH`) or PostgreSQL
/// (`postgres://…`).
///
/// Every version is immutable once published: its manifest and weights are kept as bytes with
/// their SHA-256, verified on every load. Versions are numbered per model name inside the
/// publishing transaction, so concurrent publishers on any number of nodes get distinct
/// numbers. Aliases (`production`, `staging`, …) point to versions and move atomically.
#[derive(Clone)]
pub struct ModelStore {
    pub(crate) pool: Pool,
    pub(crate) store: String,
}

impl ModelStore {
    /// Opens (creating it when missing) the store at `url`.
    pub async fn open(url: &str) -> Result<ModelStore> {
        Self::open_with(url, OpenOptions::default()).await
    }

    /// Opens the store at `url` with `options`.
    pub async fn open_with(url: &str, options: OpenOptions) -> Result<ModelStore> {
        let location = Location::parse(url)?;
        let store = location.display();
        let pool = connect(&location, options.create, options.timeout).await?;
        schema::prepare(&pool, &store, options.create).await?;
        Ok(ModelStore { pool, store })
    }

    /// The store's address, without a password.
    pub fn address(&self) -> &str {
        &self.store
    }

    /// Checks that the database answers (one trivial query).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(&self.pool, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
            .map_err(|e| database_error(&self.store, e))
    }

    /// Closes the store's connections.
    pub async fn close(self) {
        with_pool!(&self.pool, p => p.close().await)
    }

    /// Publishes the fitted models in `forecaster` as the next version of `name`, with the
    /// scores of its fit and those of `options`, in one transaction.
    pub async fn publish(
        &self,
        forecaster: &NeuralForecast,
        name: &str,
        options: &PublishOptions,
    ) -> Result<VersionInfo> {
        check_name(name)?;
        for alias in &options.aliases {
            check_alias(alias)?;
        }
        for (key, value) in &options.tags {
            check_tag(key, value)?;
        }
        let bytes = forecaster.to_checkpoint_bytes()?;
        let mut scores = fit_scores(forecaster);
        scores.extend(options.scores.clone());
        let record = NewVersion {
            model_names: json(forecaster.model_names()),
            params: json(forecaster.specs()),
            data: forecaster.training_data().map(json),
            scores: json(&scores),
            manifest_sha256: sha256_hex(&bytes.manifest),
            weights_sha256: sha256_hex(&bytes.weights),
            bytes,
        };
        let now = now_ms();
        let db = |e| database_error(&self.store, e);
        let version: i64 = with_pool!(&self.pool, p => {
            let mut tx = p.begin_with(self.begin_write()).await.map_err(db)?;
            let (version,): (i64,) = sqlx::query_as(
                "INSERT INTO nd_models (name, next_version, created_at) VALUES ($1, 2, $2) \
                 ON CONFLICT (name) DO UPDATE SET next_version = nd_models.next_version + 1 \
                 RETURNING next_version - 1",
            )
            .bind(name)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            sqlx::query(
                "INSERT INTO nd_versions (name, version, created_at, library_version, \
                 model_names, params, data, scores, manifest, manifest_sha256, weights, \
                 weights_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(name)
            .bind(version)
            .bind(now)
            .bind(env!("CARGO_PKG_VERSION"))
            .bind(&record.model_names)
            .bind(&record.params)
            .bind(&record.data)
            .bind(&record.scores)
            .bind(&record.bytes.manifest)
            .bind(&record.manifest_sha256)
            .bind(&record.bytes.weights)
            .bind(&record.weights_sha256)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for (key, value) in &options.tags {
                sqlx::query(UPSERT_TAG)
                    .bind(name)
                    .bind(version)
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            for alias in &options.aliases {
                sqlx::query(UPSERT_ALIAS)
                    .bind(name)
                    .bind(alias)
                    .bind(version)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            if let Some(notify) = notify_statement(&self.pool) {
                sqlx::query(notify).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            version
        });
        self.info(name, version).await
    }

    /// Loads the version `reference` names (`NAME`, `NAME@VERSION`, `NAME@ALIAS`), verifying
    /// its checksums. An alias is resolved and its version read in one statement, so a
    /// concurrent move gives either the old version or the new one, whole.
    pub async fn load(&self, reference: &str) -> Result<LoadedModel> {
        let reference = ModelRef::parse(reference)?;
        let name = reference.name.as_str();
        let columns = format!("{INFO_COLUMNS}, v.manifest, v.manifest_sha256, v.weights");
        let db = |e| database_error(&self.store, e);
        let found = with_pool!(&self.pool, p => {
            let row = match &reference.selector {
                Selector::Latest => sqlx::query(&format!(
                    "SELECT {columns} FROM nd_versions v WHERE v.name = $1 \
                     ORDER BY v.version DESC LIMIT 1"
                ))
                .bind(name)
                .fetch_optional(p)
                .await,
                Selector::Version(version) => sqlx::query(&format!(
                    "SELECT {columns} FROM nd_versions v WHERE v.name = $1 AND v.version = $2"
                ))
                .bind(name)
                .bind(*version)
                .fetch_optional(p)
                .await,
                Selector::Alias(alias) => sqlx::query(&format!(
                    "SELECT {columns} FROM nd_aliases a JOIN nd_versions v \
                     ON v.name = a.name AND v.version = a.version \
                     WHERE a.name = $1 AND a.alias = $2"
                ))
                .bind(name)
                .bind(alias)
                .fetch_optional(p)
                .await,
            }
            .map_err(db)?;
            match row {
                Some(row) => Some((
                    info_from_row(&row, &self.store)?,
                    CheckpointBytes {
                        manifest: get(&row, "manifest", &self.store)?,
                        weights: get(&row, "weights", &self.store)?,
                    },
                    get::<_, String>(&row, "manifest_sha256", &self.store)?,
                )),
                None => None,
            }
        });
        let Some((mut info, bytes, manifest_sha256)) = found else {
            return Err(self.not_found(&reference).await);
        };
        let corrupt = |message: String| StoreError::Corrupt {
            store: self.store.clone(),
            name: info.name.clone(),
            version: info.version,
            message,
        };
        if sha256_hex(&bytes.manifest) != manifest_sha256 {
            return Err(corrupt("the manifest does not match its checksum".into()));
        }
        if sha256_hex(&bytes.weights) != info.weights_sha256 {
            return Err(corrupt("the weights do not match their checksum".into()));
        }
        let origin = format!("{}@{}", info.name, info.version);
        let forecaster = NeuralForecast::from_checkpoint_bytes(&bytes, Path::new(&origin))
            .map_err(|e| corrupt(e.to_string()))?;
        self.add_labels(std::slice::from_mut(&mut info)).await?;
        Ok(LoadedModel { forecaster, info })
    }

    /// The record of the version `reference` names.
    pub async fn show(&self, reference: &str) -> Result<VersionInfo> {
        let reference = ModelRef::parse(reference)?;
        let version = self.resolve(&reference).await?;
        self.info(&reference.name, version).await
    }

    /// The version number `reference` names.
    pub async fn resolve(&self, reference: &ModelRef) -> Result<i64> {
        let name = reference.name.as_str();
        let db = |e| database_error(&self.store, e);
        let found: Option<i64> = with_pool!(&self.pool, p => match &reference.selector {
            Selector::Latest => {
                sqlx::query_as::<_, (Option<i64>,)>(
                    "SELECT MAX(version) FROM nd_versions WHERE name = $1",
                )
                .bind(name)
                .fetch_one(p)
                .await
                .map(|(v,)| v)
            }
            Selector::Version(version) => {
                sqlx::query_as::<_, (i64,)>(
                    "SELECT version FROM nd_versions WHERE name = $1 AND version = $2",
                )
                .bind(name)
                .bind(*version)
                .fetch_optional(p)
                .await
                .map(|r| r.map(|(v,)| v))
            }
            Selector::Alias(alias) => {
                sqlx::query_as::<_, (i64,)>(
                    "SELECT version FROM nd_aliases WHERE name = $1 AND alias = $2",
                )
                .bind(name)
                .bind(alias)
                .fetch_optional(p)
                .await
                .map(|r| r.map(|(v,)| v))
            }
        })
        .map_err(db)?;
        match found {
            Some(version) => Ok(version),
            None => Err(self.not_found(reference).await),
        }
    }

    /// Every version of `name`, or of every model when `name` is None, by name and version.
    pub async fn list(&self, name: Option<&str>) -> Result<Vec<VersionInfo>> {
        if let Some(name) = name {
            check_name(name)?;
        }
        let db = |e| database_error(&self.store, e);
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM nd_versions v WHERE $1 IS NULL OR v.name = $1 \
             ORDER BY v.name, v.version"
        );
        let mut infos = with_pool!(&self.pool, p => {
            let rows = sqlx::query(&sql).bind(name).fetch_all(p).await.map_err(db)?;
            rows.iter()
                .map(|row| info_from_row(row, &self.store))
                .collect::<Result<Vec<_>>>()?
        });
        if infos.is_empty() {
            if let Some(name) = name {
                return Err(StoreError::UnknownModel {
                    store: self.store.clone(),
                    name: name.to_string(),
                });
            }
        }
        self.add_labels(&mut infos).await?;
        Ok(infos)
    }

    /// Points `alias` of model `name` at `version` (creating or moving it) in one statement;
    /// returns the version it pointed to before, if any.
    pub async fn set_alias(&self, name: &str, alias: &str, version: i64) -> Result<Option<i64>> {
        check_name(name)?;
        check_alias(alias)?;
        let db = |e| database_error(&self.store, e);
        let reference = ModelRef {
            name: name.to_string(),
            selector: Selector::Version(version),
        };
        let previous = with_pool!(&self.pool, p => {
            let mut tx = p.begin_with(self.begin_write()).await.map_err(db)?;
            if let Some(lock) = self.lock_model() {
                sqlx::query(lock).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM nd_versions WHERE name = $1 AND version = $2")
                    .bind(name)
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            if exists.is_none() {
                drop(tx);
                return Err(self.not_found(&reference).await);
            }
            let previous: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM nd_aliases WHERE name = $1 AND alias = $2")
                    .bind(name)
                    .bind(alias)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
            sqlx::query(UPSERT_ALIAS)
                .bind(name)
                .bind(alias)
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            if let Some(notify) = notify_statement(&self.pool) {
                sqlx::query(notify).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            previous.map(|(v,)| v)
        });
        Ok(previous)
    }

    /// Removes `alias` of model `name`.
    pub async fn remove_alias(&self, name: &str, alias: &str) -> Result<()> {
        check_name(name)?;
        check_alias(alias)?;
        let db = |e| database_error(&self.store, e);
        let removed = with_pool!(&self.pool, p => {
            let mut tx = p.begin_with(self.begin_write()).await.map_err(db)?;
            let removed = sqlx::query("DELETE FROM nd_aliases WHERE name = $1 AND alias = $2")
                .bind(name)
                .bind(alias)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if let Some(notify) = notify_statement(&self.pool) {
                sqlx::query(notify).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            removed
        });
        if removed == 0 {
            return Err(self
                .not_found(&ModelRef {
                    name: name.to_string(),
                    selector: Selector::Alias(alias.to_string()),
                })
                .await);
        }
        Ok(())
    }

    /// Sets tags on a version (replacing the values of keys it has) and removes the tags
    /// `remove` names.
    pub async fn tag(
        &self,
        reference: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<VersionInfo> {
        for (key, value) in set {
            check_tag(key, value)?;
        }
        let reference = ModelRef::parse(reference)?;
        let version = self.resolve(&reference).await?;
        let name = reference.name.as_str();
        let db = |e| database_error(&self.store, e);
        with_pool!(&self.pool, p => {
            let mut tx = p.begin_with(self.begin_write()).await.map_err(db)?;
            for key in remove {
                sqlx::query("DELETE FROM nd_tags WHERE name = $1 AND version = $2 AND key = $3")
                    .bind(name)
                    .bind(version)
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            for (key, value) in set {
                sqlx::query(UPSERT_TAG)
                .bind(name)
                .bind(version)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
        });
        self.info(name, version).await
    }

    /// Deletes version `version` of `name`. Refused while an alias points to it, unless `force`
    /// (which removes those aliases too). Version numbers are never reused.
    pub async fn delete(&self, name: &str, version: i64, force: bool) -> Result<()> {
        check_name(name)?;
        let db = |e| database_error(&self.store, e);
        let reference = ModelRef {
            name: name.to_string(),
            selector: Selector::Version(version),
        };
        with_pool!(&self.pool, p => {
            let mut tx = p.begin_with(self.begin_write()).await.map_err(db)?;
            if let Some(lock) = self.lock_model() {
                sqlx::query(lock).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            let aliases: Vec<(String,)> = sqlx::query_as(
                "SELECT alias FROM nd_aliases WHERE name = $1 AND version = $2 ORDER BY alias",
            )
            .bind(name)
            .bind(version)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            if !aliases.is_empty() && !force {
                let list: Vec<String> = aliases.into_iter().map(|(a,)| a).collect();
                return Err(StoreError::Conflict {
                    store: self.store.clone(),
                    message: format!(
                        "version {version} of model '{name}' is what alias(es) {} point to: \
                         move them to another version first, or force the deletion",
                        list.join(", ")
                    ),
                });
            }
            for sql in [
                "DELETE FROM nd_aliases WHERE name = $1 AND version = $2",
                "DELETE FROM nd_tags WHERE name = $1 AND version = $2",
            ] {
                sqlx::query(sql).bind(name).bind(version).execute(&mut *tx).await.map_err(db)?;
            }
            let deleted = sqlx::query("DELETE FROM nd_versions WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if deleted == 0 {
                drop(tx);
                return Err(self.not_found(&reference).await);
            }
            if let Some(notify) = notify_statement(&self.pool) {
                sqlx::query(notify).bind(name).execute(&mut *tx).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
        });
        Ok(())
    }

    /// The record of version `version` of `name`.
    async fn info(&self, name: &str, version: i64) -> Result<VersionInfo> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM nd_versions v WHERE v.name = $1 AND v.version = $2"
        );
        let found = with_pool!(&self.pool, p => {
            let row = sqlx::query(&sql)
                .bind(name)
                .bind(version)
                .fetch_optional(p)
                .await
                .map_err(|e| database_error(&self.store, e))?;
            row.map(|row| info_from_row(&row, &self.store)).transpose()?
        });
        let Some(info) = found else {
            return Err(self
                .not_found(&ModelRef {
                    name: name.to_string(),
                    selector: Selector::Version(version),
                })
                .await);
        };
        let mut infos = [info];
        self.add_labels(&mut infos).await?;
        let [info] = infos;
        Ok(info)
    }

    /// Fills in the tags and aliases of `infos`.
    async fn add_labels(&self, infos: &mut [VersionInfo]) -> Result<()> {
        let db = |e| database_error(&self.store, e);
        let names: Vec<&str> = {
            let mut names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
            names.dedup();
            names
        };
        let mut tags: BTreeMap<(String, i64), BTreeMap<String, String>> = BTreeMap::new();
        let mut aliases: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
        for name in names {
            let (tag_rows, alias_rows): (Vec<TagRow>, Vec<AliasRow>) = with_pool!(&self.pool, p => (
                sqlx::query_as("SELECT version, key, value FROM nd_tags WHERE name = $1")
                    .bind(name)
                    .fetch_all(p)
                    .await
                    .map_err(db)?,
                sqlx::query_as(
                    "SELECT version, alias FROM nd_aliases WHERE name = $1 ORDER BY alias",
                )
                .bind(name)
                .fetch_all(p)
                .await
                .map_err(db)?,
            ));
            for (version, key, value) in tag_rows {
                tags.entry((name.to_string(), version))
                    .or_default()
                    .insert(key, value);
            }
            for (version, alias) in alias_rows {
                aliases
                    .entry((name.to_string(), version))
                    .or_default()
                    .push(alias);
            }
        }
        for info in infos {
            let key = (info.name.clone(), info.version);
            info.tags = tags.remove(&key).unwrap_or_default();
            info.aliases = aliases.remove(&key).unwrap_or_default();
        }
        Ok(())
    }

    /// The error for a reference that matched nothing: unknown model, version or alias.
    async fn not_found(&self, reference: &ModelRef) -> StoreError {
        let name = reference.name.clone();
        let store = self.store.clone();
        let known: std::result::Result<Option<(i64,)>, sqlx::Error> = with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT COUNT(*) FROM nd_versions WHERE name = $1 HAVING COUNT(*) > 0")
                .bind(&name)
                .fetch_optional(p)
                .await
        });
        match (known, &reference.selector) {
            (Err(e), _) => database_error(&self.store, e),
            (Ok(None), _) | (Ok(Some(_)), Selector::Latest) => {
                StoreError::UnknownModel { store, name }
            }
            (Ok(Some(_)), Selector::Version(version)) => StoreError::UnknownVersion {
                store,
                name,
                version: *version,
            },
            (Ok(Some(_)), Selector::Alias(alias)) => StoreError::UnknownAlias {
                store,
                name,
                alias: alias.clone(),
            },
        }
    }

    /// The statement that starts a writing transaction: SQLite takes the database's write lock
    /// at once (so a transaction that reads first cannot fail to upgrade later).
    fn begin_write(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "BEGIN IMMEDIATE",
            Pool::Postgres(_) => "BEGIN",
        }
    }

    /// The statement (`$1`: the name) that serialises writers of one model inside a writing
    /// transaction; none for SQLite, whose `BEGIN IMMEDIATE` already locks the database.
    fn lock_model(&self) -> Option<&'static str> {
        match self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(_) => {
                Some("SELECT next_version FROM nd_models WHERE name = $1 FOR UPDATE")
            }
        }
    }
}

/// Sets a tag: `$1` name, `$2` version, `$3` key, `$4` value.
const UPSERT_TAG: &str = "INSERT INTO nd_tags (name, version, key, value) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value";

/// Creates or moves an alias: `$1` name, `$2` alias, `$3` version, `$4` time.
const UPSERT_ALIAS: &str = "INSERT INTO nd_aliases (name, alias, version, updated_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (name, alias) \
     DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at";

/// `(version, key, value)` of a tag.
type TagRow = (i64, String, String);
/// `(version, alias)`.
type AliasRow = (i64, String);

/// A version about to be written.
struct NewVersion {
    model_names: String,
    params: String,
    data: Option<String>,
    scores: String,
    manifest_sha256: String,
    weights_sha256: String,
    bytes: CheckpointBytes,
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("store records serialise to JSON")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Milliseconds since 1970-01-01 UTC, the store's time stamps.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
