//! How a panel's `ds` values were written, so that forecasts are written back the same way.
//!
//! Policy: date-times with a time zone (`Z`, `+01:00`) are converted to UTC when read, and
//! written back in UTC with the input's form of suffix (`Z` or `+00:00`). A column mixing
//! zoned and zone-less date-times is refused: the zone-less ones have no defined instant.

use std::fmt::Write;

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

use super::Timestamp;

/// How a date is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateLayout {
    /// `2020-01-31` (ISO 8601; pandas, polars, most databases).
    #[default]
    Iso,
    /// `2020/01/31`.
    Slash,
    /// `31.01.2020`, day first (spreadsheets in many European locales).
    Dotted,
}

/// The time-zone suffix written after a time of day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSuffix {
    /// No zone: the times are local to whatever the data means.
    #[default]
    None,
    /// `Z`: UTC, as JavaScript's `toISOString` writes it.
    Z,
    /// `+00:00`: UTC written as an offset, as pandas writes zoned times.
    Offset,
}

/// How `ds` values are written: the layout of the input they came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DsStyle {
    /// Dates without a time of day: every input `ds` is at midnight, as pandas writes them.
    pub date_only: bool,
    /// How the date is laid out.
    #[serde(default)]
    pub date: DateLayout,
    /// `T` between date and time, as ISO 8601 writes it, instead of a space.
    #[serde(default)]
    pub t_separator: bool,
    /// Times written as `HH:MM` when they have no seconds, as the input wrote them.
    #[serde(default)]
    pub no_seconds: bool,
    /// Fractional-second digits always written (polars writes 6, JavaScript 3); 0 writes them
    /// only when nonzero, without trailing zeros.
    #[serde(default)]
    pub fraction_digits: u8,
    /// The zone suffix of the (UTC) times.
    #[serde(default)]
    pub zone: ZoneSuffix,
}

impl DsStyle {
    /// The plain ISO style, dates only when `date_only`.
    pub fn dates(date_only: bool) -> DsStyle {
        DsStyle {
            date_only,
            ..DsStyle::default()
        }
    }

    /// Writes `dt` in this style.
    pub fn write(&self, dt: &NaiveDateTime) -> String {
        let mut out = String::with_capacity(32);
        let (y, m, d) = (dt.year(), dt.month(), dt.day());
        // Writing to a String cannot fail.
        let _ = match self.date {
            DateLayout::Iso => write!(out, "{y:04}-{m:02}-{d:02}"),
            DateLayout::Slash => write!(out, "{y:04}/{m:02}/{d:02}"),
            DateLayout::Dotted => write!(out, "{d:02}.{m:02}.{y:04}"),
        };
        if self.date_only {
            return out;
        }
        out.push(if self.t_separator { 'T' } else { ' ' });
        let _ = write!(out, "{:02}:{:02}", dt.hour(), dt.minute());
        let nanos = dt.nanosecond();
        let whole_minute = dt.second() == 0 && nanos == 0;
        if !(self.no_seconds && whole_minute) {
            let _ = write!(out, ":{:02}", dt.second());
            let digits = usize::from(self.fraction_digits.min(9));
            let frac = format!("{nanos:09}");
            if digits > 0 {
                out.push('.');
                out.push_str(&frac[..digits]);
            } else if nanos != 0 {
                out.push('.');
                out.push_str(frac.trim_end_matches('0'));
            }
        }
        match self.zone {
            ZoneSuffix::None => {}
            ZoneSuffix::Z => out.push('Z'),
            ZoneSuffix::Offset => out.push_str("+00:00"),
        }
        out
    }
}

/// Settles one style for a column from the style of each of its date-time cells.
///
/// The first cell decides the date layout and the zone suffix, the first cell that wrote a time
/// of day the time's layout (`T` or space, seconds or not); fractional digits are the most any
/// cell wrote; dates are written without a time of day only when no cell wrote one; zoned and
/// zone-less cells may not mix. Integer cells take no part.
#[derive(Debug)]
pub struct DsStyleVote {
    unit: &'static str,
    first: Option<(DsStyle, u64)>,
    first_timed: Option<DsStyle>,
    fraction_digits: u8,
    all_dates: bool,
}

impl DsStyleVote {
    /// An empty vote; errors name cells as `unit` and number (`"line"` for files, `"row"`
    /// for in-memory tables).
    pub fn new(unit: &'static str) -> DsStyleVote {
        DsStyleVote {
            unit,
            first: None,
            first_timed: None,
            fraction_digits: 0,
            all_dates: true,
        }
    }

