//! `--plot`: turns the history and the forecasts into the plot module's series panels.

use std::path::Path;

use chrono::DateTime;
use neuro_divergent::data::{TimeSeriesFrame, Timestamp};
use neuro_divergent::evaluate::{column_role, ColumnRole};
use neuro_divergent::{Error, Forecasts, Result};

use crate::plot::{draw, Band, ForecastLine, PlotError, SeriesPlot};

/// Series drawn at most; the first ones by id (the plot notes how many were left out).
const MAX_SERIES: usize = 6;
/// History points drawn before the forecasts at most.
const MAX_HISTORY: usize = 240;

/// Checks, before any work is done, that `path` names a format the plot can be written in and
/// a target the output layer can write.
pub fn check_path(path: &Path) -> Result<()> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if !matches!(extension.as_deref(), Some("svg" | "png")) {
        return Err(Error::Config(format!(
            "--plot {}: the file name must end in .svg or .png",
            path.display()
        )));
    }
    neuro_divergent::output::check_writable(path)
}

/// Draws the last part of each series' history with its forecasts and interval bands.
pub fn plot_forecasts(path: &Path, history: &TimeSeriesFrame, forecasts: &Forecasts) -> Result<()> {
    let lines = line_columns(forecasts);
    let mut panels = Vec::new();
    let mut row = 0;
    while row < forecasts.len() {
        let id = &forecasts.ids[row];
        let end = row + forecasts.ids[row..].iter().take_while(|i| *i == id).count();
        let (history_x, history_y) = match history.get(id) {
            Some(s) => {
                let from = s.len().saturating_sub(MAX_HISTORY);
                (
                    s.ds.iter().skip(from).map(|t| position(&t)).collect(),
                    s.y[from..].to_vec(),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        panels.push(SeriesPlot {
            id: id.clone(),
            history_x,
            history_y,
            forecast_x: forecasts.ds[row..end].iter().map(position).collect(),
            lines: lines
                .iter()
                .map(|line| ForecastLine {
                    model: line.model.clone(),
                    values: forecasts.values[line.column][row..end].to_vec(),
                    bands: line
                        .bands
                        .iter()
                        .map(|&(level, lo, hi)| Band {
                            level,
                            lower: forecasts.values[lo][row..end].to_vec(),
                            upper: forecasts.values[hi][row..end].to_vec(),
                        })
                        .collect(),
                })
                .collect(),
        });
        row = end;
    }
    let dates = forecasts
        .ds
        .first()
        .is_some_and(|t| matches!(t, Timestamp::DateTime(_)));
    let format = dates.then(|| date_format(panels.first()));
    let label = move |x: f64| label(x, format);
    draw(path, &panels, MAX_SERIES, &label).map_err(|e| match e {
        PlotError::Write(error) => error,
        other => Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// One forecast line: its model, its column and its bands as `(level, lower column, upper
/// column)`.
struct LineColumns {
    model: String,
    column: usize,
    bands: Vec<(f64, usize, usize)>,
}

/// Every column that is not an interval bound, with the bounds of its model.
fn line_columns(forecasts: &Forecasts) -> Vec<LineColumns> {
    let roles: Vec<ColumnRole> = forecasts.columns.iter().map(|c| column_role(c)).collect();
    let mut lines = Vec::new();
    for (column, name) in forecasts.columns.iter().enumerate() {
        if roles[column] != ColumnRole::Point {
            continue;
        }
        let model = name.strip_suffix("-median").unwrap_or(name);
        // A model with a mean column and a median column keeps its bands on the mean.
        if name.ends_with("-median") && forecasts.columns.iter().any(|c| c == model) {
            continue;
        }
        let bound = |level: f64, upper: bool| {
            roles.iter().position(|r| {
                matches!(r, ColumnRole::Bound { base, level: l, upper: u }
                    if base == model && *l == level && *u == upper)
            })
        };
        let bands = roles
            .iter()
            .filter_map(|r| match r {
                ColumnRole::Bound {
                    base,
                    level,
                    upper: false,
                } if base == model => Some(*level),
                _ => None,
            })
            .filter_map(|level| Some((level, bound(level, false)?, bound(level, true)?)))
            .collect();
        lines.push(LineColumns {
            model: model.to_string(),
            column,
            bands,
        });
    }
    lines
}

/// A time stamp as a number: seconds since 1970 for date-times, the index for integers.
fn position(ds: &Timestamp) -> f64 {
    match ds {
        Timestamp::Int(v) => *v as f64,
        Timestamp::DateTime(dt) => dt.and_utc().timestamp() as f64,
    }
}

/// How precisely dates are labelled: months over two years, days over three days, hours below.
fn date_format(panel: Option<&SeriesPlot>) -> &'static str {
    const DAY: f64 = 86_400.0;
    let span = panel.map_or(0.0, |p| {
        let xs = p.history_x.iter().chain(&p.forecast_x);
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
        hi - lo
    });
    if span > 730.0 * DAY {
        "%Y-%m"
    } else if span > 3.0 * DAY {
        "%Y-%m-%d"
    } else {
        "%m-%d %H:%M"
    }
}

/// The axis label of a position: a date in `format` for date-times, else the index.
fn label(x: f64, format: Option<&str>) -> String {
    let Some(format) = format else {
        return format!("{x:.0}");
    };
    DateTime::from_timestamp(x as i64, 0)
        .map(|d| d.format(format).to_string())
        .unwrap_or_default()
}
