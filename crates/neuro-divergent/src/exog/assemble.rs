//! Assembles the numeric exogenous columns the models need, series by series (in parallel).

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::{FutureTable, StaticTable};
use crate::data::validate::{fits_f32, BEYOND_F32};
use crate::data::{Freq, Series, TimeSeriesFrame, Timestamp};
use crate::error::{Error, Result};
use crate::models::{ExogLists, ModelSpec};
use crate::preprocess::FeatureConfig;
use crate::windows::SeriesView;

/// The exogenous columns a set of models reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Needs {
    /// Temporal columns (historic or future).
    pub(crate) temporal: BTreeSet<String>,
    /// Temporal columns needed over the horizon.
    pub(crate) future: BTreeSet<String>,
    /// Static columns.
    pub(crate) statics: Vec<String>,
}

impl Needs {
    /// What `specs` read; errors when a future column is derived from `y`.
    pub(crate) fn of(specs: &[ModelSpec], features: &FeatureConfig) -> Result<Needs> {
        let mut needs = Needs::default();
        for spec in specs {
            needs.temporal.extend(spec.exog.temporal().cloned());
            for name in &spec.exog.futr_exog_list {
                if features.derived_named(name).is_some() {
                    return Err(Error::Config(format!(
                        "{}: '{name}' is computed from y, which is unknown over the horizon: \
                         list it in hist_exog_list, not futr_exog_list",
                        spec.display_name()
                    )));
                }
                needs.future.insert(name.clone());
            }
            for name in &spec.exog.stat_exog_list {
                if !needs.statics.contains(name) {
                    needs.statics.push(name.clone());
                }
            }
        }
        Ok(needs)
    }
}

/// Series with the exogenous columns the models read: temporal columns aligned with `y` (future
/// ones extended over the horizon when forecasting) and static values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Panel<'a> {
    /// Series ids.
    pub(crate) ids: Vec<&'a str>,
    /// Observed values.
    pub(crate) y: Vec<&'a [f64]>,
    /// Temporal columns of each series, by name.
    pub(crate) temporal: Vec<BTreeMap<String, Vec<f32>>>,
    /// Static values of each series, by name.
    pub(crate) statics: Vec<BTreeMap<String, f32>>,
}

impl<'a> Panel<'a> {
    /// The series of `frame` with the temporal columns in `needs` read from its extra columns or
    /// generated, and static values from `statics`.
    pub(crate) fn from_frame(
        frame: &'a TimeSeriesFrame,
        needs: &Needs,
        features: &FeatureConfig,
        statics: Option<&StaticTable>,
    ) -> Result<Panel<'a>> {
        let series = frame.series();
        let temporal = if needs.temporal.is_empty() {
            vec![BTreeMap::new(); series.len()]
        } else {
            crate::threads::install(|| {
                series
                    .par_iter()
                    .map(|s| history_columns(frame, s, needs, features))
                    .collect::<Result<Vec<_>>>()
            })?
        };
        let ids: Vec<&str> = series.iter().map(|s| s.id.as_str()).collect();
        Ok(Panel {
            statics: static_values(&ids, needs, statics)?,
            y: series.iter().map(|s| s.y.as_slice()).collect(),
            ids,
            temporal,
        })
    }

    /// Series whose temporal columns were kept earlier (at fit time), with static values from
    /// `statics`.
    pub(crate) fn from_parts(
        ids: Vec<&'a str>,
        y: Vec<&'a [f64]>,
        temporal: Vec<BTreeMap<String, Vec<f32>>>,
        needs: &Needs,
        statics: Option<&StaticTable>,
    ) -> Result<Panel<'a>> {
        for (id, columns) in ids.iter().zip(&temporal) {
            if let Some(name) = needs.temporal.iter().find(|n| !columns.contains_key(*n)) {
                return Err(Error::Data(format!(
                    "series '{id}': exogenous column '{name}' was not kept at fit time: pass the \
                     data to forecast from"
                )));
            }
        }
        Ok(Panel {
            statics: static_values(&ids, needs, statics)?,
            ids,
            y,
            temporal,
        })
    }

    /// Appends `h` future values to every future column: calendar features from the future
    /// `ds`, other columns from `future`. `last_ds` is each series' last time stamp.
    pub(crate) fn extend_future(
        &mut self,
        last_ds: &[Timestamp],
        freq: Freq,
        h: usize,
        needs: &Needs,
        features: &FeatureConfig,
        future: Option<&FutureTable>,
    ) -> Result<()> {
        if needs.future.is_empty() {
            return Ok(());
        }
        for ((id, columns), &last) in self.ids.iter().zip(&mut self.temporal).zip(last_ds) {
            let values = future_values(id, last, freq, h, needs, features, future)?;
            for (name, values) in needs.future.iter().zip(values) {
                columns
                    .get_mut(name)
                    .ok_or_else(|| missing_internal(name))?
                    .extend(values);
            }
        }
        Ok(())
    }

    /// Series `i` as the model `lists` describes sees it.
    pub(crate) fn view(&self, i: usize, lists: &ExogLists) -> Result<SeriesView<'_>> {
        let columns = &self.temporal[i];
        let pick = |names: &[String]| -> Result<Vec<&[f32]>> {
            names
                .iter()
                .map(|n| {
                    columns
                        .get(n)
                        .map(Vec::as_slice)
                        .ok_or_else(|| missing_internal(n))
                })
                .collect()
        };
        Ok(SeriesView {
            y: self.y[i],
            hist: pick(&lists.hist_exog_list)?,
            futr: pick(&lists.futr_exog_list)?,
            stat: lists
                .stat_exog_list
                .iter()
                .map(|n| {
                    self.statics[i]
                        .get(n)
                        .copied()
                        .ok_or_else(|| missing_internal(n))
                })
                .collect::<Result<Vec<f32>>>()?,
        })
    }

    /// Every series as `lists` sees it.
    pub(crate) fn views(&self, lists: &ExogLists) -> Result<Vec<SeriesView<'_>>> {
        (0..self.y.len()).map(|i| self.view(i, lists)).collect()
    }
}

