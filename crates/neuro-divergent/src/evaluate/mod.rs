//! Scoring forecast tables against actual values, the way the M4 competition does.

mod metric;
mod probabilistic;
mod table;

pub use metric::Metric;
pub use probabilistic::{role as column_role, ColumnRole};
pub use table::{read_value_table, read_value_table_from, ValueTable};

use probabilistic::{role, QuantileForecasts};
use table::TableSeries;

use crate::data::validate::in_context;
use crate::data::TimeSeriesFrame;
use crate::error::{Error, Result};
use crate::metrics::{mae, mape, mase, mse, owa, rmse, smape};

/// One score: a model (a forecast column) under one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationRow {
    /// The forecast column that was scored.
    pub model: String,
    /// The metric.
    pub metric: Metric,
    /// The interval level, for coverage and width.
    pub level: Option<f64>,
    /// The score, averaged over series.
    pub value: f64,
}

/// Forecasts of one series next to the actual values at the same `ds`.
struct Aligned<'a> {
    id: &'a str,
    y: Vec<f64>,
    yhat: Vec<f64>,
}

/// Scores every model column of `forecasts` (each value column except `y`) against the `y`
/// column of `actuals`, joined on `(unique_id, ds)`.
///
/// Each metric is computed per series over its forecast horizon and then averaged over series
/// with equal weight; this holds for MAE, MSE and RMSE too (RMSE is the mean of per-series
/// RMSEs). MASE uses the series' `y` in `train` with `season_length`. OWA compares the mean
/// sMAPE and MASE with those of the single forecast column of `naive2`, scored the same way on
/// the series present in `forecasts`. Rows come out model by model, in the order of `metrics`.
///
/// A forecast without an actual value, a series missing from `train` or `naive2`, and missing
/// inputs (`--train` for MASE/OWA, `--naive2` for OWA) are errors.
pub fn evaluate(
    forecasts: &ValueTable,
    actuals: &ValueTable,
    train: Option<&TimeSeriesFrame>,
    season_length: usize,
    naive2: Option<&ValueTable>,
    metrics: &[Metric],
) -> Result<Vec<EvaluationRow>> {
    check_inputs(train, season_length, naive2, metrics)?;
    let y_col = actuals.column("y").ok_or_else(|| {
        Error::Data(format!(
            "{}: the actual values need a column 'y'; found columns `{}`",
            actuals.source(),
            actuals.columns().join(",")
        ))
    })?;
    let models: Vec<(usize, &String)> = forecasts
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, name)| *name != "y" && role(name) == ColumnRole::Point)
        .collect();
    if models.is_empty() {
        return Err(Error::Data(format!(
            "{}: no forecast columns to score (every column besides unique_id and ds is 'y')",
            forecasts.source()
        )));
    }
    let benchmark = match (metrics.contains(&Metric::Owa), naive2) {
        (true, Some(table)) => Some(naive2_scores(
            forecasts,
            table,
            actuals,
            y_col,
            train,
            season_length,
        )?),
        _ => None,
    };
    let (probabilistic, point): (Vec<Metric>, Vec<Metric>) =
        metrics.iter().partition(|m| m.is_probabilistic());
    let mut rows = Vec::with_capacity(models.len() * metrics.len());
    for &(col, model) in models.iter().filter(|_| !point.is_empty()) {
        let aligned: Vec<Aligned> = forecasts
            .series()
            .iter()
            .map(|s| align(forecasts.source(), s, col, actuals, y_col))
            .collect::<Result<_>>()?;
        for &metric in &point {
            let value = score(metric, &aligned, train, season_length, benchmark).map_err(|e| {
                in_context(
                    e,
                    &format!("{}: model '{model}', metric {metric}", forecasts.source()),
                )
            })?;
            rows.push(EvaluationRow {
                model: model.clone(),
                metric,
                level: None,
                value,
            });
        }
    }
    if !probabilistic.is_empty() {
        rows.extend(probabilistic_rows(
            forecasts,
            actuals,
            y_col,
            &probabilistic,
        )?);
    }
    Ok(rows)
}

