//! Collecting rows into series and turning them into a validated [`TimeSeriesFrame`].

use std::time::{Duration, Instant};

use super::arrivals::{Arrivals, Gap};
use super::id_index::IdIndex;
use super::infer::infer_freq;
use super::line_numbers::LineNumbers;
use super::order::{permute, sort_order};
use super::validate::{
    check_duplicates, check_finite, check_id, check_regular, check_single_kind, in_context, RowRef,
};
use super::{DsStyle, DsStyleVote, Freq, Series, SeriesDs, TimeSeriesFrame, Timestamp};
use crate::error::{Error, Result};

/// The rows of one series in arrival order.
struct Group {
    ds: Arrivals,
    y: Vec<f64>,
    lines: LineNumbers,
    extra: Vec<Vec<String>>,
}

/// Accumulates long-format rows; [`FrameBuilder::finish`] sorts and validates them.
pub(crate) struct FrameBuilder {
    source: String,
    /// What a row number counts in messages: `line` in files, `row` in tables.
    unit: &'static str,
    extra_names: Vec<String>,
    index: IdIndex,
    groups: Vec<Group>,
    first_int: Option<RowRef>,
    first_date: Option<RowRef>,
    style: DsStyleVote,
    /// The style of typed (date or timestamp) `ds` columns, which have no text to vote with.
    typed_style: Option<DsStyle>,
    /// Time spent validating so far, as the readers report it ([`FrameBuilder::validating`]).
    validating: Duration,
}

impl FrameBuilder {
    /// An empty builder for data read from `source` with the given extra columns; messages
    /// name rows as `unit` and number (`line` for text files, `row` for tables).
    pub(crate) fn new(source: &str, unit: &'static str, extra_names: Vec<String>) -> Self {
        FrameBuilder {
            source: source.to_string(),
            unit,
            extra_names,
            index: IdIndex::default(),
            groups: Vec::new(),
            first_int: None,
            first_date: None,
            style: DsStyleVote::new(unit),
            typed_style: None,
            validating: Duration::ZERO,
        }
    }

    /// Runs `validate` (a reader's checking and pushing of rows, apart from decoding them) on
    /// this builder and counts its time as validation (see
    /// [`TimeSeriesFrame::validation_seconds`]).
    pub(crate) fn validating<T>(&mut self, validate: impl FnOnce(&mut Self) -> T) -> T {
        let started = Instant::now();
        let result = validate(self);
        self.validating += started.elapsed();
        result
    }

