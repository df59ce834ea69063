//! Training behaviour on real data: accuracy, reproducibility, validation and failure modes.

mod common;

use std::sync::Mutex;

use neuro_divergent::data::read_csv_from;
use neuro_divergent::metrics::mae;
use neuro_divergent::{FitOptions, NeuralForecast, ProgressEvent};

/// AirPassengers with the last 12 months held out: a small NHITS must beat the seasonal naive
/// forecast (MAE 47.8 for 1960 from 1959's values).
#[test]
fn small_nhits_beats_seasonal_naive_on_air_passengers() {
    let frame = common::air_passengers();
    let (train, test) = frame.split_last(12).unwrap();
    let mut spec = common::small("NHITS", 12, 24, 150);
    spec.set_param("mlp_units", "[[64,64],[64,64]]").unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&train, FitOptions::default(), None).unwrap();
    let forecasts = nf.predict(None).unwrap();
    let actual = &test.series()[0].y;
    let error = mae(actual, forecasts.column("NHITS").unwrap()).unwrap();
    let y = &train.series()[0].y;
    let naive = mae(actual, &y[y.len() - 12..]).unwrap();
    assert!((naive - 47.833).abs() < 0.01, "seasonal naive MAE {naive}");
    assert!(error < 35.0, "NHITS MAE {error}");
}

#[test]
fn validation_and_early_stopping_report_progress() {
    let frame = common::air_passengers();
    let mut spec = common::small("MLP", 12, 24, 400);
    spec.train.val_check_steps = 10;
    spec.train.early_stop_patience_steps = 2;
    spec.train.learning_rate = 0.05;
    let events = Mutex::new(Vec::<ProgressEvent>::new());
    let callback = |e: &ProgressEvent| events.lock().unwrap().push(e.clone());
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(
        &frame,
        FitOptions {
            val_size: 12,
            ..FitOptions::default()
        },
        Some(&callback),
    )
    .unwrap();
    let report = nf.train_reports()[0].unwrap().clone();
    let events = events.into_inner().unwrap();
    assert_eq!(events.len(), report.steps);
    assert_eq!(events[0].step, 1);
    assert!(events[9].val_loss.is_some() && events[8].val_loss.is_none());
    assert_eq!(report.val_losses.len(), report.steps / 10);
    if report.stopped_early {
        assert!(report.steps < 400);
        let best = report
            .val_losses
            .iter()
            .map(|v| v.1)
            .fold(f64::INFINITY, f64::min);
        let tail = &report.val_losses[report.val_losses.len() - 2..];
        assert!(tail.iter().all(|v| v.1 >= best));
    }
}

/// The error message of fitting `spec` on AirPassengers with `val_size`.
fn fit_error(spec: neuro_divergent::ModelSpec, val_size: usize) -> String {
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    let options = FitOptions {
        val_size,
        ..FitOptions::default()
    };
    nf.fit(&common::air_passengers(), options, None)
        .unwrap_err()
        .to_string()
}

#[test]
fn val_size_must_fit_the_horizon_and_the_series() {
    let err = fit_error(common::small("MLP", 12, 24, 5), 6);
    assert!(
        err.contains("val_size (6) must be at least the horizon h (12)"),
        "{err}"
    );
    let err = fit_error(common::small("MLP", 12, 24, 5), 144);
    assert!(
        err.contains("series 'AirPassengers' has 144 observations"),
        "{err}"
    );
    let mut spec = common::small("MLP", 12, 24, 5);
    spec.train.early_stop_patience_steps = 3;
    let err = fit_error(spec, 0);
    assert!(
        err.contains("needs a validation set: set val_size"),
        "{err}"
    );
}

#[test]
fn a_diverging_loss_stops_training_with_an_error() {
    let mut spec = common::small("MLP", 12, 24, 50);
    spec.train.learning_rate = 1e30;
    spec.set_param("loss", "mse").unwrap();
    let err = fit_error(spec, 0);
    assert!(
        err.contains("training failed: MLP: the training loss became"),
        "{err}"
    );
}

