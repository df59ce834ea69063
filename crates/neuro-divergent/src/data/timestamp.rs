//! The `ds` value of one observation: an integer time index or a calendar date-time.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};

/// One `ds` value.
///
/// Integer indices sort before all date-times; a frame never mixes the two kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timestamp {
    /// An integer time index (for example `1, 2, 3, ...`).
    Int(i64),
    /// A calendar date and time of day, without time zone.
    DateTime(#[serde(with = "datetime_text")] NaiveDateTime),
}

impl Timestamp {
    /// Parses one `ds` cell; surrounding whitespace is ignored.
    ///
    /// Accepts integers (`12`, `-3`), dates (`1949-01-01`), year-months (`1949-01`, read as
    /// the first of the month) and date-times (`2016-07-01 00:00:00`, `2016-07-01T00:00:00`,
    /// `2016-07-01 00:00`, with optional fractional seconds). Returns `None` otherwise.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if let Ok(v) = s.parse::<i64>() {
            return Some(Timestamp::Int(v));
        }
        parse_datetime(s).map(Timestamp::DateTime)
    }

    /// Formats the value: integers as-is, date-times as `YYYY-MM-DD` when `date_only`,
    /// otherwise as `YYYY-MM-DD HH:MM:SS` (plus fractional seconds when there are any).
    pub fn format(&self, date_only: bool) -> String {
        match self {
            Timestamp::Int(v) => v.to_string(),
            Timestamp::DateTime(dt) if date_only => format_date(dt.date()),
            Timestamp::DateTime(dt) => format_datetime(dt),
        }
    }

    /// True for a date-time whose time of day is exactly midnight.
    pub fn is_midnight(&self) -> bool {
        matches!(self, Timestamp::DateTime(dt) if dt.time() == NaiveTime::MIN)
    }
}

/// Shows integers as-is and date-times as a date when at midnight, else as a full date-time.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(self.is_midnight()))
    }
}

fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn format_datetime(dt: &NaiveDateTime) -> String {
    let mut out = format!(
        "{} {:02}:{:02}:{:02}",
        format_date(dt.date()),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

/// Parses `YYYY-MM`, `YYYY-MM-DD` and `YYYY-MM-DD[ T]HH:MM[:SS[.fff]]`.
fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let (date_text, time_text) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim_start())),
        None => (s, None),
    };
    let mut parts = date_text.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = digits(parts.next()?, 1, 2)?;
    let day = match parts.next() {
        Some(d) => digits(d, 1, 2)?,
        None if time_text.is_none() => 1,
        None => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = match time_text {
        Some(t) => parse_time(t)?,
        None => NaiveTime::MIN,
    };
    Some(date.and_time(time))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let mut parts = s.split(':');
    let hour = digits(parts.next()?, 1, 2)?;
    let minute = digits(parts.next()?, 2, 2)?;
    let (second, nano) = match parts.next() {
        Some(sec) => parse_seconds(sec)?,
        None => (0, 0),
    };
    if parts.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_nano_opt(hour, minute, second, nano)
}

fn parse_seconds(s: &str) -> Option<(u32, u32)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let second = digits(whole, 2, 2)?;
    let nano = match frac {
        Some(f) => digits(f, 1, 9)? * 10u32.pow(9 - f.len() as u32),
        None => 0,
    };
    Some((second, nano))
}

/// Reads an unsigned number of `min..=max` ASCII digits.
fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Serde helper writing a date-time as the text that [`Timestamp::parse`] reads back.
mod datetime_text {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(dt: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_datetime(dt))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_datetime(text.trim()).ok_or_else(|| {
            serde::de::Error::custom(format!("'{text}' is not a date-time (YYYY-MM-DD HH:MM:SS)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Timestamp {
        Timestamp::DateTime(
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|x| x.and_hms_opt(h, mi, s))
                .expect("valid test date"),
        )
    }

    #[test]
    fn parses_integers() {
        assert_eq!(Timestamp::parse("12"), Some(Timestamp::Int(12)));
        assert_eq!(Timestamp::parse(" -3 "), Some(Timestamp::Int(-3)));
    }

    #[test]
    fn parses_dates_and_datetimes() {
        let d = dt(1949, 1, 1, 0, 0, 0);
        assert_eq!(Timestamp::parse("1949-01-01"), Some(d));
        assert_eq!(Timestamp::parse("1949-01"), Some(d));
        let t = dt(2016, 7, 1, 13, 5, 0);
        assert_eq!(Timestamp::parse("2016-07-01 13:05:00"), Some(t));
        assert_eq!(Timestamp::parse("2016-07-01T13:05:00"), Some(t));
        assert_eq!(Timestamp::parse("2016-07-01 13:05"), Some(t));
        assert_eq!(Timestamp::parse("\t2016-07-01 13:05 "), Some(t));
        let frac = Timestamp::parse("2016-07-01 13:05:00.25").expect("fractional seconds");
        assert_eq!(frac.format(false), "2016-07-01 13:05:00.25");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "2016-13-01",
            "2016-02-30",
            "2016-07-01 25:00",
            "2016/07/01",
            "1.5",
            "2016-07-01-02",
            "2016-07 10:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(Timestamp::Int(12).format(true), "12");
        let d = dt(1949, 1, 1, 0, 0, 0);
        assert_eq!(d.format(true), "1949-01-01");
        assert_eq!(d.format(false), "1949-01-01 00:00:00");
        assert_eq!(dt(2016, 7, 1, 5, 0, 0).to_string(), "2016-07-01 05:00:00");
        assert_eq!(d.to_string(), "1949-01-01");
    }

    #[test]
    fn serde_round_trip() {
        for ts in [Timestamp::Int(-4), dt(2016, 7, 1, 5, 30, 0)] {
            let text = serde_json::to_string(&ts).expect("serialize");
            let back: Timestamp = serde_json::from_str(&text).expect("deserialize");
            assert_eq!(back, ts);
        }
    }

    #[test]
    fn ints_sort_before_dates() {
        assert!(Timestamp::Int(i64::MAX) < dt(1, 1, 1, 0, 0, 0));
    }
}
