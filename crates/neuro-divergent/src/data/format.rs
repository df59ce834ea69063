//! The file formats panels are read from and forecasts written to, chosen by extension or by
//! name, and reading a panel in any of them from a file or standard input (`-`).

use std::fmt;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use arrow_ipc::reader::{FileReader, StreamReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::columnar::{arrow_error, frame_from_batches};
use super::csv_input::open_file;
use super::decoder_guard::{guarded, GuardedBatches};
use super::json_input::{read_json_lines, read_json_records};
use super::{read_csv_from, Freq, TimeSeriesFrame};
use crate::error::{Error, Result};

/// Rows per record batch when reading Parquet.
const BATCH_ROWS: usize = 65_536;

/// The magic bytes that open an Arrow IPC file (Feather v2); streams have none.
const ARROW_FILE_MAGIC: &[u8] = b"ARROW1";

/// A format for panels and forecasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFormat {
    /// Comma-separated text with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Apache Arrow IPC: a file (Feather v2) or a stream.
    Arrow,
    /// A JSON array of records.
    Json,
    /// JSON lines: one record per line.
    Jsonl,
}

impl DataFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [DataFormat; 5] = [
        DataFormat::Csv,
        DataFormat::Parquet,
        DataFormat::Arrow,
        DataFormat::Json,
        DataFormat::Jsonl,
    ];

    /// The format named `name` (`csv`, `parquet`, `arrow`, `json`, `jsonl`; also `pq`,
    /// `feather`, `ipc`, `arrows` and `ndjson`), case-insensitive.
    pub fn parse(name: &str) -> Result<DataFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(DataFormat::Csv),
            "parquet" | "pq" => Ok(DataFormat::Parquet),
            "arrow" | "feather" | "ipc" | "arrows" => Ok(DataFormat::Arrow),
            "json" => Ok(DataFormat::Json),
            "jsonl" | "ndjson" => Ok(DataFormat::Jsonl),
            _ => Err(Error::Config(format!(
                "unknown format '{name}'; expected one of {}",
                DataFormat::ALL.map(|f| f.to_string()).join(", ")
            ))),
        }
    }

    /// The format `path`'s extension names, if it names one.
    pub fn of_path(path: &Path) -> Option<DataFormat> {
        let extension = path.extension()?.to_str()?;
        DataFormat::parse(extension).ok()
    }

    /// `given` when set, else the format of `path`'s extension, else CSV.
    pub fn resolve(path: &Path, given: Option<DataFormat>) -> DataFormat {
        given
            .or_else(|| DataFormat::of_path(path))
            .unwrap_or(DataFormat::Csv)
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
            DataFormat::Arrow => "arrow",
            DataFormat::Json => "json",
            DataFormat::Jsonl => "jsonl",
        })
    }
}

/// Reads a panel from `path` (`-`: standard input) in `format` (by default the one its
/// extension names, else CSV); the frequency is inferred when `freq` is `None`.
pub fn read_frame(
    path: &Path,
    format: Option<DataFormat>,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    let format = DataFormat::resolve(path, format);
    if path == Path::new("-") {
        return read_frame_from(std::io::stdin().lock(), "<stdin>", format, freq);
    }
    let source = path.display().to_string();
    let file = open_file(path)?;
    match format {
        // Parquet and Arrow files are read in place, without a copy in memory.
        DataFormat::Parquet => read_parquet(file, &source, freq),
        DataFormat::Arrow => read_arrow(file, &source, freq),
        _ => read_frame_from(file, &source, format, freq),
    }
}

/// Like [`read_frame`] from any reader; `source` names the data in messages.
pub fn read_frame_from<R: Read>(
    mut reader: R,
    source: &str,
    format: DataFormat,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    match format {
        DataFormat::Csv => read_csv_from(reader, source, freq),
        DataFormat::Json => read_json_records(reader, source, freq),
        DataFormat::Jsonl => read_json_lines(reader, source, freq),
        DataFormat::Parquet | DataFormat::Arrow => {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| Error::Data(format!("{source}: cannot be read: {e}")))?;
            if format == DataFormat::Parquet {
                read_parquet(bytes::Bytes::from(bytes), source, freq)
            } else {
                read_arrow(Cursor::new(bytes), source, freq)
            }
        }
    }
}

/// Reads a Parquet file, batch by batch.
fn read_parquet<T>(input: T, source: &str, freq: Option<Freq>) -> Result<TimeSeriesFrame>
where
    T: parquet::file::reader::ChunkReader + 'static,
{
    let reader = guarded(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(input)
            .map_err(|e| Error::Data(format!("{source}: not a readable Parquet file: {e}")))?;
        let schema = builder.schema().clone();
        let reader = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| arrow_error(source, e))?;
        Ok::<_, Error>((schema, reader))
    });
    let (schema, reader) = corrupt(source, reader)??;
    frame_from_batches(source, &schema, GuardedBatches::new(reader), freq)
}

/// Reads an Arrow IPC file (Feather v2) or stream.
fn read_arrow<R: Read + Seek>(
    mut input: R,
    source: &str,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    let mut magic = [0u8; 6];
    let is_file = input.read_exact(&mut magic).is_ok() && magic == ARROW_FILE_MAGIC;
    input
        .rewind()
        .map_err(|e| Error::Data(format!("{source}: cannot be read: {e}")))?;
    if is_file {
        let reader = guarded(|| FileReader::try_new(input, None));
        let reader = corrupt(source, reader)?.map_err(|e| not_arrow(source, e))?;
        let schema = reader.schema();
        frame_from_batches(source, &schema, GuardedBatches::new(reader), freq)
    } else {
        let reader = guarded(|| StreamReader::try_new(BufReader::new(input), None));
        let reader = corrupt(source, reader)?.map_err(|e| not_arrow(source, e))?;
        let schema = reader.schema();
        frame_from_batches(source, &schema, GuardedBatches::new(reader), freq)
    }
}

/// A decoder call that panicked, as an error naming `source`.
fn corrupt<T>(source: &str, outcome: std::result::Result<T, String>) -> Result<T> {
    outcome.map_err(|reason| Error::Data(format!("{source}: {reason}")))
}

fn not_arrow(source: &str, e: impl fmt::Display) -> Error {
    Error::Data(format!(
        "{source}: not a readable Arrow IPC file or stream: {e}"
    ))
}