#[test]
fn short_series_in_a_panel_are_padded_not_rejected() {
    let mut csv = String::from("unique_id,ds,y\n");
    for t in 1..=60 {
        csv.push_str(&format!("long,{t},{}\n", 10.0 + (t as f64).sin()));
    }
    for t in 1..=5 {
        csv.push_str(&format!("short,{t},{}\n", 3.0 + t as f64));
    }
    let frame = read_csv_from(csv.as_bytes(), "panel", None).unwrap();
    for model in ["NHITS", "GRU", "TCN", "BiTCN", "DilatedRNN", "DeepAR"] {
        let mut nf = NeuralForecast::new(vec![common::small(model, 4, 16, 10)], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let forecasts = nf.predict(None).unwrap();
        assert_eq!(forecasts.len(), 8);
        assert_eq!(forecasts.ids[0], "long");
        assert_eq!(forecasts.ids[4], "short");
        assert_eq!(forecasts.ds[4].to_string(), "6");
        assert!(forecasts.values[0].iter().all(|v| v.is_finite()), "{model}");
    }
}

#[test]
fn scalers_and_losses_train_every_model() {
    let frame = common::air_passengers();
    for (model, scaler, loss) in [
        ("NHITS", "standard", "huber"),
        ("NBEATS", "robust", "mse"),
        ("MLP", "minmax", "smape"),
        ("NHITS", "robust", "mase:12"),
        ("GRU", "standard", "mae"),
        ("RNN", "minmax", "huber"),
        ("LSTM", "robust", "mse"),
        ("TCN", "standard", "huber"),
        ("BiTCN", "robust", "mae"),
        ("DilatedRNN", "minmax", "mse"),
    ] {
        let mut spec = common::small(model, 12, 24, 40);
        spec.set_param("scaler_type", scaler).unwrap();
        spec.set_param("loss", loss).unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let fc = nf.predict(None).unwrap();
        let values = &fc.values[0];
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        // Scaled models must map forecasts back to the data's level (~400-600 for 1961).
        assert!(
            (250.0..900.0).contains(&mean),
            "{model}/{scaler}/{loss}: mean {mean}"
        );
    }
}

#[test]
fn a_cancelled_fit_stops_with_a_cancelled_error() {
    let frame = common::air_passengers();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let stop_at_five = move |e: &ProgressEvent| {
        if e.step == 5 {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 12, 24, 100)], None).unwrap();
    let options = FitOptions {
        cancel: Some(cancel),
        ..FitOptions::default()
    };
    let err = nf.fit(&frame, options, Some(&stop_at_five)).unwrap_err();
    assert!(matches!(err, neuro_divergent::Error::Cancelled(_)), "{err}");
    assert!(
        err.to_string().contains("MLP: fit stopped after 5 steps"),
        "{err}"
    );
    assert!(matches!(
        nf.predict(None).unwrap_err(),
        neuro_divergent::Error::NotFitted(_)
    ));
}

#[test]
fn columns_build_the_same_frame_as_csv() {
    use neuro_divergent::data::{TimeSeriesFrame, Timestamp};
    let ids = vec!["b".to_string(), "a".to_string(), "a".to_string()];
    let ds = [Timestamp::Int(1), Timestamp::Int(2), Timestamp::Int(1)];
    let frame = TimeSeriesFrame::from_columns("js", &ids, &ds, &[3.0, 2.0, 1.0], None).unwrap();
    assert_eq!(frame.series()[0].id, "a");
    assert_eq!(frame.series()[0].y, vec![1.0, 2.0]);
    let err = TimeSeriesFrame::from_columns("js", &ids, &ds, &[1.0], None).unwrap_err();
    assert!(
        err.to_string().contains("columns have different lengths"),
        "{err}"
    );
    let err = TimeSeriesFrame::from_columns("js", &ids, &ds, &[1.0, f64::NAN, 2.0], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("js") && err.contains("series 'a'"), "{err}");
}

