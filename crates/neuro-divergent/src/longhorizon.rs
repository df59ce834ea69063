//! The long-horizon benchmark protocol (ETT, Weather, Exchange, ILI, ...), as the published
//! tables of Informer, Autoformer, DLinear and PatchTST compute their MSE and MAE:
//!
//! * a wide CSV (`date` and one column per variable), every variable forecast as its own series
//!   (multivariate models, with `n_series` the number of variables, forecast them together);
//! * splits by row index: ETTh train `[0, 8640)`, validation `[8640, 11520)`, test
//!   `[11520, 14400)` (12/4/4 months of hours), ETTm the same in 15-minute rows (x4), others
//!   70% / 10% / 20% (`int(0.7 n)` train rows, `int(0.2 n)` test rows, the rest validation);
//! * a standard scaler (mean and population standard deviation per variable) fitted on the train
//!   rows and applied to every row; errors are measured on the scaled values;
//! * the models trained on the train rows, validated (and early-stopped) on the validation rows,
//!   then forecast every test window one step apart (the first forecasts the first test row);
//! * MSE and MAE averaged over windows, horizon steps and variables, the reference code's last
//!   incomplete test batch of 32 windows left out unless all windows are asked for.

use std::path::Path;

use crate::data::{open_file, parse_number, CsvInput, TimeSeriesFrame, Timestamp};
use crate::error::{Error, Result};
use crate::forecast::{FitOptions, NeuralForecast};
use crate::train::ProgressFn;

/// The batch size of the reference code's test loader, whose last incomplete batch it drops.
pub const REFERENCE_TEST_BATCH: usize = 32;

/// How the rows are split into train, validation and test parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Split {
    /// ETTh: 8,640 / 2,880 / 2,880 hourly rows.
    Etth,
    /// ETTm: 34,560 / 11,520 / 11,520 rows of 15 minutes.
    Ettm,
    /// Percentages of the rows for train, validation and test (summing to 100); train and
    /// test rows are rounded down, validation takes the rest.
    Ratio {
        /// Train percentage.
        train: f64,
        /// Validation percentage.
        val: f64,
        /// Test percentage.
        test: f64,
    },
}

/// Row borders of a split: train `[0, train_end)`, validation `[train_end, val_end)`, test
/// `[val_end, test_end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Borders {
    /// End of the train rows.
    pub train_end: usize,
    /// End of the validation rows.
    pub val_end: usize,
    /// End of the test rows (rows after it are not used).
    pub test_end: usize,
}

impl Split {
    /// `etth`, `ettm` or `TRAIN/VAL/TEST` percentages summing to 100 (e.g. `70/10/20`).
    pub fn parse(text: &str) -> Result<Split> {
        match text.trim().to_ascii_lowercase().as_str() {
            "etth" => Ok(Split::Etth),
            "ettm" => Ok(Split::Ettm),
            other => {
                let parts: Vec<f64> = other
                    .split('/')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .unwrap_or_default();
                match parts[..] {
                    [train, val, test]
                        if [train, val, test].iter().all(|p| *p > 0.0)
                            && (train + val + test - 100.0).abs() < 1e-9 =>
                    {
                        Ok(Split::Ratio { train, val, test })
                    }
                    _ => Err(Error::Config(format!(
                        "unknown split '{text}': expected etth, ettm or TRAIN/VAL/TEST \
                         percentages summing to 100, such as 70/10/20"
                    ))),
                }
            }
        }
    }

    /// The split the benchmarks use for a file of this name: ETTh for `ETTh*`, ETTm for
    /// `ETTm*`, 70/10/20 otherwise.
    pub fn for_file(path: &Path) -> Split {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.starts_with("etth") {
            Split::Etth
        } else if name.starts_with("ettm") {
            Split::Ettm
        } else {
            Split::Ratio {
                train: 70.0,
                val: 10.0,
                test: 20.0,
            }
        }
    }

    /// The split in words: `ETTh`, `ETTm` or `70/10/20`.
    pub fn describe(&self) -> String {
        match *self {
            Split::Etth => "ETTh".into(),
            Split::Ettm => "ETTm".into(),
            Split::Ratio { train, val, test } => format!("{train}/{val}/{test}"),
        }
    }

