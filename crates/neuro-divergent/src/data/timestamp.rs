//! The `ds` value of one observation: an integer time index or a calendar date-time.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::ds_style::{DateLayout, DsStyle, ZoneSuffix};

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
    /// See [`Timestamp::parse_styled`] for the accepted forms.
    pub fn parse(s: &str) -> Option<Timestamp> {
        Self::parse_styled(s).map(|(ts, _)| ts)
    }

    /// Parses one `ds` cell and tells how it was written (`date_only` when it has no time of
    /// day), so that forecasts can be written back alike.
    ///
    /// Accepts integers (`12`, `-3`); dates as `1949-01-01`, `1949/01/01` or `01.01.1949`
    /// (day first), and year-months (`1949-01`, read as the first of the month); date-times
    /// with a space or `T` before `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff` (up to 9 digits),
    /// optionally followed by a time zone: `Z` or an offset `±HH:MM`, `±HHMM`, `±HH`. Times
    /// with a zone are converted to UTC. Returns `None` for anything else.
    pub fn parse_styled(s: &str) -> Option<(Timestamp, DsStyle)> {
        Self::parse_styled_cached(s, &mut DayCache::default())
    }

    /// [`Timestamp::parse_styled`] for a reader going row by row: `days` remembers the last
    /// `YYYY-MM-DD` date read, so that the rows of one day compute it once.
    pub(crate) fn parse_styled_cached(
        s: &str,
        days: &mut DayCache<[u8; 10]>,
    ) -> Option<(Timestamp, DsStyle)> {
        let s = s.trim();
        if let Ok(v) = s.parse::<i64>() {
            return Some((Timestamp::Int(v), DsStyle::default()));
        }
        parse_datetime_styled(s, days).map(|(dt, style)| (Timestamp::DateTime(dt), style))
    }

    /// Formats the value: integers as-is, date-times as `style` lays them out.
    pub fn format(&self, style: DsStyle) -> String {
        match self {
            Timestamp::Int(v) => v.to_string(),
            Timestamp::DateTime(dt) => style.write(dt),
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
        f.write_str(&self.format(DsStyle::dates(self.is_midnight())))
    }
}

/// True when `dt` lies in the years 0 to 9999, the ones a four-digit `ds` can write; values
/// beyond (a zone moving 9999-12-31 past midnight, a typed column's far instant) are refused
/// on reading, so that every forecast can be read back.
pub(crate) fn writable_year(dt: &NaiveDateTime) -> bool {
    (0..=9999).contains(&dt.year())
}

/// The date of the last day a reader converted, by a key that names the day (its text, its
/// number since the epoch): consecutive rows of a series mostly share their day (the 24 rows of
/// an hourly day), and computing a calendar date is most of converting a time stamp.
#[derive(Default)]
pub(crate) struct DayCache<K> {
    last: Option<(K, NaiveDate)>,
}

impl<K: PartialEq + Copy> DayCache<K> {
    /// The date of day `key`, computed by `compute` unless it is the last one asked for.
    fn date(&mut self, key: K, compute: impl FnOnce() -> Option<NaiveDate>) -> Option<NaiveDate> {
        match self.last {
            Some((last, date)) if last == key => Some(date),
            _ => {
                let date = compute()?;
                self.last = Some((key, date));
                Some(date)
            }
        }
    }
}

/// The UTC date-time `secs` seconds and `nanos` nanoseconds after 1970-01-01 (as chrono's
/// `DateTime::from_timestamp` computes it), when its year is writable; `days` remembers the
/// last day's date.
pub(crate) fn from_epoch(secs: i64, nanos: u32, days: &mut DayCache<i64>) -> Option<NaiveDateTime> {
    /// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
    const EPOCH_DAYS_FROM_CE: i64 = 719_163;
    let day = secs.div_euclid(86_400);
    let second = u32::try_from(secs.rem_euclid(86_400)).ok()?;
    let date = days.date(day, || {
        let from_ce = i32::try_from(day.checked_add(EPOCH_DAYS_FROM_CE)?).ok()?;
        NaiveDate::from_num_days_from_ce_opt(from_ce)
    })?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(second, nanos)?;
    Some(date.and_time(time)).filter(writable_year)
}

/// Parses a date-time as [`Timestamp::parse_styled`] describes, returning it in UTC.
fn parse_datetime_styled(
    s: &str,
    days: &mut DayCache<[u8; 10]>,
) -> Option<(NaiveDateTime, DsStyle)> {
    parse_iso_fast(s, days).or_else(|| parse_datetime_general(s))
}

