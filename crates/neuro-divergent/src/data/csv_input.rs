//! Reading comma-separated files record by record with messages that name line and column.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use csv::{ErrorKind, ReaderBuilder, StringRecord};

use super::line_tracker::LineTracker;
use super::timestamp::DayCache;
use super::validate::{bad_number, fits_f32, BadNumber};
use super::{DsStyle, Timestamp};
use crate::error::{Error, Result};

/// Columns of a file besides its key columns: their indices and names, in file order.
pub(crate) struct OtherColumns {
    /// Column indices.
    pub(crate) indices: Vec<usize>,
    /// Column names.
    pub(crate) names: Vec<String>,
}

/// Delimiters people commonly use instead of a comma, with a printable name.
const OTHER_DELIMITERS: [(char, &str); 3] = [(';', "';'"), ('\t', "a tab"), ('|', "'|'")];

/// Opens `path` for reading, reporting a failure as [`Error::Io`] with the path.
pub(crate) fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A CSV source whose header has been read and checked.
pub(crate) struct CsvInput<R> {
    reader: csv::Reader<LineTracker<R>>,
    record: StringRecord,
    source: String,
    names: Vec<String>,
}

impl<R: Read> CsvInput<R> {
    /// Reads the header of `reader` and returns the input with the column index of each name
    /// in `required` (all must be present).
    pub(crate) fn open<const N: usize>(
        reader: R,
        source: &str,
        required: &[&str; N],
    ) -> Result<(Self, [usize; N])> {
        let mut input = CsvInput {
            reader: ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(LineTracker::new(reader)),
            record: StringRecord::new(),
            source: source.to_string(),
            names: Vec::new(),
        };
        let expected = required.join(",");
        if !input.read()? {
            return Err(Error::Data(format!(
                "{source}: the file is empty; expected a header line such as `{expected}`"
            )));
        }
        input.names = input
            .record
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = if i == 0 {
                    name.trim_start_matches('\u{feff}')
                } else {
                    name
                };
                name.trim().to_string()
            })
            .collect();
        let indices = input.required_columns(required, &expected)?;
        input.check_unique_names()?;
        Ok((input, indices))
    }

    /// The column names of the header, trimmed.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Reads the next record, returning its 1-based line, or `None` at the end.
    ///
    /// Records with a different number of fields than the header are an error.
    pub(crate) fn next_row(&mut self) -> Result<Option<u64>> {
        if !self.read()? {
            return Ok(None);
        }
        let line = self.line();
        if self.record.len() != self.names.len() {
            return Err(Error::Data(format!(
                "{}: line {line}: expected {} fields ({}) but found {}",
                self.source,
                self.names.len(),
                self.names.join(","),
                self.record.len()
            )));
        }
        Ok(Some(line))
    }

    /// Field `i` of the current record (empty when out of range).
    pub(crate) fn field(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or_default()
    }

    /// Every column except those in `skip` (the key columns), in file order.
    pub(crate) fn columns_except(&self, skip: &[usize]) -> OtherColumns {
        let indices: Vec<usize> = (0..self.names.len())
            .filter(|i| !skip.contains(i))
            .collect();
        let names = indices.iter().map(|&i| self.names[i].clone()).collect();
        OtherColumns { indices, names }
    }

    /// The current record's `columns` parsed as finite numbers; errors name the line `line`,
    /// the series `id` and the column.
    pub(crate) fn numbers(&self, line: u64, id: &str, columns: &OtherColumns) -> Result<Vec<f64>> {
        columns
            .indices
            .iter()
            .zip(&columns.names)
            .map(|(&c, name)| parse_number(&self.source, line, id, name, self.field(c)))
            .collect()
    }

    /// The 1-based line on which the current record starts.
    fn line(&mut self) -> u64 {
        let start = self.record.position().map_or(0, |p| p.byte());
        self.reader.get_mut().line_at(start)
    }

    fn read(&mut self) -> Result<bool> {
        self.reader.read_record(&mut self.record).map_err(|err| {
            let start = err.position().map_or(0, |p| p.byte());
            let line = self.reader.get_mut().line_at(start);
            let text = err.to_string();
            match err.into_kind() {
                ErrorKind::Io(source) => Error::Io {
                    path: PathBuf::from(&self.source),
                    source,
                },
                ErrorKind::Utf8 { err, .. } => {
                    let column = self.names.get(err.field()).map_or_else(
                        || format!("number {}", err.field() + 1),
                        |n| format!("'{n}'"),
                    );
                    Error::Data(format!(
                        "{}: line {line}: column {column} is not valid UTF-8 text",
                        self.source
                    ))
                }
                _ => Error::Data(format!("{}: line {line}: {text}", self.source)),
            }
        })
    }

    fn required_columns<const N: usize>(
        &self,
        required: &[&str; N],
        expected: &str,
    ) -> Result<[usize; N]> {
        let mut indices = [0; N];
        let mut missing = Vec::new();
        for (slot, name) in indices.iter_mut().zip(required) {
            match self.names.iter().position(|n| n == name) {
                Some(i) => *slot = i,
                None => missing.push(*name),
            }
        }
        if missing.is_empty() {
            return Ok(indices);
        }
        let header = self.names.join(",");
        let single = match self.names.as_slice() {
            [only] => Some(only),
            _ => None,
        };
        let delimiter = single.and_then(|only| {
            OTHER_DELIMITERS
                .iter()
                .find(|(c, _)| only.contains(*c))
                .map(|(_, shown)| shown)
        });
        if let Some(shown) = delimiter {
            return Err(Error::Data(format!(
                "{}: line 1: the header `{header}` looks delimited by {shown}; the file \
                 must be comma-separated with columns `{expected}`",
                self.source
            )));
        }
        Err(Error::Data(format!(
            "{}: line 1: missing required column(s) {}; the header has columns `{header}` \
             (expected `{expected}`, names are case-sensitive)",
            self.source,
            missing
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    fn check_unique_names(&self) -> Result<()> {
        for (i, name) in self.names.iter().enumerate() {
            if self.names[..i].contains(name) {
                return Err(Error::Data(format!(
                    "{}: line 1: column '{name}' appears more than once in the header",
                    self.source
                )));
            }
        }
        Ok(())
    }
}

/// Records copied out of a [`CsvInput`] to be handed to another thread: their fields' text end
/// to end, where each field ends, the line each record starts on, and the error that stopped
/// reading after them, if one did.
#[derive(Default)]
pub(crate) struct RecordChunk {
    text: String,
    ends: Vec<usize>,
    lines: Vec<u64>,
    width: usize,
    error: Option<Error>,
}

impl RecordChunk {
    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// The line record `r` starts on.
    pub(crate) fn line(&self, r: usize) -> u64 {
        self.lines[r]
    }

    /// Field `i` of record `r`.
    pub(crate) fn field(&self, r: usize, i: usize) -> &str {
        let k = r * self.width + i;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.text[start..self.ends[k]]
    }

    /// True when reading ended with this chunk: at the end of the input or at an error.
    pub(crate) fn is_last(&self) -> bool {
        self.error.is_some() || self.lines.is_empty()
    }

    /// The error that stopped reading after these records, to report once they are checked
    /// (an earlier record's problem comes first).
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }
}

impl<R: Read> CsvInput<R> {
    /// Reads up to `rows` records into a new chunk (checked as [`CsvInput::next_row`] checks
    /// them); an empty chunk at the end of the input.
    pub(crate) fn next_chunk(&mut self, rows: usize) -> RecordChunk {
        let mut chunk = RecordChunk {
            width: self.names.len(),
            ..RecordChunk::default()
        };
        while chunk.len() < rows {
            let line = match self.next_row() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    chunk.error = Some(e);
                    break;
                }
            };
            for field in self.record.iter() {
                chunk.text.push_str(field);
                chunk.ends.push(chunk.text.len());
            }
            chunk.lines.push(line);
        }
        chunk
    }
}

