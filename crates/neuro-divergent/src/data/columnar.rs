//! Loading a [`TimeSeriesFrame`] from Arrow record batches (Parquet and Arrow IPC files).
//!
//! Typed columns are read as they are: `unique_id` as text, dictionary-encoded text or
//! integers; `ds` as integers, dates, timestamps (with or without a zone: zoned ones are UTC)
//! or text in the forms the CSV reader takes; `y` as any integer or float type. Extra columns
//! are kept as text, like the CSV reader's. Messages name the source, the row (1-based over the
//! whole file), the series and the column.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float64Type, Int64Type, TimestampMicrosecondType,
    TimestampNanosecondType,
};
use arrow_array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampNanosecondArray,
};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{ArrowError, DataType, Schema, TimeUnit};
use chrono::TimeDelta;

use super::arrivals::Gap;
use super::builder::FrameBuilder;
use super::csv_input::parse_ds_styled;
use super::timestamp::{from_epoch, DayCache};
use super::validate::fits_f32;
use super::{DsStyle, Freq, TimeSeriesFrame, Timestamp, ZoneSuffix};
use crate::error::{Error, Result};
use crate::pipeline::pipelined;
use crate::threads;

/// The columns every panel needs.
const REQUIRED: [&str; 3] = ["unique_id", "ds", "y"];

/// Reads a panel from `batches` sharing `schema`; `source` names the data in messages.
pub(crate) fn frame_from_batches<I>(
    source: &str,
    schema: &Schema,
    batches: I,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame>
where
    I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
{
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let index = |name: &str| {
        names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::Data(format!(
                "{source}: no column '{name}'; a panel needs columns {} (the file has {})",
                REQUIRED.join(", "),
                names.join(", ")
            ))
        })
    };
    let keys = [index("unique_id")?, index("ds")?, index("y")?];
    let extra: Vec<usize> = (0..names.len()).filter(|i| !keys.contains(i)).collect();
    let extra_names = extra.iter().map(|&i| names[i].to_string()).collect();
    let ds_kind = DsKind::of(source, schema.field(keys[1]).data_type())?;
    check_numeric(source, "y", schema.field(keys[2]).data_type())?;
    let mut builder = FrameBuilder::new(source, "row", extra_names);
    let mut days = Days::default();
    // Batches are decoded and their columns cast here while a second thread validates them.
    let produce = move |emit: &mut dyn FnMut(Result<BatchColumns>) -> bool| {
        for batch in batches {
            let columns = batch.map_err(|e| batch_error(source, e)).and_then(|batch| {
                Ok(BatchColumns {
                    rows: batch.num_rows(),
                    id: as_text(source, "unique_id", batch.column(keys[0]))?,
                    ds: ds_kind.column(source, batch.column(keys[1]))?,
                    y: cast_to(source, "y", batch.column(keys[2]), &DataType::Float64)?,
                    extra: extra
                        .iter()
                        .map(|&i| as_text(source, names[i], batch.column(i)))
                        .collect::<Result<_>>()?,
                })
            });
            let failed = columns.is_err();
            if !emit(columns) || failed {
                return;
            }
        }
    };
    let mut first_row = 1u64;
    pipelined(threads::side_by_side(), produce, |columns| -> Result<()> {
        let columns = columns?;
        builder.validating(|builder| columns.push_rows(source, first_row, builder, &mut days))?;
        first_row += columns.rows as u64;
        Ok(())
    })?;
    if builder.is_empty() {
        return Err(Error::Data(format!("{source}: the file has no rows")));
    }
    if let DsKind::Typed { zoned } = ds_kind {
        builder.set_typed_style(DsStyle {
            // Dates when every value is at midnight, as pandas writes such columns.
            date_only: !zoned,
            zone: if zoned {
                ZoneSuffix::Offset
            } else {
                ZoneSuffix::None
            },
            ..DsStyle::default()
        });
    }
    builder.finish(freq)
}

/// How a `ds` column is stored.
#[derive(Clone, Copy)]
enum DsKind {
    /// Integer time indices.
    Integer,
    /// Dates or timestamps; `zoned` when the timestamps carry a time zone (stored as UTC).
    Typed { zoned: bool },
    /// Text, parsed as the CSV reader parses it.
    Text,
}

