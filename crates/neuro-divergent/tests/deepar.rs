//! DeepAR end to end: sample paths, validation, checkpoints, cross-validation and its settings.

mod common;

use neuro_divergent::data::{read_csv_from, TimeSeriesFrame};
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};

/// Gaussian random walks (unit steps) of `len` points, from a fixed generator.
fn random_walks(series: usize, len: usize) -> TimeSeriesFrame {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut csv = String::from("unique_id,ds,y\n");
    for s in 0..series {
        let mut level = 50.0 + 10.0 * s as f64;
        for t in 1..=len {
            let normal =
                (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
            level += normal;
            csv += &format!("s{s},{t},{level}\n");
        }
    }
    read_csv_from(csv.as_bytes(), "random walks", None).unwrap()
}

/// A small DeepAR with a Normal likelihood and windows scaled to zero mean and unit variance.
fn small_deepar(h: usize, steps: usize) -> ModelSpec {
    let mut spec = common::small("DeepAR", h, 24, steps);
    spec.set_param("loss", "normal:80,90").unwrap();
    spec.set_param("scaler_type", "standard").unwrap();
    spec.set_param("windows_batch_size", "256").unwrap();
    spec.set_param("learning_rate", "0.005").unwrap();
    spec
}

fn interval_width(forecasts: &neuro_divergent::forecast::Forecasts, row: usize) -> f64 {
    forecasts.column("DeepAR-hi-80").unwrap()[row] - forecasts.column("DeepAR-lo-80").unwrap()[row]
}

/// Asserts that every row's `-lo-90 <= -lo-80 <= -median <= -hi-80 <= -hi-90` for `model`.
fn assert_quantiles_ordered(forecasts: &neuro_divergent::forecast::Forecasts, model: &str) {
    let ordered = ["-lo-90", "-lo-80", "-median", "-hi-80", "-hi-90"];
    for row in 0..forecasts.len() {
        let values: Vec<f64> = ordered
            .iter()
            .map(|s| forecasts.column(&format!("{model}{s}")).unwrap()[row])
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "{model} row {row}: {values:?}"
        );
    }
}

/// On random walks the spread of the value `k` steps ahead grows like `sqrt(k)`: sample paths fed
/// their own draws carry it (an interval made from each step's one-step distribution would not
/// widen). The intervals are ordered, seeded, and cover held-out values about as often as stated.
#[test]
fn sample_paths_widen_with_the_horizon_and_cover_random_walks() {
    let h = 12;
    let (train, test) = random_walks(8, 200).split_last(h).unwrap();
    let mut nf = NeuralForecast::new(vec![small_deepar(h, 300)], None).unwrap();
    nf.fit(&train, FitOptions::default(), None).unwrap();
    let forecasts = nf.predict(None).unwrap();
    assert_eq!(
        forecasts.columns,
        [
            "DeepAR",
            "DeepAR-median",
            "DeepAR-lo-90",
            "DeepAR-lo-80",
            "DeepAR-hi-80",
            "DeepAR-hi-90"
        ]
    );
    assert_quantiles_ordered(&forecasts, "DeepAR");
    let (mut first, mut last) = (0.0, 0.0);
    for series in 0..8 {
        first += interval_width(&forecasts, series * h);
        last += interval_width(&forecasts, series * h + h - 1);
    }
    // sqrt(12) = 3.5 for a random walk (about 2 for this small, briefly trained model); one-step
    // intervals would keep the ratio near 1.
    assert!(
        last > 1.7 * first,
        "80% interval width: step 1 {first}, step 12 {last}"
    );
    let (lo, hi) = (
        forecasts.column("DeepAR-lo-80").unwrap(),
        forecasts.column("DeepAR-hi-80").unwrap(),
    );
    let actual: Vec<f64> = test.series().iter().flat_map(|s| s.y.clone()).collect();
    let inside = actual
        .iter()
        .enumerate()
        .filter(|(i, y)| lo[*i] <= **y && **y <= hi[*i])
        .count();
    let coverage = inside as f64 / actual.len() as f64;
    assert!((0.6..=0.97).contains(&coverage), "80% coverage {coverage}");
    assert_eq!(nf.predict(None).unwrap(), forecasts, "sampling is seeded");
}

