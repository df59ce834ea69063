//! What a multivariate model (NeuralForecast's `MULTIVARIATE` models, e.g. iTransformer) needs of
//! a panel: its `n_series` series side by side, on the same dates, so that each window holds
//! every series over the same time steps. A window is then `n_series` consecutive rows of a
//! batch, in the panel's series order ([`crate::models::Model::multivariate_series`]).

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

/// Checks that `series` are the `n_series` series `model` forecasts together: that many, of
/// equal lengths and ending on the same date (so, at one frequency, on the same dates).
pub(crate) fn check_panel(model: &str, n_series: usize, series: &[SeriesEnd<'_>]) -> Result<()> {
    if series.len() != n_series {
        return Err(Error::Config(format!(
            "{model} forecasts n_series={n_series} series together, but the data has {}: set \
             n_series to {}",
            series.len(),
            series.len()
        )));
    }
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
        let complete = group.len() == n_series
            && group
                .iter()
                .enumerate()
                .all(|(series, &k)| cuts[k] == (series, cuts[group[0]].1));
        if !complete {
            return Err(Error::Config(format!(
                "{model} forecasts its n_series={n_series} series together: a forecast from \
                 the first {} observations needs that origin in every series",
                cuts[group[0]].1
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
        assert!(check_panel("iTransformer", 2, &[a, end("b", 10, "2020-01-10")]).is_ok());
        let count = check_panel("iTransformer", 3, &[a])
            .unwrap_err()
            .to_string();
        assert!(
            count.contains("n_series=3") && count.contains("has 1"),
            "{count}"
        );
        let shorter = check_panel("iTransformer", 2, &[a, end("b", 9, "2020-01-10")])
            .unwrap_err()
            .to_string();
        assert!(
            shorter.contains("series 'b' 9 up to 2020-01-10"),
            "{shorter}"
        );
        let later = check_panel("iTransformer", 2, &[a, end("b", 10, "2020-01-11")])
            .unwrap_err()
            .to_string();
        assert!(later.contains("'a' has 10"), "{later}");
    }

    #[test]
    fn windows_are_read_origin_by_origin() {
        // Two series, origins 5 and 7 each, listed series by series.
        let cuts = [(0, 5), (0, 7), (1, 5), (1, 7)];
        assert_eq!(window_order("M", 2, &cuts).unwrap(), vec![0, 2, 1, 3]);
        let missing = window_order("M", 2, &cuts[..3]).unwrap_err().to_string();
        assert!(missing.contains("first 7 observations"), "{missing}");
        assert!(window_order("M", 2, &[(0, 5), (0, 5)]).is_err());
    }
}