/// Coverage, width, quantile loss and scaled CRPS of every model that has interval columns,
/// averaged over series.
fn probabilistic_rows(
    forecasts: &ValueTable,
    actuals: &ValueTable,
    y_col: usize,
    metrics: &[Metric],
) -> Result<Vec<EvaluationRow>> {
    let columns = forecasts.columns();
    let mut bases: Vec<String> = Vec::new();
    for name in columns {
        if let ColumnRole::Bound { base, .. } = role(name) {
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
    }
    if bases.is_empty() {
        return Err(Error::Data(format!(
            "{}: probabilistic metrics need interval columns such as NHITS-lo-80 and NHITS-hi-80; \
             found columns `{}`",
            forecasts.source(),
            columns.join(",")
        )));
    }
    let mut rows = Vec::new();
    for base in bases {
        let mut sums: Vec<(Metric, Option<f64>, f64)> = Vec::new();
        let n_series = forecasts.series().len();
        for s in forecasts.series() {
            let series = quantile_forecasts(forecasts, s, &base, actuals, y_col)?;
            for &metric in metrics {
                let context = format!("{}: model '{base}', series '{}'", forecasts.source(), s.id);
                for (level, value) in series.score(metric).map_err(|e| in_context(e, &context))? {
                    match sums
                        .iter_mut()
                        .find(|(m, l, _)| *m == metric && *l == level)
                    {
                        Some(entry) => entry.2 += value,
                        None => sums.push((metric, level, value)),
                    }
                }
            }
        }
        rows.extend(
            sums.into_iter()
                .map(|(metric, level, total)| EvaluationRow {
                    model: base.clone(),
                    metric,
                    level,
                    value: total / n_series.max(1) as f64,
                }),
        );
    }
    Ok(rows)
}

/// The quantile and interval forecasts of model `base` for series `s`, with its actual values.
fn quantile_forecasts(
    forecasts: &ValueTable,
    s: &TableSeries,
    base: &str,
    actuals: &ValueTable,
    y_col: usize,
) -> Result<QuantileForecasts> {
    let source = forecasts.source();
    let mut result = QuantileForecasts {
        y: Vec::new(),
        quantiles: Vec::new(),
        intervals: Vec::new(),
    };
    let mut bounds: Vec<(f64, bool, Vec<f64>)> = Vec::new();
    for (col, name) in forecasts.columns().iter().enumerate() {
        let quantile = match role(name) {
            ColumnRole::Bound {
                base: b,
                level,
                upper,
            } if b == base => {
                let aligned = align(source, s, col, actuals, y_col)?;
                result.y = aligned.y;
                bounds.push((level, upper, aligned.yhat.clone()));
                if upper {
                    (100.0 + level) / 200.0
                } else {
                    (100.0 - level) / 200.0
                }
            }
            ColumnRole::Point if *name == format!("{base}-median") => 0.5,
            _ => continue,
        };
        result.quantiles.push((quantile, s.values[col].clone()));
    }
    for (level, upper, values) in &bounds {
        if *upper {
            continue;
        }
        let hi = bounds
            .iter()
            .find(|(l, u, _)| l == level && *u)
            .ok_or_else(|| {
                Error::Data(format!(
                    "{source}: {base}-lo-{level} has no matching {base}-hi-{level} column"
                ))
            })?;
        result
            .intervals
            .push((*level, values.clone(), hi.2.clone()));
    }
    Ok(result)
}

/// Fails early when a requested metric lacks an input it needs.
fn check_inputs(
    train: Option<&TimeSeriesFrame>,
    season_length: usize,
    naive2: Option<&ValueTable>,
    metrics: &[Metric],
) -> Result<()> {
    if metrics.is_empty() {
        return Err(Error::Config("no metrics requested".to_string()));
    }
    for metric in [Metric::Mase, Metric::Owa] {
        if metrics.contains(&metric) {
            if train.is_none() {
                return Err(Error::Config(format!(
                    "metric {metric} needs the training data to scale errors; pass it with --train"
                )));
            }
            if season_length == 0 {
                return Err(Error::Config(format!(
                    "metric {metric} needs a season length of at least 1"
                )));
            }
        }
    }
    if metrics.contains(&Metric::Owa) && naive2.is_none() {
        return Err(Error::Config(
            "metric owa needs the Naive2 benchmark forecasts; pass them with --naive2".to_string(),
        ));
    }
    Ok(())
}

/// One metric for one model, averaged over series; `benchmark` holds Naive2's (sMAPE, MASE).
fn score(
    metric: Metric,
    aligned: &[Aligned],
    train: Option<&TimeSeriesFrame>,
    season_length: usize,
    benchmark: Option<(f64, f64)>,
) -> Result<f64> {
    match metric {
        Metric::Mae => mean_over_series(aligned, |a| mae(&a.y, &a.yhat)),
        Metric::Mse => mean_over_series(aligned, |a| mse(&a.y, &a.yhat)),
        Metric::Rmse => mean_over_series(aligned, |a| rmse(&a.y, &a.yhat)),
        Metric::Mape => mean_over_series(aligned, |a| mape(&a.y, &a.yhat)),
        Metric::Smape => mean_over_series(aligned, |a| smape(&a.y, &a.yhat)),
        Metric::Mase => mean_mase(aligned, train, season_length),
        Metric::Owa => {
            let (smape_naive2, mase_naive2) = benchmark.ok_or_else(|| {
                Error::Config("OWA needs the Naive2 forecasts (--naive2)".to_string())
            })?;
            let s = mean_over_series(aligned, |a| smape(&a.y, &a.yhat))?;
            let m = mean_mase(aligned, train, season_length)?;
            Ok(owa(s, m, smape_naive2, mase_naive2))
        }
        probabilistic => Err(Error::Config(format!(
            "{probabilistic} scores interval columns, not one forecast column"
        ))),
    }
}

/// Naive2's mean sMAPE and MASE over the series of `forecasts`.
fn naive2_scores(
    forecasts: &ValueTable,
    naive2: &ValueTable,
    actuals: &ValueTable,
    y_col: usize,
    train: Option<&TimeSeriesFrame>,
    season_length: usize,
) -> Result<(f64, f64)> {
    let source = naive2.source();
    let candidates: Vec<(usize, &String)> = naive2
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, name)| *name != "y")
        .collect();
    let &[(col, _)] = candidates.as_slice() else {
        return Err(Error::Data(format!(
            "{source}: the Naive2 file needs exactly one forecast column besides unique_id, ds \
             and y; found columns `{}`",
            naive2.columns().join(",")
        )));
    };
    let aligned: Vec<Aligned> = forecasts
        .ids()
        .map(|id| {
            let s = naive2.find(id).ok_or_else(|| {
                Error::Data(format!("{source}: no Naive2 forecasts for series '{id}'"))
            })?;
            align(source, s, col, actuals, y_col)
        })
        .collect::<Result<_>>()?;
    let context = |e| in_context(e, &format!("{source}: Naive2"));
    let s = mean_over_series(&aligned, |a| smape(&a.y, &a.yhat)).map_err(context)?;
    let m = mean_mase(&aligned, train, season_length).map_err(context)?;
    if s == 0.0 || m == 0.0 {
        return Err(Error::Data(format!(
            "{source}: Naive2 has a perfect sMAPE or MASE (0), so OWA is undefined"
        )));
    }
    Ok((s, m))
}