/// `sample_paths=false` forecasts as NeuralForecast 3.3 does: each step fed the mean and sampled
/// on its own, so its intervals stay one-step wide while the sample paths' widen; its mean column
/// is the path it fed back, repeatable, and its quantiles are ordered.
#[test]
fn mean_path_intervals_do_not_widen_like_sample_paths() {
    let h = 12;
    let (train, _) = random_walks(8, 200).split_last(h).unwrap();
    let mut mean_path = small_deepar(h, 300);
    mean_path.set_param("sample_paths", "false").unwrap();
    mean_path.set_param("alias", "MeanPath").unwrap();
    let mut nf = NeuralForecast::new(vec![small_deepar(h, 300), mean_path], None).unwrap();
    nf.fit(&train, FitOptions::default(), None).unwrap();
    let forecasts = nf.predict(None).unwrap();
    let growth = |model: &str| {
        let width = |row: usize| {
            forecasts.column(&format!("{model}-hi-80")).unwrap()[row]
                - forecasts.column(&format!("{model}-lo-80")).unwrap()[row]
        };
        let first: f64 = (0..8).map(|s| width(s * h)).sum();
        let last: f64 = (0..8).map(|s| width(s * h + h - 1)).sum();
        last / first
    };
    let (paths, means) = (growth("DeepAR"), growth("MeanPath"));
    assert!(
        paths > 1.7 && means < 1.4,
        "80% width growth over 12 steps: sample paths {paths}, mean path {means}"
    );
    assert_quantiles_ordered(&forecasts, "MeanPath");
    assert_eq!(nf.predict(None).unwrap(), forecasts, "sampling is seeded");
}

/// Validation feeds each step's mean forecast back; a checkpoint gives the same forecasts; cross-
/// validation forecasts every window one step at a time.
#[test]
fn validation_checkpoints_and_cross_validation_work_one_step_at_a_time() {
    let frame = random_walks(3, 120);
    let mut spec = small_deepar(6, 40);
    spec.set_param("val_check_steps", "20").unwrap();
    spec.set_param("trajectory_samples", "50").unwrap();
    let mut nf = NeuralForecast::new(vec![spec.clone()], None).unwrap();
    let options = FitOptions {
        val_size: 6,
        ..FitOptions::default()
    };
    nf.fit(&frame, options, None).unwrap();
    let report = nf.train_reports()[0].unwrap();
    assert_eq!(report.val_losses.len(), 2);
    // MAE of the mean path in the data's units: a few units for unit-step walks.
    assert!(
        report.val_losses.iter().all(|(_, v)| *v > 0.0 && *v < 30.0),
        "{report:?}"
    );
    let forecasts = nf.predict(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(None).unwrap(), forecasts);

    let mut cv = NeuralForecast::new(vec![spec], None).unwrap();
    let windows = cv
        .cross_validation(&frame, 2, 3, FitOptions::default(), None)
        .unwrap();
    assert_eq!(windows.len(), 3 * 2 * 6);
    let y = windows.y.as_ref().unwrap();
    let mean = windows.column("DeepAR").unwrap();
    let error = y.iter().zip(mean).map(|(a, b)| (a - b).abs()).sum::<f64>() / y.len() as f64;
    assert!(error < 15.0, "cross-validation MAE {error}");
}

/// With a point loss DeepAR feeds its forecasts back and reports one column.
#[test]
fn point_and_quantile_losses_forecast_without_sampling() {
    let frame = common::air_passengers();
    for (loss, columns) in [("mae", 1), ("mqloss:80", 3)] {
        let mut spec = common::small("DeepAR", 12, 24, 30);
        spec.set_param("loss", loss).unwrap();
        spec.set_param("valid_loss", loss).unwrap();
        spec.set_param("scaler_type", "robust").unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let forecasts = nf.predict(None).unwrap();
        assert_eq!(forecasts.columns.len(), columns, "{loss}");
        let mean = forecasts.values[0].iter().sum::<f64>() / 12.0;
        assert!((250.0..900.0).contains(&mean), "{loss}: mean {mean}");
    }
}

#[test]
fn bad_settings_are_named() {
    for (key, value, message) in [
        ("h_train", "0", "DeepAR: h_train must be at least 1"),
        (
            "trajectory_samples",
            "0",
            "DeepAR: trajectory_samples must be at least 1",
        ),
        (
            "inference_input_size",
            "0",
            "DeepAR: inference_input_size must be at least 1",
        ),
        ("lstm_dropout", "1", "lstm_dropout must be in [0, 1)"),
        (
            "decoder_hidden_layers",
            "2",
            "decoder_hidden_size must be at least 1",
        ),
    ] {
        let mut spec = ModelSpec::new("DeepAR", 12, 24).unwrap();
        spec.set_param(key, value).unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains(message), "{key}={value}: {err}");
    }
    let spec = ModelSpec::new("deep_ar", 12, 24).unwrap();
    assert_eq!(spec.train.loss.to_string(), "studentt:80,90");
    assert_eq!(spec.train.windows_batch_size, 1024);
}
