//! Checks on the rows of a panel; every message names the source and, where one applies, the
//! line, series, column and offending value.

use super::{Freq, Timestamp};
use crate::error::{Error, Result};

/// Where a row came from: its 1-based line (or row of a columnar source) and its series.
#[derive(Clone, Debug)]
pub(crate) struct RowRef {
    /// 1-based line in the file (or record index for in-memory rows).
    pub line: u64,
    /// The series id of the row.
    pub id: String,
    /// The row's `ds`.
    pub ds: Timestamp,
}

/// Prefixes the message of a data or configuration error with `context`.
pub(crate) fn in_context(err: Error, context: &str) -> Error {
    match err {
        Error::Data(m) => Error::Data(format!("{context}: {m}")),
        Error::Config(m) => Error::Config(format!("{context}: {m}")),
        other => other,
    }
}

/// Rejects an empty (or blank) `unique_id`.
pub(crate) fn check_id(source: &str, unit: &str, line: u64, id: &str) -> Result<()> {
    // Most ids start with a visible ASCII character: no need to trim them.
    let visible = id.as_bytes().first().is_some_and(|b| b.is_ascii_graphic());
    if !visible && id.trim().is_empty() {
        return Err(Error::Data(format!(
            "{source}: {unit} {line}: column 'unique_id' is empty; every row needs a series id"
        )));
    }
    Ok(())
}

/// Rejects NaN, infinite and out-of-range values of a numeric column.
pub(crate) fn check_finite(
    source: &str,
    unit: &str,
    line: u64,
    id: &str,
    column: &str,
    v: f64,
) -> Result<()> {
    let why = if !v.is_finite() {
        BadNumber::NonFinite
    } else if !fits_f32(v) {
        BadNumber::BeyondF32
    } else {
        return Ok(());
    };
    Err(bad_number(
        source,
        (unit, line),
        id,
        column,
        &v.to_string(),
        why,
    ))
}

/// True when `v` stays finite as the 32-bit float the models compute in.
pub(crate) fn fits_f32(v: f64) -> bool {
    (v as f32).is_finite()
}

/// What is wrong with a finite value too large for a 32-bit float.
pub(crate) const BEYOND_F32: &str =
    "beyond the range of 32-bit floats the models compute in (about ±3.4e38)";

/// Why a numeric cell is refused.
#[derive(Clone, Copy)]
pub(crate) enum BadNumber {
    /// NaN or infinite.
    NonFinite,
    /// Finite, but beyond a 32-bit float's range.
    BeyondF32,
}

/// The message for a refused numeric cell at `unit` `line`, showing its value as `shown`.
pub(crate) fn bad_number(
    source: &str,
    (unit, line): (&str, u64),
    id: &str,
    column: &str,
    shown: &str,
    why: BadNumber,
) -> Error {
    let problem = match why {
        BadNumber::NonFinite => {
            "; NaN and infinite values are not allowed (drop or fill missing values first)"
                .to_string()
        }
        BadNumber::BeyondF32 => format!(", which is {BEYOND_F32}; rescale the column"),
    };
    Error::Data(format!(
        "{source}: {unit} {line}: series '{id}': column '{column}' holds '{shown}'{problem}"
    ))
}

/// Rejects a panel mixing integer and date-time `ds` values, naming one row of each kind.
pub(crate) fn check_single_kind(
    source: &str,
    unit: &str,
    first_int: Option<&RowRef>,
    first_date: Option<&RowRef>,
) -> Result<()> {
    if let (Some(int), Some(date)) = (first_int, first_date) {
        return Err(Error::Data(format!(
            "{source}: column 'ds' mixes integer and date values: {unit} {} (series '{}') has \
             integer {} but {unit} {} (series '{}') has date {}; use one kind for all rows",
            int.line, int.id, int.ds, date.line, date.id, date.ds
        )));
    }
    Ok(())
}