/// Pairs each forecast of series `s` (column `col`) with its actual value.
fn align<'a>(
    source: &str,
    s: &'a TableSeries,
    col: usize,
    actuals: &ValueTable,
    y_col: usize,
) -> Result<Aligned<'a>> {
    let actual = actuals.find(&s.id);
    let mut y = Vec::with_capacity(s.ds.len());
    for (i, &ds) in s.ds.iter().enumerate() {
        let found = actual.and_then(|a| a.position(ds).map(|j| a.values[y_col][j]));
        match found {
            Some(v) => y.push(v),
            None => {
                return Err(Error::Data(format!(
                    "{source}: line {}: series '{}', ds {ds}: no actual value in {}",
                    s.lines[i],
                    s.id,
                    actuals.source()
                )));
            }
        }
    }
    Ok(Aligned {
        id: &s.id,
        y,
        yhat: s.values[col].clone(),
    })
}

/// Mean of a per-series score; a failing series is named in the error.
fn mean_over_series(aligned: &[Aligned], f: impl Fn(&Aligned) -> Result<f64>) -> Result<f64> {
    let mut total = 0.0;
    for a in aligned {
        total += f(a).map_err(|e| in_context(e, &format!("series '{}'", a.id)))?;
    }
    Ok(total / aligned.len().max(1) as f64)
}