    /// The borders for a table of `rows` rows; an error when it has too few.
    pub fn borders(&self, rows: usize) -> Result<Borders> {
        let month = |steps_per_day: usize| 30 * steps_per_day;
        let (train, val, test) = match *self {
            Split::Etth => (12 * month(24), 4 * month(24), 4 * month(24)),
            Split::Ettm => (12 * month(96), 4 * month(96), 4 * month(96)),
            Split::Ratio { train, test, .. } => {
                let train = (rows as f64 * train / 100.0) as usize;
                let test = (rows as f64 * test / 100.0) as usize;
                (train, rows.saturating_sub(train + test), test)
            }
        };
        let test_end = train + val + test;
        if train == 0 || val == 0 || test == 0 || rows < test_end {
            return Err(Error::Data(format!(
                "the {} split needs {train} train, {val} validation and {test} test rows \
                 (each at least 1), the table has {rows}",
                self.describe()
            )));
        }
        Ok(Borders {
            train_end: train,
            val_end: train + val,
            test_end,
        })
    }
}

impl Borders {
    /// Validation rows.
    pub fn val_rows(&self) -> usize {
        self.val_end - self.train_end
    }

    /// Test windows one step apart for horizon `h`: the first forecasts the first test row, the
    /// last ends on the last one.
    pub fn test_windows(&self, h: usize) -> Result<usize> {
        let test = self.test_end - self.val_end;
        if h == 0 || h > test {
            return Err(Error::Config(format!(
                "the horizon must be between 1 and the {test} test rows, got {h}"
            )));
        }
        Ok(test - h + 1)
    }
}

/// A wide table: a `date` column and one numeric column per variable.
#[derive(Debug, Clone, PartialEq)]
pub struct WideTable {
    /// Where the table came from (for messages).
    pub source: String,
    /// The `date` of each row (increasing).
    pub dates: Vec<Timestamp>,
    /// Variable names, in file order.
    pub variables: Vec<String>,
    /// One vector of values per variable.
    pub values: Vec<Vec<f64>>,
}

impl WideTable {
    /// Reads a wide CSV file; every problem names the line and column. Dates must increase
    /// from row to row.
    pub fn read_csv(path: &Path) -> Result<WideTable> {
        WideTable::read_from(open_file(path)?, &path.display().to_string())
    }

    /// Like [`WideTable::read_csv`] from any reader; `source` names the data in messages.
    pub fn read_from<R: std::io::Read>(reader: R, source: &str) -> Result<WideTable> {
        let (mut input, [date_col]) = CsvInput::open(reader, source, &["date"])?;
        let others = input.columns_except(&[date_col]);
        if others.names.is_empty() {
            return Err(Error::Data(format!(
                "{source}: no variable columns besides 'date'"
            )));
        }
        if let Some(k) = others.names.iter().position(|n| n.trim().is_empty()) {
            return Err(Error::Data(format!(
                "{source}: column {} of the header has no name",
                others.indices[k] + 1
            )));
        }
        let mut table = WideTable {
            source: source.to_string(),
            dates: Vec::new(),
            variables: others.names.clone(),
            values: vec![Vec::new(); others.names.len()],
        };
        while let Some(line) = input.next_row()? {
            let text = input.field(date_col).trim();
            let date = Timestamp::parse(text).ok_or_else(|| {
                Error::Data(format!(
                    "{source}: line {line}: column 'date' holds '{text}', which is not a date \
                     (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
                ))
            })?;
            if table.dates.last().is_some_and(|last| *last >= date) {
                return Err(Error::Data(format!(
                    "{source}: line {line}: date '{text}' does not come after the row before it"
                )));
            }
            for ((column, name), values) in others
                .indices
                .iter()
                .zip(&others.names)
                .zip(&mut table.values)
            {
                values.push(parse_number(
                    source,
                    line,
                    name,
                    name,
                    input.field(*column),
                )?);
            }
            table.dates.push(date);
        }
        if table.dates.is_empty() {
            return Err(Error::Data(format!("{source}: no data rows")));
        }
        Ok(table)
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.dates.len()
    }

