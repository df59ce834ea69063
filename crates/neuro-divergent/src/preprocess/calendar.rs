//! Calendar features generated from `ds`, each scaled to [-0.5, 0.5] as NeuralForecast's and
//! GluonTS's time features are. They are known for any future time, so models read them as
//! future exogenous columns.

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use crate::data::Timestamp;
use crate::error::{Error, Result};

/// One calendar feature; its column name is its serialized name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalendarFeature {
    /// Minute of the hour.
    Minute,
    /// Hour of the day.
    Hour,
    /// Day of the week (Monday first).
    DayOfWeek,
    /// Day of the month.
    Day,
    /// Day of the year.
    DayOfYear,
    /// ISO week of the year.
    Week,
    /// Month of the year.
    Month,
}

const ALL: [(CalendarFeature, &str); 7] = [
    (CalendarFeature::Minute, "minute"),
    (CalendarFeature::Hour, "hour"),
    (CalendarFeature::DayOfWeek, "dayofweek"),
    (CalendarFeature::Day, "day"),
    (CalendarFeature::DayOfYear, "dayofyear"),
    (CalendarFeature::Week, "week"),
    (CalendarFeature::Month, "month"),
];

impl CalendarFeature {
    /// Parses a feature name (`hour`, `dayofweek`, `day`, `dayofyear`, `week`, `month`,
    /// `minute`).
    pub fn parse(name: &str) -> Result<CalendarFeature> {
        let lower = name.trim().to_ascii_lowercase();
        ALL.iter()
            .find(|(_, n)| *n == lower)
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = ALL.iter().map(|(_, n)| *n).collect();
                Error::Config(format!(
                    "unknown calendar feature '{name}': expected one of {}",
                    names.join(", ")
                ))
            })
    }

    /// The column name.
    pub fn name(&self) -> &'static str {
        ALL.iter().find(|(f, _)| f == self).map_or("", |(_, n)| n)
    }

    /// The feature at each of `ds`, in [-0.5, 0.5].
    pub fn values(&self, ds: &[Timestamp]) -> Result<Vec<f32>> {
        ds.iter()
            .map(|t| match t {
                Timestamp::DateTime(dt) => {
                    let (value, top) = match self {
                        CalendarFeature::Minute => (dt.minute(), 59),
                        CalendarFeature::Hour => (dt.hour(), 23),
                        CalendarFeature::DayOfWeek => (dt.weekday().num_days_from_monday(), 6),
                        CalendarFeature::Day => (dt.day0(), 30),
                        CalendarFeature::DayOfYear => (dt.ordinal0(), 365),
                        CalendarFeature::Week => (dt.iso_week().week0(), 52),
                        CalendarFeature::Month => (dt.month0(), 11),
                    };
                    Ok(value as f32 / top as f32 - 0.5)
                }
                Timestamp::Int(_) => Err(Error::Data(format!(
                    "calendar feature '{}' needs date-time ds values, but ds holds integers",
                    self.name()
                ))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_span_minus_half_to_half() {
        let ds: Vec<Timestamp> = ["2024-01-01 00:00:00", "2024-12-31 23:00:00"]
            .iter()
            .map(|s| Timestamp::parse(s).unwrap())
            .collect();
        assert_eq!(CalendarFeature::Hour.values(&ds).unwrap(), [-0.5, 0.5]);
        assert_eq!(CalendarFeature::Month.values(&ds).unwrap(), [-0.5, 0.5]);
        // 2024-01-01 is a Monday, 2024-12-31 a Tuesday.
        let dow = CalendarFeature::DayOfWeek.values(&ds).unwrap();
        assert_eq!(dow[0], -0.5);
        assert!((dow[1] - (1.0 / 6.0 - 0.5)).abs() < 1e-6);
        assert_eq!(
            CalendarFeature::parse("DayOfWeek").unwrap(),
            CalendarFeature::DayOfWeek
        );
        assert!(CalendarFeature::parse("season")
            .unwrap_err()
            .to_string()
            .contains("unknown calendar feature 'season'"));
        let err = CalendarFeature::Hour
            .values(&[Timestamp::Int(3)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs date-time ds"), "{err}");
    }
}