/// Rejects two rows of series `id` with the same `ds`; `ds` must be sorted.
pub(crate) fn check_duplicates(
    source: &str,
    unit: &str,
    id: &str,
    ds: &[Timestamp],
    lines: &[u64],
) -> Result<()> {
    match (1..ds.len()).find(|&i| ds[i - 1] == ds[i]) {
        Some(i) => Err(Error::Data(format!(
            "{source}: series '{id}' has two rows with ds {}: {unit}s {} and {}",
            ds[i],
            lines[i - 1].min(lines[i]),
            lines[i - 1].max(lines[i])
        ))),
        None => Ok(()),
    }
}

/// Requires each `ds` of series `id` to be exactly one step of `freq` after the previous one;
/// `ds` must be sorted and free of duplicates.
pub(crate) fn check_regular(
    source: &str,
    unit: &str,
    id: &str,
    ds: &[Timestamp],
    lines: &[u64],
    freq: Freq,
) -> Result<()> {
    for i in 1..ds.len() {
        let expected = freq
            .advance(ds[i - 1], 1)
            .map_err(|e| in_context(e, &format!("{source}: series '{id}'")))?;
        if expected != ds[i] {
            let problem = if expected < ds[i] {
                "rows are missing"
            } else {
                "the ds values are not aligned to the frequency"
            };
            return Err(Error::Data(format!(
                "{source}: series '{id}': ds jumps from {} ({unit} {}) to {} ({unit} {}), but with \
                 frequency '{freq}' the next ds should be {expected}: {problem}",
                ds[i - 1],
                lines[i - 1],
                ds[i],
                lines[i]
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<()>) -> String {
        match r {
            Err(Error::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    fn ints(v: &[i64]) -> Vec<Timestamp> {
        v.iter().map(|&x| Timestamp::Int(x)).collect()
    }

    #[test]
    fn duplicates_name_both_lines() {
        let m = message(check_duplicates(
            "f.csv",
            "line",
            "A",
            &ints(&[1, 2, 2]),
            &[2, 5, 3],
        ));
        assert!(m.contains("f.csv") && m.contains("'A'"), "{m}");
        assert!(m.contains("ds 2") && m.contains("lines 3 and 5"), "{m}");
    }

    #[test]
    fn gaps_name_expected_value_and_freq() {
        let m = message(check_regular(
            "f.csv",
            "line",
            "A",
            &ints(&[1, 2, 4]),
            &[2, 3, 4],
            Freq::Step(1),
        ));
        assert!(m.contains("from 2 (line 3) to 4 (line 4)"), "{m}");
        assert!(m.contains("should be 3") && m.contains("'1'"), "{m}");
        assert!(m.contains("missing"), "{m}");
    }

    #[test]
    fn misaligned_ds_is_reported() {
        let m = message(check_regular(
            "f.csv",
            "line",
            "A",
            &ints(&[0, 2, 3]),
            &[2, 3, 4],
            Freq::Step(2),
        ));
        assert!(
            m.contains("should be 4") && m.contains("not aligned"),
            "{m}"
        );
    }

    #[test]
    fn mixed_kinds_name_both_lines() {
        let int = RowRef {
            line: 2,
            id: "A".into(),
            ds: Timestamp::Int(1),
        };
        let date = RowRef {
            line: 9,
            id: "B".into(),
            ds: Timestamp::parse("2020-01-01").expect("date"),
        };
        let m = message(check_single_kind("f.csv", "line", Some(&int), Some(&date)));
        assert!(m.contains("line 2") && m.contains("line 9"), "{m}");
        assert!(m.contains("2020-01-01") && m.contains("'ds'"), "{m}");
        assert!(check_single_kind("f.csv", "line", Some(&int), None).is_ok());
    }

    #[test]
    fn context_is_prefixed() {
        let e = in_context(Error::Data("bad".into()), "where");
        assert_eq!(e.to_string(), "invalid data: where: bad");
    }
}
