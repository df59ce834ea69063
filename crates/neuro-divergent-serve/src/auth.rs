//! API keys on the HTTP API (`ServeConfig::auth`): a request carries `Authorization: Bearer
//! nd_…` (or `x-api-key: nd_…`) and its key must have the scope the route needs: 401 without a
//! valid key, 403 without the scope. Checked keys are remembered for the refresh interval, so a
//! revocation reaches every node within that time, and while the store cannot be reached the
//! keys already seen keep working.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use neuro_divergent_store::{ApiKeyInfo, ModelStore, Scope};
use sha2::{Digest, Sha256};

use crate::api_error::ApiError;

/// Most keys remembered; past it the expired ones are dropped, then all.
const REMEMBERED: usize = 10_000;

/// A key's record as last checked (`None`: not a key of the store) and when.
type Checked = (Option<ApiKeyInfo>, Instant);

/// The key checks of one node.
pub struct Keys {
    store: ModelStore,
    ttl: Duration,
    checked: Mutex<HashMap<[u8; 32], Checked>>,
}

impl Keys {
    /// Checks keys in `store`, remembering each answer for `ttl`.
    pub fn new(store: ModelStore, ttl: Duration) -> Keys {
        Keys {
            store,
            ttl,
            checked: Mutex::new(HashMap::new()),
        }
    }

    /// Succeeds when the request's key allows `scope`.
    pub async fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<(), ApiError> {
        let key = presented_key(headers).ok_or_else(|| {
            ApiError::unauthorized(
                "this server needs an API key: send 'Authorization: Bearer nd_…'".into(),
            )
        })?;
        let info = self.check(key).await?;
        match info {
            None => Err(ApiError::unauthorized("the API key is not valid".into())),
            Some(info) if info.revoked_at.is_some() => Err(ApiError::unauthorized(format!(
                "the API key {} was revoked",
                info.id
            ))),
            Some(info) if !info.allows(scope) => Err(ApiError::forbidden(format!(
                "the API key {} does not have the '{}' scope",
                info.id,
                scope.as_str()
            ))),
            Some(_) => Ok(()),
        }
    }

    async fn check(&self, key: &str) -> Result<Option<ApiKeyInfo>, ApiError> {
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let remembered = self.checked.lock().ok().and_then(|c| c.get(&hash).cloned());
        if let Some((info, at)) = &remembered {
            if at.elapsed() < self.ttl {
                return Ok(info.clone());
            }
        }
        match self.store.check_key(key).await {
            Ok(info) => {
                self.remember(hash, info.clone());
                Ok(info)
            }
            // The store is unreachable: a key seen before keeps its last answer.
            Err(error) => match remembered {
                Some((info, _)) => Ok(info),
                None => Err(ApiError::from(error)),
            },
        }
    }

    fn remember(&self, hash: [u8; 32], info: Option<ApiKeyInfo>) {
        let Ok(mut checked) = self.checked.lock() else {
            return;
        };
        if checked.len() >= REMEMBERED {
            let ttl = self.ttl;
            checked.retain(|_, (_, at)| at.elapsed() < ttl);
            if checked.len() >= REMEMBERED {
                checked.clear();
            }
        }
        checked.insert(hash, (info, Instant::now()));
    }
}

/// The key of `Authorization: Bearer KEY` or `x-api-key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}
