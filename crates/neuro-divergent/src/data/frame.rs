//! A validated long-format panel: many series sharing one frequency.

use super::builder::FrameBuilder;
use super::{DsStyle, Freq, SeriesDs, Timestamp};
use crate::error::{Error, Result};

/// One series of a panel, sorted by `ds`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series id (`unique_id`).
    pub id: String,
    /// The time stamps, strictly increasing and evenly spaced by the frame's frequency (kept
    /// as first value, step and count when the frequency is a fixed step).
    pub ds: SeriesDs,
    /// The observed values, one per `ds`, all finite.
    pub y: Vec<f64>,
    /// The raw text of each extra column (in the frame's `extra_names` order), one value per `ds`.
    pub extra: Vec<Vec<String>>,
}

impl Series {
    /// Number of observations.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when the series has no observations (never the case inside a frame).
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The first `n` rows and the remaining rows.
    fn split_at(&self, n: usize) -> (Series, Series) {
        let (ds_a, ds_b) = self.ds.split_at(n);
        let (y_a, y_b) = self.y.split_at(n);
        let (extra_a, extra_b) = self
            .extra
            .iter()
            .map(|column| {
                let (a, b) = column.split_at(n);
                (a.to_vec(), b.to_vec())
            })
            .unzip();
        let part = |ds: SeriesDs, y: &[f64], extra| Series {
            id: self.id.clone(),
            ds,
            y: y.to_vec(),
            extra,
        };
        (part(ds_a, y_a, extra_a), part(ds_b, y_b, extra_b))
    }
}

/// One row of long-format data, as handed to [`TimeSeriesFrame::from_rows`].
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based line in the file, or record index for in-memory data; used in error messages.
    pub line: u64,
    /// The series id (`unique_id`).
    pub id: String,
    /// The time stamp.
    pub ds: Timestamp,
    /// The observed value.
    pub y: f64,
    /// One raw value per extra column.
    pub extra: Vec<String>,
}

/// A validated panel of series in long format (`unique_id, ds, y` plus extra columns).
///
/// Series are sorted by id (byte-wise, like pandas), rows by `ds`. Every series is free of
/// duplicates and gaps with respect to [`TimeSeriesFrame::freq`].
#[derive(Clone, Debug)]
pub struct TimeSeriesFrame {
    source: String,
    series: Vec<Series>,
    extra_names: Vec<String>,
    freq: Freq,
    ds_style: DsStyle,
    n_rows: usize,
    /// See [`TimeSeriesFrame::validation_seconds`].
    validation_seconds: f64,
}

impl TimeSeriesFrame {
    /// Builds and validates a frame from rows in any order; `source` names the data in error
    /// messages. The frequency is inferred when `freq` is `None`.
    pub fn from_rows(
        source: &str,
        rows: Vec<Row>,
        extra_names: Vec<String>,
        freq: Option<Freq>,
    ) -> Result<Self> {
        let mut builder = FrameBuilder::new(source, "line", extra_names);
        builder.validating(|builder| {
            rows.into_iter()
                .try_for_each(|row| builder.push(row.line, &row.id, row.ds, row.y, row.extra))
        })?;
        builder.finish(freq)
    }

    /// Builds and validates a frame from columns of equal length (row `i` is numbered `i + 1` in
    /// error messages); `y` is copied once, into the frame's series.
    pub fn from_columns(
        source: &str,
        ids: &[String],
        ds: &[Timestamp],
        y: &[f64],
        freq: Option<Freq>,
    ) -> Result<Self> {
        Self::from_columns_with_extra(source, ids, ds, y, &[], freq)
    }

    /// Like [`TimeSeriesFrame::from_columns`] with extra numeric columns `(name, values)` kept
    /// for exogenous use.
    pub fn from_columns_with_extra(
        source: &str,
        ids: &[String],
        ds: &[Timestamp],
        y: &[f64],
        extra: &[(String, Vec<f64>)],
        freq: Option<Freq>,
    ) -> Result<Self> {
        let lengths_differ = ids.len() != y.len()
            || ds.len() != y.len()
            || extra.iter().any(|(_, v)| v.len() != y.len());
        if lengths_differ {
            let extra_lengths: String = extra
                .iter()
                .map(|(name, v)| format!(", {name} {}", v.len()))
                .collect();
            return Err(Error::Data(format!(
                "{source}: columns have different lengths: unique_id {}, ds {}, y {}{extra_lengths}",
                ids.len(),
                ds.len(),
                y.len()
            )));
        }
        let names = extra.iter().map(|(name, _)| name.clone()).collect();
        let mut builder = FrameBuilder::new(source, "row", names);
        builder.validating(|builder| {
            for (i, ((id, &ds), &y)) in ids.iter().zip(ds).zip(y).enumerate() {
                let row = extra.iter().map(|(_, v)| v[i].to_string());
                builder.push(i as u64 + 1, id, ds, y, row)?;
            }
            Ok::<_, Error>(())
        })?;
        builder.finish(freq)
    }

