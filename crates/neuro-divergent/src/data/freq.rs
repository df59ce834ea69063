//! The sampling frequency of a panel: how one `ds` follows the previous one.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::timestamp::writable_year;
use super::Timestamp;
use crate::error::{Error, Result};

/// The aliases [`Freq::parse`] understands, for error messages.
const ACCEPTED: &str =
    "an integer step such as 1 or 7 (integer ds), s, min (T), H (h), D, W (W-SUN, ...), \
     M (ME, MS), Q (QE, QS), Y (YE, YS, A, AS), each optionally prefixed by a multiplier \
     such as 15min or 2H";

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 604_800;

/// Sampling frequency of a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Freq {
    /// A fixed step between integer `ds` values.
    Step(i64),
    /// A fixed duration in seconds between date-time `ds` values.
    Seconds(i64),
    /// A number of calendar months between date-time `ds` values.
    Months(u32),
}

/// A unit alias without its multiplier.
enum Unit {
    Seconds(i64),
    Months(u32),
}

impl Freq {
    /// Parses a pandas-style alias with an optional multiplier (`1`, `7`, `H`, `15min`, `D`,
    /// `W`, `MS`, `Q`, `Y`, ...). Unknown aliases and non-positive multipliers are
    /// [`Error::Config`].
    pub fn parse(alias: &str) -> Result<Freq> {
        let text = alias.trim();
        if text.starts_with('-') {
            return Err(Error::Config(format!(
                "frequency '{alias}': the multiplier must be positive"
            )));
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        if number.is_empty() && unit.is_empty() {
            return Err(Error::Config(format!(
                "the frequency is empty; expected {ACCEPTED}"
            )));
        }
        let multiplier: i64 = if number.is_empty() {
            1
        } else {
            number.parse().map_err(|_| too_large(alias))?
        };
        if multiplier == 0 {
            return Err(Error::Config(format!(
                "frequency '{alias}': the multiplier must be positive, found 0"
            )));
        }
        if unit.is_empty() {
            return Ok(Freq::Step(multiplier));
        }
        let base = parse_unit(unit).ok_or_else(|| {
            Error::Config(format!("unknown frequency '{alias}'; expected {ACCEPTED}"))
        })?;
        match base {
            Unit::Seconds(s) => multiplier
                .checked_mul(s)
                .map(Freq::Seconds)
                .ok_or_else(|| too_large(alias)),
            Unit::Months(m) => u32::try_from(multiplier)
                .ok()
                .and_then(|k| k.checked_mul(m))
                .map(Freq::Months)
                .ok_or_else(|| too_large(alias)),
        }
    }

    /// Moves `ts` by `n` steps of this frequency (`n` may be negative).
    ///
    /// [`Freq::Step`] only fits integer `ds`, the others only date-time `ds`
    /// ([`Error::Config`] otherwise). Monthly steps keep month-end anchoring: from the last day
    /// of a month the result is the last day of the target month; otherwise the day of month is
    /// kept, clamped to the target month's length. The time of day is kept.
    pub fn advance(&self, ts: Timestamp, n: i64) -> Result<Timestamp> {
        self.check_fits(ts)?;
        let moved = match (*self, ts) {
            (Freq::Step(k), Timestamp::Int(v)) => k
                .checked_mul(n)
                .and_then(|d| v.checked_add(d))
                .map(Timestamp::Int),
            (Freq::Seconds(s), Timestamp::DateTime(dt)) => s
                .checked_mul(n)
                .and_then(TimeDelta::try_seconds)
                .and_then(|d| dt.checked_add_signed(d))
                .filter(writable_year)
                .map(Timestamp::DateTime),
            (Freq::Months(m), Timestamp::DateTime(dt)) => i64::from(m)
                .checked_mul(n)
                .and_then(|k| add_months(dt, k))
                .filter(writable_year)
                .map(Timestamp::DateTime),
            _ => None,
        };
        moved.ok_or_else(|| {
            Error::Data(format!(
                "moving ds {ts} by {n} steps of frequency '{self}' leaves the representable range \
                 (integers of 64 bits, dates in the years 0 to 9999)"
            ))
        })
    }

    /// The canonical alias, which [`Freq::parse`] reads back to the same value
    /// (`1`, `15min`, `H`, `D`, `W`, `M`, `Q`, `Y`, `2Y`, ...).
    pub fn alias(&self) -> String {
        let (count, unit) = match *self {
            Freq::Step(k) => return k.to_string(),
            Freq::Seconds(s) => {
                let unit = [(WEEK, "W"), (DAY, "D"), (HOUR, "H"), (MINUTE, "min")]
                    .into_iter()
                    .find(|(size, _)| s % size == 0);
                match unit {
                    Some((size, name)) => (s / size, name),
                    None => (s, "s"),
                }
            }
            Freq::Months(m) if m % 12 == 0 => (i64::from(m / 12), "Y"),
            Freq::Months(m) if m % 3 == 0 => (i64::from(m / 3), "Q"),
            Freq::Months(m) => (i64::from(m), "M"),
        };
        if count == 1 {
            unit.to_string()
        } else {
            format!("{count}{unit}")
        }
    }

    /// Fails with [`Error::Config`] when the frequency is not positive.
    pub(crate) fn check_positive(&self) -> Result<()> {
        let positive = match *self {
            Freq::Step(k) | Freq::Seconds(k) => k > 0,
            Freq::Months(m) => m > 0,
        };
        if positive {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "frequency '{self}' must be a positive step"
            )))
        }
    }

    /// Fails with [`Error::Config`] when this frequency cannot step a `ds` of the kind of `ts`.
    pub(crate) fn check_fits(&self, ts: Timestamp) -> Result<()> {
        match (self, ts) {
            (Freq::Step(_), Timestamp::Int(_)) => Ok(()),
            (Freq::Seconds(_) | Freq::Months(_), Timestamp::DateTime(_)) => Ok(()),
            (Freq::Step(_), Timestamp::DateTime(_)) => Err(Error::Config(format!(
                "frequency '{self}' is an integer step and does not fit date ds values \
                 (such as {ts}); use a calendar frequency such as D, H or M"
            ))),
            _ => Err(Error::Config(format!(
                "frequency '{self}' is a calendar frequency and does not fit integer ds values \
                 (such as {ts}); use an integer step such as 1"
            ))),
        }
    }
}