/// Mean MASE over series, scaled by each series' training values.
fn mean_mase(
    aligned: &[Aligned],
    train: Option<&TimeSeriesFrame>,
    season_length: usize,
) -> Result<f64> {
    let train = train.ok_or_else(|| {
        Error::Config("MASE needs the training data; pass it with --train".to_string())
    })?;
    mean_over_series(aligned, |a| {
        let history = train
            .get(a.id)
            .ok_or_else(|| Error::Data(format!("no training data in {}", train.source())))?;
        mase(&a.y, &a.yhat, &history.y, season_length)
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::data::{read_csv, read_csv_from};

    const TRAIN: &str = "unique_id,ds,y\na,1,1\na,2,2\na,3,3\na,4,4\na,5,5\na,6,6\n\
                         b,1,10\nb,2,10\nb,3,12\nb,4,14\n";
    const ACTUALS: &str = "unique_id,ds,y\na,7,7\na,8,8\nb,5,16\nb,6,18\n";
    const FORECASTS: &str = "unique_id,ds,Naive2,good\na,7,6,7\na,8,6,8\nb,5,14,16\nb,6,14,18\n";

    fn table(text: &str, source: &str) -> Result<ValueTable> {
        read_value_table_from(text.as_bytes(), source)
    }

    fn value(rows: &[EvaluationRow], model: &str, metric: Metric) -> f64 {
        rows.iter()
            .find(|r| r.model == model && r.metric == metric)
            .map_or(f64::NAN, |r| r.value)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn naive2_by_hand() -> Result<()> {
        let train = read_csv_from(TRAIN.as_bytes(), "train.csv", None)?;
        let forecasts = table(FORECASTS, "fc.csv")?;
        let actuals = table(ACTUALS, "test.csv")?;
        let naive2 = table(
            "unique_id,ds,Naive2\na,7,6\na,8,6\nb,5,14\nb,6,14\n",
            "n2.csv",
        )?;
        let point: Vec<Metric> = Metric::ALL
            .into_iter()
            .filter(|m| !m.is_probabilistic())
            .collect();
        let rows = evaluate(&forecasts, &actuals, Some(&train), 2, Some(&naive2), &point)?;
        assert_eq!(rows.len(), 2 * point.len());
        // Series a: errors 1, 2 on actuals 7, 8; seasonal (lag 2) scale 2.
        // Series b: errors 2, 4 on actuals 16, 18; scale mean(|12-10|, |14-10|) = 3.
        let smape_a = (200.0 / 13.0 + 400.0 / 14.0) / 2.0;
        let smape_b = (400.0 / 30.0 + 800.0 / 32.0) / 2.0;
        assert!(close(
            value(&rows, "Naive2", Metric::Smape),
            (smape_a + smape_b) / 2.0
        ));
        assert!(close(
            value(&rows, "Naive2", Metric::Mase),
            (0.75 + 1.0) / 2.0
        ));
        assert!(close(
            value(&rows, "Naive2", Metric::Mae),
            (1.5 + 3.0) / 2.0
        ));
        assert!(close(
            value(&rows, "Naive2", Metric::Mse),
            (2.5 + 10.0) / 2.0
        ));
        assert!(close(
            value(&rows, "Naive2", Metric::Rmse),
            (2.5f64.sqrt() + 10.0f64.sqrt()) / 2.0
        ));
        let mape_a = (100.0 / 7.0 + 200.0 / 8.0) / 2.0;
        let mape_b = (200.0 / 16.0 + 400.0 / 18.0) / 2.0;
        assert!(close(
            value(&rows, "Naive2", Metric::Mape),
            (mape_a + mape_b) / 2.0
        ));
        assert_eq!(value(&rows, "Naive2", Metric::Owa), 1.0);
        assert_eq!(value(&rows, "good", Metric::Smape), 0.0);
        assert_eq!(value(&rows, "good", Metric::Owa), 0.0);
        Ok(())
    }

    #[test]
    fn actuals_column_y_is_not_a_model() -> Result<()> {
        let forecasts = table("unique_id,ds,y,M\na,7,7,6\n", "fc.csv")?;
        let actuals = table(ACTUALS, "test.csv")?;
        let rows = evaluate(&forecasts, &actuals, None, 1, None, &[Metric::Mae])?;
        assert_eq!(
            rows,
            vec![EvaluationRow {
                model: "M".into(),
                metric: Metric::Mae,
                level: None,
                value: 1.0
            }]
        );
        Ok(())
    }

    fn data_error(r: Result<Vec<EvaluationRow>>) -> String {
        match r {
            Err(Error::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    fn config_error(r: Result<Vec<EvaluationRow>>) -> String {
        match r {
            Err(Error::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn reports_missing_inputs_and_rows() -> Result<()> {
        let train = read_csv_from(TRAIN.as_bytes(), "train.csv", None)?;
        let forecasts = table(FORECASTS, "fc.csv")?;
        let actuals = table(ACTUALS, "test.csv")?;
        let m = config_error(evaluate(
            &forecasts,
            &actuals,
            None,
            2,
            None,
            &[Metric::Mase],
        ));
        assert!(m.contains("--train"), "{m}");
        let m = config_error(evaluate(
            &forecasts,
            &actuals,
            Some(&train),
            2,
            None,
            &[Metric::Owa],
        ));
        assert!(m.contains("--naive2"), "{m}");
        let m = config_error(evaluate(&forecasts, &actuals, None, 2, None, &[]));
        assert!(m.contains("no metrics"), "{m}");

        let short = table("unique_id,ds,y\na,7,7\nb,5,16\nb,6,18\n", "short.csv")?;
        let m = data_error(evaluate(&forecasts, &short, None, 2, None, &[Metric::Mae]));
        assert!(
            m.contains("fc.csv: line 3") && m.contains("series 'a'"),
            "{m}"
        );
        assert!(m.contains("ds 8") && m.contains("short.csv"), "{m}");

        let no_y = table("unique_id,ds,actual\na,7,7\n", "noy.csv")?;
        let m = data_error(evaluate(&forecasts, &no_y, None, 2, None, &[Metric::Mae]));
        assert!(m.contains("noy.csv") && m.contains("'y'"), "{m}");

        let zero = table("unique_id,ds,y\na,7,0\na,8,8\nb,5,16\nb,6,18\n", "zero.csv")?;
        let m = data_error(evaluate(&forecasts, &zero, None, 2, None, &[Metric::Mape]));
        assert!(
            m.contains("model 'Naive2'") && m.contains("series 'a'") && m.contains("is 0"),
            "{m}"
        );

        let partial = read_csv_from(
            "unique_id,ds,y\na,1,1\na,2,2\na,3,3\n".as_bytes(),
            "tr.csv",
            None,
        )?;
        let m = data_error(evaluate(
            &forecasts,
            &actuals,
            Some(&partial),
            1,
            None,
            &[Metric::Mase],
        ));
        assert!(m.contains("series 'b'") && m.contains("tr.csv"), "{m}");
        Ok(())
    }

    #[test]
    fn interval_columns_get_probabilistic_scores_not_point_scores() -> Result<()> {
        let forecasts = table(
            "unique_id,ds,M,M-lo-80,M-hi-80\na,7,7,6,8\na,8,9,8.5,10\nb,5,16,10,20\nb,6,18,19,21\n",
            "fc.csv",
        )?;
        let actuals = table(ACTUALS, "test.csv")?;
        let metrics = [
            Metric::Mae,
            Metric::Coverage,
            Metric::Width,
            Metric::ScaledCrps,
        ];
        let rows = evaluate(&forecasts, &actuals, None, 1, None, &metrics)?;
        let models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(models, ["M", "M", "M", "M"]);
        let find = |m: Metric| rows.iter().find(|r| r.metric == m).unwrap();
        // Series a: 7 in [6, 8], 8 outside [8.5, 10] -> 50%; series b: 16 in, 18 outside -> 50%.
        assert_eq!(find(Metric::Coverage).value, 50.0);
        assert_eq!(find(Metric::Coverage).level, Some(80.0));
        assert_eq!(find(Metric::Width).value, (1.75 + 6.0) / 2.0);
        assert!(find(Metric::ScaledCrps).value > 0.0);
        let point_only = table(FORECASTS, "p.csv")?;
        let m = data_error(evaluate(
            &point_only,
            &actuals,
            None,
            1,
            None,
            &[Metric::Coverage],
        ));
        assert!(m.contains("need interval columns"), "{m}");
        Ok(())
    }

    /// `<ancestor>/shared/datasets` of the crate directory, if there is one.
    fn shared_datasets() -> Option<PathBuf> {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared").join("datasets"))
            .find(|dir| dir.is_dir())
    }

    #[test]
    fn m4_hourly_naive2_matches_official_scores() -> Result<()> {
        let Some(dir) = shared_datasets() else {
            eprintln!("skipping: no shared/datasets directory above CARGO_MANIFEST_DIR");
            return Ok(());
        };
        let train = read_csv(&dir.join("m4_hourly_train.csv"), None)?;
        let actuals = read_value_table(&dir.join("m4_hourly_test.csv"))?;
        let naive2 = read_value_table(&dir.join("m4_hourly_naive2_forecasts.csv"))?;
        assert_eq!(train.series().len(), 414);
        let metrics = [Metric::Smape, Metric::Mase, Metric::Owa];
        let rows = evaluate(&naive2, &actuals, Some(&train), 24, Some(&naive2), &metrics)?;
        let smape = value(&rows, "Naive2", Metric::Smape);
        let mase = value(&rows, "Naive2", Metric::Mase);
        assert!((smape - 18.383).abs() < 1e-3, "sMAPE {smape}");
        assert!((mase - 2.395).abs() < 1e-3, "MASE {mase}");
        assert_eq!(value(&rows, "Naive2", Metric::Owa), 1.0);
        Ok(())
    }
}