    /// Wraps already validated series; `ds_style` is how their `ds` texts were written (`None`
    /// when they were not text: dates only when every `ds` is at midnight).
    pub(crate) fn assemble(
        source: String,
        series: Vec<Series>,
        extra_names: Vec<String>,
        freq: Freq,
        ds_style: Option<DsStyle>,
    ) -> Self {
        let n_rows = series.iter().map(Series::len).sum();
        let frame = TimeSeriesFrame {
            source,
            series,
            extra_names,
            freq,
            ds_style: DsStyle::default(),
            n_rows,
            validation_seconds: 0.0,
        };
        frame.with_ds_style(ds_style)
    }

    /// The frame, saying it took `spent` to validate.
    pub(crate) fn validated_in(mut self, spent: std::time::Duration) -> Self {
        self.validation_seconds = spent.as_secs_f64();
        self
    }

    /// Seconds spent validating this frame's rows when it was built: checking and collecting
    /// the rows into series (for CSV this stage also parses the `ds` and `y` texts), sorting,
    /// duplicates, the frequency and gaps. Reading CSV, Parquet and Arrow files, this is the
    /// busy time of the stage that runs beside the decoding (on a thread of its own when there
    /// are two), so it is what the read costs beyond decoding the file; reading JSON, the time
    /// in pushing each parsed record. Zero for frames made from other frames.
    pub fn validation_seconds(&self) -> f64 {
        self.validation_seconds
    }

    /// The frame with its `ds` values to be written in `style`: the layout of the texts they
    /// were parsed from, as [`Timestamp::parse_styled`] and [`super::DsStyleVote`] report it.
    /// With `None`, plain ISO text, dates only when every `ds` is at midnight.
    pub fn with_ds_style(mut self, style: Option<DsStyle>) -> Self {
        let all_midnight = self
            .series
            .iter()
            .all(|s| s.ds.iter().all(|t| t.is_midnight()));
        self.ds_style = match style {
            Some(style) => DsStyle {
                date_only: style.date_only && all_midnight,
                ..style
            },
            None => DsStyle::dates(all_midnight),
        };
        self
    }

    /// The series, sorted by id.
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// The frequency shared by all series.
    pub fn freq(&self) -> Freq {
        self.freq
    }

    /// True when every `ds` is a date at midnight, so dates print as `YYYY-MM-DD`.
    pub fn date_only(&self) -> bool {
        self.ds_style.date_only
    }

    /// How the input wrote its `ds` values, for writing forecasts alike.
    pub fn ds_style(&self) -> DsStyle {
        self.ds_style
    }

    /// Names of the extra columns, in file order.
    pub fn extra_names(&self) -> &[String] {
        &self.extra_names
    }