#[test]
fn quantile_losses_give_ordered_named_columns_for_every_model() {
    let frame = common::air_passengers();
    for (model, loss) in [
        ("NHITS", "mqloss:80,95"),
        ("NBEATS", "huber_mqloss:80,95"),
        ("MLP", "mqloss:80,95"),
        ("LSTM", "mqloss:80,95"),
        ("TCN", "mqloss:80,95"),
        ("BiTCN", "mqloss:80,95"),
    ] {
        let mut spec = common::small(model, 12, 24, 60);
        spec.set_param("loss", loss).unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let fc = nf.predict(None).unwrap();
        let names =
            ["-median", "-lo-95", "-lo-80", "-hi-80", "-hi-95"].map(|s| format!("{model}{s}"));
        assert_eq!(fc.columns, names);
        let ordered = ["-lo-95", "-lo-80", "-median", "-hi-80", "-hi-95"];
        for row in 0..fc.len() {
            let values: Vec<f64> = ordered
                .iter()
                .map(|s| fc.column(&format!("{model}{s}")).unwrap()[row])
                .collect();
            assert!(
                values.windows(2).all(|w| w[0] <= w[1]),
                "{model} row {row}: {values:?}"
            );
        }
    }
}

#[test]
fn a_single_quantile_loss_names_its_column_like_neuralforecast() {
    let frame = common::air_passengers();
    let mut spec = common::small("MLP", 12, 24, 5);
    spec.set_param("loss", "quantile:0.9").unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    assert_eq!(nf.predict(None).unwrap().columns, ["MLP_ql0.9"]);
}

#[test]
fn conformal_intervals_wrap_point_forecasts_and_survive_checkpoints() {
    use neuro_divergent::conformal::{ConformalMethod, PredictionIntervals};
    let frame = common::air_passengers();
    for method in [
        ConformalMethod::ConformalPooled,
        ConformalMethod::ConformalDistribution,
        ConformalMethod::ConformalError,
    ] {
        let mut quantile_model = common::small("MLP", 12, 24, 10);
        quantile_model.set_param("loss", "mqloss:80").unwrap();
        let specs = vec![common::small("NHITS", 12, 24, 30), quantile_model];
        let mut nf = NeuralForecast::new(specs, None).unwrap();
        let options = FitOptions {
            prediction_intervals: Some(PredictionIntervals {
                n_windows: method.per_series().then_some(3),
                method,
                step_size: method.per_series().then_some(1),
            }),
            ..FitOptions::default()
        };
        nf.fit(&frame, options, None).unwrap();
        let fc = nf.predict_with_levels(None, &[95.0, 80.0]).unwrap();
        // Three windows support neither level (4 and 19 scores needed); the pooled default
        // chooses enough windows for both.
        let thin = fc.warnings.len();
        assert_eq!(
            thin,
            if method.per_series() { 2 } else { 0 },
            "{:?}",
            fc.warnings
        );
        assert_eq!(
            fc.columns,
            [
                "NHITS",
                "NHITS-lo-95",
                "NHITS-lo-80",
                "NHITS-hi-80",
                "NHITS-hi-95",
                "MLP-median",
                "MLP-lo-80",
                "MLP-hi-80"
            ]
        );
        let col = |name: &str| fc.column(name).unwrap().to_vec();
        for i in 0..fc.len() {
            let row = [
                col("NHITS-lo-95")[i],
                col("NHITS-lo-80")[i],
                col("NHITS")[i],
                col("NHITS-hi-80")[i],
                col("NHITS-hi-95")[i],
            ];
            assert!(
                row.windows(2).all(|w| w[0] <= w[1]),
                "{method:?} row {i}: {row:?}"
            );
        }
        if method != ConformalMethod::ConformalDistribution {
            let (lo, hi, mid) = (col("NHITS-lo-80"), col("NHITS-hi-80"), col("NHITS"));
            assert!((0..fc.len()).all(|i| ((hi[i] - mid[i]) - (mid[i] - lo[i])).abs() < 1e-9));
        }
        let dir = tempfile::tempdir().unwrap();
        nf.save(dir.path()).unwrap();
        let loaded = NeuralForecast::load(dir.path()).unwrap();
        assert_eq!(loaded.predict_with_levels(None, &[95.0, 80.0]).unwrap(), fc);
    }
}