/// Shows the canonical alias.
impl fmt::Display for Freq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.alias())
    }
}

fn too_large(alias: &str) -> Error {
    Error::Config(format!("frequency '{alias}': the multiplier is too large"))
}

fn parse_unit(unit: &str) -> Option<Unit> {
    // Anchors such as W-SUN, Q-DEC or A-DEC do not change the step length.
    let base = match unit.split_once('-') {
        Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_alphabetic()) => {
            head
        }
        _ => unit,
    };
    let anchored = base.len() != unit.len();
    let parsed = match base {
        "W" => Unit::Seconds(WEEK),
        "Q" | "QE" | "QS" => Unit::Months(3),
        "Y" | "YE" | "YS" | "A" | "AS" => Unit::Months(12),
        _ if anchored => return None,
        "s" | "S" => Unit::Seconds(1),
        "min" | "T" => Unit::Seconds(MINUTE),
        "H" | "h" => Unit::Seconds(HOUR),
        "D" => Unit::Seconds(DAY),
        "M" | "ME" | "MS" => Unit::Months(1),
        _ => return None,
    };
    Some(parsed)
}

/// True when `date` is the last day of its month.
pub(crate) fn is_month_end(date: NaiveDate) -> bool {
    date.succ_opt()
        .is_none_or(|next| next.month() != date.month())
}

fn days_in_month(year: i32, month: u32) -> Option<u32> {
    (28..=31)
        .rev()
        .find(|&d| NaiveDate::from_ymd_opt(year, month, d).is_some())
}

