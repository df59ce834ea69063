//! Loading a [`TimeSeriesFrame`] from a long-format CSV file.

use std::io::Read;
use std::path::Path;

use super::builder::FrameBuilder;
use super::csv_input::{open_file, parse_ds_styled, parse_number, CsvInput, RecordChunk};
use super::timestamp::DayCache;
use super::validate::check_id;
use super::{Freq, TimeSeriesFrame};
use crate::error::{Error, Result};
use crate::pipeline::pipelined;
use crate::threads;

/// The columns every long-format file needs.
const REQUIRED: [&str; 3] = ["unique_id", "ds", "y"];

/// Reads a long-format CSV file (`unique_id, ds, y` plus any extra columns, kept as text).
///
/// The frequency is inferred when `freq` is `None`. Every problem is reported with the path,
/// line, series and column involved.
pub fn read_csv(path: &Path, freq: Option<Freq>) -> Result<TimeSeriesFrame> {
    let file = open_file(path)?;
    read_csv_from(file, &path.display().to_string(), freq)
}

/// Like [`read_csv`] but reads from any reader; `source` names the data in error messages.
///
/// With more than one core (and more than one configured thread) the records are validated on
/// a second thread while this one parses them.
pub fn read_csv_from<R: Read>(
    reader: R,
    source: &str,
    freq: Option<Freq>,
) -> Result<TimeSeriesFrame> {
    let (mut input, columns) = CsvInput::open(reader, source, &REQUIRED)?;
    let [id_col, ds_col, y_col] = columns;
    let extra = input.columns_except(&columns);
    let mut builder = FrameBuilder::new(source, "line", extra.names.clone());
    let mut days = DayCache::default();
    let produce = move |emit: &mut dyn FnMut(RecordChunk) -> bool| loop {
        let chunk = input.next_chunk(CHUNK_ROWS);
        let last = chunk.is_last();
        if !emit(chunk) || last {
            return;
        }
    };
    pipelined(
        threads::side_by_side(),
        produce,
        |mut chunk| -> Result<()> {
            builder.validating(|builder| {
                for r in 0..chunk.len() {
                    let line = chunk.line(r);
                    let id = chunk.field(r, id_col);
                    check_id(source, "line", line, id)?;
                    let text = chunk.field(r, ds_col);
                    let (ds, style) = parse_ds_styled(source, ("line", line), id, text, &mut days)?;
                    builder.observe_style(line, &ds, style)?;
                    let y = parse_number(source, line, id, "y", chunk.field(r, y_col))?;
                    builder.push(
                        line,
                        id,
                        ds,
                        y,
                        extra.indices.iter().map(|&i| chunk.field(r, i)),
                    )?;
                }
                chunk.take_error().map_or(Ok(()), Err)
            })
        },
    )?;
    if builder.is_empty() {
        return Err(Error::Data(format!(
            "{source}: the file has a header but no data rows"
        )));
    }
    builder.finish(freq)
}