    /// Takes the style of the cell at `place` holding `ds` (integer cells are ignored); the
    /// error names both places when its zone disagrees with the first cell's.
    pub fn observe(&mut self, ds: &Timestamp, style: DsStyle, place: u64) -> Result<(), String> {
        if let Timestamp::Int(_) = ds {
            return Ok(());
        }
        let line = place;
        if !style.date_only && self.first_timed.is_none() {
            self.first_timed = Some(style);
        }
        self.fraction_digits = self.fraction_digits.max(style.fraction_digits);
        self.all_dates &= style.date_only;
        match self.first {
            None => self.first = Some((style, line)),
            Some((first, first_line)) => {
                let zoned = |s: DsStyle| s.zone != ZoneSuffix::None;
                if zoned(first) != zoned(style) {
                    let (with, without) = if zoned(first) {
                        (first_line, line)
                    } else {
                        (line, first_line)
                    };
                    let unit = self.unit;
                    return Err(format!(
                        "column 'ds' mixes times with and without a time zone: {unit} {with} has \
                         one and {unit} {without} has none; write every time with its zone (or \
                         none)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The column's style; `None` when no date-time cell was observed.
    pub fn style(&self) -> Option<DsStyle> {
        let (first, _) = self.first?;
        let timed = self.first_timed.unwrap_or(first);
        Some(DsStyle {
            fraction_digits: self.fraction_digits,
            date_only: self.all_dates,
            t_separator: timed.t_separator,
            no_seconds: timed.no_seconds,
            ..first
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(text: &str) -> (NaiveDateTime, DsStyle) {
        match Timestamp::parse_styled(text) {
            Some((Timestamp::DateTime(dt), style)) => (dt, style),
            other => panic!("{text}: {other:?}"),
        }
    }

    /// Votes for the style of `text`, the cell at `place`.
    fn observe(vote: &mut DsStyleVote, text: &str, place: u64) -> Result<(), String> {
        let (dt, style) = styled(text);
        vote.observe(&Timestamp::DateTime(dt), style, place)
    }

    #[test]
    fn writes_back_what_other_tools_wrote() {
        for text in [
            "2020-01-31 13:05:00",
            "2020-01-31T13:05:00",
            "2020-01-31T13:05:00Z",
            "2020-01-31T13:05:00.000Z",
            "2020-01-31T13:05:00.000000",
            "2020-01-31 13:05:00+00:00",
            "2020/01/31 13:05",
            "31.01.2020 13:05:07",
            "2020-01-31T13:05:00.25",
        ] {
            let (dt, style) = styled(text);
            assert_eq!(style.write(&dt), text, "{style:?}");
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let (utc, _) = styled("2020-01-31 12:05:00Z");
        for text in [
            "2020-01-31 13:05:00+01:00",
            "2020-01-31T13:05+0100",
            "2020-01-31 13:05:00 +01",
            "2020-01-31T07:35:00-04:30",
        ] {
            let (dt, style) = styled(text);
            assert_eq!(dt, utc, "{text}");
            assert_eq!(style.zone, ZoneSuffix::Offset);
            assert!(style.write(&dt).ends_with("12:05:00+00:00") || style.no_seconds);
        }
        let (dt, _) = styled("2020-01-01T00:30:00+01:00");
        assert_eq!(DsStyle::default().write(&dt), "2019-12-31 23:30:00");
    }

    #[test]
    fn dates_keep_their_layout() {
        let (dt, style) = styled("31.01.2020");
        assert!(style.date_only);
        assert_eq!(style.write(&dt), "31.01.2020");
        let (dt, style) = styled("2020/1/31");
        assert_eq!(style.write(&dt), "2020/01/31");
        let mut vote = DsStyleVote::new("row");
        assert_eq!(vote.style(), None);
        vote.observe(&Timestamp::Int(3), style, 1).unwrap();
        assert_eq!(vote.style(), None, "integers take no part");
        observe(&mut vote, "2020/01/31", 1).unwrap();
        observe(&mut vote, "2020/02/01 00:00", 2).unwrap();
        assert!(!vote.style().unwrap().date_only, "a time was written");
    }

    #[test]
    fn the_first_time_of_day_decides_the_time_layout() {
        let mut vote = DsStyleVote::new("line");
        observe(&mut vote, "2020-01-01", 2).unwrap();
        observe(&mut vote, "2020-01-01T01:00:00", 3).unwrap();
        observe(&mut vote, "2020-01-01 02:00", 4).unwrap();
        let (dt, _) = styled("2020-01-01T05:00:00");
        assert_eq!(vote.style().unwrap().write(&dt), "2020-01-01T05:00:00");
    }

    #[test]
    fn a_column_may_not_mix_zoned_and_plain_times() {
        let mut vote = DsStyleVote::new("line");
        observe(&mut vote, "2020-01-01T00:00:00.5Z", 2).unwrap();
        observe(&mut vote, "2020-01-01T01:00:00.125+00:00", 3).unwrap();
        let style = vote.style().unwrap();
        assert_eq!((style.zone, style.fraction_digits), (ZoneSuffix::Z, 3));
        assert!(!style.date_only);
        let err = observe(&mut vote, "2020-01-01 02:00:00", 9).unwrap_err();
        assert!(err.contains("line 2 has one and line 9 has none"), "{err}");
    }

    #[test]
    fn refuses_malformed_zones_and_dates() {
        for bad in [
            "2020-01-31T13:05:00+25:00",
            "2020-01-31T13:05:00+1",
            "2020-01-31T13:05:00ZZ",
            "31.01.20",
            "2020/01",
            "01/31/2020",
            "2020-01 10:00Z",
            "2020-01-31T13:05+1é1",
            "2020-01-31T1é:05",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