    /// Where the data came from (a file path or a label).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Total number of rows over all series.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The series with id `id`.
    pub fn get(&self, id: &str) -> Option<&Series> {
        self.series
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.series[i])
    }

    /// Splits every series into all but its last `n` rows (train) and its last `n` rows (test).
    ///
    /// Errors when `n` is 0 or when a series has `n` rows or fewer.
    pub fn split_last(&self, n: usize) -> Result<(TimeSeriesFrame, TimeSeriesFrame)> {
        if n == 0 {
            return Err(Error::Config(
                "cannot hold out the last 0 rows: the test part would be empty".to_string(),
            ));
        }
        let mut train = Vec::with_capacity(self.series.len());
        let mut test = Vec::with_capacity(self.series.len());
        for s in &self.series {
            if s.len() <= n {
                return Err(Error::Data(format!(
                    "{}: cannot hold out the last {n} rows: series '{}' has only {} rows \
                     (needs more than {n})",
                    self.source,
                    s.id,
                    s.len()
                )));
            }
            let (a, b) = s.split_at(s.len() - n);
            train.push(a);
            test.push(b);
        }
        let part = |series| {
            TimeSeriesFrame::assemble(
                self.source.clone(),
                series,
                self.extra_names.clone(),
                self.freq,
                Some(self.ds_style),
            )
        };
        Ok((part(train), part(test)))
    }

    /// Joins `frames` into one panel, the series of frame `k` renamed `prefix(k)` + id so that
    /// they stay distinct (a server forecasts many requests in one pass this way). The frames
    /// must share a frequency and extra columns; `prefix` must keep the ids of different frames
    /// distinct.
    pub fn join_prefixed(
        source: &str,
        frames: &[&TimeSeriesFrame],
        prefix: impl Fn(usize) -> String,
    ) -> Result<TimeSeriesFrame> {
        let Some(first) = frames.first() else {
            return Err(Error::Data(format!("{source}: no frames to join")));
        };
        if let Some(other) = frames
            .iter()
            .find(|f| f.freq != first.freq || f.extra_names != first.extra_names)
        {
            return Err(Error::Data(format!(
                "{source}: cannot join {} ({:?}, columns {:?}) with {} ({:?}, columns {:?})",
                first.source,
                first.freq,
                first.extra_names,
                other.source,
                other.freq,
                other.extra_names
            )));
        }
        let mut series: Vec<Series> = frames
            .iter()
            .enumerate()
            .flat_map(|(k, frame)| {
                let prefix = prefix(k);
                frame.series.iter().map(move |s| Series {
                    id: format!("{prefix}{}", s.id),
                    ..s.clone()
                })
            })
            .collect();
        series.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(pair) = series.windows(2).find(|pair| pair[0].id == pair[1].id) {
            return Err(Error::Data(format!(
                "{source}: series '{}' appears in two joined frames",
                pair[0].id
            )));
        }
        Ok(TimeSeriesFrame::assemble(
            source.to_string(),
            series,
            first.extra_names.clone(),
            first.freq,
            Some(first.ds_style),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, id: &str, ds: &str, y: f64) -> Row {
        Row {
            line,
            id: id.to_string(),
            ds: Timestamp::parse(ds).expect("valid test timestamp"),
            y,
            extra: Vec::new(),
        }
    }

    #[test]
    fn join_prefixed_keeps_every_series_apart_and_sorted() {
        let a = TimeSeriesFrame::from_rows(
            "a",
            vec![
                row(1, "x", "2020-01-01", 1.0),
                row(2, "x", "2020-01-02", 2.0),
            ],
            Vec::new(),
            None,
        )
        .unwrap();
        let b = TimeSeriesFrame::from_rows(
            "b",
            vec![
                row(1, "x", "2020-01-05", 5.0),
                row(2, "w", "2020-01-05", 7.0),
            ],
            Vec::new(),
            Some(a.freq()),
        )
        .unwrap();
        let joined =
            TimeSeriesFrame::join_prefixed("both", &[&a, &b], |k| format!("{k}/")).unwrap();
        let ids: Vec<&str> = joined.series().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["0/x", "1/w", "1/x"]);
        assert_eq!(joined.get("1/x").unwrap().y, [5.0]);
        assert_eq!(joined.n_rows(), 4);
        let same = TimeSeriesFrame::join_prefixed("both", &[&a, &a], |_| String::new());
        assert!(data_message(same).contains("series 'x' appears in two joined frames"));
    }

    fn data_message<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(Error::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    #[test]
    fn sorts_series_and_rows() -> Result<()> {
        let rows = vec![
            row(1, "b", "2", 20.0),
            row(2, "b", "1", 10.0),
            row(3, "a", "5", 1.0),
            row(4, "a", "6", 2.0),
        ];
        let frame = TimeSeriesFrame::from_rows("mem", rows, Vec::new(), None)?;
        let ids: Vec<&str> = frame.series().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b"]);
        let b = frame.get("b").expect("series b");
        assert_eq!(b.y, vec![10.0, 20.0]);
        assert_eq!(frame.freq(), Freq::Step(1));
        assert_eq!(frame.n_rows(), 4);
        assert!(!frame.date_only());
        assert_eq!(frame.source(), "mem");
        assert!(frame.get("c").is_none());
        Ok(())
    }

    #[test]
    fn keeps_extra_columns_aligned_after_sorting() -> Result<()> {
        let mut rows = vec![
            row(1, "a", "2020-01-02", 2.0),
            row(2, "a", "2020-01-01", 1.0),
        ];
        rows[0].extra = vec!["x2".into()];
        rows[1].extra = vec!["x1".into()];
        let frame = TimeSeriesFrame::from_rows("mem", rows, vec!["promo".into()], None)?;
        assert_eq!(frame.extra_names(), ["promo"]);
        assert_eq!(frame.series()[0].extra, vec![vec!["x1", "x2"]]);
        assert!(frame.date_only());
        assert_eq!(frame.freq(), Freq::Seconds(86_400));
        Ok(())
    }

    #[test]
    fn rejects_no_rows() {
        let m = data_message(TimeSeriesFrame::from_rows(
            "mem",
            Vec::new(),
            Vec::new(),
            None,
        ));
        assert!(m.contains("mem") && m.contains("no rows"), "{m}");
    }

    #[test]
    fn rejects_bad_values_in_rows() {
        let m = data_message(TimeSeriesFrame::from_rows(
            "mem",
            vec![row(7, "a", "1", f64::NAN)],
            Vec::new(),
            None,
        ));
        assert!(
            m.contains("line 7") && m.contains("'a'") && m.contains("'y'"),
            "{m}"
        );
        assert!(m.contains("NaN"), "{m}");
        let m = data_message(TimeSeriesFrame::from_rows(
            "mem",
            vec![row(4, "a", "1", -1e39)],
            Vec::new(),
            None,
        ));
        assert!(
            m.contains("line 4") && m.contains("'a'") && m.contains("'y'") && m.contains("32-bit"),
            "{m}"
        );
        let m = data_message(TimeSeriesFrame::from_rows(
            "mem",
            vec![row(3, " ", "1", 1.0)],
            Vec::new(),
            None,
        ));
        assert!(
            m.contains("line 3") && m.contains("'unique_id' is empty"),
            "{m}"
        );
        let m = data_message(TimeSeriesFrame::from_rows(
            "mem",
            vec![row(4, "a", "1", 1.0)],
            vec!["promo".into()],
            None,
        ));
        assert!(
            m.contains("line 4") && m.contains("expected 1 extra"),
            "{m}"
        );
    }

    #[test]
    fn user_freq_must_fit_the_ds_kind() {
        let rows = vec![row(1, "a", "1", 1.0), row(2, "a", "2", 1.0)];
        match TimeSeriesFrame::from_rows("mem", rows, Vec::new(), Some(Freq::Seconds(3600))) {
            Err(Error::Config(m)) => assert!(m.contains("mem") && m.contains("'H'"), "{m}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        let rows = vec![row(1, "a", "1", 1.0)];
        assert!(matches!(
            TimeSeriesFrame::from_rows("mem", rows, Vec::new(), Some(Freq::Step(0))),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn single_rows_with_given_freq_are_fine() -> Result<()> {
        let rows = vec![row(1, "a", "1", 1.0), row(2, "b", "9", 1.0)];
        let frame = TimeSeriesFrame::from_rows("mem", rows, Vec::new(), Some(Freq::Step(1)))?;
        assert_eq!(frame.series().len(), 2);
        Ok(())
    }

    #[test]
    fn splits_last_rows() -> Result<()> {
        let rows = (1..=5)
            .map(|i| row(i, "a", &i.to_string(), i as f64))
            .chain((1..=3).map(|i| row(10 + i, "b", &i.to_string(), -(i as f64))))
            .collect();
        let frame = TimeSeriesFrame::from_rows("mem", rows, Vec::new(), None)?;
        let (train, test) = frame.split_last(2)?;
        assert_eq!(
            train.get("a").map(|s| s.y.clone()),
            Some(vec![1.0, 2.0, 3.0])
        );
        assert_eq!(test.get("a").map(|s| s.y.clone()), Some(vec![4.0, 5.0]));
        assert_eq!(
            test.get("b").map(|s| s.ds.to_vec()),
            Some(vec![Timestamp::Int(2), Timestamp::Int(3)])
        );
        assert_eq!(train.n_rows() + test.n_rows(), frame.n_rows());
        let m = data_message(frame.split_last(3));
        assert!(m.contains("'b'") && m.contains("only 3 rows"), "{m}");
        assert!(matches!(frame.split_last(0), Err(Error::Config(_))));
        Ok(())
    }
}