/// Records per chunk handed from the parsing thread to the validating one.
const CHUNK_ROWS: usize = 16_384;

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::data::Timestamp;

    fn read(text: &str) -> Result<TimeSeriesFrame> {
        read_csv_from(text.as_bytes(), "data.csv", None)
    }

    /// The message of the data error `text` produces; it must name the source.
    fn data_error(text: &str) -> String {
        match read(text) {
            Err(Error::Data(m)) => {
                assert!(m.starts_with("data.csv: "), "{m}");
                m
            }
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    fn assert_has(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(message.contains(part), "`{part}` not in: {message}");
        }
    }

    #[test]
    fn reads_a_file_with_extra_columns() -> Result<()> {
        let mut file = tempfile::NamedTempFile::new().map_err(|source| Error::Io {
            path: "tempfile".into(),
            source,
        })?;
        let text = "unique_id,ds,y,promo\nB,2020-01-01,3,x\nA,2020-01-02,2,q\nA,2020-01-01,1,p\n";
        file.write_all(text.as_bytes())
            .map_err(|source| Error::Io {
                path: file.path().to_path_buf(),
                source,
            })?;
        let frame = read_csv(file.path(), None)?;
        assert_eq!(frame.source(), file.path().display().to_string());
        assert_eq!(frame.extra_names(), ["promo"]);
        let a = frame.get("A").expect("series A");
        assert_eq!(a.y, vec![1.0, 2.0]);
        assert_eq!(a.extra, vec![vec!["p", "q"]]);
        assert_eq!(frame.freq(), Freq::Seconds(86_400));
        assert!(frame.date_only());
        assert_eq!(frame.n_rows(), 3);
        Ok(())
    }

    #[test]
    fn reads_monthly_and_hourly_data() -> Result<()> {
        let monthly =
            read("unique_id,ds,y\nair,1949-01-01,112\nair,1949-02-01,118\nair,1949-03-01,132\n")?;
        assert_eq!(monthly.freq(), Freq::Months(1));
        let hourly = read("ds,y,unique_id\n2016-07-01 00:00:00,1,e\n2016-07-01 01:00:00,2,e\n")?;
        assert_eq!(hourly.freq(), Freq::Seconds(3600));
        assert!(!hourly.date_only());
        let frame = read_csv_from(
            "unique_id,ds,y\na,3,1\n".as_bytes(),
            "d",
            Some(Freq::Step(1)),
        )?;
        assert_eq!(frame.series()[0].ds.to_vec(), vec![Timestamp::Int(3)]);
        Ok(())
    }

    #[test]
    fn short_series_are_fine() -> Result<()> {
        let frame = read("unique_id,ds,y\na,1,1\na,2,2\nb,5,1\n")?;
        assert_eq!(frame.get("b").map(|s| s.len()), Some(1));
        Ok(())
    }

    #[test]
    fn missing_file() {
        let path = Path::new("/definitely/not/here.csv");
        match read_csv(path, None) {
            Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
            other => panic!("expected an io error, got {other:?}"),
        }
    }

    #[test]
    fn empty_file_and_header_only() {
        assert_has(&data_error(""), &["file is empty", "unique_id,ds,y"]);
        assert_has(
            &data_error("unique_id,ds,y\n"),
            &["header but no data rows"],
        );
    }

    #[test]
    fn missing_columns() {
        let m = data_error("id,ds,value\na,1,2\n");
        assert_has(&m, &["line 1", "'unique_id'", "'y'", "`id,ds,value`"]);
        assert!(!m.contains("'ds'"), "{m}");
        let m = data_error("unique_id,ds,Y\na,1,2\n");
        assert_has(&m, &["'y'", "`unique_id,ds,Y`"]);
    }

    #[test]
    fn other_delimiters() {
        assert_has(
            &data_error("unique_id;ds;y\na;1;2\n"),
            &["delimited by ';'", "comma"],
        );
        assert_has(
            &data_error("unique_id\tds\ty\na\t1\t2\n"),
            &["delimited by a tab"],
        );
        assert_has(&data_error("unique_id|ds|y\n"), &["delimited by '|'"]);
    }

    #[test]
    fn duplicate_header() {
        assert_has(
            &data_error("unique_id,ds,y,y\n"),
            &["'y' appears more than once"],
        );
    }

    #[test]
    fn bad_y_values() {
        let m = data_error("unique_id,ds,y\na,1,2\na,2,abc\n");
        assert_has(&m, &["line 3", "series 'a'", "column 'y'", "'abc'"]);
        let m = data_error("unique_id,ds,y\na,1,\n");
        assert_has(&m, &["line 2", "series 'a'", "column 'y'", "empty"]);
        for bad in ["nan", "NaN", "inf", "-inf", "INF"] {
            let m = data_error(&format!("unique_id,ds,y\na,1,1\nb,1,{bad}\n"));
            assert_has(
                &m,
                &["line 3", "series 'b'", "column 'y'", &format!("'{bad}'")],
            );
        }
        let m = data_error(
            "unique_id,ds,y
a,1,1
a,2,1e39
",
        );
        assert_has(
            &m,
            &["line 3", "series 'a'", "column 'y'", "'1e39'", "32-bit"],
        );
    }

    #[test]
    fn empty_id() {
        let m = data_error("unique_id,ds,y\na,1,1\n,2,1\n");
        assert_has(&m, &["line 3", "'unique_id' is empty"]);
    }

    #[test]
    fn bad_ds() {
        let m = data_error("unique_id,ds,y\na,1,1\na,yesterday,1\n");
        assert_has(&m, &["line 3", "series 'a'", "column 'ds'", "'yesterday'"]);
    }

    #[test]
    fn mixed_ds_kinds() {
        let m = data_error("unique_id,ds,y\na,1,1\na,2,1\nb,2020-01-01,1\n");
        assert_has(&m, &["line 2", "line 4", "integer", "2020-01-01"]);
    }

    #[test]
    fn duplicates() {
        let m = data_error("unique_id,ds,y\na,1,1\na,2,1\nb,1,1\na,2,5\n");
        assert_has(&m, &["series 'a'", "ds 2", "lines 3 and 5"]);
    }

    #[test]
    fn gaps_and_misalignment() {
        let m = data_error("unique_id,ds,y\na,1,1\na,2,1\na,3,1\na,5,1\n");
        assert_has(
            &m,
            &[
                "series 'a'",
                "from 3 (line 4) to 5 (line 5)",
                "should be 4",
                "'1'",
            ],
        );
        let text = "unique_id,ds,y\nh,2020-01-01 00:00,1\nh,2020-01-01 01:00,1\nh,2020-01-01 02:00,1\nh,2020-01-01 02:30,1\n";
        let m = data_error(text);
        assert_has(
            &m,
            &[
                "2020-01-01 02:00:00",
                "2020-01-01 02:30:00",
                "should be 2020-01-01 03:00:00",
                "'H'",
            ],
        );
        match read_csv_from(
            "unique_id,ds,y\na,1,1\na,3,1\n".as_bytes(),
            "d.csv",
            Some(Freq::Step(1)),
        ) {
            Err(Error::Data(m)) => assert_has(&m, &["d.csv", "should be 2"]),
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    #[test]
    fn wrong_field_count() {
        let m = data_error("unique_id,ds,y\na,1,1\na,2\n");
        assert_has(&m, &["line 3", "expected 3 fields", "found 2"]);
    }

    /// Records are parsed in chunks on another thread: a problem the parser finds (a field
    /// count) must not hide an earlier one the validation finds (a value) in the same chunk.
    #[test]
    fn the_first_problem_in_file_order_is_reported() {
        let rows = |bad_value: bool| {
            let mut text = String::from("unique_id,ds,y\n");
            for i in 0..40_000 {
                let line = i + 2;
                match line {
                    30_000 if bad_value => text.push_str(&format!("a,{i},x\n")),
                    30_005 => text.push_str(&format!("a,{i}\n")),
                    _ => text.push_str(&format!("a,{i},1\n")),
                }
            }
            text
        };
        assert_has(&data_error(&rows(true)), &["line 30000", "'x'"]);
        assert_has(
            &data_error(&rows(false)),
            &["line 30005", "expected 3 fields"],
        );
    }

    #[test]
    fn invalid_utf8() {
        let bytes: &[u8] = b"unique_id,ds,y\na,1,1\n\xfe\xff,2,1\n";
        match read_csv_from(bytes, "data.csv", None) {
            Err(Error::Data(m)) => assert_has(&m, &["data.csv", "line 3", "'unique_id'", "UTF-8"]),
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    #[test]
    fn single_rows_need_freq() {
        let m = data_error("unique_id,ds,y\na,1,1\nb,2,1\n");
        assert_has(&m, &["--freq"]);
    }

    #[test]
    fn freq_must_fit() {
        match read_csv_from(
            "unique_id,ds,y\na,1,1\n".as_bytes(),
            "d.csv",
            Some(Freq::Months(1)),
        ) {
            Err(Error::Config(m)) => assert_has(&m, &["d.csv", "'M'", "integer ds"]),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