/// The `h` values after `last` of each future column of `needs` (in its order) for series `id`:
/// calendar features from the future `ds`, other columns from `future`.
pub(crate) fn future_values(
    id: &str,
    last: Timestamp,
    freq: Freq,
    h: usize,
    needs: &Needs,
    features: &FeatureConfig,
    future: Option<&FutureTable>,
) -> Result<Vec<Vec<f32>>> {
    let ds = (1..=h as i64)
        .map(|k| freq.advance(last, k))
        .collect::<Result<Vec<_>>>()?;
    needs
        .future
        .iter()
        .map(|name| match (features.calendar_named(name), future) {
            (Some(feature), _) => feature.values(&ds),
            (None, Some(table)) => table.values(id, name, &ds),
            (None, None) => Err(Error::Data(format!(
                "future exogenous column '{name}' needs values for the {h} steps after each \
                 series' end: give a table of future values (CLI --futr FILE.csv, Node futrData)"
            ))),
        })
        .collect()
}

fn missing_internal(name: &str) -> Error {
    Error::Config(format!("exogenous column '{name}' was not prepared"))
}

/// The temporal columns of one series of `frame`.
fn history_columns(
    frame: &TimeSeriesFrame,
    series: &Series,
    needs: &Needs,
    features: &FeatureConfig,
) -> Result<BTreeMap<String, Vec<f32>>> {
    needs
        .temporal
        .iter()
        .map(|name| {
            let values = if let Some(feature) = features.calendar_named(name) {
                feature.values(&series.ds.to_vec())?
            } else if let Some(feature) = features.derived_named(name) {
                feature.compute(&series.y)
            } else {
                data_column(frame, series, name)?
            };
            Ok((name.clone(), values))
        })
        .collect()
}

/// Extra column `name` of one series, parsed as finite numbers.
fn data_column(frame: &TimeSeriesFrame, series: &Series, name: &str) -> Result<Vec<f32>> {
    let index = frame
        .extra_names()
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| {
            Error::Data(format!(
                "{}: exogenous column '{name}' is neither a column of the data (extra columns: \
                 {}) nor a generated feature",
                frame.source(),
                if frame.extra_names().is_empty() {
                    "none".to_string()
                } else {
                    frame.extra_names().join(", ")
                }
            ))
        })?;
    series.extra[index]
        .iter()
        .zip(series.ds.iter())
        .map(|(text, ds)| match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && fits_f32(v) => Ok(v as f32),
            Ok(v) if v.is_finite() => Err(Error::Data(format!(
                "{}: series '{}' at ds {ds}: exogenous column '{name}' holds '{text}', which is \
                 {BEYOND_F32}",
                frame.source(),
                series.id
            ))),
            _ => Err(Error::Data(format!(
                "{}: series '{}' at ds {ds}: exogenous column '{name}' holds '{text}', which is \
                 not a finite number",
                frame.source(),
                series.id
            ))),
        })
        .collect()
}

/// Checks, before any training, that `table` holds the static values `needs` lists for every
/// series of `frame` (a search would otherwise fail the same way in each of its trials).
pub(crate) fn check_static_values(
    frame: &TimeSeriesFrame,
    needs: &Needs,
    table: Option<&StaticTable>,
) -> Result<()> {
    let ids: Vec<&str> = frame.series().iter().map(|s| s.id.as_str()).collect();
    static_values(&ids, needs, table).map(drop)
}

