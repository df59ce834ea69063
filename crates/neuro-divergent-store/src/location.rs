//! Store addresses: `sqlite:PATH` (one file, no server) or `postgres://USER@HOST:PORT/DB`.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use crate::error::{Result, StoreError};

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its connection URL.
    Postgres(String),
}

const EXPECTED: &str =
    "expected sqlite:PATH (a file) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

impl Location {
    /// Parses a store address.
    pub fn parse(url: &str) -> Result<Location> {
        let bad = |message: String| StoreError::Url {
            url: redact(url),
            message,
        };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad(format!("the file name is missing; {EXPECTED}")));
            }
            if path == ":memory:" || path.contains("mode=memory") {
                return Err(bad(
                    "an in-memory database keeps nothing after the process ends; name a file"
                        .into(),
                ));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            return Ok(Location::Postgres(url.to_string()));
        }
        Err(bad(EXPECTED.to_string()))
    }

    /// The address for messages, without a password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite:{}", path.display()),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// `url` with the password (between `user:` and `@`) replaced by `***`.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..start + colon], &url[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_and_rejects_the_rest() {
        assert_eq!(
            Location::parse("sqlite:models.db").unwrap(),
            Location::Sqlite("models.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/m.db").unwrap(),
            Location::Sqlite("/tmp/m.db".into())
        );
        assert!(matches!(
            Location::parse("postgresql://nd@127.0.0.1:5432/models").unwrap(),
            Location::Postgres(_)
        ));
        for bad in ["", "models.db", "mysql://x/y", "sqlite:", "sqlite::memory:"] {
            let err = Location::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid store address"), "{bad}: {err}");
        }
        let err = Location::parse("postgres://nd:secret@127.0.0.1:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret") && err.contains("nd:***@"), "{err}");
    }

    #[test]
    fn display_hides_the_password() {
        let at = Location::parse("postgres://nd:s3cret@db.local:5432/models").unwrap();
        assert_eq!(at.display(), "postgres://nd:***@db.local:5432/models");
        let at = Location::parse("postgres://nd@db.local/models").unwrap();
        assert_eq!(at.display(), "postgres://nd@db.local/models");
    }
}
