//! Forecasts written in every [`DataFormat`]: CSV, Parquet, Arrow IPC, JSON and JSON lines.
//!
//! Columnar formats type their columns: `unique_id` text, `ds` and `cutoff` integers, dates
//! (when the input's dates had no time of day) or microsecond timestamps (zoned `UTC` when the
//! input's times had a zone), `y` and the forecasts 64-bit floats. JSON writes `ds` in the
//! input's text style (integers as numbers) and NaN as `null`.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowColumnWriter};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use serde_json::{Map, Number, Value};

use crate::data::{DataFormat, DsStyle, Timestamp, ZoneSuffix};
use crate::error::{Error, Result};
use crate::forecast::Forecasts;

impl Forecasts {
    /// Writes the forecasts to `out` in `format`.
    pub fn write_as(&self, format: DataFormat, out: &mut dyn Write) -> Result<()> {
        match format {
            DataFormat::Csv => self.write_csv(out),
            DataFormat::Parquet => {
                let bytes = self.parquet_bytes()?;
                out.write_all(&bytes).map_err(output_error)
            }
            DataFormat::Arrow => {
                let batch = self.record_batch()?;
                let mut writer =
                    FileWriter::try_new(out, &batch.schema()).map_err(columnar_error)?;
                writer.write(&batch).map_err(columnar_error)?;
                writer.finish().map_err(columnar_error)
            }
            DataFormat::Json => {
                let records: Vec<Value> = (0..self.len()).map(|i| self.record(i)).collect();
                serde_json::to_writer(&mut *out, &records)
                    .map_err(|e| output_error(std::io::Error::other(e)))?;
                out.write_all(b"\n").map_err(output_error)
            }
            DataFormat::Jsonl => {
                for i in 0..self.len() {
                    serde_json::to_writer(&mut *out, &self.record(i))
                        .map_err(|e| output_error(std::io::Error::other(e)))?;
                    out.write_all(b"\n").map_err(output_error)?;
                }
                Ok(())
            }
        }
    }

    /// The forecasts as one Arrow record batch with typed columns (the id column built beside
    /// the others, on the chunk workers).
    pub fn record_batch(&self) -> Result<RecordBatch> {
        let (ids, ds) = crate::threads::install(|| {
            rayon::join(
                || StringArray::from_iter_values(&self.ids),
                || time_column(&self.ds, self.ds_style),
            )
        });
        let mut fields = vec![Field::new("unique_id", DataType::Utf8, false)];
        let mut columns: Vec<ArrayRef> = vec![Arc::new(ids)];
        let (ds_type, ds) = ds?;
        fields.push(Field::new("ds", ds_type.clone(), false));
        columns.push(ds);
        if let Some(cutoff) = &self.cutoff {
            let (_, values) = time_column(cutoff, self.ds_style)?;
            fields.push(Field::new("cutoff", ds_type, false));
            columns.push(values);
        }
        if let Some(y) = &self.y {
            fields.push(Field::new("y", DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(y.clone())));
        }
        for (name, values) in self.columns.iter().zip(&self.values) {
            fields.push(Field::new(name, DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(values.clone())));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(columnar_error)
    }

    /// The forecasts as a zstd-compressed Parquet file. Only the id and time columns, which
    /// repeat a few values, are dictionary-encoded: forecast values are nearly all distinct,
    /// and hashing each one into a dictionary the writer then gives up on was a fifth of
    /// writing them. Columns are encoded side by side ([`parquet_file`]).
    fn parquet_bytes(&self) -> Result<Vec<u8>> {
        let properties = ["unique_id", "ds", "cutoff"]
            .into_iter()
            .fold(WriterProperties::builder(), |builder, name| {
                builder.set_column_dictionary_enabled(ColumnPath::from(name), true)
            })
            .set_dictionary_enabled(false)
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        parquet_file(&self.record_batch()?, properties)
    }

    /// Row `i` as a JSON object, columns in CSV order.
    fn record(&self, i: usize) -> Value {
        let time = |ts: &Timestamp| match ts {
            Timestamp::Int(v) => Value::from(*v),
            other => Value::String(other.format(self.ds_style)),
        };
        let number = |v: f64| Number::from_f64(v).map_or(Value::Null, Value::Number);
        let mut record = Map::new();
        record.insert("unique_id".into(), Value::String(self.ids[i].clone()));
        record.insert("ds".into(), time(&self.ds[i]));
        if let Some(cutoff) = &self.cutoff {
            record.insert("cutoff".into(), time(&cutoff[i]));
        }
        if let Some(y) = &self.y {
            record.insert("y".into(), number(y[i]));
        }
        for (name, values) in self.columns.iter().zip(&self.values) {
            record.insert(name.clone(), number(values[i]));
        }
        Value::Object(record)
    }
}

/// `batch` as a Parquet file written with `properties`: the bytes `ArrowWriter` writes, in row
/// groups of its size, each group's columns encoded and compressed side by side on the chunk
/// workers (every column of every group at once).
fn parquet_file(batch: &RecordBatch, properties: WriterProperties) -> Result<Vec<u8>> {
    let group_rows = properties
        .max_row_group_row_count()
        .unwrap_or(usize::MAX)
        .max(1);
    let mut bytes = Vec::new();
    // The Arrow writer sets up the file (its schema, with the Arrow schema in its metadata)
    // and hands over the lower-level writers that encode columns separately.
    let (mut file, groups) = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(columnar_error)?;
    let rows = batch.num_rows();
    let mut parts = Vec::new();
    for (index, start) in (0..rows).step_by(group_rows).enumerate() {
        let part = batch.slice(start, group_rows.min(rows - start));
        let writers = groups
            .create_column_writers(index)
            .map_err(columnar_error)?;
        parts.push((part, writers));
    }
    for chunks in encoded_groups(parts)? {
        let mut group = file.next_row_group().map_err(columnar_error)?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut group)
                .map_err(columnar_error)?;
        }
        group.close().map_err(columnar_error)?;
    }
    file.close().map_err(columnar_error)?;
    Ok(bytes)
}

