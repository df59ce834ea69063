//! Forecast plots: history, forecast lines and prediction-interval bands, one
//! panel per series, rendered with `plotters` in memory as SVG or PNG and written through the
//! library's one output path (`neuro_divergent::output`).
//!
//! The module is data-only: callers convert their forecasts into
//! [`SeriesPlot`] values and call [`draw`]. Text is drawn with an embedded
//! DejaVu Sans font, so no system font library is needed.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;

/// Width of the picture in pixels.
const PANEL_WIDTH: u32 = 1000;
/// Height of one series panel in pixels.
const PANEL_HEIGHT: u32 = 300;
/// Font family the embedded font is registered under (plotters' default family).
const FONT_FAMILY: &str = "sans-serif";
/// DejaVu Sans, see `assets/DejaVuSans-LICENSE.txt`.
const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Most tick labels on the x axis.
const X_TICKS: usize = 6;
/// Most tick labels on the y axis.
const Y_TICKS: usize = 6;
/// Largest magnitude drawn; bigger values would overflow axis spans.
const MAX_MAGNITUDE: f64 = 1e300;
/// Colour of the history line.
const HISTORY_COLOUR: RGBColor = RGBColor(40, 40, 40);
/// Colours given to the models in turn.
const MODEL_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One band of a prediction interval (e.g. level 80): lower and upper values per forecast step.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Interval level in percent, e.g. `80.0`.
    pub level: f64,
    /// Lower bound per forecast step.
    pub lower: Vec<f64>,
    /// Upper bound per forecast step.
    pub upper: Vec<f64>,
}

/// One model's forecast line for one series, with its interval bands (any order).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastLine {
    /// Model name shown in the legend.
    pub model: String,
    /// Point forecast per forecast step.
    pub values: Vec<f64>,
    /// Prediction-interval bands; may be empty.
    pub bands: Vec<Band>,
}

/// One series to draw. X positions are plain numbers (e.g. seconds since
/// epoch or an index); [`draw`] takes a function that turns them into labels.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPlot {
    /// Series identifier, used as the panel title.
    pub id: String,
    /// X positions of the observed values.
    pub history_x: Vec<f64>,
    /// Observed values; may be empty when forecasts exist.
    pub history_y: Vec<f64>,
    /// X positions of the forecast steps, shared by all lines and bands.
    pub forecast_x: Vec<f64>,
    /// One forecast line per model.
    pub lines: Vec<ForecastLine>,
}

