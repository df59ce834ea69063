//! Conversions between JavaScript columns and the library's frames and forecasts.

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use neuro_divergent::data::{Freq, TimeSeriesFrame, Timestamp};
use neuro_divergent::Forecasts;

use crate::errors::Failure;

/// A `ds` value from JavaScript: an ISO date/datetime string or an integer index.
pub type JsDs = Either<String, f64>;

/// Long-format input columns as the JavaScript layer passes them.
pub struct Columns {
    /// `unique_id` of each row.
    pub ids: Vec<String>,
    /// `ds` of each row.
    pub ds: Vec<JsDs>,
}

/// Source name used in error messages about JavaScript data.
const SOURCE: &str = "data";

fn parse_ds(value: &JsDs, row: usize, id: &str) -> Result<Timestamp, Failure> {
    let invalid = |shown: String| {
        Failure::new(
            "ND_INVALID_DATA",
            format!(
                "{SOURCE}: row {}: series '{id}': ds {shown} is neither an integer nor a date \
                 (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)",
                row + 1
            ),
        )
    };
    match value {
        Either::A(text) => Timestamp::parse(text).ok_or_else(|| invalid(format!("'{text}'"))),
        Either::B(number) if number.is_finite() && number.fract() == 0.0 => {
            Ok(Timestamp::Int(*number as i64))
        }
        Either::B(number) => Err(invalid(number.to_string())),
    }
}

impl Columns {
    /// Validates the columns into a frame; `y` is copied once, into the frame.
    pub fn into_frame(self, y: &[f64], freq: Option<Freq>) -> Result<TimeSeriesFrame, Failure> {
        let ds = self
            .ds
            .iter()
            .enumerate()
            .map(|(row, value)| {
                let id = self.ids.get(row).map_or("", String::as_str);
                parse_ds(value, row, id)
            })
            .collect::<Result<Vec<_>, _>>()?;
        TimeSeriesFrame::from_columns(SOURCE, &self.ids, &ds, y, freq).map_err(Failure::from)
    }
}

/// Forecasts as columns: `models[k]`'s values are `values[k]`.
#[napi(object)]
pub struct ForecastColumns {
    /// Series id of each row.
    pub unique_id: Vec<String>,
    /// Forecast time of each row (string dates or integer indices).
    pub ds: Vec<JsDs>,
    /// Cutoff of each row (cross-validation only).
    pub cutoff: Option<Vec<JsDs>>,
    /// Observed value of each row (cross-validation only).
    pub y: Option<Vec<f64>>,
    /// Forecast column names (`NHITS`, or `NHITS-median`, `NHITS-lo-90`, ... per model).
    pub models: Vec<String>,
    /// One array per column.
    pub values: Vec<Vec<f64>>,
}

fn js_ds(ts: &Timestamp, date_only: bool) -> JsDs {
    match ts {
        Timestamp::Int(v) => Either::B(*v as f64),
        other => Either::A(other.format(date_only)),
    }
}

impl From<Forecasts> for ForecastColumns {
    fn from(f: Forecasts) -> ForecastColumns {
        let date_only = f.date_only;
        ForecastColumns {
            ds: f.ds.iter().map(|t| js_ds(t, date_only)).collect(),
            cutoff: f
                .cutoff
                .as_ref()
                .map(|c| c.iter().map(|t| js_ds(t, date_only)).collect()),
            unique_id: f.ids,
            y: f.y,
            models: f.columns,
            values: f.values,
        }
    }
}