/// One batch's `ds` values in the form they are read in.
enum DsColumn {
    Integer(ArrayRef),
    /// Microseconds, or nanoseconds when the file stores those, since the epoch (UTC for zoned
    /// timestamps).
    Instants(ArrayRef),
    Text(ArrayRef),
}

impl DsKind {
    fn of(source: &str, data_type: &DataType) -> Result<DsKind> {
        Ok(match data_type {
            t if t.is_integer() => DsKind::Integer,
            DataType::Date32 | DataType::Date64 => DsKind::Typed { zoned: false },
            DataType::Timestamp(_, zone) => DsKind::Typed {
                zoned: zone.is_some(),
            },
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DsKind::Text,
            DataType::Dictionary(_, values) if values.is_string() => DsKind::Text,
            other => {
                return Err(Error::Data(format!(
                    "{source}: column 'ds' has type {other}; expected integers, dates, \
                     timestamps or text"
                )))
            }
        })
    }

    fn column(self, source: &str, array: &ArrayRef) -> Result<DsColumn> {
        Ok(match self {
            DsKind::Integer => DsColumn::Integer(cast_to(source, "ds", array, &DataType::Int64)?),
            DsKind::Text => DsColumn::Text(cast_to(source, "ds", array, &DataType::Utf8)?),
            DsKind::Typed { .. } => DsColumn::Instants(instants(source, array)?),
        })
    }
}

/// A date or timestamp column as nanoseconds since the epoch when it holds those (no precision
/// is lost), else as microseconds.
fn instants(source: &str, array: &ArrayRef) -> Result<ArrayRef> {
    let target = DataType::Timestamp(TimeUnit::Microsecond, None);
    match array.data_type() {
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>();
            let values = days.unary::<_, TimestampMicrosecondType>(|d| {
                i64::from(d).saturating_mul(86_400_000_000)
            });
            Ok(Arc::new(values))
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>();
            let values = ms.unary::<_, TimestampMicrosecondType>(|v| v.saturating_mul(1000));
            Ok(Arc::new(values))
        }
        // Zoned timestamps are stored as UTC instants: dropping the zone keeps the values.
        DataType::Timestamp(_, _) => {
            let naive = match array.data_type() {
                DataType::Timestamp(unit, Some(_)) => {
                    let unzoned = DataType::Timestamp(*unit, None);
                    array.to_data().into_builder().data_type(unzoned).build()
                }
                _ => Ok(array.to_data()),
            }
            .map_err(|e| arrow_error(source, e))?;
            let naive = arrow_array::make_array(naive);
            if let DataType::Timestamp(TimeUnit::Nanosecond, _) = naive.data_type() {
                return Ok(naive);
            }
            cast_to(source, "ds", &naive, &target)
        }
        other => Err(Error::Data(format!(
            "{source}: column 'ds' has type {other}; expected a date or timestamp"
        ))),
    }
}

/// The columns of one batch, ready to be read row by row.
struct BatchColumns {
    rows: usize,
    id: ArrayRef,
    ds: DsColumn,
    y: ArrayRef,
    extra: Vec<ArrayRef>,
}

/// What reading `ds` values remembers from row to row: the last day's date (see [`DayCache`]).
#[derive(Default)]
struct Days {
    texts: DayCache<[u8; 10]>,
    instants: DayCache<i64>,
}

