//! Panels in Parquet, Arrow IPC, JSON and JSON lines: files written by pandas, pyarrow and
//! polars (`benches/format_fixtures.py`) read like the CSV; forecasts written in every format
//! hold the same columns and values; every validation case of the CSV reader has its Parquet and JSON
//! counterpart.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use neuro_divergent::data::{read_frame, read_frame_from, DataFormat, TimeSeriesFrame, ZoneSuffix};
use neuro_divergent::{FitOptions, Forecasts, NeuralForecast};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn same_panel(a: &TimeSeriesFrame, b: &TimeSeriesFrame) {
    assert_eq!(a.series().len(), b.series().len());
    for (x, y) in a.series().iter().zip(b.series()) {
        assert_eq!(x.id, y.id);
        assert_eq!(x.ds, y.ds);
        assert_eq!(x.y, y.y);
    }
    assert_eq!(a.freq(), b.freq());
}

#[test]
fn files_from_pandas_pyarrow_and_polars_read_like_the_csv() {
    let csv = common::air_passengers();
    for (name, date_only) in [
        ("air_pandas.parquet", true),
        ("air_polars.parquet", true),
        ("air_utc.arrow", false),
        ("air_pandas.json", false),
        ("air_polars.jsonl", true),
    ] {
        let frame =
            read_frame(&fixture(name), None, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        same_panel(&frame, &csv);
        assert_eq!(frame.date_only(), date_only, "{name}");
    }
    let utc = read_frame(&fixture("air_utc.arrow"), None, None).unwrap();
    assert_eq!(utc.ds_style().zone, ZoneSuffix::Offset);
    let json = read_frame(&fixture("air_pandas.json"), None, None).unwrap();
    assert!(json.ds_style().t_separator && json.ds_style().fraction_digits == 3);
    // A format named explicitly wins over the extension.
    let dir = tempfile::tempdir().unwrap();
    let misnamed = dir.path().join("panel.csv");
    std::fs::copy(fixture("air_polars.parquet"), &misnamed).unwrap();
    let frame = read_frame(&misnamed, Some(DataFormat::Parquet), None).unwrap();
    same_panel(&frame, &csv);
    let bytes = std::fs::read(fixture("air_polars.parquet")).unwrap();
    let frame = read_frame_from(Cursor::new(bytes), "<stdin>", DataFormat::Parquet, None).unwrap();
    same_panel(&frame, &csv);
}

fn forecasts() -> Forecasts {
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 12, 24, 5)], None).unwrap();
    let data = read_frame(&fixture("air_polars.parquet"), None, None).unwrap();
    nf.fit(&data, FitOptions::default(), None).unwrap();
    nf.predict(None).unwrap()
}

/// The record batches of a Parquet or Arrow output.
fn batches(format: DataFormat, bytes: Vec<u8>) -> Vec<RecordBatch> {
    match format {
        DataFormat::Parquet => ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        DataFormat::Arrow => arrow_ipc::reader::FileReader::try_new(Cursor::new(bytes), None)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        other => panic!("{other} is not columnar"),
    }
}

#[test]
fn forecasts_in_every_format_hold_the_same_columns_and_values() {
    let forecasts = forecasts();
    let values = forecasts.column("MLP").unwrap();
    for format in [DataFormat::Parquet, DataFormat::Arrow] {
        let mut bytes = Vec::new();
        forecasts.write_as(format, &mut bytes).unwrap();
        let batch = &batches(format, bytes)[0];
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["unique_id", "ds", "MLP"]);
        assert_eq!(batch.column(1).data_type(), &arrow_schema::DataType::Date32);
        let read = batch.column(2).as_primitive::<Float64Type>();
        assert_eq!(read.values().to_vec(), values);
        let days = batch
            .column(1)
            .as_primitive::<arrow_array::types::Date32Type>();
        // 1961-01-01 is day -3287 from 1970-01-01.
        assert_eq!(days.value(0), -3287);
    }
    let mut json = Vec::new();
    forecasts.write_as(DataFormat::Json, &mut json).unwrap();
    let records: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(records[0]["ds"], "1961-01-01");
    let keys: Vec<&String> = records[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["unique_id", "ds", "MLP"], "columns in CSV order");
    assert_eq!(records[11]["MLP"].as_f64(), Some(values[11]));
    let mut lines = Vec::new();
    forecasts.write_as(DataFormat::Jsonl, &mut lines).unwrap();
    let lines = String::from_utf8(lines).unwrap();
    assert_eq!(lines.lines().count(), 12);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first, records[0]);
}