/// Why a plot could not be written.
#[derive(Debug)]
pub enum PlotError {
    /// The file extension is neither `.svg` nor `.png`.
    UnsupportedExtension {
        /// The requested output path.
        path: PathBuf,
    },
    /// No series were given, `max_series` was zero, or no shown value was finite.
    NothingToDraw {
        /// The requested output path.
        path: PathBuf,
    },
    /// The picture was drawn but could not be written (the error names the path).
    Write(neuro_divergent::Error),
    /// Plotters failed to lay out or draw the picture.
    Backend {
        /// The requested output path.
        path: PathBuf,
        /// The backend's description of the failure.
        message: String,
    },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedExtension { path } => write!(
                f,
                "cannot plot to {}: unsupported file extension (expected .svg or .png)",
                path.display()
            ),
            Self::NothingToDraw { path } => write!(
                f,
                "cannot plot to {}: no finite values to draw",
                path.display()
            ),
            Self::Write(error) => write!(f, "cannot write plot {error}"),
            Self::Backend { path, message } => {
                write!(f, "failed to draw plot {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for PlotError {}

/// Output file format, chosen from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

impl Format {
    /// Picks the format from the (case-insensitive) extension of `path`.
    fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("svg") {
            Some(Self::Svg)
        } else if ext.eq_ignore_ascii_case("png") {
            Some(Self::Png)
        } else {
            None
        }
    }
}

/// Result of a drawing step on backend `DB`.
type Drawn<DB> = DrawResult<(), DB>;
/// A panel's chart with plain numeric axes.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws up to `max_series` series (one panel each, stacked vertically) into
/// `path` (`.svg` or `.png`). `x_label` formats an x position for the axis
/// ticks (e.g. as a date). NaN, infinite and absurdly large (beyond ±1e300)
/// values are skipped; lines and bands break where they occur. The picture is drawn in memory
/// first, so a failed drawing leaves `path` untouched.
pub fn draw(
    path: &Path,
    series: &[SeriesPlot],
    max_series: usize,
    x_label: &dyn Fn(f64) -> String,
) -> Result<(), PlotError> {
    let format = Format::from_path(path).ok_or_else(|| PlotError::UnsupportedExtension {
        path: path.to_path_buf(),
    })?;
    let shown = &series[..series.len().min(max_series)];
    if !shown.iter().any(|plot| panel_ranges(plot).is_some()) {
        return Err(PlotError::NothingToDraw {
            path: path.to_path_buf(),
        });
    }
    let backend_error = |message: String| PlotError::Backend {
        path: path.to_path_buf(),
        message,
    };
    if !font_registered() {
        return Err(backend_error("the embedded font is invalid".into()));
    }
    let size = (PANEL_WIDTH, PANEL_HEIGHT * shown.len() as u32);
    let titles = panel_titles(shown, series.len());
    let bytes = match format {
        Format::Svg => {
            let mut svg = String::new();
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            draw_panels(root, shown, &titles, x_label).map_err(|e| backend_error(e.to_string()))?;
            svg.into_bytes()
        }
        Format::Png => {
            let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
            let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
            draw_panels(root, shown, &titles, x_label).map_err(|e| backend_error(e.to_string()))?;
            encode_png(&pixels, size).map_err(backend_error)?
        }
    };
    neuro_divergent::output::write_bytes(path, &bytes).map_err(PlotError::Write)
}

/// Encodes RGB pixels of a `size` picture as PNG.
fn encode_png(pixels: &[u8], size: (u32, u32)) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(pixels, size.0, size.1, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

/// Registers the embedded font with plotters once; false if it was rejected.
fn font_registered() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// Panel titles: the series ids, the first noting how many series were shown.
fn panel_titles(shown: &[SeriesPlot], total: usize) -> Vec<String> {
    shown
        .iter()
        .enumerate()
        .map(|(i, plot)| match i {
            0 if shown.len() < total => {
                format!("{} ({} of {} series shown)", plot.id, shown.len(), total)
            }
            _ => plot.id.clone(),
        })
        .collect()
}

/// Fills the picture white, draws one panel per series and writes the file.
fn draw_panels<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    shown: &[SeriesPlot],
    titles: &[String],
    x_label: &dyn Fn(f64) -> String,
) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let areas = root.split_evenly((shown.len(), 1));
    for ((area, plot), title) in areas.iter().zip(shown).zip(titles) {
        draw_panel(area, plot, title, x_label)?;
    }
    root.present()
}

/// Draws one series: axes, history, each model's bands and line, legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &SeriesPlot,
    title: &str,
    x_label: &dyn Fn(f64) -> String,
) -> Drawn<DB> {
    let (x_range, y_range) = panel_ranges(plot).unwrap_or((0.0..1.0, 0.0..1.0));
    let decimals = tick_decimals(&y_range, Y_TICKS);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT_FAMILY, 22))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .x_labels(X_TICKS)
        .y_labels(Y_TICKS)
        .x_label_formatter(&|x| x_label(*x))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style((FONT_FAMILY, 14))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    draw_history(&mut chart, plot)?;
    for (i, line) in plot.lines.iter().enumerate() {
        let colour = MODEL_COLOURS[i % MODEL_COLOURS.len()];
        draw_bands(&mut chart, &plot.forecast_x, line, colour)?;
        draw_forecast(&mut chart, &plot.forecast_x, line, colour)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT_FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
}

/// Draws the observed values as a dark line labelled "history".
fn draw_history<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, plot: &SeriesPlot) -> Drawn<DB> {
    let points = plot.history_x.iter().zip(&plot.history_y);
    let runs = finite_runs(points.map(|(&x, &y)| finite_point(x, y)));
    draw_lines(chart, runs, HISTORY_COLOUR.stroke_width(2), "history")
}

/// Draws a model's point forecast as a coloured line with dots at each step.
fn draw_forecast<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    forecast_x: &[f64],
    line: &ForecastLine,
    colour: RGBColor,
) -> Drawn<DB> {
    let points = forecast_x.iter().zip(&line.values);
    let runs = finite_runs(points.map(|(&x, &y)| finite_point(x, y)));
    let dots: Vec<(f64, f64)> = runs.iter().flatten().copied().collect();
    draw_lines(chart, runs, colour.stroke_width(2), &line.model)?;
    chart.draw_series(dots.into_iter().map(|p| Circle::new(p, 2, colour.filled())))?;
    Ok(())
}