#[test]
fn conformal_intervals_report_what_is_missing() {
    use neuro_divergent::conformal::PredictionIntervals;
    let frame = common::air_passengers();
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 12, 24, 5)], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let err = nf
        .predict_with_levels(None, &[80.0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("prediction intervals need calibration"),
        "{err}"
    );
    for (windows, expected) in [
        (1, "at least two windows"),
        (
            20,
            "series 'AirPassengers' has 144 observations; conformal intervals with h=12 \
             (conformal_pooled, n_windows=20) need at least 241",
        ),
    ] {
        let options = FitOptions {
            prediction_intervals: Some(PredictionIntervals {
                n_windows: Some(windows),
                ..PredictionIntervals::default()
            }),
            ..FitOptions::default()
        };
        let err = nf.fit(&frame, options, None).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn pooled_intervals_say_which_levels_their_calibration_supports() {
    use neuro_divergent::conformal::PredictionIntervals;
    let frame = common::air_passengers();
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 12, 24, 5)], None).unwrap();
    let options = FitOptions {
        prediction_intervals: Some(PredictionIntervals::default()),
        ..FitOptions::default()
    };
    nf.fit(&frame, options, None).unwrap();
    // One series of 144 points: 25 overlapping windows one step apart within the last quarter.
    let c = nf.calibration().unwrap();
    assert_eq!((c.n_windows, c.step_size), (25, 1));
    // 25 scores per step are few, so the 12 steps pool theirs: 300 support 99% (99 needed)
    // but not 99.9% (999 needed).
    assert!(nf
        .predict_with_levels(None, &[95.0, 99.0])
        .unwrap()
        .warnings
        .is_empty());
    let fc = nf.predict_with_levels(None, &[99.9, 80.0]).unwrap();
    assert_eq!(fc.warnings.len(), 1, "{:?}", fc.warnings);
    assert!(
        fc.warnings[0].starts_with("MLP: 99.9% intervals need at least 999 calibration scores")
            && fc.warnings[0].contains("has 300, which supports 99.7% at most"),
        "{}",
        fc.warnings[0]
    );
}

#[test]
fn cross_validation_calibrates_intervals_before_its_windows() {
    use neuro_divergent::conformal::PredictionIntervals;
    let frame = common::air_passengers();
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 12, 24, 5)], None).unwrap();
    let err = nf
        .cross_validation_with_levels(&frame, (2, 12), FitOptions::default(), &[80.0], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("need prediction_intervals"), "{err}");
    let options = FitOptions {
        prediction_intervals: Some(PredictionIntervals::default()),
        ..FitOptions::default()
    };
    let cv = nf
        .cross_validation_with_levels(&frame, (2, 12), options, &[80.0], None)
        .unwrap();
    assert_eq!(cv.columns, ["MLP", "MLP-lo-80", "MLP-hi-80"]);
    assert_eq!(cv.len(), 24);
    // Calibrated on the 144 - 24 points before the first cutoff, keeping three quarters of
    // them for training: 19 windows one step apart fit in the other 30.
    let c = nf.calibration().unwrap();
    assert_eq!((c.n_windows, c.step_size), (19, 1));
    let (lo, mid, hi) = (
        cv.column("MLP-lo-80").unwrap(),
        cv.column("MLP").unwrap(),
        cv.column("MLP-hi-80").unwrap(),
    );
    assert!((0..cv.len()).all(|i| lo[i] < mid[i] && mid[i] < hi[i]));
}

/// MLP on AirPassengers with the optimizer and schedule set as the CLI and Node set them
/// (`optimizer`, `optimizer_kwargs`, `lr_scheduler`, `lr_scheduler_kwargs` from text).
fn fit_with(params: &[(&str, &str)], steps: usize) -> NeuralForecast {
    let frame = common::air_passengers();
    let (train, _) = frame.split_last(12).unwrap();
    let mut spec = common::small("MLP", 12, 24, steps);
    spec.train.val_check_steps = 10;
    spec.set_param("scaler_type", "robust").unwrap();
    for (key, value) in params {
        spec.set_param(key, value).unwrap();
    }
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&train, FitOptions::default(), None).unwrap();
    nf
}