    /// The rows before `borders.test_end` in long format, one series per variable, each
    /// standard-scaled with the mean and population standard deviation of its train rows (a
    /// constant variable is only centred).
    pub fn scaled_frame(&self, borders: &Borders) -> Result<TimeSeriesFrame> {
        let rows = borders.test_end;
        if rows > self.rows() || borders.train_end == 0 {
            return Err(Error::Config(format!(
                "{}: the split's borders do not fit the table's {} rows",
                self.source,
                self.rows()
            )));
        }
        let mut ids = Vec::with_capacity(rows * self.variables.len());
        let mut ds = Vec::with_capacity(ids.capacity());
        let mut y = Vec::with_capacity(ids.capacity());
        for (name, values) in self.variables.iter().zip(&self.values) {
            let (mean, std) = mean_and_std(&values[..borders.train_end]);
            ids.extend(std::iter::repeat_n(name.clone(), rows));
            ds.extend_from_slice(&self.dates[..rows]);
            y.extend(values[..rows].iter().map(|v| (v - mean) / std));
        }
        TimeSeriesFrame::from_columns(&self.source, &ids, &ds, &y, None)
    }
}

/// Mean and population standard deviation (1 when the values do not vary), as scikit-learn's
/// `StandardScaler` computes them.
fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 0.0 { std } else { 1.0 })
}

/// The windows scored of `windows` test windows: all of them, or without the last incomplete
/// batch of `batch` windows (the reference code's test loader drops it).
pub fn scored_windows(windows: usize, batch: Option<usize>) -> usize {
    match batch {
        Some(b) if b > 0 && windows >= b => windows / b * b,
        _ => windows,
    }
}

/// MSE and MAE of one model over the test windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Windows scored.
    pub windows: usize,
    /// Mean squared error on scaled values.
    pub mse: f64,
    /// Mean absolute error on scaled values.
    pub mae: f64,
}

/// Running sums of one model's errors.
#[derive(Debug, Clone, Copy, Default)]
struct ErrorSums {
    squared: f64,
    absolute: f64,
    count: usize,
}

impl ErrorSums {
    fn add(&mut self, error: f64) {
        self.squared += error * error;
        self.absolute += error.abs();
        self.count += 1;
    }

    fn scores(&self, windows: usize) -> Scores {
        let n = self.count as f64;
        Scores {
            windows,
            mse: self.squared / n,
            mae: self.absolute / n,
        }
    }
}

/// Test windows forecast together: bounds the memory of a long test span.
const WINDOWS_PER_PASS: usize = 256;