/// One batch's `ds` column as typed values.
enum DsValues<'a> {
    Integer(&'a Int64Array),
    Micros(&'a TimestampMicrosecondArray),
    Nanos(&'a TimestampNanosecondArray),
    Text(&'a StringArray),
}

/// What the integers of an integer or instant `ds` column count.
#[derive(Clone, Copy, PartialEq)]
enum RawUnit {
    Index,
    Micros,
    Nanos,
}

impl DsValues<'_> {
    /// The column's integers and what they count, unless it holds text.
    fn raw(&self) -> Option<(&[i64], RawUnit)> {
        match self {
            DsValues::Integer(a) => Some((a.values(), RawUnit::Index)),
            DsValues::Micros(a) => Some((a.values(), RawUnit::Micros)),
            DsValues::Nanos(a) => Some((a.values(), RawUnit::Nanos)),
            DsValues::Text(_) => None,
        }
    }

    /// The column as an array, for its nulls.
    fn array(&self) -> &dyn Array {
        match self {
            DsValues::Integer(a) => *a,
            DsValues::Micros(a) => *a,
            DsValues::Nanos(a) => *a,
            DsValues::Text(a) => *a,
        }
    }
}

impl BatchColumns {
    /// Adds every row to `builder`; the batch's first row is row `first_row` of the file.
    fn push_rows(
        &self,
        source: &str,
        first_row: u64,
        builder: &mut FrameBuilder,
        days: &mut Days,
    ) -> Result<()> {
        let ids: &StringArray = self.id.as_string::<i32>();
        let y = self.y.as_primitive::<Float64Type>();
        let extra: Vec<&StringArray> = self.extra.iter().map(|a| a.as_string::<i32>()).collect();
        let ds = match &self.ds {
            DsColumn::Integer(a) => DsValues::Integer(a.as_primitive::<Int64Type>()),
            DsColumn::Instants(a) => match a.data_type() {
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    DsValues::Nanos(a.as_primitive::<TimestampNanosecondType>())
                }
                _ => DsValues::Micros(a.as_primitive::<TimestampMicrosecondType>()),
            },
            DsColumn::Text(a) => DsValues::Text(a.as_string::<i32>()),
        };
        // Without nulls, extra columns or ds texts, each series' run of rows is checked as a
        // whole when it is regular (evenly spaced, finite values): the usual file.
        let by_runs = extra.is_empty()
            && ids.null_count() == 0
            && y.null_count() == 0
            && ds.raw().is_some()
            && ds.array().null_count() == 0;
        let mut start = 0;
        while start < ids.len() {
            let end = if by_runs {
                run_end(ids, start)
            } else {
                start + 1
            };
            let rows = start..end;
            let row = first_row + start as u64;
            let y_run = &y.values()[rows.clone()];
            if let Some((ends, gap)) = even_run(&ds, rows.clone(), y_run, days) {
                builder.push_even_run(row, ids.value(start), ends, gap, y_run)?;
            } else {
                for i in rows {
                    let row = first_row + i as u64;
                    if ids.is_null(i) {
                        return Err(Error::Data(format!(
                            "{source}: row {row}: column 'unique_id' is null; every row needs a \
                             series id"
                        )));
                    }
                    let id = ids.value(i);
                    if ds.array().is_null(i) {
                        return Err(Error::Data(format!(
                            "{source}: row {row}: series '{id}': column 'ds' is null"
                        )));
                    }
                    let ds = ds_value(&ds, (source, row, id), i, builder, days)?;
                    if y.is_null(i) {
                        return Err(Error::Data(format!(
                            "{source}: row {row}: series '{id}': column 'y' is null; drop or \
                             fill missing values first"
                        )));
                    }
                    let values = extra
                        .iter()
                        .map(|c| if c.is_null(i) { "" } else { c.value(i) });
                    builder.push(row, id, ds, y.value(i), values)?;
                }
            }
            start = end;
        }
        Ok(())
    }
}

/// The end of the run of rows from `start` on that share its series id.
fn run_end(ids: &StringArray, start: usize) -> usize {
    let id = ids.value(start);
    (start + 1..ids.len())
        .find(|&i| ids.value(i) != id)
        .unwrap_or(ids.len())
}

/// The first and last `ds` of rows `rows` and the gap between consecutive ones, when the run
/// has two rows or more, its integer or instant `ds` increase by one fixed step, both ends
/// are valid time stamps and every value in `y` is finite in f32: then the run needs no check
/// row by row. `None` otherwise (the rows are then read one at a time, and any problem
/// reported at its row).
fn even_run(
    ds: &DsValues<'_>,
    rows: std::ops::Range<usize>,
    y: &[f64],
    days: &mut Days,
) -> Option<((Timestamp, Timestamp), Gap)> {
    let (values, unit) = ds.raw()?;
    let raw = &values[rows];
    let step = match raw {
        [a, b, ..] => b.checked_sub(*a).filter(|d| *d > 0)?,
        _ => return None,
    };
    let even = raw.windows(2).all(|w| w[1].checked_sub(w[0]) == Some(step));
    // `fits_f32` is false for NaN and infinities too.
    if !even || !y.iter().all(|&v| fits_f32(v)) {
        return None;
    }
    let ends = (
        unit.timestamp(raw[0], &mut days.instants)?,
        unit.timestamp(raw[raw.len() - 1], &mut days.instants)?,
    );
    let gap = match unit {
        RawUnit::Index => Gap::Steps(step),
        RawUnit::Micros => Gap::Time(TimeDelta::microseconds(step)),
        RawUnit::Nanos => Gap::Time(TimeDelta::nanoseconds(step)),
    };
    Some((ends, gap))
}

impl RawUnit {
    /// The time stamp `raw` counts: an index, or an instant when it lies in the years 0 to 9999.
    fn timestamp(self, raw: i64, days: &mut DayCache<i64>) -> Option<Timestamp> {
        let per_second = match self {
            RawUnit::Index => return Some(Timestamp::Int(raw)),
            RawUnit::Micros => 1_000_000,
            RawUnit::Nanos => 1_000_000_000,
        };
        let nanos = raw.rem_euclid(per_second) * (1_000_000_000 / per_second);
        from_epoch(raw.div_euclid(per_second), nanos as u32, days).map(Timestamp::DateTime)
    }
}

/// Value `i` of a batch's (non-null) `ds` column, read at `(source, row, id)`.
fn ds_value(
    values: &DsValues<'_>,
    (source, row, id): (&str, u64, &str),
    i: usize,
    builder: &mut FrameBuilder,
    days: &mut Days,
) -> Result<Timestamp> {
    let (raw, unit) = match values {
        DsValues::Text(a) => {
            let text = a.value(i);
            let (ds, style) = parse_ds_styled(source, ("row", row), id, text, &mut days.texts)?;
            builder.observe_style(row, &ds, style)?;
            return Ok(ds);
        }
        DsValues::Integer(a) => (a.value(i), RawUnit::Index),
        DsValues::Micros(a) => (a.value(i), RawUnit::Micros),
        DsValues::Nanos(a) => (a.value(i), RawUnit::Nanos),
    };
    unit.timestamp(raw, &mut days.instants).ok_or_else(|| {
        let unit = if unit == RawUnit::Nanos { "ns" } else { "µs" };
        Error::Data(format!(
            "{source}: row {row}: series '{id}': column 'ds' holds {raw} {unit} from 1970, \
             outside the years 0 to 9999"
        ))
    })
}

/// Refuses a `column` that is not numeric.
fn check_numeric(source: &str, column: &str, data_type: &DataType) -> Result<()> {
    if data_type.is_numeric() {
        return Ok(());
    }
    Err(Error::Data(format!(
        "{source}: column '{column}' has type {data_type}; expected integers or floats"
    )))
}

/// `array` as UTF-8 text (numbers and dictionary values written out).
fn as_text(source: &str, column: &str, array: &ArrayRef) -> Result<ArrayRef> {
    cast_to(source, column, array, &DataType::Utf8)
}

/// `array` cast to `target`, refusing values that do not convert.
fn cast_to(source: &str, column: &str, array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, target, &options).map_err(|e| {
        Error::Data(format!(
            "{source}: column '{column}' ({}) cannot be read as {target}: {e}",
            array.data_type()
        ))
    })
}

