//! Recent forecast responses, keyed by the model version and a hash of the request, least
//! recently used evicted first once their bodies pass a size in bytes.

use std::sync::Mutex;

use lru::LruCache;
use sha2::{Digest, Sha256};

/// A response body, its content type and the warnings its forecasts carry.
#[derive(Clone)]
pub struct CachedReply {
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: bytes::Bytes,
    /// The forecasts' warnings (sent as headers too, for bodies such as CSV that cannot hold
    /// them).
    pub warnings: std::sync::Arc<[String]>,
}

/// The cache key of a request: SHA-256 of the version, the response type and the body.
pub type ReplyKey = [u8; 32];

/// Computes the key of a request for `name@version` answered as `content_type`.
pub fn reply_key(name: &str, version: i64, content_type: &str, body: &[u8]) -> ReplyKey {
    let mut hash = Sha256::new();
    for part in [
        name.as_bytes(),
        &version.to_le_bytes(),
        content_type.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.update(body);
    hash.finalize().into()
}

/// The cache.
pub struct ResponseCache {
    entries: Mutex<Entries>,
    limit_bytes: usize,
}

struct Entries {
    lru: LruCache<ReplyKey, CachedReply>,
    bytes: usize,
}

impl ResponseCache {
    /// A cache holding up to `limit_bytes` of response bodies (0 turns it off).
    pub fn new(limit_bytes: usize) -> ResponseCache {
        ResponseCache {
            entries: Mutex::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            limit_bytes,
        }
    }

    /// True when the cache keeps anything.
    pub fn enabled(&self) -> bool {
        self.limit_bytes > 0
    }

    /// The reply kept for `key`, if any.
    pub fn get(&self, key: &ReplyKey) -> Option<CachedReply> {
        self.entries.lock().ok()?.lru.get(key).cloned()
    }

    /// Keeps `reply` for `key`, evicting the least recently used replies beyond the size limit;
    /// a reply larger than the whole cache is not kept.
    pub fn insert(&self, key: ReplyKey, reply: CachedReply) {
        let size = reply.body.len();
        if size > self.limit_bytes {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if let Some(old) = entries.lru.put(key, reply) {
            entries.bytes -= old.body.len();
        }
        entries.bytes += size;
        while entries.bytes > self.limit_bytes {
            match entries.lru.pop_lru() {
                Some((_, evicted)) => entries.bytes -= evicted.body.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(n: usize) -> CachedReply {
        CachedReply {
            content_type: "application/json",
            body: bytes::Bytes::from(vec![b'x'; n]),
            warnings: Vec::new().into(),
        }
    }

    #[test]
    fn evicts_least_recently_used_beyond_the_byte_limit() {
        let cache = ResponseCache::new(250);
        let keys: Vec<ReplyKey> = (0..3)
            .map(|i| reply_key("air", i, "application/json", b"{}"))
            .collect();
        cache.insert(keys[0], reply(100));
        cache.insert(keys[1], reply(100));
        assert!(
            cache.get(&keys[0]).is_some(),
            "touch 0 so that 1 is the oldest"
        );
        cache.insert(keys[2], reply(100));
        assert!(cache.get(&keys[1]).is_none());
        assert!(cache.get(&keys[0]).is_some());
        assert!(cache.get(&keys[2]).is_some());
        cache.insert(keys[1], reply(300));
        assert!(cache.get(&keys[1]).is_none(), "larger than the whole cache");
    }

    #[test]
    fn keys_separate_versions_types_and_bodies() {
        let a = reply_key("air", 1, "application/json", b"{}");
        assert_ne!(a, reply_key("air", 2, "application/json", b"{}"));
        assert_ne!(a, reply_key("air", 1, "text/csv", b"{}"));
        assert_ne!(a, reply_key("air", 1, "application/json", b"{ }"));
        assert_ne!(reply_key("ai", 11, "", b""), reply_key("air", 1, "", b""));
    }
}
