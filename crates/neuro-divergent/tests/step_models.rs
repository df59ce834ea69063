//! RNN, LSTM and GRU forecasting one step at a time (`recurrent=true`) end to end: learning,
//! validation, checkpoints, cross-validation, short series and their settings.

mod common;

use neuro_divergent::data::{read_csv_from, TimeSeriesFrame};
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};

/// Three sine waves of period 12 around different levels, `len` points each, and a series of
/// `short` points when `short > 0`.
fn sines(len: usize, short: usize) -> TimeSeriesFrame {
    let mut csv = String::from("unique_id,ds,y\n");
    for s in 0..3 {
        for t in 0..len {
            let angle = 2.0 * std::f64::consts::PI * (t + 4 * s) as f64 / 12.0;
            let y = 20.0 * (s + 1) as f64 + 5.0 * angle.sin();
            csv += &format!("s{s},{t},{y}\n");
        }
    }
    for t in 0..short {
        csv += &format!("short,{t},{}\n", 3.0 + t as f64);
    }
    read_csv_from(csv.as_bytes(), "sines", None).unwrap()
}

fn stepwise(model: &str, steps: usize) -> ModelSpec {
    let mut spec = common::small(model, 6, 24, steps);
    spec.set_param("recurrent", "true").unwrap();
    spec.set_param("learning_rate", "0.005").unwrap();
    spec
}

/// Each model learns the waves well enough that its fed-back forecasts over the next 6 steps
/// stay near them; validation runs on the mean path, a checkpoint gives the same forecasts and
/// cross-validation forecasts every window one step at a time.
#[test]
fn step_models_learn_validate_checkpoint_and_cross_validate() {
    let frame = sines(120, 0);
    let (train, test) = frame.split_last(6).unwrap();
    for model in ["RNN", "LSTM", "GRU"] {
        let mut spec = stepwise(model, 300);
        spec.set_param("h_train", "2").unwrap();
        spec.set_param("val_check_steps", "150").unwrap();
        let mut nf = NeuralForecast::new(vec![spec.clone()], None).unwrap();
        let options = FitOptions {
            val_size: 6,
            ..FitOptions::default()
        };
        nf.fit(&train, options, None).unwrap();
        let report = nf.train_reports()[0].unwrap();
        assert_eq!(report.val_losses.len(), 2, "{model}");
        let forecasts = nf.predict(None).unwrap();
        let actual: Vec<f64> = test.series().iter().flat_map(|s| s.y.clone()).collect();
        let column = forecasts.column(model).unwrap();
        let mae = actual
            .iter()
            .zip(column)
            .map(|(a, f)| (a - f).abs())
            .sum::<f64>()
            / actual.len() as f64;
        // The waves swing by ±5: forecasting each series' level alone scores about 3.2.
        assert!(mae < 2.0, "{model}: MAE {mae}");
        let dir = tempfile::tempdir().unwrap();
        nf.save(dir.path()).unwrap();
        let loaded = NeuralForecast::load(dir.path()).unwrap();
        assert_eq!(loaded.predict(None).unwrap(), forecasts, "{model}");

        let mut short = spec.clone();
        short.train.max_steps = 20;
        let mut cv = NeuralForecast::new(vec![short], None).unwrap();
        let windows = cv
            .cross_validation(&frame, 2, 3, FitOptions::default(), None)
            .unwrap();
        assert_eq!(windows.len(), 3 * 2 * 6, "{model}");
        assert!(windows.column(model).unwrap().iter().all(|v| v.is_finite()));
    }
}

/// A series shorter than the window is left-padded and masked, as for the direct models, in
/// training and at inference (here from a window longer than the training one).
#[test]
fn short_series_are_padded() {
    let frame = sines(60, 8);
    for model in ["RNN", "LSTM", "GRU"] {
        let mut spec = stepwise(model, 10);
        spec.set_param("inference_input_size", "30").unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let forecasts = nf.predict(None).unwrap();
        assert_eq!(forecasts.len(), 4 * 6, "{model}");
        assert_eq!(forecasts.ids[18], "short");
        assert_eq!(forecasts.ds[18].to_string(), "8");
        let column = forecasts.column(model).unwrap();
        assert!(column.iter().all(|v| v.is_finite()), "{model}: {column:?}");
    }
}

#[test]
fn bad_settings_are_named() {
    for (key, value, message) in [
        ("h_train", "0", "h_train must be at least 1"),
        (
            "inference_input_size",
            "0",
            "inference_input_size must be at least 1",
        ),
        ("recurrent", "yes", "parameter recurrent=yes"),
    ] {
        let mut spec = ModelSpec::new("GRU", 12, 24).unwrap();
        let err = match spec.set_param(key, value) {
            Ok(()) => spec.validate().unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(message), "{key}={value}: {err}");
    }
}