/// The two forms most files write, `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` (or with `T`), read
/// by byte position: what [`parse_datetime_general`] gives them, several times faster. `None`
/// for any other text (including an invalid date in one of these forms, which the general
/// parser then refuses).
fn parse_iso_fast(s: &str, days: &mut DayCache<[u8; 10]>) -> Option<(NaiveDateTime, DsStyle)> {
    let b = s.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    if !(b.len() == 10 || b.len() == 19) || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let key: [u8; 10] = b[..10].try_into().ok()?;
    let date = days.date(key, || {
        let year = i32::try_from(number(0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
    })?;
    let mut style = DsStyle::default();
    if b.len() == 10 {
        style.date_only = true;
        return Some((date.and_time(NaiveTime::MIN), style));
    }
    if !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    style.t_separator = b[10] == b'T';
    let time = NaiveTime::from_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)?;
    Some((date.and_time(time), style))
}

/// Parses a date-time as [`Timestamp::parse_styled`] describes, returning it in UTC: every
/// accepted form.
fn parse_datetime_general(s: &str) -> Option<(NaiveDateTime, DsStyle)> {
    let mut style = DsStyle::default();
    let (date_text, time_text) = match s.find([' ', 'T']) {
        Some(i) => {
            style.t_separator = s.as_bytes()[i] == b'T';
            (&s[..i], Some(s[i + 1..].trim_start()))
        }
        None => (s, None),
    };
    let (date, layout) = parse_date(date_text, time_text.is_some())?;
    style.date = layout;
    let Some(time_text) = time_text else {
        style.date_only = true;
        return Some((date.and_time(NaiveTime::MIN), style));
    };
    let (clock, zone, offset_seconds) = split_zone(time_text)?;
    style.zone = zone;
    let (time, no_seconds, fraction_digits) = parse_time(clock)?;
    style.no_seconds = no_seconds;
    style.fraction_digits = fraction_digits;
    let local = date.and_time(time);
    let utc = local
        .checked_sub_signed(chrono::TimeDelta::seconds(offset_seconds))
        .filter(writable_year)?;
    Some((utc, style))
}

/// Parses the date part: `YYYY-MM-DD`, `YYYY-MM` (only without a time), `YYYY/MM/DD` or
/// `DD.MM.YYYY`.
fn parse_date(text: &str, with_time: bool) -> Option<(NaiveDate, DateLayout)> {
    let (layout, separator) = if text.contains('/') {
        (DateLayout::Slash, '/')
    } else if text.contains('.') {
        (DateLayout::Dotted, '.')
    } else {
        (DateLayout::Iso, '-')
    };
    let parts: Vec<&str> = text.split(separator).collect();
    let (year, month, day) = match (layout, parts.as_slice()) {
        (DateLayout::Dotted, [d, m, y]) => (digits(y, 4, 4)?, digits(m, 1, 2)?, digits(d, 1, 2)?),
        (DateLayout::Iso, [y, m]) if !with_time => (digits(y, 4, 4)?, digits(m, 1, 2)?, 1),
        (DateLayout::Iso | DateLayout::Slash, [y, m, d]) => {
            (digits(y, 4, 4)?, digits(m, 1, 2)?, digits(d, 1, 2)?)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some((date, layout))
}

/// Splits a time of day from its zone suffix: the clock text, the suffix's form and the
/// offset from UTC in seconds.
fn split_zone(text: &str) -> Option<(&str, ZoneSuffix, i64)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock, ZoneSuffix::Z, 0));
    }
    let Some(at) = text.rfind(['+', '-']) else {
        return Some((text, ZoneSuffix::None, 0));
    };
    let (clock, offset) = (text[..at].trim_end(), &text[at + 1..]);
    if !offset.is_ascii() {
        return None;
    }
    let (hours, minutes) = match offset.split_once(':') {
        Some((h, m)) => (digits(h, 2, 2)?, digits(m, 2, 2)?),
        None if offset.len() == 4 => (digits(&offset[..2], 2, 2)?, digits(&offset[2..], 2, 2)?),
        None => (digits(offset, 2, 2)?, 0),
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let sign = if text.as_bytes()[at] == b'-' { -1 } else { 1 };
    let seconds = sign * i64::from(hours * 3600 + minutes * 60);
    Some((clock, ZoneSuffix::Offset, seconds))
}

