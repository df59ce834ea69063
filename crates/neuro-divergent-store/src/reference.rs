//! Model references (`NAME`, `NAME@VERSION`, `NAME@ALIAS`) and the rules for names, aliases
//! and tags.

use std::fmt;

use crate::error::{Result, StoreError};

/// The alias that always means the newest version.
pub const LATEST: &str = "latest";

/// Which version of a model a reference selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The newest version (`NAME` or `NAME@latest`).
    Latest,
    /// One version by number (`NAME@3`).
    Version(i64),
    /// The version an alias points to (`NAME@production`).
    Alias(String),
}

/// A parsed model reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The model name.
    pub name: String,
    /// Which version.
    pub selector: Selector,
}

impl ModelRef {
    /// Parses `NAME`, `NAME@VERSION` or `NAME@ALIAS`.
    pub fn parse(text: &str) -> Result<ModelRef> {
        let (name, selector) = match text.split_once('@') {
            None => (text, Selector::Latest),
            Some((name, "")) => {
                return Err(StoreError::Invalid(format!(
                    "model reference '{text}' ends with '@': give a version number or an alias \
                     after it ({name}@3, {name}@production)"
                )))
            }
            Some((name, selected)) if selected.bytes().all(|b| b.is_ascii_digit()) => {
                let version = selected
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "model reference '{text}': versions are numbered from 1"
                        ))
                    })?;
                (name, Selector::Version(version))
            }
            Some((name, LATEST)) => (name, Selector::Latest),
            Some((name, alias)) => {
                check_alias(alias)?;
                (name, Selector::Alias(alias.to_string()))
            }
        };
        check_name(name)?;
        Ok(ModelRef {
            name: name.to_string(),
            selector,
        })
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Latest => write!(f, "{}", self.name),
            Selector::Version(v) => write!(f, "{}@{v}", self.name),
            Selector::Alias(a) => write!(f, "{}@{a}", self.name),
        }
    }
}

/// Checks a model name: 1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or
/// digit.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid model name '{name}': use 1 to 128 letters, digits, '.', '_' or '-', \
             starting with a letter or digit"
        )))
    }
}

/// Checks an alias: 1 to 64 letters, digits, `_` or `-`, starting with a letter; not `latest`.
pub fn check_alias(alias: &str) -> Result<()> {
    if alias == LATEST {
        return Err(StoreError::Invalid(format!(
            "'{LATEST}' always means the newest version and cannot be set as an alias"
        )));
    }
    let ok = !alias.is_empty()
        && alias.len() <= 64
        && alias.as_bytes()[0].is_ascii_alphabetic()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "invalid alias '{alias}': use 1 to 64 letters, digits, '_' or '-', starting with a \
             letter"
        )))
    }
}

/// Checks a tag: a key of 1 to 128 characters without `=` or control characters, and a value
/// of at most 4096 characters.
pub fn check_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty()
        || key.chars().count() > 128
        || key.contains('=')
        || key.chars().any(char::is_control)
    {
        return Err(StoreError::Invalid(format!(
            "invalid tag key '{key}': use 1 to 128 characters, no '=' or control characters"
        )));
    }
    if value.chars().count() > 4096 {
        return Err(StoreError::Invalid(format!(
            "the value of tag '{key}' is longer than 4096 characters"
        )));
    }
    Ok(())
}

/// Splits `KEY=VALUE` into a checked tag.
pub fn parse_tag(text: &str) -> Result<(String, String)> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| StoreError::Invalid(format!("tag '{text}' is not KEY=VALUE")))?;
    check_tag(key, value)?;
    Ok((key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_to_their_selector() {
        let parse = |t: &str| ModelRef::parse(t).unwrap().selector;
        assert_eq!(parse("air"), Selector::Latest);
        assert_eq!(parse("air@latest"), Selector::Latest);
        assert_eq!(parse("air@12"), Selector::Version(12));
        assert_eq!(
            parse("air@production"),
            Selector::Alias("production".into())
        );
        assert_eq!(
            ModelRef::parse("m4.hourly-v2@staging").unwrap().to_string(),
            "m4.hourly-v2@staging"
        );
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let err = |t: &str| ModelRef::parse(t).unwrap_err().to_string();
        assert!(err("air@").contains("ends with '@'"));
        assert!(err("air@0").contains("numbered from 1"));
        assert!(err("air@99999999999999999999").contains("numbered from 1"));
        assert!(err("air@2x").contains("invalid alias '2x'"));
        assert!(err("").contains("invalid model name ''"));
        assert!(err("../etc@1").contains("invalid model name '../etc'"));
        assert!(err("a b").contains("invalid model name 'a b'"));
        assert!(check_alias("latest").is_err());
        assert!(parse_tag("owner")
            .unwrap_err()
            .to_string()
            .contains("KEY=VALUE"));
        assert_eq!(
            parse_tag("team=ml=ops").unwrap(),
            ("team".into(), "ml=ops".into())
        );
    }
}
