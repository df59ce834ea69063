//! Guessing the frequency of a panel from the spacing of its `ds` values.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDateTime};

use super::freq::is_month_end;
use super::{Freq, Timestamp};
use crate::error::{Error, Result};

/// Average length of a calendar month in seconds, used only to break ties.
const MONTH_SECONDS: i64 = 2_629_746;

/// Infers the frequency from sorted, duplicate-free series: the most common spacing between
/// consecutive `ds` values (ties go to the smaller spacing). `pairs` holds consecutive values
/// `(a, b)` with the number of times that spacing occurs (a series of evenly spaced values is
/// one pair, counted once per gap).
///
/// Integer `ds` give [`Freq::Step`]. Date-time spacings that are whole calendar months (same
/// day of month, or both month-ends, at the same time of day) count as [`Freq::Months`],
/// others as [`Freq::Seconds`].
pub(crate) fn infer_freq(
    source: &str,
    pairs: impl Iterator<Item = (Timestamp, Timestamp, usize)>,
) -> Result<Freq> {
    let mut counts: HashMap<Freq, usize> = HashMap::new();
    for (a, b, n) in pairs {
        if let Some(step) = spacing(a, b) {
            *counts.entry(step).or_insert(0) += n;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(freq, count)| (count, std::cmp::Reverse(approx_seconds(freq))))
        .map(|(freq, _)| freq)
        .ok_or_else(|| {
            Error::Data(format!(
                "{source}: cannot infer the frequency because no series has two rows with \
                 increasing ds; give it explicitly with --freq (for example --freq 1, --freq H \
                 or --freq D)"
            ))
        })
}

/// The spacing from `a` to a later `b`, or `None` when it is not positive or kinds differ.
fn spacing(a: Timestamp, b: Timestamp) -> Option<Freq> {
    match (a, b) {
        (Timestamp::Int(x), Timestamp::Int(y)) => {
            y.checked_sub(x).filter(|&d| d > 0).map(Freq::Step)
        }
        (Timestamp::DateTime(x), Timestamp::DateTime(y)) => month_spacing(x, y).or_else(|| {
            let seconds = (y - x).num_seconds();
            (seconds > 0).then_some(Freq::Seconds(seconds))
        }),
        _ => None,
    }
}

/// Whole calendar months from `a` to `b`, when the two are month-aligned.
fn month_spacing(a: NaiveDateTime, b: NaiveDateTime) -> Option<Freq> {
    let same_day = a.day() == b.day() || (is_month_end(a.date()) && is_month_end(b.date()));
    if a.time() != b.time() || !same_day {
        return None;
    }
    let months = |d: NaiveDateTime| i64::from(d.year()) * 12 + i64::from(d.month0());
    u32::try_from(months(b) - months(a))
        .ok()
        .filter(|&m| m > 0)
        .map(Freq::Months)
}

fn approx_seconds(freq: Freq) -> i64 {
    match freq {
        Freq::Step(k) | Freq::Seconds(k) => k,
        Freq::Months(m) => i64::from(m) * MONTH_SECONDS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Vec<Timestamp> {
        v.iter()
            .map(|s| Timestamp::parse(s).expect("valid test timestamp"))
            .collect()
    }

    fn infer(series: &[Vec<Timestamp>]) -> Result<Freq> {
        let pairs = series
            .iter()
            .flat_map(|s| s.windows(2).map(|p| (p[0], p[1], 1)));
        infer_freq("f.csv", pairs)
    }

    #[test]
    fn integer_steps_most_common_then_smallest() -> Result<()> {
        assert_eq!(infer(&[parse(&["1", "2", "3", "5"])])?, Freq::Step(1));
        assert_eq!(infer(&[parse(&["1", "3", "4"])])?, Freq::Step(1));
        assert_eq!(
            infer(&[parse(&["0", "7"]), parse(&["0", "7", "14"])])?,
            Freq::Step(7)
        );
        Ok(())
    }

    #[test]
    fn calendar_frequencies() -> Result<()> {
        let monthly = parse(&["1949-01-01", "1949-02-01", "1949-03-01", "1949-04-01"]);
        assert_eq!(infer(&[monthly])?, Freq::Months(1));
        let month_ends = parse(&["2020-01-31", "2020-02-29", "2020-03-31"]);
        assert_eq!(infer(&[month_ends])?, Freq::Months(1));
        let quarterly = parse(&["2020-01-01", "2020-04-01", "2020-07-01"]);
        assert_eq!(infer(&[quarterly])?, Freq::Months(3));
        let hourly = parse(&["2016-07-01 00:00", "2016-07-01 01:00", "2016-07-01 02:00"]);
        assert_eq!(infer(&[hourly])?, Freq::Seconds(3600));
        let daily = parse(&["2020-01-30", "2020-01-31", "2020-02-01"]);
        assert_eq!(infer(&[daily])?, Freq::Seconds(86_400));
        Ok(())
    }

    #[test]
    fn single_rows_need_an_explicit_freq() {
        match infer(&[parse(&["1"]), parse(&["5"])]) {
            Err(Error::Data(m)) => assert!(m.contains("f.csv") && m.contains("--freq"), "{m}"),
            other => panic!("expected a data error, got {other:?}"),
        }
    }
}