/// Parses `HH:MM[:SS[.fff]]`; also says whether the seconds were left out and how many
/// fractional digits were written.
fn parse_time(s: &str) -> Option<(NaiveTime, bool, u8)> {
    let mut parts = s.split(':');
    let hour = digits(parts.next()?, 1, 2)?;
    let minute = digits(parts.next()?, 2, 2)?;
    let seconds = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (second, nano, fraction_digits) = match seconds {
        Some(sec) => parse_seconds(sec)?,
        None => (0, 0, 0),
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    Some((time, seconds.is_none(), fraction_digits))
}

/// Parses `SS[.fff]` into seconds, nanoseconds and the number of fractional digits.
fn parse_seconds(s: &str) -> Option<(u32, u32, u8)> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let second = digits(whole, 2, 2)?;
    let (nano, fraction_digits) = match frac {
        Some(f) => (
            digits(f, 1, 9)? * 10u32.pow(9 - f.len() as u32),
            f.len() as u8,
        ),
        None => (0, 0),
    };
    Some((second, nano, fraction_digits))
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
        s.serialize_str(&super::DsStyle::default().write(dt))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_datetime_styled(text.trim(), &mut super::DayCache::default())
            .map(|(dt, _)| dt)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "'{text}' is not a date-time (YYYY-MM-DD HH:MM:SS)"
                ))
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
    fn the_fast_forms_read_as_the_general_parser_reads_them() {
        let mut days = DayCache::default();
        for text in [
            "2020-01-31",
            "1949-12-01",
            "0000-01-01",
            "9999-12-31 23:59:59",
            "2020-01-31 13:05:09",
            "2020-01-31T13:05:09",
            "2020-02-30",
            "2020-13-01 00:00:00",
            "2020-01-01T24:00:00",
            "2020-01-01 23:59:60",
            "2020-01-01x10:00:00",
            "2020-01-01 10-00-00",
            "2020+01-01",
            "20a0-01-01",
            "2020-01-01 1:00:00Z",
        ] {
            // One cache over all the texts, as a reader keeps it from row to row.
            let fast = parse_iso_fast(text, &mut days);
            if fast.is_some() {
                assert_eq!(fast, parse_datetime_general(text), "{text}");
            }
            assert_eq!(
                parse_datetime_styled(text, &mut days),
                parse_datetime_general(text),
                "{text}"
            );
        }
        assert!(parse_iso_fast("2020-01-31T13:05:09", &mut days).is_some());
        assert!(parse_iso_fast("2020-01-31", &mut days).is_some());
    }

    /// Instants across day boundaries, before 1970 and at the edges of the writable years read
    /// as chrono reads them, with one cache throughout.
    #[test]
    fn instants_read_as_chrono_reads_them() {
        let mut days = DayCache::default();
        let hour = 3_600i64;
        let starts = [-86_400 * 3 - 7, -1, 0, 86_399, 1_700_000_000];
        for start in starts {
            for k in 0..60 {
                let secs = start + k * hour;
                let nanos = (k as u32 * 12_345_679) % 1_000_000_000;
                let expected = chrono::DateTime::from_timestamp(secs, nanos).map(|d| d.naive_utc());
                assert_eq!(
                    from_epoch(secs, nanos, &mut days),
                    expected,
                    "{secs} {nanos}"
                );
            }
        }
        let year_0 = dt(0, 1, 1, 0, 0, 0);
        let Timestamp::DateTime(year_0) = year_0 else {
            unreachable!()
        };
        let first = year_0.and_utc().timestamp();
        assert_eq!(from_epoch(first, 0, &mut days), Some(year_0));
        assert_eq!(from_epoch(first - 1, 0, &mut days), None, "year -1");
        let after_9999 = dt(9999, 12, 31, 23, 59, 59);
        let Timestamp::DateTime(last) = after_9999 else {
            unreachable!()
        };
        let last = last.and_utc().timestamp();
        assert!(from_epoch(last, 0, &mut days).is_some());
        assert_eq!(from_epoch(last + 1, 0, &mut days), None, "year 10000");
        assert_eq!(from_epoch(i64::MAX, 0, &mut days), None);
        assert_eq!(from_epoch(i64::MIN, 0, &mut days), None);
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
        assert_eq!(frac.format(DsStyle::default()), "2016-07-01 13:05:00.25");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "2016-13-01",
            "2016-02-30",
            "2016-07-01 25:00",
            "07/01/2016",
            "1.5",
            "2016-07-01-02",
            "2016-07 10:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(Timestamp::Int(12).format(DsStyle::dates(true)), "12");
        let d = dt(1949, 1, 1, 0, 0, 0);
        assert_eq!(d.format(DsStyle::dates(true)), "1949-01-01");
        assert_eq!(d.format(DsStyle::dates(false)), "1949-01-01 00:00:00");
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
