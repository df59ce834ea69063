//! Conversions between JavaScript columns and the library's frames and forecasts.

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use neuro_divergent::data::{
    DsStyle, DsStyleVote, Freq, TimeSeriesFrame, Timestamp, ZoneSuffix, DS_FORMS,
};
use neuro_divergent::exog::{FutureTable, StaticTable};
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
    /// Extra numeric columns (exogenous variables), if any.
    pub extra: Option<NamedColumns>,
}

/// Numeric columns by name, one array per name.
#[napi(object)]
pub struct NamedColumns {
    /// Column names.
    pub names: Vec<String>,
    /// One array of values per name.
    pub values: Vec<Vec<f64>>,
}

impl NamedColumns {
    /// `(name, values)` pairs.
    fn into_pairs(self, source: &str) -> Result<Vec<(String, Vec<f64>)>, Failure> {
        if self.names.len() != self.values.len() {
            return Err(Failure::new(
                "ND_INVALID_DATA",
                format!(
                    "{source}: {} column names for {} columns",
                    self.names.len(),
                    self.values.len()
                ),
            ));
        }
        Ok(self.names.into_iter().zip(self.values).collect())
    }
}

/// Exogenous values keyed by series (static values) or by series and time (future values).
#[napi(object)]
pub struct KeyedColumns {
    /// Series id of each row.
    pub unique_id: Vec<String>,
    /// Time of each row (future values only).
    pub ds: Option<Vec<JsDs>>,
    /// The value columns.
    pub columns: NamedColumns,
}

impl KeyedColumns {
    /// Static values per series (`source` names them in errors).
    pub fn into_static(self, source: &str) -> Result<StaticTable, Failure> {
        let columns = self.columns.into_pairs(source)?;
        Ok(StaticTable::from_columns(
            source,
            &self.unique_id,
            &columns,
        )?)
    }

    /// Future values per series and time (`source` names them in errors).
    pub fn into_future(self, source: &str) -> Result<FutureTable, Failure> {
        let (ds, _) = parse_all_ds(
            source,
            &self.unique_id,
            self.ds.as_deref().unwrap_or_default(),
        )?;
        let columns = self.columns.into_pairs(source)?;
        Ok(FutureTable::from_columns(
            source,
            &self.unique_id,
            &ds,
            &columns,
        )?)
    }
}

/// Source name used in error messages about JavaScript data.
const SOURCE: &str = "data";

fn parse_ds(
    source: &str,
    value: &JsDs,
    row: usize,
    id: &str,
    vote: &mut DsStyleVote,
) -> Result<Timestamp, Failure> {
    let invalid = |shown: String| {
        Failure::new(
            "ND_INVALID_DATA",
            format!(
                "{source}: row {}: series '{id}': ds {shown} is neither an integer nor a date; \
                 {DS_FORMS}",
                row + 1
            ),
        )
    };
    match value {
        Either::A(text) => {
            let (ds, style) =
                Timestamp::parse_styled(text).ok_or_else(|| invalid(format!("'{text}'")))?;
            vote.observe(&ds, style, row as u64 + 1)
                .map_err(|m| Failure::new("ND_INVALID_DATA", format!("{source}: {m}")))?;
            Ok(ds)
        }
        Either::B(number) if number.is_finite() && number.fract() == 0.0 => {
            Ok(Timestamp::Int(*number as i64))
        }
        Either::B(number) => Err(invalid(number.to_string())),
    }
}

/// Every `ds` of `ids`' rows, parsed, and the style their texts were written in.
fn parse_all_ds(
    source: &str,
    ids: &[String],
    ds: &[JsDs],
) -> Result<(Vec<Timestamp>, Option<DsStyle>), Failure> {
    let mut vote = DsStyleVote::new("row");
    let parsed = ds
        .iter()
        .enumerate()
        .map(|(row, value)| {
            let id = ids.get(row).map_or("", String::as_str);
            parse_ds(source, value, row, id, &mut vote)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((parsed, vote.style()))
}

impl Columns {
    /// Validates the columns into a frame; `y` is copied once, into the frame.
    pub fn into_frame(self, y: &[f64], freq: Option<Freq>) -> Result<TimeSeriesFrame, Failure> {
        let (ds, style) = parse_all_ds(SOURCE, &self.ids, &self.ds)?;
        let extra = match self.extra {
            Some(columns) => columns.into_pairs(SOURCE)?,
            None => Vec::new(),
        };
        TimeSeriesFrame::from_columns_with_extra(SOURCE, &self.ids, &ds, y, &extra, freq)
            .map(|frame| frame.with_ds_style(style))
            .map_err(Failure::from)
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
    /// What the caller should know about these forecasts (e.g. interval levels the
    /// calibration data is too thin to support).
    pub warnings: Vec<String>,
    /// How an Arrow table types `ds` and `cutoff`: `int`, `date` (the input had dates only),
    /// `timestamp` or `timestamp_utc` (the input's times had a zone).
    pub time_type: String,
    /// Milliseconds since 1970 of each `ds` (date-times only), for Arrow tables.
    pub ds_epoch_ms: Option<Vec<f64>>,
    /// Milliseconds since 1970 of each `cutoff` (date-times only), for Arrow tables.
    pub cutoff_epoch_ms: Option<Vec<f64>>,
}

/// Milliseconds since 1970 of each date-time of `values`; `None` for integer indices.
fn epoch_ms(values: &[Timestamp]) -> Option<Vec<f64>> {
    values
        .iter()
        .map(|t| match t {
            Timestamp::Int(_) => None,
            Timestamp::DateTime(dt) => Some(dt.and_utc().timestamp_millis() as f64),
        })
        .collect()
}

/// The Arrow type of `ds` columns written in `style` (see [`ForecastColumns::time_type`]).
fn time_type(first: Option<&Timestamp>, style: DsStyle) -> &'static str {
    match first {
        None | Some(Timestamp::Int(_)) => "int",
        Some(_) if style.date_only => "date",
        Some(_) if style.zone != ZoneSuffix::None => "timestamp_utc",
        Some(_) => "timestamp",
    }
}

fn js_ds(ts: &Timestamp, style: DsStyle) -> JsDs {
    match ts {
        Timestamp::Int(v) => Either::B(*v as f64),
        other => Either::A(other.format(style)),
    }
}

impl From<Forecasts> for ForecastColumns {
    fn from(f: Forecasts) -> ForecastColumns {
        let style = f.ds_style;
        ForecastColumns {
            ds: f.ds.iter().map(|t| js_ds(t, style)).collect(),
            cutoff: f
                .cutoff
                .as_ref()
                .map(|c| c.iter().map(|t| js_ds(t, style)).collect()),
            unique_id: f.ids,
            y: f.y,
            models: f.columns,
            values: f.values,
            warnings: f.warnings,
            time_type: time_type(f.ds.first(), style).to_string(),
            ds_epoch_ms: epoch_ms(&f.ds),
            cutoff_epoch_ms: f.cutoff.as_deref().and_then(epoch_ms),
        }
    }
}