/// Each row group's columns encoded by their writers (in schema order), every column of every
/// group side by side on the chunk workers.
fn encoded_groups(
    groups: Vec<(RecordBatch, Vec<ArrowColumnWriter>)>,
) -> Result<Vec<Vec<ArrowColumnChunk>>> {
    let mut tasks = Vec::new();
    let mut widths = Vec::with_capacity(groups.len());
    for (batch, writers) in groups {
        let schema = batch.schema();
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column).map_err(columnar_error)?);
        }
        if leaves.len() != writers.len() {
            return Err(columnar_error(format!(
                "{} column writers for {} leaf columns",
                writers.len(),
                leaves.len()
            )));
        }
        widths.push(writers.len());
        tasks.extend(writers.into_iter().zip(leaves));
    }
    let mut chunks = crate::threads::install(|| {
        tasks
            .into_par_iter()
            .map(|(mut writer, leaf)| {
                writer.write(&leaf)?;
                writer.close()
            })
            .collect::<parquet::errors::Result<Vec<ArrowColumnChunk>>>()
    })
    .map_err(columnar_error)?
    .into_iter();
    Ok(widths
        .into_iter()
        .map(|width| chunks.by_ref().take(width).collect())
        .collect())
}

/// A `ds`-like column as integers, dates or microsecond timestamps, and its type.
fn time_column(values: &[Timestamp], style: DsStyle) -> Result<(DataType, ArrayRef)> {
    let int_count = values
        .iter()
        .filter(|t| matches!(t, Timestamp::Int(_)))
        .count();
    if int_count == values.len() {
        let ints = values.iter().map(|t| match t {
            Timestamp::Int(v) => *v,
            Timestamp::DateTime(_) => 0,
        });
        return Ok((
            DataType::Int64,
            Arc::new(Int64Array::from_iter_values(ints)),
        ));
    }
    if int_count > 0 {
        return Err(Error::Data(
            "forecasts mix integer and date-time ds values".into(),
        ));
    }
    // Microseconds since 1970 cover every date-time `Timestamp` holds (years ±262,143).
    // Collected in place: no partial vectors joined afterwards.
    let mut micros = Vec::with_capacity(values.len());
    crate::threads::install(|| {
        values
            .par_iter()
            .map(|t| match t {
                Timestamp::DateTime(dt) => dt.and_utc().timestamp_micros(),
                Timestamp::Int(v) => *v,
            })
            .collect_into_vec(&mut micros)
    });
    if style.date_only {
        let days = micros.iter().map(|m| (m.div_euclid(86_400_000_000)) as i32);
        return Ok((
            DataType::Date32,
            Arc::new(Date32Array::from_iter_values(days)),
        ));
    }
    let zone: Option<Arc<str>> = (style.zone != ZoneSuffix::None).then(|| "UTC".into());
    let array = TimestampMicrosecondArray::from(micros).with_timezone_opt(zone.clone());
    Ok((
        DataType::Timestamp(TimeUnit::Microsecond, zone),
        Arc::new(array),
    ))
}

fn columnar_error(e: impl std::fmt::Display) -> Error {
    output_error(std::io::Error::other(e.to_string()))
}

fn output_error(source: std::io::Error) -> Error {
    Error::Io {
        path: "<forecast output>".into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ArrowWriter` alone writes for `batch`.
    fn arrow_writer_file(batch: &RecordBatch, properties: WriterProperties) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut bytes, batch.schema(), Some(properties)).unwrap();
        writer.write(batch).unwrap();
        writer.close().unwrap();
        bytes
    }

    #[test]
    fn columns_encoded_side_by_side_write_the_arrow_writers_bytes() {
        let ids: Vec<String> = (0..11).map(|i| format!("s{}", i / 4)).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("unique_id", DataType::Utf8, false),
            Field::new("ds", DataType::Int64, false),
            Field::new("NHITS", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(&ids)),
                Arc::new(Int64Array::from_iter_values(0..11)),
                Arc::new(Float64Array::from_iter_values(
                    (0..11).map(|i| i as f64 / 3.0),
                )),
            ],
        )
        .unwrap();
        // Row groups of 4 rows (three, the last one short), of more rows than the batch, and
        // no rows at all.
        for (rows, group) in [(11, 4), (11, 100), (0, 4)] {
            let batch = batch.slice(0, rows);
            let properties = || {
                WriterProperties::builder()
                    .set_max_row_group_row_count(Some(group))
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build()
            };
            let ours = parquet_file(&batch, properties()).unwrap();
            assert_eq!(ours, arrow_writer_file(&batch, properties()), "{rows} rows");
        }
    }
}
