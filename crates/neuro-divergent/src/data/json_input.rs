//! Loading a [`TimeSeriesFrame`] from JSON records: an array of objects (`json`) or one object
//! per line (`jsonl`), each with `unique_id`, `ds`, `y` and the same extra keys.
//!
//! `unique_id` is a string or an integer, `ds` a string in the forms the CSV reader takes or an
//! integer, `y` a number; extra values are numbers, strings or null (kept as text, null as
//! empty). Messages name the source, the record (1-based), the series and the key.

use std::io::{BufRead, BufReader, Read};

use serde_json::{Map, Value};

use super::builder::FrameBuilder;
use super::csv_input::parse_ds_styled;
use super::timestamp::DayCache;
use super::{Freq, TimeSeriesFrame, Timestamp};
use crate::error::{Error, Result};

/// The keys every record needs.
const REQUIRED: [&str; 3] = ["unique_id", "ds", "y"];

/// Reads a JSON array of records.
pub(crate) fn read_json_records<R: Read>(
    reader: R,
    source: &str,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    let value: Value = serde_json::from_reader(BufReader::new(reader))
        .map_err(|e| Error::Data(format!("{source}: not valid JSON: {e}")))?;
    let Value::Array(records) = value else {
        return Err(Error::Data(format!(
            "{source}: expected a JSON array of records such as \
             [{{\"unique_id\": \"a\", \"ds\": \"2020-01-01\", \"y\": 1.5}}]"
        )));
    };
    let mut reader = RecordReader::new(source, "record");
    for (i, record) in records.into_iter().enumerate() {
        reader.push(i as u64 + 1, record)?;
    }
    reader.finish(freq)
}

/// Reads JSON lines: one record per line; blank lines are skipped.
pub(crate) fn read_json_lines<R: Read>(
    reader: R,
    source: &str,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    let mut records = RecordReader::new(source, "line");
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let number = i as u64 + 1;
        let line =
            line.map_err(|e| Error::Data(format!("{source}: line {number}: cannot be read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| Error::Data(format!("{source}: line {number}: not valid JSON: {e}")))?;
        records.push(number, value)?;
    }
    records.finish(freq)
}

/// Collects records into a frame; the first record fixes the extra keys.
struct RecordReader<'a> {
    source: &'a str,
    /// What a record's number counts in messages: `record` in arrays, `line` in JSON lines.
    unit: &'static str,
    builder: Option<FrameBuilder>,
    extra: Vec<String>,
    days: DayCache<[u8; 10]>,
}

impl<'a> RecordReader<'a> {
    fn new(source: &'a str, unit: &'static str) -> Self {
        RecordReader {
            source,
            unit,
            builder: None,
            extra: Vec::new(),
            days: DayCache::default(),
        }
    }

    fn push(&mut self, number: u64, record: Value) -> Result<()> {
        let (source, unit) = (self.source, self.unit);
        let Value::Object(record) = record else {
            return Err(Error::Data(format!(
                "{source}: {unit} {number} is not an object with keys {}",
                REQUIRED.join(", ")
            )));
        };
        if self.builder.is_none() {
            self.extra = record
                .keys()
                .filter(|k| !REQUIRED.contains(&k.as_str()))
                .cloned()
                .collect();
            self.builder = Some(FrameBuilder::new(source, unit, self.extra.clone()));
        }
        if let Some(key) = record
            .keys()
            .find(|k| !REQUIRED.contains(&k.as_str()) && !self.extra.contains(k))
        {
            return Err(Error::Data(format!(
                "{source}: {unit} {number} has key '{key}', which the first record does not have; every \
                 record needs the same keys"
            )));
        }
        let field = |key: &str| {
            record
                .get(key)
                .ok_or_else(|| Error::Data(format!("{source}: {unit} {number} has no '{key}'")))
        };
        let id = match field("unique_id")? {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            other => {
                return Err(Error::Data(format!(
                    "{source}: {unit} {number}: 'unique_id' is {other}; expected a string or an \
                     integer"
                )))
            }
        };
        let builder = self.builder.as_mut().expect("set by the first record");
        let ds = match field("ds")? {
            Value::String(text) => {
                let (ds, style) =
                    parse_ds_styled(source, (unit, number), &id, text, &mut self.days)?;
                builder.observe_style(number, &ds, style)?;
                ds
            }
            Value::Number(n) if n.is_i64() => Timestamp::Int(n.as_i64().unwrap_or_default()),
            other => {
                return Err(Error::Data(format!(
                    "{source}: {unit} {number}: series '{id}': 'ds' is {other}; expected a date \
                     string or an integer"
                )))
            }
        };
        let y = match field("y")? {
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            other => {
                return Err(Error::Data(format!(
                    "{source}: {unit} {number}: series '{id}': 'y' is {other}; expected a number \
                     (drop or fill missing values first)"
                )))
            }
        };
        let extra = extra_values((source, unit, number), &id, &record, &self.extra)?;
        builder.validating(|builder| builder.push(number, &id, ds, y, extra))
    }

    fn finish(self, freq: Option<Freq>) -> Result<TimeSeriesFrame> {
        match self.builder {
            Some(builder) => builder.finish(freq),
            None => Err(Error::Data(format!("{}: no records", self.source))),
        }
    }
}

/// The extra values of a record as text, in `names` order.
fn extra_values(
    (source, unit, number): (&str, &str, u64),
    id: &str,
    record: &Map<String, Value>,
    names: &[String],
) -> Result<Vec<String>> {
    names
        .iter()
        .map(|name| match record.get(name) {
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) => Ok(String::new()),
            Some(other) => Err(Error::Data(format!(
                "{source}: {unit} {number}: series '{id}': '{name}' is {other}; expected a \
                 number, a string or null"
            ))),
            None => Err(Error::Data(format!(
                "{source}: {unit} {number}: series '{id}' has no '{name}', which the first record has; \
                 every record needs the same keys"
            ))),
        })
        .collect()
}