/// Every optimizer and schedule trains (the 1960 MAE beats the seasonal naive's 47.8), and the
/// settings survive a checkpoint.
#[test]
fn every_optimizer_and_schedule_trains_and_is_saved() {
    let frame = common::air_passengers();
    let (_, test) = frame.split_last(12).unwrap();
    let cases: [&[(&str, &str)]; 6] = [
        &[("optimizer", "adamw"), ("lr_scheduler", "cosine")],
        &[
            ("optimizer", "SGD"),
            ("optimizer_kwargs", r#"{"momentum":0.9,"nesterov":true}"#),
            ("learning_rate", "0.01"),
        ],
        &[("optimizer", "rmsprop"), ("lr_scheduler", "onecycle")],
        &[
            ("optimizer_kwargs", r#"{"weight_decay":0.0001}"#),
            ("lr_scheduler", "step"),
            ("lr_scheduler_kwargs", r#"{"step_size":100,"gamma":0.5}"#),
        ],
        &[
            ("lr_scheduler", "plateau"),
            ("lr_scheduler_kwargs", r#"{"patience":2}"#),
        ],
        &[("optimizer", "adam")],
    ];
    for params in cases {
        let nf = fit_with(params, 300);
        let forecasts = nf.predict(None).unwrap();
        let error = mae(&test.series()[0].y, forecasts.column("MLP").unwrap()).unwrap();
        assert!(error < 47.8, "{params:?}: MAE {error}");
        let dir = tempfile::tempdir().unwrap();
        nf.save(dir.path()).unwrap();
        let loaded = NeuralForecast::load(dir.path()).unwrap();
        assert_eq!(loaded.specs()[0].train, nf.specs()[0].train, "{params:?}");
        assert_eq!(loaded.predict(None).unwrap(), forecasts, "{params:?}");
    }
    let fitted = fit_with(cases[0], 10);
    let saved = &fitted.specs()[0].train;
    assert_eq!(saved.optimizer.as_str(), "adamw");
    assert_eq!(saved.lr_scheduler.map(|s| s.as_str()), Some("cosine"));
}

/// A plateau schedule watches the mean training loss at each check when there is no
/// validation data: told that nothing short of a 99% drop is an improvement, it cuts the rate
/// to almost nothing at the second check (step 20), so 20 more steps change almost nothing;
/// without it they do.
#[test]
fn a_plateau_schedule_acts_at_the_checks() {
    let frozen = [
        ("lr_scheduler", "plateau"),
        (
            "lr_scheduler_kwargs",
            r#"{"patience":0,"threshold":0.99,"factor":1e-9}"#,
        ),
    ];
    let gap = |params: &[(&str, &str)]| {
        let short = fit_with(params, 20).predict(None).unwrap();
        let long = fit_with(params, 40).predict(None).unwrap();
        let (a, b) = (short.column("MLP").unwrap(), long.column("MLP").unwrap());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    let (with, without) = (gap(&frozen), gap(&[]));
    assert!(with < 1e-3, "plateau: forecasts moved by {with}");
    assert!(
        without > 1.0,
        "no schedule: forecasts moved by only {without}"
    );
}

/// Misspelt optimizers, schedules and keyword arguments are refused with what is accepted.
#[test]
fn bad_optimizer_settings_are_refused_by_name() {
    let mut spec = common::small("MLP", 12, 24, 10);
    let unknown = spec.set_param("optimizer", "lion").unwrap_err().to_string();
    assert!(
        unknown.contains(
            "unknown optimizer 'lion': available optimizers are adam, adamw, sgd, rmsprop"
        ),
        "{unknown}"
    );
    let schedule = spec
        .set_param("lr_scheduler", "linear")
        .unwrap_err()
        .to_string();
    assert!(
        schedule.contains("unknown lr_scheduler 'linear'"),
        "{schedule}"
    );
    spec.set_param("optimizer", "sgd").unwrap();
    spec.set_param("optimizer_kwargs", r#"{"betas":[0.9,0.99]}"#)
        .unwrap();
    let kwargs = NeuralForecast::new(vec![spec], None)
        .and_then(|mut nf| nf.fit(&common::air_passengers(), FitOptions::default(), None))
        .unwrap_err()
        .to_string();
    assert!(
        kwargs.contains("optimizer_kwargs for sgd: unknown field `betas`"),
        "{kwargs}"
    );
}
