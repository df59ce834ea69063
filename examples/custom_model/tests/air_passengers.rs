//! The example's whole run is a test: a model and a loss from outside the library train,
//! forecast with intervals, survive a checkpoint and cross-validate like built-in ones.

use std::path::Path;

use neuro_divergent::data::read_csv;
use neuro_divergent::preprocess::{CalendarFeature, FeatureConfig};
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use neuro_divergent_custom_model::{air_passengers_demo, register, LOSS_NAME, MODEL_NAME};

#[test]
fn the_custom_model_and_loss_run_end_to_end() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../air_passengers.csv");
    let dir = tempfile::tempdir().unwrap();
    let report = air_passengers_demo(&data, dir.path()).unwrap();
    assert_eq!(
        report.columns,
        ["ResidualMLP", "ResidualMLP-lo-80", "ResidualMLP-hi-80"]
    );
    assert!((report.naive_mae - 47.833).abs() < 0.01, "{report:?}");
    assert!(report.mae < 0.8 * report.naive_mae, "{report:?}");
    assert!(report.reloaded_identical, "{report:?}");
    assert!(report.coverage_80 >= 0.5, "{report:?}");
    assert!(
        report.cv_mae.is_finite() && report.cv_mae < 60.0,
        "{report:?}"
    );
    let saved = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(saved.specs()[0].model_name(), MODEL_NAME);
    assert_eq!(saved.specs()[0].train.loss.to_string(), "logcosh:0.5");
}

#[test]
fn registered_names_behave_like_built_in_ones() {
    register().unwrap();
    // Names ignore case, '_' and '-', and hyperparameters are set by name.
    let mut spec = ModelSpec::new("residual_mlp", 6, 12).unwrap();
    assert_eq!(spec.model_name(), MODEL_NAME);
    spec.set_param("hidden_size", "0").unwrap();
    let message = spec.validate().unwrap_err().to_string();
    assert!(
        message.contains("hidden_size must be at least 1"),
        "{message}"
    );
    let unknown = spec.set_param("hidden_units", "8").unwrap_err().to_string();
    assert!(
        unknown.contains("ResidualMLP has no parameter 'hidden_units'"),
        "{unknown}"
    );
    let bad_scale = spec
        .set_param("loss", &format!("{LOSS_NAME}:-1"))
        .unwrap_err()
        .to_string();
    assert!(
        bad_scale.contains("the scale must be a positive number"),
        "{bad_scale}"
    );
    // Another scale of the loss scores the validation windows, reported at every check.
    spec.set_param("hidden_size", "16").unwrap();
    spec.set_param("max_steps", "20").unwrap();
    spec.set_param("val_check_steps", "10").unwrap();
    spec.set_param("valid_loss", &format!("{LOSS_NAME}:2"))
        .unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    let frame = read_csv(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../air_passengers.csv"),
        None,
    )
    .unwrap();
    let options = FitOptions {
        val_size: 12,
        ..FitOptions::default()
    };
    nf.fit(&frame, options, None).unwrap();
    let checks = &nf.train_reports()[0].unwrap().val_losses;
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert!(
        checks
            .iter()
            .all(|(_, loss)| loss.is_finite() && *loss > 0.0),
        "{checks:?}"
    );
    // Taken names are refused.
    let taken =
        neuro_divergent::register_model::<neuro_divergent::models::MlpConfig>("residual-mlp")
            .unwrap_err()
            .to_string();
    assert!(
        taken.contains("taken by the registered model ResidualMLP"),
        "{taken}"
    );
}

/// A registered model reads exogenous columns as built-in ones do: the month as a calendar
/// feature (future values known at forecast time) changes its forecasts, which stay accurate.
#[test]
fn a_registered_model_reads_exogenous_columns() {
    register().unwrap();
    let frame = read_csv(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../air_passengers.csv"),
        None,
    )
    .unwrap();
    let (train, test) = frame.split_last(12).unwrap();
    let forecast = |columns: &str| {
        let mut spec = ModelSpec::new(MODEL_NAME, 12, 24).unwrap();
        spec.set_param("hidden_size", "64").unwrap();
        spec.set_param("max_steps", "300").unwrap();
        spec.set_param("futr_exog_list", columns).unwrap();
        let features = FeatureConfig {
            calendar: vec![CalendarFeature::Month],
            ..FeatureConfig::default()
        };
        let mut nf = NeuralForecast::new(vec![spec], None)
            .unwrap()
            .with_features(features)
            .unwrap();
        nf.fit(&train, FitOptions::default(), None).unwrap();
        nf.predict(None)
            .unwrap()
            .column(MODEL_NAME)
            .unwrap()
            .to_vec()
    };
    let (with, without) = (forecast("month"), forecast(""));
    let gap = with
        .iter()
        .zip(&without)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap > 1.0, "the month changed the forecasts by {gap}");
    let actual = &test.series()[0].y;
    let mae = actual
        .iter()
        .zip(&with)
        .map(|(y, f)| (y - f).abs())
        .sum::<f64>()
        / 12.0;
    assert!(mae < 0.8 * 47.833, "MAE {mae} with the month");
}