fn add_months(dt: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    let date = dt.date();
    let total = i64::from(date.year())
        .checked_mul(12)?
        .checked_add(i64::from(date.month0()))?
        .checked_add(months)?;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    let last = days_in_month(year, month)?;
    let day = if is_month_end(date) {
        last
    } else {
        date.day().min(last)
    };
    NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(dt.time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("valid test timestamp")
    }

    fn config_message(r: Result<impl fmt::Debug>) -> String {
        match r {
            Err(Error::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn parses_aliases() {
        let cases = [
            ("1", Freq::Step(1)),
            ("7", Freq::Step(7)),
            ("s", Freq::Seconds(1)),
            ("S", Freq::Seconds(1)),
            ("min", Freq::Seconds(60)),
            ("T", Freq::Seconds(60)),
            ("30T", Freq::Seconds(1800)),
            ("15min", Freq::Seconds(900)),
            ("H", Freq::Seconds(3600)),
            ("h", Freq::Seconds(3600)),
            ("2H", Freq::Seconds(7200)),
            ("D", Freq::Seconds(86_400)),
            ("W", Freq::Seconds(604_800)),
            ("W-SUN", Freq::Seconds(604_800)),
            ("M", Freq::Months(1)),
            ("ME", Freq::Months(1)),
            ("MS", Freq::Months(1)),
            ("Q", Freq::Months(3)),
            ("QS", Freq::Months(3)),
            ("QE", Freq::Months(3)),
            ("Q-DEC", Freq::Months(3)),
            ("Y", Freq::Months(12)),
            ("YE", Freq::Months(12)),
            ("YS", Freq::Months(12)),
            ("A", Freq::Months(12)),
            ("AS", Freq::Months(12)),
            ("2Y", Freq::Months(24)),
            (" D ", Freq::Seconds(86_400)),
        ];
        for (alias, want) in cases {
            assert_eq!(Freq::parse(alias).ok(), Some(want), "{alias}");
        }
    }

    #[test]
    fn rejects_bad_aliases() {
        let m = config_message(Freq::parse("fortnight"));
        assert!(m.contains("'fortnight'") && m.contains("15min"), "{m}");
        let m = config_message(Freq::parse("0H"));
        assert!(m.contains("positive"), "{m}");
        let m = config_message(Freq::parse("-2"));
        assert!(m.contains("positive"), "{m}");
        let m = config_message(Freq::parse(""));
        assert!(m.contains("empty"), "{m}");
        let m = config_message(Freq::parse("D-SUN"));
        assert!(m.contains("'D-SUN'"), "{m}");
        let m = config_message(Freq::parse("99999999999999999999H"));
        assert!(m.contains("too large"), "{m}");
    }

    #[test]
    fn alias_round_trips() {
        let freqs = [
            Freq::Step(1),
            Freq::Step(7),
            Freq::Seconds(1),
            Freq::Seconds(45),
            Freq::Seconds(60),
            Freq::Seconds(900),
            Freq::Seconds(3600),
            Freq::Seconds(7200),
            Freq::Seconds(86_400),
            Freq::Seconds(3 * 86_400),
            Freq::Seconds(604_800),
            Freq::Seconds(2 * 604_800),
            Freq::Months(1),
            Freq::Months(2),
            Freq::Months(3),
            Freq::Months(6),
            Freq::Months(12),
            Freq::Months(24),
        ];
        for f in freqs {
            assert_eq!(Freq::parse(&f.alias()).ok(), Some(f), "{}", f.alias());
        }
        assert_eq!(Freq::Seconds(3600).alias(), "H");
        assert_eq!(Freq::Seconds(900).alias(), "15min");
        assert_eq!(Freq::Months(3).alias(), "Q");
        assert_eq!(Freq::Months(12).alias(), "Y");
    }

    #[test]
    fn advances_steps_and_durations() -> Result<()> {
        assert_eq!(
            Freq::Step(2).advance(Timestamp::Int(5), 3)?,
            Timestamp::Int(11)
        );
        assert_eq!(
            Freq::Step(1).advance(Timestamp::Int(5), -6)?,
            Timestamp::Int(-1)
        );
        assert_eq!(
            Freq::Seconds(3600).advance(ts("2016-07-01 23:00"), 2)?,
            ts("2016-07-02 01:00")
        );
        assert_eq!(
            Freq::Seconds(86_400).advance(ts("2016-03-01"), -1)?,
            ts("2016-02-29")
        );
        Ok(())
    }

    #[test]
    fn advances_months_with_month_end_anchoring() -> Result<()> {
        let m = Freq::Months(1);
        assert_eq!(m.advance(ts("2020-01-31"), 1)?, ts("2020-02-29"));
        assert_eq!(m.advance(ts("2020-02-29"), 1)?, ts("2020-03-31"));
        assert_eq!(m.advance(ts("2020-04-30"), -2)?, ts("2020-02-29"));
        assert_eq!(m.advance(ts("2020-01-30"), 1)?, ts("2020-02-29"));
        assert_eq!(
            m.advance(ts("2020-01-15 10:30"), 13)?,
            ts("2021-02-15 10:30")
        );
        assert_eq!(m.advance(ts("2020-01-01"), -1)?, ts("2019-12-01"));
        assert_eq!(
            Freq::Months(12).advance(ts("1949-01-01"), 1)?,
            ts("1950-01-01")
        );
        Ok(())
    }

    #[test]
    fn rejects_mismatched_kinds() {
        let m = config_message(Freq::Seconds(3600).advance(Timestamp::Int(1), 1));
        assert!(m.contains("'H'") && m.contains("integer ds"), "{m}");
        let m = config_message(Freq::Step(1).advance(ts("2020-01-01"), 1));
        assert!(m.contains("'1'") && m.contains("date ds"), "{m}");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(matches!(
            Freq::Step(1).advance(Timestamp::Int(i64::MAX), 1),
            Err(Error::Data(_))
        ));
    }

    #[test]
    fn positivity() {
        assert!(Freq::Months(0).check_positive().is_err());
        assert!(Freq::Step(-1).check_positive().is_err());
        assert!(Freq::Seconds(60).check_positive().is_ok());
    }
}