/// Fits `nf` (point models) on the train rows of `frame`, the scaled table's rows before the
/// test part (validating, and stopping early when the models ask for it, on the validation
/// rows), then scores every forecast column over the first `windows` test windows, one step
/// apart, forecast [`WINDOWS_PER_PASS`] at a time.
pub fn evaluate(
    nf: &mut NeuralForecast,
    frame: &TimeSeriesFrame,
    borders: &Borders,
    windows: usize,
    progress: Option<&ProgressFn<'_>>,
) -> Result<Vec<(String, Scores)>> {
    if let Some(column) = nf
        .forecast_columns()
        .iter()
        .find(|c| !nf.model_names().contains(c))
    {
        return Err(Error::Config(format!(
            "the long-horizon protocol scores point forecasts, and {column} is not one: give \
             every model a point loss (mae, mse, ...)"
        )));
    }
    let h = nf.horizon();
    let test_rows = borders.test_end - borders.val_end;
    if windows == 0 || windows + h - 1 > test_rows {
        return Err(Error::Config(format!(
            "{windows} windows of {h} steps do not fit the {test_rows} test rows"
        )));
    }
    let (fit_frame, _) = frame.split_last(test_rows)?;
    let options = FitOptions {
        val_size: borders.val_rows(),
        ..FitOptions::default()
    };
    nf.fit(&fit_frame, options, progress)?;
    let series = frame.series();
    let mut sums = vec![ErrorSums::default(); nf.forecast_columns().len()];
    for first in (0..windows).step_by(WINDOWS_PER_PASS) {
        let last = (first + WINDOWS_PER_PASS).min(windows);
        let cuts: Vec<(usize, usize)> = (0..series.len())
            .flat_map(|i| (first..last).map(move |w| (i, borders.val_end + w)))
            .collect();
        let forecasts = nf.forecast_from(frame, &cuts)?;
        for (column, sums) in forecasts.iter().zip(&mut sums) {
            for (k, &(i, cut)) in cuts.iter().enumerate() {
                let actual = &series[i].y[cut..cut + h];
                for (yhat, y) in column[k * h..(k + 1) * h].iter().zip(actual) {
                    sums.add(yhat - y);
                }
            }
        }
    }
    Ok(nf
        .forecast_columns()
        .iter()
        .cloned()
        .zip(sums.iter().map(|s| s.scores(windows)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_reference_borders() {
        assert_eq!(
            Split::Etth.borders(17_420).unwrap(),
            Borders {
                train_end: 8640,
                val_end: 11_520,
                test_end: 14_400
            }
        );
        assert_eq!(Split::Ettm.borders(69_680).unwrap().test_end, 57_600);
        // Weather-like: int(0.7 n) train, int(0.2 n) test, the rest validation.
        let weather = Split::parse("70/10/20").unwrap();
        assert_eq!(weather, Split::for_file(Path::new("weather.csv")));
        let b = weather.borders(52_696).unwrap();
        assert_eq!(
            (b.train_end, b.val_end, b.test_end),
            (36_887, 42_157, 52_696)
        );
        assert_eq!(b.test_windows(96).unwrap(), 10_539 - 95);
        assert!(Split::Etth
            .borders(14_000)
            .unwrap_err()
            .to_string()
            .contains("needs 8640 train, 2880 validation and 2880 test rows"));
        for bad in ["70/20", "60/10/20", "a/b/c", "hourly"] {
            assert!(Split::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Split::for_file(Path::new("data/ETTm1.csv")), Split::Ettm);
        assert_eq!(scored_windows(2785, Some(REFERENCE_TEST_BATCH)), 2784);
        assert_eq!(scored_windows(2785, None), 2785);
        assert_eq!(scored_windows(20, Some(32)), 20);
    }

    #[test]
    fn error_sums_average_squares_and_magnitudes() {
        let mut sums = ErrorSums::default();
        for e in [1.0, -2.0, 3.0, -4.0] {
            sums.add(e);
        }
        assert_eq!(
            sums.scores(2),
            Scores {
                windows: 2,
                mse: 7.5,
                mae: 2.5
            }
        );
    }

    #[test]
    fn a_wide_table_is_scaled_on_its_train_rows_and_read_back_long() {
        let text = "date,a,b\n\
                    2020-01-01 00:00:00,1,5\n\
                    2020-01-01 01:00:00,3,5\n\
                    2020-01-01 02:00:00,5,5\n\
                    2020-01-01 03:00:00,7,5\n\
                    2020-01-01 04:00:00,9,5\n";
        let table = WideTable::read_from(text.as_bytes(), "tiny").unwrap();
        assert_eq!(table.variables, ["a", "b"]);
        let borders = Split::parse("40/20/40").unwrap().borders(5).unwrap();
        assert_eq!(
            (borders.train_end, borders.val_end, borders.test_end),
            (2, 3, 5)
        );
        let frame = table.scaled_frame(&borders).unwrap();
        // a: train rows 1 and 3 (mean 2, std 1); b is constant (centred only).
        assert_eq!(frame.series()[0].id, "a");
        assert_eq!(frame.series()[0].y, [-1.0, 1.0, 3.0, 5.0, 7.0]);
        assert_eq!(frame.series()[1].y, [0.0; 5]);
        let bad = "date,a\n2020-01-01,1\n2020-01-02,x\n";
        let unordered = "date,a\n2020-01-02,1\n2020-01-01,2\n";
        let err = WideTable::read_from(unordered.as_bytes(), "u.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("u.csv: line 3: date '2020-01-01' does not come after"),
            "{err}"
        );
        let unnamed = "date,a,\n2020-01-01,1,2\n";
        let err = WideTable::read_from(unnamed.as_bytes(), "n.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("column 3 of the header has no name"), "{err}");
        let empty = WideTable::read_from("date,a\n".as_bytes(), "e.csv").unwrap_err();
        assert!(empty.to_string().contains("e.csv: no data rows"), "{empty}");
        let date = WideTable::read_from("date,a\nsoon,1\n".as_bytes(), "d.csv").unwrap_err();
        assert!(
            date.to_string().contains("column 'date' holds 'soon'"),
            "{date}"
        );
        let err = WideTable::read_from(bad.as_bytes(), "bad.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.csv: line 3") && err.contains("column 'a' holds 'x'"),
            "{err}"
        );
        let no_date = "when,a\n2020-01-01,1\n";
        assert!(WideTable::read_from(no_date.as_bytes(), "x")
            .unwrap_err()
            .to_string()
            .contains("date"));
    }
}