/// Draws polylines as one legend entry named `label`; does nothing without points.
fn draw_lines<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    runs: Vec<Vec<(f64, f64)>>,
    style: ShapeStyle,
    label: &str,
) -> Drawn<DB> {
    if runs.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(runs.into_iter().map(|run| PathElement::new(run, style)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

/// Draws a model's bands widest first, so narrower (darker) bands lie on top.
fn draw_bands<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    forecast_x: &[f64],
    line: &ForecastLine,
    colour: RGBColor,
) -> Drawn<DB> {
    let mut bands: Vec<&Band> = line.bands.iter().collect();
    bands.sort_by(|a, b| b.level.total_cmp(&a.level));
    for band in bands {
        let label = format!("{} {}%", line.model, band.level);
        draw_band(
            chart,
            forecast_x,
            band,
            colour.mix(band_opacity(band.level)),
            &label,
        )?;
    }
    Ok(())
}

/// Fills the area between a band's bounds; does nothing without finite steps.
fn draw_band<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    forecast_x: &[f64],
    band: &Band,
    fill: RGBAColor,
    label: &str,
) -> Drawn<DB> {
    let steps = forecast_x.iter().zip(&band.lower).zip(&band.upper);
    let runs = finite_runs(steps.map(|((&x, &lo), &hi)| finite_step(x, lo, hi)));
    if runs.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            runs.iter()
                .map(|run| Polygon::new(band_outline(run), fill.filled())),
        )?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill.filled()));
    Ok(())
}

/// Outline of a band: along the upper bounds, then back along the lower ones.
fn band_outline(run: &[(f64, f64, f64)]) -> Vec<(f64, f64)> {
    let upper = run.iter().map(|&(x, _, hi)| (x, hi));
    let lower = run.iter().rev().map(|&(x, lo, _)| (x, lo));
    upper.chain(lower).collect()
}

/// Fill opacity of a band: the wider the level, the lighter the fill.
fn band_opacity(level: f64) -> f64 {
    let level = if level.is_finite() { level } else { 95.0 };
    (0.1 + 0.35 * (1.0 - level / 100.0)).clamp(0.08, 0.4)
}