#[test]
fn integer_ds_and_zoned_times_keep_their_types() {
    let frame = parquet_frame(vec![
        ("unique_id", text(&["a", "a", "a", "a"])),
        ("ds", ints(&[1, 2, 3, 4])),
        ("y", floats(&[1.0, 2.0, 3.0, 4.0])),
    ])
    .unwrap();
    assert_eq!(
        frame.series()[0].ds.at(3),
        neuro_divergent::data::Timestamp::Int(4)
    );
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 2, 2, 2)], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let mut bytes = Vec::new();
    nf.predict(None)
        .unwrap()
        .write_as(DataFormat::Parquet, &mut bytes)
        .unwrap();
    let batch = &batches(DataFormat::Parquet, bytes)[0];
    assert_eq!(
        batch
            .column(1)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        [5, 6]
    );
    let frame = read_frame(&fixture("air_utc.arrow"), None, None).unwrap();
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 2, 4, 2)], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let forecasts = nf.predict(None).unwrap();
    let mut bytes = Vec::new();
    forecasts.write_as(DataFormat::Arrow, &mut bytes).unwrap();
    let batch = &batches(DataFormat::Arrow, bytes)[0];
    assert_eq!(
        batch.column(1).data_type().to_string(),
        "Timestamp(µs, \"UTC\")"
    );
    let mut csv = Vec::new();
    forecasts.write_csv(&mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("\nAirPassengers,1961-01-01 00:00:00+00:00,"),
        "{csv}"
    );
}