/// Parses a numeric cell of series `id`; empty, non-numeric, NaN and infinite values are errors.
pub(crate) fn parse_number(
    source: &str,
    line: u64,
    id: &str,
    column: &str,
    text: &str,
) -> Result<f64> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Data(format!(
            "{source}: line {line}: series '{id}': column '{column}' is empty; expected a number"
        )));
    }
    match trimmed.parse::<f64>() {
        Ok(v) if v.is_finite() && fits_f32(v) => Ok(v),
        Ok(v) if v.is_finite() => Err(bad_number(
            source,
            ("line", line),
            id,
            column,
            trimmed,
            BadNumber::BeyondF32,
        )),
        Ok(_) => Err(bad_number(
            source,
            ("line", line),
            id,
            column,
            text,
            BadNumber::NonFinite,
        )),
        Err(_) => Err(Error::Data(format!(
            "{source}: line {line}: series '{id}': column '{column}' holds '{text}', which is \
             not a number"
        ))),
    }
}

/// Parses a `ds` cell of series `id`.
pub(crate) fn parse_ds(source: &str, line: u64, id: &str, text: &str) -> Result<Timestamp> {
    parse_ds_styled(source, ("line", line), id, text, &mut DayCache::default()).map(|(ts, _)| ts)
}

/// Parses a `ds` cell of series `id` at `(unit, place)` (`line 4`, `row 3`) and tells how it
/// was written; `days` remembers the last date read (see [`DayCache`]).
pub(crate) fn parse_ds_styled(
    source: &str,
    (unit, place): (&str, u64),
    id: &str,
    text: &str,
    days: &mut DayCache<[u8; 10]>,
) -> Result<(Timestamp, DsStyle)> {
    Timestamp::parse_styled_cached(text, days).ok_or_else(|| {
        Error::Data(format!(
            "{source}: {unit} {place}: series '{id}': column 'ds' holds '{text}', which is \
             neither an integer nor a date; {DS_FORMS}"
        ))
    })
}