/// Splits `points` into runs of consecutive `Some` points; `None` marks a gap.
fn finite_runs<P>(points: impl IntoIterator<Item = Option<P>>) -> Vec<Vec<P>> {
    let mut runs = vec![Vec::new()];
    for point in points {
        match (point, runs.last_mut()) {
            (Some(point), Some(run)) => run.push(point),
            (None, Some(run)) if !run.is_empty() => runs.push(Vec::new()),
            _ => {}
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
}

/// Whether `v` can be drawn: not NaN, not infinite, and small enough that
/// spans between values stay finite (larger values are skipped like infinities).
fn usable(v: f64) -> bool {
    v.abs() <= MAX_MAGNITUDE
}

/// The point `(x, y)`, or `None` if either coordinate is not [`usable`].
fn finite_point(x: f64, y: f64) -> Option<(f64, f64)> {
    (usable(x) && usable(y)).then_some((x, y))
}

/// The band step `(x, lower, upper)`, or `None` if any number is not [`usable`].
fn finite_step(x: f64, lower: f64, upper: f64) -> Option<(f64, f64, f64)> {
    (usable(x) && usable(lower) && usable(upper)).then_some((x, lower, upper))
}

/// Decimals that tick labels need when at most `ticks` ticks span `range`
/// (so 0-600 gives "200", not "200.0").
fn tick_decimals(range: &Range<f64>, ticks: usize) -> usize {
    let step = (range.end - range.start) / ticks as f64;
    (-step.log10().floor()).clamp(0.0, 12.0) as usize
}

/// X and y ranges covering every usable value of a series, with margins;
/// `None` when the series has no usable value at all.
fn panel_ranges(plot: &SeriesPlot) -> Option<(Range<f64>, Range<f64>)> {
    let xs = plot.history_x.iter().chain(&plot.forecast_x);
    let forecasts = plot.lines.iter().flat_map(|line| {
        let bands = line
            .bands
            .iter()
            .flat_map(|b| b.lower.iter().chain(&b.upper));
        line.values.iter().chain(bands)
    });
    let ys = plot.history_y.iter().chain(forecasts);
    Some((padded_range(xs, 0.01)?, padded_range(ys, 0.05)?))
}

/// The span of the usable `values`, widened by `margin` of its width on each
/// side; `None` when no value is usable. A span too narrow to resolve (all
/// values equal, say) is widened by `margin` of the values' magnitude, at least 1.
fn padded_range<'a>(values: impl Iterator<Item = &'a f64>, margin: f64) -> Option<Range<f64>> {
    let (lo, hi) = values.copied().filter(|&v| usable(v)).fold(
        None,
        |acc: Option<(f64, f64)>, v| match acc {
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            None => Some((v, v)),
        },
    )?;
    let magnitude = lo.abs().max(hi.abs());
    let pad = if hi - lo > magnitude * 1e-9 {
        (hi - lo) * margin
    } else {
        (magnitude * margin).max(1.0)
    };
    Some(lo - pad..hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(model: &str, base: f64) -> ForecastLine {
        let values: Vec<f64> = (0..6).map(|i| base + i as f64).collect();
        let band = |level: f64, width: f64| Band {
            level,
            lower: values.iter().map(|v| v - width).collect(),
            upper: values.iter().map(|v| v + width).collect(),
        };
        ForecastLine {
            model: model.into(),
            bands: vec![band(95.0, 4.0), band(80.0, 2.0)],
            values,
        }
    }

    fn series(id: &str) -> SeriesPlot {
        SeriesPlot {
            id: id.into(),
            history_x: (0..24).map(f64::from).collect(),
            history_y: (0..24).map(|i| 10.0 + (f64::from(i) / 3.0).sin()).collect(),
            forecast_x: (24..30).map(f64::from).collect(),
            lines: vec![line("NHITS", 10.0), line("MLP", 12.0)],
        }
    }

    fn label(x: f64) -> String {
        format!("t{x}")
    }

    /// The text lines of an SVG file (plotters puts each text on its own line).
    fn svg_texts(path: &Path) -> Vec<String> {
        let svg = std::fs::read_to_string(path).unwrap();
        svg.lines()
            .filter(|line| !line.trim_start().starts_with('<'))
            .map(str::to_owned)
            .collect()
    }

    /// Width and height from the IHDR chunk of a PNG file.
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (word(16), word(20))
    }

    #[test]
    fn svg_names_series_models_and_bands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        draw(&path, &[series("airline_1")], 5, &label).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains(r#"width="1000" height="300""#));
        let texts = svg_texts(&path);
        for text in [
            "airline_1",
            "history",
            "NHITS",
            "NHITS 80%",
            "NHITS 95%",
            "MLP 80%",
            "t25",
        ] {
            assert!(texts.iter().any(|t| t == text), "{text} not in {texts:?}");
        }
    }

    #[test]
    fn png_has_one_panel_per_shown_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        draw(&path, &[series("a"), series("b")], 5, &label).unwrap();
        assert_eq!(png_size(&path), (PANEL_WIDTH, 2 * PANEL_HEIGHT));
    }

    #[test]
    fn extension_is_case_insensitive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.PNG");
        draw(&path, &[series("a")], 1, &label).unwrap();
        assert_eq!(png_size(&path), (PANEL_WIDTH, PANEL_HEIGHT));
    }

    #[test]
    fn embedded_font_rasterises_text() {
        assert!(font_registered());
        let mut pixels = vec![255u8; 200 * 50 * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (200, 50)).into_drawing_area();
            root.draw(&Text::new("NHITS 80%", (5, 10), (FONT_FAMILY, 20)))
                .unwrap();
            root.present().unwrap();
        }
        let inked = pixels.iter().filter(|&&p| p < 128).count();
        assert!(inked > 100, "only {inked} dark subpixels");
    }

    #[test]
    fn left_out_series_are_noted_on_first_panel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        let all = [series("first"), series("second"), series("third")];
        draw(&path, &all, 2, &label).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains(&format!(r#"height="{}""#, 2 * PANEL_HEIGHT)));
        let texts = svg_texts(&path);
        assert!(texts.contains(&"first (2 of 3 series shown)".to_owned()));
        assert!(texts.contains(&"second".to_owned()));
        assert!(!svg.contains("third"));
    }

    #[test]
    fn unsupported_extension_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["plot.jpg", "plot"] {
            let path = dir.path().join(name);
            let err = draw(&path, &[series("a")], 1, &label).unwrap_err();
            assert!(matches!(err, PlotError::UnsupportedExtension { .. }));
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(".svg or .png"), "{message}");
            assert!(!path.exists());
        }
    }

    #[test]
    fn nothing_to_draw_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        let mut blank = series("blank");
        blank.history_y.fill(f64::NAN);
        blank.lines.clear();
        for (all, max) in [(vec![], 5), (vec![series("a")], 0), (vec![blank], 5)] {
            let err = draw(&path, &all, max, &label).unwrap_err();
            assert!(matches!(err, PlotError::NothingToDraw { .. }), "{err}");
            assert!(err.to_string().contains("plot.svg"));
        }
        assert!(!path.exists());
    }

    #[test]
    fn write_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing_dir").join("plot.png");
        let err = draw(&path, &[series("a")], 1, &label).unwrap_err();
        assert!(matches!(err, PlotError::Write(_)), "{err}");
        let message = err.to_string();
        assert!(message.contains("missing_dir"), "{message}");
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn non_finite_values_and_empty_history_are_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let mut ragged = series("ragged");
        ragged.history_y[3] = f64::NAN;
        ragged.history_x[7] = f64::INFINITY;
        ragged.history_y[9] = 1e308;
        ragged.history_y[10] = -f64::MAX;
        ragged.lines[0].values[2] = f64::NEG_INFINITY;
        ragged.lines[0].bands[0].upper[4] = f64::NAN;
        ragged.lines[1].bands[1].lower.fill(f64::NAN);
        let mut future_only = series("future_only");
        future_only.history_x.clear();
        future_only.history_y.clear();
        for name in ["plot.svg", "plot.png"] {
            let path = dir.path().join(name);
            draw(&path, &[ragged.clone(), future_only.clone()], 2, &label).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0);
        }
        let texts = svg_texts(&dir.path().join("plot.svg"));
        assert!(texts.contains(&"future_only".to_owned()));
        let count = |text: &str| texts.iter().filter(|t| *t == text).count();
        assert_eq!(count("MLP 95%"), 2);
        assert_eq!(count("MLP 80%"), 1, "the all-NaN band has no legend entry");
    }

    #[test]
    fn finite_runs_split_at_gaps() {
        let points = [1.0, f64::NAN, f64::NAN, 2.0, 3.0, f64::INFINITY, 4.0];
        let runs = finite_runs(points.iter().map(|&y| finite_point(0.0, y)));
        let ys: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| r.iter().map(|p| p.1).collect())
            .collect();
        assert_eq!(ys, vec![vec![1.0], vec![2.0, 3.0], vec![4.0]]);
        assert!(finite_runs::<(f64, f64)>([None, None]).is_empty());
    }

    #[test]
    fn ranges_cover_all_finite_values_with_margin() {
        let plot = series("a");
        let (x, y) = panel_ranges(&plot).unwrap();
        assert!(x.start < 0.0 && x.end > 29.0);
        // Lowest: NHITS 95% lower bound 10 - 4; highest: MLP 95% upper 17 + 4.
        assert!(y.start < 6.0 && y.start > 5.0, "{y:?}");
        assert!(y.end > 21.0 && y.end < 22.0, "{y:?}");
        let flat = padded_range([5.0, f64::NAN, 5.0].iter(), 0.05).unwrap();
        assert_eq!(flat, 4.0..6.0);
        let flat = padded_range([1e20, 1e20 + 1.0].iter(), 0.05).unwrap();
        assert_eq!(flat, 0.95e20..1.05e20);
        let huge = padded_range([1e308, -1e308, 1.0, 3.0].iter(), 0.5).unwrap();
        assert_eq!(huge, 0.0..4.0);
        assert_eq!(padded_range([f64::NAN, f64::INFINITY].iter(), 0.05), None);
    }

    #[test]
    fn tick_decimals_follow_the_step() {
        assert_eq!(tick_decimals(&(0.0..600.0), 6), 0);
        assert_eq!(tick_decimals(&(0.0..3.0), 6), 1);
        assert_eq!(tick_decimals(&(1.0..1.06), 6), 2);
    }

    #[test]
    fn wider_bands_are_lighter() {
        assert!(band_opacity(95.0) < band_opacity(80.0));
        assert!(band_opacity(80.0) < band_opacity(50.0));
        assert!(band_opacity(f64::NAN) > 0.0);
    }
}