    /// True while no row has been added.
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds one row; `extra` must hold one value per extra column.
    pub(crate) fn push<I, S>(
        &mut self,
        line: u64,
        id: &str,
        ds: Timestamp,
        y: f64,
        extra: I,
    ) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        check_id(&self.source, self.unit, line, id)?;
        check_finite(&self.source, self.unit, line, id, "y", y)?;
        let slot = self.slot(line, id, ds);
        let group = &mut self.groups[slot];
        group.y.push(y);
        group.lines.push(line);
        let mut found = 0;
        for value in extra {
            if let Some(column) = group.extra.get_mut(found) {
                column.push(value.into());
            }
            found += 1;
        }
        if found != self.extra_names.len() {
            return Err(Error::Data(format!(
                "{}: {} {line}: series '{id}': expected {} extra values ({}), found {found}",
                self.source,
                self.unit,
                self.extra_names.len(),
                self.extra_names.join(", ")
            )));
        }
        Ok(())
    }

    /// Adds the rows of series `id` numbered from `line` on, whose `ds` run evenly from the
    /// first to the last of `ends`, `gap` apart, and whose values `y` are known to be finite
    /// in f32 (a run of rows a columnar reader checked as a whole).
    pub(crate) fn push_even_run(
        &mut self,
        line: u64,
        id: &str,
        ends: (Timestamp, Timestamp),
        gap: Gap,
        y: &[f64],
    ) -> Result<()> {
        check_id(&self.source, self.unit, line, id)?;
        debug_assert!(self.extra_names.is_empty(), "runs carry no extra values");
        if y.is_empty() {
            return Ok(());
        }
        let slot = self.slot(line, id, ends.0);
        let group = &mut self.groups[slot];
        group.y.extend_from_slice(y);
        group.lines.push_run(line, y.len());
        if y.len() > 1 {
            group
                .ds
                .push_even((gap.after(ends.0), ends.1), gap, y.len() - 1);
        }
        Ok(())
    }

    /// The slot of series `id` once a row with `ds` on `line` joins it: a new series starts
    /// with `ds`, a known one has `ds` added.
    fn slot(&mut self, line: u64, id: &str, ds: Timestamp) -> usize {
        let first = match ds {
            Timestamp::Int(_) => &mut self.first_int,
            Timestamp::DateTime(_) => &mut self.first_date,
        };
        if first.is_none() {
            *first = Some(RowRef {
                line,
                id: id.to_string(),
                ds,
            });
        }
        let slot = self.index.slot(id);
        if slot == self.groups.len() {
            self.groups.push(Group {
                ds: Arrivals::starting(ds),
                y: Vec::new(),
                lines: LineNumbers::default(),
                extra: vec![Vec::new(); self.extra_names.len()],
            });
        } else {
            self.groups[slot].ds.push(ds);
        }
        slot
    }

    /// Notes how the `ds` of the row on `line` was written (see [`Timestamp::parse_styled`]);
    /// refuses a column mixing zoned and zone-less times. Integer `ds` take no part.
    pub(crate) fn observe_style(
        &mut self,
        line: u64,
        ds: &Timestamp,
        style: DsStyle,
    ) -> Result<()> {
        self.style
            .observe(ds, style, line)
            .map_err(|m| Error::Data(format!("{}: {m}", self.source)))
    }

    /// Sets the style of a typed `ds` column (dates or timestamps rather than text).
    pub(crate) fn set_typed_style(&mut self, style: DsStyle) {
        self.typed_style = Some(style);
    }

    /// Sorts series by id and rows by `ds`, validates them, and settles the frequency
    /// (inferred when `freq` is `None`).
    pub(crate) fn finish(self, freq: Option<Freq>) -> Result<TimeSeriesFrame> {
        let started = Instant::now();
        let validating = self.validating;
        let source = self.source;
        if self.groups.is_empty() {
            return Err(Error::Data(format!("{source}: no rows")));
        }
        check_single_kind(
            &source,
            self.unit,
            self.first_int.as_ref(),
            self.first_date.as_ref(),
        )?;
        let mut entries: Vec<(String, Group)> =
            self.index.into_ids().into_iter().zip(self.groups).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // Series whose rows came in order a fixed gap apart are sorted and free of duplicates;
        // the others are sorted and checked here, one at a time with their line numbers.
        for (id, group) in &mut entries {
            let Arrivals::Listed(ds) = &mut group.ds else {
                continue;
            };
            let mut lines = group.lines.to_vec();
            if let Some(order) = sort_order(ds, &lines) {
                permute(ds, &order);
                permute(&mut group.y, &order);
                permute(&mut lines, &order);
                for column in &mut group.extra {
                    permute(column, &order);
                }
                group.lines = LineNumbers::Plain(lines.clone());
            }
            check_duplicates(&source, self.unit, id, ds, &lines)?;
        }
        let freq = match freq {
            Some(f) => {
                let first = entries.first().map(|(_, g)| g.ds.first());
                f.check_positive()
                    .and_then(|()| first.map_or(Ok(()), |ts| f.check_fits(ts)))
                    .map_err(|e| in_context(e, &source))?;
                f
            }
            None => infer_freq(&source, entries.iter().flat_map(|(_, g)| g.ds.pairs()))?,
        };
        let unit = self.unit;
        let series = entries
            .into_iter()
            .map(|(id, mut g)| {
                let ds = match g.ds.settle(freq) {
                    Ok(ds) => ds,
                    Err(values) => {
                        check_regular(&source, unit, &id, &values, &g.lines.to_vec(), freq)?;
                        SeriesDs::new(values, freq)
                    }
                };
                g.y.shrink_to_fit();
                Ok(Series {
                    id,
                    ds,
                    y: g.y,
                    extra: g.extra,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let frame = TimeSeriesFrame::assemble(
            source,
            series,
            self.extra_names,
            freq,
            self.typed_style.or(self.style.style()),
        );
        Ok(frame.validated_in(validating + started.elapsed()))
    }
}
