//! What a multivariate model (NeuralForecast's `MULTIVARIATE` models, e.g. iTransformer) needs of
//! a panel: its `n_series` series side by side, on the same dates, so that each window holds
//! every series over the same time steps. A window is then `n_series` consecutive rows of a
//! batch ([`crate::models::Model::multivariate_series`]): in the panel's series order when
//! validating and forecasting, in the data loader's shuffled order in training batches.

use crate::data::Timestamp;
use crate::error::{Error, Result};

/// One series as the checks see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesEnd<'a> {
    /// The series id.
    pub(crate) id: &'a str,
    /// Its number of observations.
    pub(crate) len: usize,
    /// Its last time stamp.
    pub(crate) last: Timestamp,
}

/// Where a panel reaches a multivariate model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Training (fit, cross-validation): `n_series` can still be changed.
    Training,
    /// Forecasting with a fitted model.
    Forecasting,
}

/// Checks that a panel of `count` series suits `model`, which forecasts `n_series` together.
pub(crate) fn check_count(model: &str, n_series: usize, count: usize, stage: Stage) -> Result<()> {
    if count == n_series {
        return Ok(());
    }
    Err(match stage {
        Stage::Training => Error::Config(format!(
            "{model} forecasts n_series={n_series} series together, but the data has {count}: \
             set n_series to {count}"
        )),
        Stage::Forecasting => Error::Data(format!(
            "{model} was fitted on n_series={n_series} series and forecasts them together, but \
             the data has {count}"
        )),
    })
}

/// The number of windows in a batch of `rows` rows for a model of `n_series` series per window.
pub(crate) fn windows_in(model: &str, rows: usize, n_series: usize) -> Result<usize> {
    if n_series == 0 || !rows.is_multiple_of(n_series) {
        return Err(Error::Train(format!(
            "{model}: a batch of {rows} rows is not made of windows of n_series={n_series} series"
        )));
    }
    Ok(rows / n_series)
}

/// Checks that `series` are the `n_series` series `model` forecasts together: that many, of
/// equal lengths and ending on the same date (so, at one frequency, on the same dates).
pub(crate) fn check_panel(
    model: &str,
    n_series: usize,
    series: &[SeriesEnd<'_>],
    stage: Stage,
) -> Result<()> {
    check_count(model, n_series, series.len(), stage)?;
    let Some(first) = series.first() else {
        return Ok(());
    };
    match series
        .iter()
        .find(|s| s.len != first.len || s.last != first.last)
    {
        Some(other) => Err(Error::Data(format!(
            "{model} forecasts its series together, so they need the same dates: series '{}' \
             has {} observations up to {}, series '{}' {} up to {}",
            first.id, first.len, first.last, other.id, other.len, other.last
        ))),
        None => Ok(()),
    }
}

/// Checks that a fitted multivariate model forecasts the series it was fitted on (`fitted`, in
/// the panel's order): its weights and what it learned across series belong to them by position,
/// so other series of the same number would be forecast silently with the wrong ones.
pub(crate) fn check_same_series(model: &str, fitted: &[&str], given: &[&str]) -> Result<()> {
    match fitted.iter().zip(given).position(|(a, b)| a != b) {
        Some(i) => Err(Error::Data(format!(
            "{model} forecasts the series it was fitted on, together and in their order: series \
             {} of the data is '{}', where it was fitted on '{}'",
            i + 1,
            given[i],
            fitted[i]
        ))),
        None => Ok(()),
    }
}

/// The order in which a multivariate model of `n_series` series reads the forecast windows
/// `cuts` (`(series, cut)` pairs): origin by origin, the series in order within each. Every
/// origin must have a window of each series.
pub(crate) fn window_order(
    model: &str,
    n_series: usize,
    cuts: &[(usize, usize)],
) -> Result<Vec<usize>> {
    let mut order: Vec<usize> = (0..cuts.len()).collect();
    order.sort_by_key(|&k| (cuts[k].1, cuts[k].0));
    for group in order.chunks(n_series) {
        let cut = cuts[group[0]].1;
        let series: Vec<usize> = group.iter().map(|&k| cuts[k].0).collect();
        if let Some(missing) = (0..n_series).find(|&i| series.get(i) != Some(&i)) {
            return Err(Error::Config(format!(
                "{model} forecasts its n_series={n_series} series together: a forecast from \
                 the first {cut} observations needs one window of each series at that origin, \
                 and series number {} has none or several",
                missing + 1
            )));
        }
        if group.iter().any(|&k| cuts[k].1 != cut) {
            return Err(Error::Config(format!(
                "{model} forecasts its n_series={n_series} series together: its forecast \
                 origins must be the same in every series"
            )));
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end<'a>(id: &'a str, len: usize, day: &str) -> SeriesEnd<'a> {
        SeriesEnd {
            id,
            len,
            last: Timestamp::parse(day).unwrap(),
        }
    }

    #[test]
    fn panels_need_every_series_on_the_same_dates() {
        let a = end("a", 10, "2020-01-10");
        let check =
            |n, series: &[SeriesEnd<'_>], stage| check_panel("iTransformer", n, series, stage);
        assert!(check(2, &[a, end("b", 10, "2020-01-10")], Stage::Training).is_ok());
        let count = check(3, &[a], Stage::Training).unwrap_err().to_string();
        assert!(
            count.contains("n_series=3") && count.contains("set n_series to 1"),
            "{count}"
        );
        let fitted = check(3, &[a], Stage::Forecasting).unwrap_err();
        assert!(matches!(fitted, Error::Data(_)), "{fitted}");
        assert!(
            fitted.to_string().contains("was fitted on n_series=3"),
            "{fitted}"
        );
        let shorter = check(2, &[a, end("b", 9, "2020-01-10")], Stage::Training)
            .unwrap_err()
            .to_string();
        assert!(
            shorter.contains("series 'b' 9 up to 2020-01-10"),
            "{shorter}"
        );
        let later = check(2, &[a, end("b", 10, "2020-01-11")], Stage::Forecasting)
            .unwrap_err()
            .to_string();
        assert!(later.contains("'a' has 10"), "{later}");
    }

    #[test]
    fn a_fitted_model_forecasts_its_own_series() {
        assert!(check_same_series("TSMixer", &["a", "b"], &["a", "b"]).is_ok());
        let err = check_same_series("TSMixer", &["a", "b", "c"], &["a", "b", "d"]).unwrap_err();
        assert!(matches!(err, Error::Data(_)), "{err}");
        assert!(
            err.to_string()
                .contains("series 3 of the data is 'd', where it was fitted on 'c'"),
            "{err}"
        );
    }

    #[test]
    fn windows_are_read_origin_by_origin() {
        // Two series, origins 5 and 7 each, listed series by series.
        let cuts = [(0, 5), (0, 7), (1, 5), (1, 7)];
        assert_eq!(window_order("M", 2, &cuts).unwrap(), vec![0, 2, 1, 3]);
        let missing = window_order("M", 2, &cuts[..3]).unwrap_err().to_string();
        assert!(
            missing.contains("first 7 observations") && missing.contains("series number 2"),
            "{missing}"
        );
        let twice = window_order("M", 2, &[(0, 5), (0, 5), (1, 5), (1, 5)])
            .unwrap_err()
            .to_string();
        assert!(
            twice.contains("series number 2 has none or several"),
            "{twice}"
        );
        assert_eq!(window_order("M", 2, &[(1, 5), (0, 5)]).unwrap(), vec![1, 0]);
    }
}