/// The static values of each series in `ids`.
fn static_values(
    ids: &[&str],
    needs: &Needs,
    table: Option<&StaticTable>,
) -> Result<Vec<BTreeMap<String, f32>>> {
    if needs.statics.is_empty() {
        return Ok(vec![BTreeMap::new(); ids.len()]);
    }
    let table = table.ok_or_else(|| {
        Error::Data(format!(
            "static exogenous columns ({}) need static values per series (CLI --static FILE.csv, \
             Node staticData)",
            needs.statics.join(", ")
        ))
    })?;
    ids.iter()
        .map(|id| {
            let values = table.values(id, &needs.statics)?;
            Ok(needs.statics.iter().cloned().zip(values).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_csv_from;
    use crate::preprocess::{CalendarFeature, DerivedFeature};

    fn spec(hist: &str, futr: &str, stat: &str) -> ModelSpec {
        let mut spec = ModelSpec::new("MLP", 2, 3).unwrap();
        spec.set_param("hist_exog_list", hist).unwrap();
        spec.set_param("futr_exog_list", futr).unwrap();
        spec.set_param("stat_exog_list", stat).unwrap();
        spec
    }

    fn frame(price: &str) -> TimeSeriesFrame {
        let text = format!(
            "unique_id,ds,y,price\na,2024-01-01,1,10\na,2024-01-02,2,{price}\na,2024-01-03,3,30\n"
        );
        read_csv_from(text.as_bytes(), "d.csv", None).unwrap()
    }

    #[test]
    fn assembles_data_generated_future_and_static_columns() {
        let features = FeatureConfig {
            calendar: vec![CalendarFeature::DayOfWeek],
            derived: vec![DerivedFeature::Lag(1)],
        };
        let specs = [spec("price,y_lag1", "dayofweek", "size")];
        let needs = Needs::of(&specs, &features).unwrap();
        let data = frame("20");
        let statics =
            StaticTable::read_csv_from("unique_id,size\na,5\n".as_bytes(), "s.csv").unwrap();
        let mut panel = Panel::from_frame(&data, &needs, &features, Some(&statics)).unwrap();
        let last = [data.series()[0].ds.at(2)];
        panel
            .extend_future(&last, data.freq(), 2, &needs, &features, None)
            .unwrap();
        let view = panel.view(0, &specs[0].exog).unwrap();
        assert_eq!(view.hist[0], [10.0, 20.0, 30.0]);
        assert_eq!(view.hist[1], [1.0, 1.0, 2.0]);
        // 2024-01-01 is a Monday: Mon..Fri over history and horizon.
        assert_eq!(view.futr[0].len(), 5);
        assert_eq!(view.futr[0][0], -0.5);
        assert_eq!(view.stat, [5.0]);
    }

    #[test]
    fn bad_exogenous_input_is_named() {
        let features = FeatureConfig::default();
        let needs = Needs::of(&[spec("price", "", "")], &features).unwrap();
        let err = Panel::from_frame(&frame("NaN"), &needs, &features, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("series 'a' at ds 2024-01-02: exogenous column 'price' holds 'NaN'"),
            "{err}"
        );
        let err = Panel::from_frame(&frame("1e39"), &needs, &features, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("series 'a' at ds 2024-01-02: exogenous column 'price' holds '1e39'")
                && err.contains("32-bit"),
            "{err}"
        );
        let needs = Needs::of(&[spec("temp", "", "")], &features).unwrap();
        let err = Panel::from_frame(&frame("1"), &needs, &features, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'temp' is neither a column of the data (extra columns: price)"),
            "{err}"
        );
        let needs = Needs::of(&[spec("", "", "size")], &features).unwrap();
        let err = Panel::from_frame(&frame("1"), &needs, &features, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--static FILE.csv"), "{err}");
        let statics =
            StaticTable::read_csv_from("unique_id,size\nb,5\n".as_bytes(), "s.csv").unwrap();
        let err = Panel::from_frame(&frame("1"), &needs, &features, Some(&statics))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no static values for series 'a'"), "{err}");
        let needs = Needs::of(&[spec("", "price", "")], &features).unwrap();
        let data = frame("1");
        let mut panel = Panel::from_frame(&data, &needs, &features, None).unwrap();
        let last = [data.series()[0].ds.at(2)];
        let err = panel
            .extend_future(&last, data.freq(), 2, &needs, &features, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--futr FILE.csv"), "{err}");
        let lagged = FeatureConfig {
            derived: vec![DerivedFeature::Lag(1)],
            ..FeatureConfig::default()
        };
        let err = Needs::of(&[spec("", "y_lag1", "")], &lagged)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not futr_exog_list"), "{err}");
    }
}