/// An Arrow or Parquet failure, named with the source.
pub(crate) fn arrow_error(source: &str, e: impl std::fmt::Display) -> Error {
    Error::Data(format!("{source}: {e}"))
}

/// A failure while decoding a batch, named with the source; a guarded decoder's panic
/// (see `decoder_guard`) is shown as its own message.
fn batch_error(source: &str, e: ArrowError) -> Error {
    match e {
        ArrowError::ExternalError(inner) => arrow_error(source, inner),
        other => arrow_error(source, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Micro- and nanosecond counts, negative ones with a fraction of a second included, read
    /// as chrono reads them.
    #[test]
    fn instants_read_as_chrono_reads_them() {
        let mut days = DayCache::default();
        for raw in [
            -1,
            -999_999,
            -1_000_001,
            -86_400_000_001,
            0,
            1,
            1_700_000_000_123_456,
        ] {
            let micros = chrono::DateTime::from_timestamp_micros(raw).map(|d| d.naive_utc());
            assert_eq!(
                RawUnit::Micros.timestamp(raw, &mut days),
                micros.map(Timestamp::DateTime),
                "{raw} µs"
            );
            let nanos = chrono::DateTime::from_timestamp_nanos(raw).naive_utc();
            assert_eq!(
                RawUnit::Nanos.timestamp(raw, &mut days),
                Some(Timestamp::DateTime(nanos)),
                "{raw} ns"
            );
        }
        assert_eq!(
            RawUnit::Index.timestamp(-7, &mut days),
            Some(Timestamp::Int(-7))
        );
    }
}
