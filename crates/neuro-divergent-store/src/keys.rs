//! API keys of the forecasting service, kept in the store that every node shares.
//!
//! A key is `nd_<id>_<secret>`: a public id (12 hex digits) and a secret (64 hex digits, 32
//! bytes from the operating system's generator). Only the SHA-256 of the secret is stored, so a
//! key is shown once, when it is created; a fast hash is enough because the secret is random,
//! not chosen by a person. Each key has scopes (`forecast`, `publish`) and may be revoked.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::pool::{database_error, with_pool};
use crate::store::{now_ms, ModelStore};
use crate::version::format_time;

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Forecasting and reading the models' records.
    Forecast,
    /// Changing what is served: moving aliases.
    Publish,
}

impl Scope {
    /// Parses `forecast` or `publish`.
    pub fn parse(text: &str) -> Result<Scope> {
        match text.trim() {
            "forecast" => Ok(Scope::Forecast),
            "publish" => Ok(Scope::Publish),
            other => Err(StoreError::Invalid(format!(
                "unknown key scope '{other}': the scopes are forecast and publish"
            ))),
        }
    }

    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Forecast => "forecast",
            Scope::Publish => "publish",
        }
    }
}

/// A key's record; never its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKeyInfo {
    /// The public id (the part after `nd_` of the key).
    pub id: String,
    /// What the key is for, as its creator described it.
    pub label: String,
    /// What the key allows.
    pub scopes: Vec<Scope>,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

impl ApiKeyInfo {
    /// True when the key is not revoked and has `scope`.
    pub fn allows(&self, scope: Scope) -> bool {
        self.revoked_at.is_none() && self.scopes.contains(&scope)
    }
}

/// A key just created: its record and the key itself, which is not stored and cannot be shown
/// again.
pub struct NewApiKey {
    /// The record.
    pub info: ApiKeyInfo,
    /// The key to hand to the client: `nd_<id>_<secret>`.
    pub key: String,
}

const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|e| StoreError::Invalid(format!("cannot draw a random key: {e}")))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(id, secret)` of a key's text, when it has the key's shape.
fn split_key(key: &str) -> Option<(&str, &str)> {
    let (id, secret) = key.trim().strip_prefix("nd_")?.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == 2 * n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, ID_BYTES) && hex(secret, SECRET_BYTES)).then_some((id, secret))
}

/// Equality that takes the same time wherever the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `(id, label, scopes, created_at, revoked_at)` of a key row.
type KeyRow = (String, String, String, i64, Option<i64>);

fn info_from(row: KeyRow) -> ApiKeyInfo {
    let (id, label, scopes, created_at, revoked_at) = row;
    ApiKeyInfo {
        id,
        label,
        scopes: scopes
            .split(',')
            .filter_map(|s| Scope::parse(s).ok())
            .collect(),
        created_at: format_time(created_at),
        revoked_at: revoked_at.map(format_time),
    }
}

impl ModelStore {
    /// Creates a key with `scopes` (at least one) described by `label`.
    pub async fn create_key(&self, label: &str, scopes: &[Scope]) -> Result<NewApiKey> {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(StoreError::Invalid("a key needs at least one scope".into()));
        }
        let id = random_hex(ID_BYTES)?;
        let secret = random_hex(SECRET_BYTES)?;
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let created = now_ms();
        with_pool!(&self.pool, p => sqlx::query(
            "INSERT INTO nd_api_keys (id, secret_sha256, label, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(secret_hash(&secret))
        .bind(label)
        .bind(names.join(","))
        .bind(created)
        .execute(p)
        .await
        .map(|_| ()))
        .map_err(|e| database_error(&self.store, e))?;
        Ok(NewApiKey {
            key: format!("nd_{id}_{secret}"),
            info: ApiKeyInfo {
                id,
                label: label.to_string(),
                scopes,
                created_at: format_time(created),
                revoked_at: None,
            },
        })
    }

    /// Every key, oldest first (keys created in the same millisecond in id order).
    pub async fn list_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        let rows: Vec<KeyRow> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT id, label, scopes, created_at, revoked_at FROM nd_api_keys ORDER BY created_at, id",
        )
        .fetch_all(p)
        .await)
        .map_err(|e| database_error(&self.store, e))?;
        Ok(rows.into_iter().map(info_from).collect())
    }

    /// Revokes the key with public id `id` (the part after `nd_`); revoking twice is harmless.
    pub async fn revoke_key(&self, id: &str) -> Result<()> {
        let id = id.trim().trim_start_matches("nd_");
        let changed = with_pool!(&self.pool, p => sqlx::query(
            "UPDATE nd_api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(now_ms())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| database_error(&self.store, e))?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!(
                "model store {} has no API key '{id}'",
                self.store
            )));
        }
        Ok(())
    }

    /// The record of `key` when it is a key of this store with the right secret (revoked or
    /// not: check [`ApiKeyInfo::allows`]); `None` for anything else.
    pub async fn check_key(&self, key: &str) -> Result<Option<ApiKeyInfo>> {
        let Some((id, secret)) = split_key(key) else {
            return Ok(None);
        };
        let row: Option<(String, String, String, String, i64, Option<i64>)> = with_pool!(&self.pool, p => sqlx::query_as(
            "SELECT secret_sha256, id, label, scopes, created_at, revoked_at FROM nd_api_keys WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(p)
        .await)
        .map_err(|e| database_error(&self.store, e))?;
        Ok(row.and_then(|(hash, id, label, scopes, created, revoked)| {
            same(&hash, &secret_hash(secret))
                .then(|| info_from((id, label, scopes, created, revoked)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_one_shape() {
        let id = "a".repeat(12);
        let secret = "0".repeat(64);
        assert_eq!(
            split_key(&format!("nd_{id}_{secret}")),
            Some((id.as_str(), secret.as_str()))
        );
        assert_eq!(split_key(&format!("nd_{id}_{}", &secret[1..])), None);
        assert_eq!(split_key(&format!("xx_{id}_{secret}")), None);
        assert_eq!(split_key(&format!("nd_{id}_{}g", &secret[1..])), None);
        assert_eq!(split_key(""), None);
    }

    #[test]
    fn scopes_parse_and_compare() {
        assert_eq!(Scope::parse("forecast").unwrap(), Scope::Forecast);
        assert!(Scope::parse("admin")
            .unwrap_err()
            .to_string()
            .contains("unknown key scope 'admin'"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