/// The `ds` forms the readers accept (see [`Timestamp::parse_styled`]), for error messages.
pub const DS_FORMS: &str = "dates are read as YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY, \
     optionally followed by a space or T and HH:MM[:SS[.fff]] and a zone (Z, +HH:MM)";

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &str) -> Result<(CsvInput<&[u8]>, [usize; 3])> {
        CsvInput::open(text.as_bytes(), "t.csv", &["unique_id", "ds", "y"])
    }

    fn message<T>(r: Result<T>) -> String {
        match r {
            Err(Error::Data(m)) => m,
            Err(other) => panic!("expected a data error, got {other:?}"),
            Ok(_) => panic!("expected a data error, got a value"),
        }
    }

    #[test]
    fn finds_columns_in_any_order() -> Result<()> {
        let (input, idx) = open("\u{feff}y, ds ,unique_id,x\n")?;
        assert_eq!(idx, [2, 1, 0]);
        assert_eq!(input.names(), ["y", "ds", "unique_id", "x"]);
        Ok(())
    }

    #[test]
    fn reports_lines_and_field_counts() -> Result<()> {
        let (mut input, _) = open("unique_id,ds,y\nA,1,2\n\nA,2,3,4\n")?;
        assert_eq!(input.next_row()?, Some(2));
        assert_eq!(input.field(0), "A");
        let m = message(input.next_row());
        assert!(
            m.contains("t.csv: line 4") && m.contains("expected 3 fields"),
            "{m}"
        );
        assert!(m.contains("found 4"), "{m}");
        Ok(())
    }

    #[test]
    fn line_numbers_survive_blank_lines_quotes_and_crlf() -> Result<()> {
        let text = "unique_id,ds,y\r\n\r\nA,1,2\r\n\"B\nC\",1,2\r\nD,1,2\n\n\nE,1,2";
        let (mut input, _) = open(text)?;
        let mut lines = Vec::new();
        while let Some(line) = input.next_row()? {
            lines.push(line);
        }
        assert_eq!(lines, vec![3, 4, 6, 9]);
        Ok(())
    }

    #[test]
    fn reports_invalid_utf8() -> Result<()> {
        let bytes: &[u8] = b"unique_id,ds,y\nA,1,2\nA,2,\xff\n";
        let (mut input, _) = CsvInput::open(bytes, "t.csv", &["unique_id", "ds", "y"])?;
        assert_eq!(input.next_row()?, Some(2));
        let m = message(input.next_row());
        assert!(
            m.contains("line 3") && m.contains("'y'") && m.contains("UTF-8"),
            "{m}"
        );
        Ok(())
    }

    #[test]
    fn numbers() -> Result<()> {
        assert_eq!(parse_number("t", 2, "A", "y", " 1.5 ")?, 1.5);
        assert_eq!(parse_number("t", 2, "A", "y", "-1e3")?, -1000.0);
        for bad in ["nan", "NaN", "inf", "-inf", "Infinity"] {
            let m = message(parse_number("t", 5, "A", "y", bad));
            assert!(
                m.contains("line 5") && m.contains(&format!("'{bad}'")),
                "{m}"
            );
            assert!(m.contains("NaN and infinite"), "{m}");
        }
        for big in ["1e39", "-3.5e38"] {
            let m = message(parse_number("t", 5, "A", "promo", big));
            assert!(
                m.contains("line 5")
                    && m.contains("series 'A'")
                    && m.contains("'promo'")
                    && m.contains(&format!("'{big}'"))
                    && m.contains("32-bit"),
                "{m}"
            );
        }
        assert_eq!(parse_number("t", 2, "A", "y", "3.4e38")?, 3.4e38);
        let m = message(parse_number("t", 5, "A", "y", "abc"));
        assert!(m.contains("'abc'") && m.contains("not a number"), "{m}");
        Ok(())
    }
}