fn text(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn ints(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

fn floats(values: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

/// A Parquet file of `columns`, read back as a panel.
fn parquet_frame(columns: Vec<(&str, ArrayRef)>) -> neuro_divergent::Result<TimeSeriesFrame> {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    read_frame_from(Cursor::new(bytes), "bad.parquet", DataFormat::Parquet, None)
}

fn parquet_error(columns: Vec<(&str, ArrayRef)>) -> String {
    parquet_frame(columns).unwrap_err().to_string()
}

fn json_error(text: &str) -> String {
    read_frame_from(text.as_bytes(), "bad.json", DataFormat::Json, None)
        .unwrap_err()
        .to_string()
}

fn assert_has(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` not in: {message}");
    }
}

#[test]
fn parquet_validation_names_the_row_series_and_column() {
    let ds = || text(&["2020-01-01", "2020-01-02", "2020-01-03"]);
    let id = || text(&["a", "a", "a"]);
    let m = parquet_error(vec![("unique_id", id()), ("ds", ds())]);
    assert_has(
        &m,
        &["bad.parquet: no column 'y'", "the file has unique_id, ds"],
    );
    let nullable_id: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("a")]));
    let y = || floats(&[1.0, 2.0, 3.0]);
    let m = parquet_error(vec![("unique_id", nullable_id), ("ds", ds()), ("y", y())]);
    assert_has(&m, &["row 2: column 'unique_id' is null"]);
    let m = parquet_error(vec![
        ("unique_id", text(&["a", " ", "a"])),
        ("ds", ds()),
        ("y", y()),
    ]);
    assert_has(&m, &["row 2: column 'unique_id' is empty"]);
    let null_y: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(2.0), None]));
    let m = parquet_error(vec![("unique_id", id()), ("ds", ds()), ("y", null_y)]);
    assert_has(&m, &["row 3: series 'a': column 'y' is null"]);
    for (bad, shown) in [(f64::NAN, "NaN"), (1e39, "32-bit")] {
        let m = parquet_error(vec![
            ("unique_id", id()),
            ("ds", ds()),
            ("y", floats(&[1.0, bad, 3.0])),
        ]);
        assert_has(&m, &["row 2: series 'a': column 'y'", shown]);
    }
    let m = parquet_error(vec![
        ("unique_id", id()),
        ("ds", ds()),
        ("y", text(&["1", "2", "x"])),
    ]);
    assert_has(
        &m,
        &["column 'y' has type Utf8; expected integers or floats"],
    );
    let bad_ds = text(&["2020-01-01", "someday", "2020-01-03"]);
    let m = parquet_error(vec![("unique_id", id()), ("ds", bad_ds), ("y", y())]);
    assert_has(&m, &["row 2: series 'a': column 'ds' holds 'someday'"]);
    let twice = text(&["2020-01-01", "2020-01-02", "2020-01-02"]);
    let m = parquet_error(vec![("unique_id", id()), ("ds", twice), ("y", y())]);
    assert_has(
        &m,
        &["series 'a' has two rows with ds 2020-01-02: rows 2 and 3"],
    );
    let gap = ints(&[1, 2, 4, 5, 7]);
    let m = parquet_error(vec![
        ("unique_id", text(&["a"; 5])),
        ("ds", gap),
        ("y", floats(&[1.0; 5])),
    ]);
    assert_has(&m, &["ds jumps from 2 (row 2) to 4 (row 3)"]);
    let mixed = text(&["1", "2020-01-02", "3"]);
    let m = parquet_error(vec![("unique_id", id()), ("ds", mixed), ("y", y())]);
    assert_has(&m, &["mixes integer and date values: row 1", "row 2"]);
    let m = parquet_error(vec![
        ("unique_id", text(&[])),
        ("ds", text(&[])),
        ("y", floats(&[])),
    ]);
    assert_has(&m, &["bad.parquet: the file has no rows"]);
    let m = read_frame_from(
        &b"unique_id,ds,y\n"[..],
        "x.parquet",
        DataFormat::Parquet,
        None,
    )
    .unwrap_err()
    .to_string();
    assert_has(&m, &["x.parquet: not a readable Parquet file"]);
}

#[test]
fn json_validation_names_the_record_series_and_key() {
    let m = json_error(r#"[{"unique_id":"a","ds":"2020-01-01"}]"#);
    assert_has(&m, &["bad.json: record 1 has no 'y'"]);
    let m = json_error(
        r#"[{"unique_id":"a","ds":"2020-01-01","y":1},{"unique_id":null,"ds":"2020-01-02","y":2}]"#,
    );
    assert_has(&m, &["record 2: 'unique_id' is null"]);
    let m = json_error(r#"[{"unique_id":" ","ds":"2020-01-01","y":1}]"#);
    assert_has(&m, &["record 1: column 'unique_id' is empty"]);
    let m = json_error(r#"[{"unique_id":"a","ds":"2020-01-01","y":null}]"#);
    assert_has(&m, &["record 1: series 'a': 'y' is null"]);
    let m = json_error(r#"[{"unique_id":"a","ds":"2020-01-01","y":1e39}]"#);
    assert_has(&m, &["record 1: series 'a': column 'y'", "32-bit"]);
    let m = json_error(r#"[{"unique_id":"a","ds":"someday","y":1}]"#);
    assert_has(&m, &["record 1: series 'a': column 'ds' holds 'someday'"]);
    let m = json_error(
        r#"[{"unique_id":"a","ds":1,"y":1},{"unique_id":"a","ds":2,"y":1},{"unique_id":"a","ds":2,"y":1}]"#,
    );
    assert_has(&m, &["two rows with ds 2: records 2 and 3"]);
    let m = json_error(
        r#"[{"unique_id":"a","ds":1,"y":1},{"unique_id":"a","ds":2,"y":1},{"unique_id":"a","ds":4,"y":1},{"unique_id":"a","ds":5,"y":1},{"unique_id":"a","ds":7,"y":1}]"#,
    );
    assert_has(&m, &["ds jumps from 2 (record 2) to 4 (record 3)"]);
    let m =
        json_error(r#"[{"unique_id":"a","ds":1,"y":1},{"unique_id":"a","ds":"2020-01-02","y":1}]"#);
    assert_has(&m, &["mixes integer and date values: record 1", "record 2"]);
    let m = json_error(r#"[{"unique_id":"a","ds":1,"y":1,"p":1},{"unique_id":"a","ds":2,"y":1}]"#);
    assert_has(&m, &["record 2: series 'a' has no 'p'"]);
    let m = json_error(r#"[{"unique_id":"a","ds":1,"y":1},{"unique_id":"a","ds":2,"y":1,"q":3}]"#);
    assert_has(
        &m,
        &["record 2 has key 'q', which the first record does not have"],
    );
    assert_has(&json_error("[]"), &["bad.json: no records"]);
    assert_has(
        &json_error("{\"unique_id\": 1"),
        &["bad.json: not valid JSON"],
    );
    assert_has(&json_error("{}"), &["expected a JSON array of records"]);
    let m = read_frame_from(
        &b"{\"unique_id\":\"a\",\"ds\":1,\"y\":1}\n\n{\"unique_id\":\"a\",\"ds\":2,\"y\":oops}\n"[..],
        "bad.jsonl",
        DataFormat::Jsonl,
        None,
    )
    .unwrap_err()
    .to_string();
    assert_has(&m, &["bad.jsonl: line 3: not valid JSON"]);
}

#[test]
fn formats_are_chosen_by_extension_or_name() {
    assert_eq!(
        DataFormat::resolve(Path::new("a.parquet"), None),
        DataFormat::Parquet
    );
    assert_eq!(
        DataFormat::resolve(Path::new("a.feather"), None),
        DataFormat::Arrow
    );
    assert_eq!(
        DataFormat::resolve(Path::new("a.ndjson"), None),
        DataFormat::Jsonl
    );
    assert_eq!(DataFormat::resolve(Path::new("-"), None), DataFormat::Csv);
    assert_eq!(
        DataFormat::resolve(Path::new("a.txt"), None),
        DataFormat::Csv
    );
    assert_eq!(
        DataFormat::resolve(Path::new("a.csv"), Some(DataFormat::Json)),
        DataFormat::Json
    );
    let err = DataFormat::parse("xlsx").unwrap_err().to_string();
    assert_has(
        &err,
        &["unknown format 'xlsx'", "csv, parquet, arrow, json, jsonl"],
    );
}

#[test]
fn a_corrupt_arrow_file_is_an_error_not_a_panic() {
    // Found by tests/fuzz.rs: one byte of the IPC footer set to 128 made arrow-ipc unwrap a None.
    let mut bytes = std::fs::read(fixture("air_utc.arrow")).unwrap();
    let at = 16_833_465_487_964_658_611usize % bytes.len();
    bytes[at] = 128;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.arrow");
    std::fs::write(&path, &bytes).unwrap();
    let m = read_frame(&path, None, None).unwrap_err().to_string();
    assert_has(&m, &["corrupt.arrow: a corrupt or unsupported file"]);
    let m = read_frame_from(Cursor::new(bytes), "<stdin>", DataFormat::Arrow, None)
        .unwrap_err()
        .to_string();
    assert_has(&m, &["<stdin>: a corrupt or unsupported file"]);
}

#[test]
fn rows_are_numbered_over_the_whole_file_across_batches() {
    // The Parquet reader decodes 65,536 rows per batch: row 70,000 lies in the second batch.
    let n = 70_000;
    let ids = vec!["a"; n];
    let ds: Vec<i64> = (1..=n as i64).collect();
    let mut y = vec![1.0; n];
    y[n - 1] = f64::NAN;
    let m = parquet_error(vec![
        ("unique_id", text(&ids)),
        ("ds", ints(&ds)),
        ("y", floats(&y)),
    ]);
    assert_has(&m, &["row 70000: series 'a': column 'y'", "NaN"]);
    // A sliced column (an offset into its buffers) reads its own values.
    let batch = RecordBatch::try_from_iter(vec![
        ("unique_id", text(&["x", "a", "a", "a"])),
        ("ds", ints(&[9, 1, 2, 3])),
        ("y", floats(&[9.0, 1.0, 2.0, 3.0])),
    ])
    .unwrap()
    .slice(1, 3);
    let mut bytes = Vec::new();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut bytes, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    let frame = read_frame_from(Cursor::new(bytes), "s.arrows", DataFormat::Arrow, None).unwrap();
    assert_eq!(frame.series()[0].id, "a");
    assert_eq!(frame.series()[0].y, [1.0, 2.0, 3.0]);
}

#[test]
fn nanosecond_timestamps_keep_their_nanoseconds_and_years_stay_in_range() {
    use arrow_array::{TimestampMicrosecondArray, TimestampNanosecondArray};
    // Two instants 1 ns apart are two hours' last nanosecond and the next hour: not duplicates.
    let hour = 3_600_000_000_000i64;
    let ns: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![
        hour - 1,
        2 * hour - 1,
        3 * hour - 1,
    ]));
    let frame = parquet_frame(vec![
        ("unique_id", text(&["a", "a", "a"])),
        ("ds", ns),
        ("y", floats(&[1.0, 2.0, 3.0])),
    ])
    .unwrap();
    assert_eq!(
        frame.series()[0].ds.at(0),
        neuro_divergent::data::Timestamp::DateTime(
            chrono::DateTime::from_timestamp_nanos(hour - 1).naive_utc()
        )
    );
    let far: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
        0,
        300_000_000_000_000_000,
    ]));
    let m = parquet_error(vec![
        ("unique_id", text(&["a", "a"])),
        ("ds", far),
        ("y", floats(&[1.0, 2.0])),
    ]);
    assert_has(
        &m,
        &["row 2: series 'a': column 'ds' holds 300000000000000000 µs from 1970, outside the years 0 to 9999"],
    );
    // A zone that moves 9999-12-31 past midnight leaves the years a ds can be written in.
    let m = json_error(r#"[{"unique_id":"a","ds":"9999-12-31T23:30:00-01:00","y":1}]"#);
    assert_has(
        &m,
        &["record 1: series 'a': column 'ds' holds '9999-12-31T23:30:00-01:00'"],
    );
}

#[test]
fn json_keeps_the_file_order_of_extra_keys() {
    let json = r#"[{"unique_id":"a","ds":1,"y":1,"zeta":5,"alpha":"x"},
                   {"unique_id":"a","ds":2,"y":2,"zeta":6,"alpha":"y"}]"#;
    let frame = read_frame_from(json.as_bytes(), "k.json", DataFormat::Json, None).unwrap();
    assert_eq!(frame.extra_names(), ["zeta", "alpha"]);
    let csv = "unique_id,ds,y,zeta,alpha\na,1,1,5,x\na,2,2,6,y\n";
    let same = read_frame_from(csv.as_bytes(), "k.csv", DataFormat::Csv, None).unwrap();
    assert_eq!(frame.fingerprint().sha256, same.fingerprint().sha256);
}

#[test]
fn json_lines_messages_name_lines() {
    let m = read_frame_from(
        &b"{\"unique_id\":\"a\",\"ds\":1,\"y\":1}\n\n{\"unique_id\":\"a\",\"ds\":2,\"y\":1e39}\n"[..],
        "l.jsonl",
        DataFormat::Jsonl,
        None,
    )
    .unwrap_err()
    .to_string();
    assert_has(&m, &["l.jsonl: line 3: series 'a': column 'y'", "32-bit"]);
}

/// Rows given as (series, hour, value): a Parquet panel with microsecond timestamps, and the
/// same rows as CSV text.
fn hourly_panel(rows: &[(&str, i64, f64)]) -> (neuro_divergent::Result<TimeSeriesFrame>, String) {
    use arrow_array::TimestampMicrosecondArray;
    let hour = 3_600_000_000i64;
    let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let ds: ArrayRef = Arc::new(TimestampMicrosecondArray::from(
        rows.iter().map(|r| r.1 * hour).collect::<Vec<_>>(),
    ));
    let y: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let frame = parquet_frame(vec![
        ("unique_id", text(&ids)),
        ("ds", ds),
        ("y", floats(&y)),
    ]);
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, h, v) in rows {
        let ds = chrono::DateTime::from_timestamp(h * 3600, 0)
            .unwrap()
            .naive_utc();
        csv.push_str(&format!("{id},{},{v}\n", ds.format("%Y-%m-%d %H:%M:%S")));
    }
    (frame, csv)
}

/// A series' rows that arrive together, evenly spaced and finite, are read as one run; the
/// panel is the one the CSV reader (row by row) reads, and a run with a problem in it is read
/// row by row, so the problem is named at its row.
#[test]
fn series_read_a_run_at_a_time_match_the_csv_and_name_bad_rows() {
    let series = |id, hours: std::ops::Range<i64>| {
        hours
            .map(move |h| (id, h, (h * 7 % 11) as f64))
            .collect::<Vec<_>>()
    };
    // a, then b, then the rest of a (a second run continuing the first), c across midnight.
    let mut rows = series("a", 0..30);
    rows.extend(series("b", 5..40));
    rows.extend(series("a", 30..45));
    rows.extend(series("c", 20..30));
    let (frame, csv) = hourly_panel(&rows);
    let from_csv = read_frame_from(csv.as_bytes(), "p.csv", DataFormat::Csv, None).unwrap();
    same_panel(&frame.unwrap(), &from_csv);

    let mut nan = series("a", 0..30);
    nan[4].2 = f64::NAN;
    let (frame, _) = hourly_panel(&nan);
    assert_has(
        &frame.unwrap_err().to_string(),
        &["row 5: series 'a': column 'y'", "NaN"],
    );

    // The second run of a repeats the first's last hour: a duplicate named by both rows.
    let mut twice = series("a", 0..10);
    twice.extend(series("b", 0..10));
    twice.extend(series("a", 9..12));
    let (frame, _) = hourly_panel(&twice);
    assert_has(
        &frame.unwrap_err().to_string(),
        &["series 'a' has two rows with ds 1970-01-01 09:00:00: rows 10 and 21"],
    );

    // A run across the reader's batches of 65,536 rows, its last row a duplicate.
    let mut long = series("a", 0..70_000);
    long.push(("a", 69_999, 1.0));
    let (frame, _) = hourly_panel(&long);
    assert_has(
        &frame.unwrap_err().to_string(),
        &["two rows with ds", "rows 70000 and 70001"],
    );
    let (frame, _) = hourly_panel(&long[..70_000]);
    assert_eq!(frame.unwrap().series()[0].y.len(), 70_000);

    // Integer ds up to the largest i64, in a second run that does not continue the first.
    let m = parquet_error(vec![
        ("unique_id", text(&["a", "a", "b", "b", "a", "a"])),
        ("ds", ints(&[1, 2, 1, 2, i64::MAX - 1, i64::MAX])),
        ("y", floats(&[1.0; 6])),
    ]);
    assert_has(
        &m,
        &["series 'a'", "(row 2) to 9223372036854775806 (row 5)"],
    );

    // The second run of a steps two hours: the series is irregular at the row it jumps.
    let mut jump = series("a", 0..10);
    jump.extend(series("b", 0..10));
    jump.extend((0..3).map(|k| ("a", 10 + 2 * k, 1.0)));
    let (frame, _) = hourly_panel(&jump);
    assert_has(
        &frame.unwrap_err().to_string(),
        &["series 'a'", "(row 21) to 1970-01-01 12:00:00 (row 22)"],
    );
}

proptest::proptest! {
    /// The columnar reader's runs (rows of one series taken as a whole when regular) read any
    /// panel as the CSV reader reads it row by row: the same series, or an error from both.
    #[test]
    fn columnar_runs_read_as_the_csv_reads_rows_one_by_one(
        rows in proptest::collection::vec(
            (0usize..3, 0i64..4, proptest::prop_oneof![
                8 => -1e3f64..1e3,
                1 => proptest::strategy::Just(f64::NAN),
                1 => proptest::strategy::Just(1e39),
            ]),
            1..40,
        )
    ) {
        // Each row: a series, a step (0 repeats the last ds: a duplicate) and a value.
        let names = ["a", "b", "c"];
        let mut last = [0i64; 3];
        let mut ids = Vec::new();
        let mut ds = Vec::new();
        let mut y = Vec::new();
        let mut csv = String::from("unique_id,ds,y\n");
        for &(series, step, value) in &rows {
            last[series] += step;
            ids.push(names[series]);
            ds.push(last[series]);
            y.push(value);
            csv.push_str(&format!("{},{},{value}\n", names[series], last[series]));
        }
        let columnar = parquet_frame(vec![("unique_id", text(&ids)), ("ds", ints(&ds)), ("y", floats(&y))]);
        let by_rows = read_frame_from(csv.as_bytes(), "p.csv", DataFormat::Csv, None);
        match (columnar, by_rows) {
            (Ok(a), Ok(b)) => same_panel(&a, &b),
            (Err(_), Err(_)) => {}
            (a, b) => proptest::prop_assert!(false, "columnar {a:?}, csv {b:?}"),
        }
    }
}
