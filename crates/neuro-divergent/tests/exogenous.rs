//! Exogenous variables and distribution losses, end to end: fit, predict, cross-validate and
//! checkpoint.

mod common;

use std::sync::Arc;

use neuro_divergent::data::read_csv_from;
use neuro_divergent::exog::{FutureTable, StaticTable};
use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::preprocess::{CalendarFeature, FeatureConfig};
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};

/// Two daily series whose value is driven by a known future "promo" signal plus a static level:
/// `y = level + 10 * promo`. Returns the panel, the promo values of the 4 days after it and the
/// static levels, as CSV.
fn promo_panel() -> (String, String, String) {
    // A pseudo-random on/off pattern: the history alone cannot predict it.
    let promo = |t: usize| {
        let mut z = (t as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        u8::from((z ^ (z >> 31)).is_multiple_of(3)) as f64
    };
    let mut data = String::from("unique_id,ds,y,promo\n");
    let mut future = String::from("unique_id,ds,promo\n");
    for (id, level) in [("a", 20.0), ("b", 50.0)] {
        for t in 0..120 {
            let day = chrono_day(t);
            data.push_str(&format!(
                "{id},{day},{},{}\n",
                level + 10.0 * promo(t),
                promo(t)
            ));
        }
        for t in 120..124 {
            future.push_str(&format!("{id},{},{}\n", chrono_day(t), promo(t)));
        }
    }
    let statics = "unique_id,level\na,20\nb,50\n".to_string();
    (data, future, statics)
}

/// Day `t` after 2024-01-01 as `YYYY-MM-DD` (the test spans under a year).
fn chrono_day(t: usize) -> String {
    let months = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut month, mut day) = (0, t);
    while day >= months[month] {
        day -= months[month];
        month += 1;
    }
    format!("2024-{:02}-{:02}", month + 1, day + 1)
}

fn spec_with(name: &str, futr: &str, stat: &str) -> ModelSpec {
    let mut spec = common::small(name, 4, 8, 600);
    spec.set_param("learning_rate", "0.005").unwrap();
    spec.set_param("futr_exog_list", futr).unwrap();
    spec.set_param("stat_exog_list", stat).unwrap();
    if name == "TiDE" {
        // With its default layer norm, TiDE's temporal decoder normalises a single output per
        // step to a constant (as NeuralForecast's does), so only the linear skip from the
        // window reaches a point forecast, and exogenous inputs cannot.
        spec.set_param("layernorm", "false").unwrap();
    }
    spec
}

fn mae(forecast: &[f64], actual: &[f64]) -> f64 {
    forecast
        .iter()
        .zip(actual)
        .map(|(f, a)| (f - a).abs())
        .sum::<f64>()
        / actual.len() as f64
}

#[test]
fn future_and_static_exogenous_columns_are_learned_and_checkpointed() {
    let (data, future, statics) = promo_panel();
    let frame = read_csv_from(data.as_bytes(), "promo.csv", None).unwrap();
    let futr = FutureTable::read_csv_from(future.as_bytes(), "future.csv").unwrap();
    let statics = Arc::new(StaticTable::read_csv_from(statics.as_bytes(), "static.csv").unwrap());
    let actual: Vec<f64> = future
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let level = if f[0] == "a" { 20.0 } else { 50.0 };
            level + 10.0 * f[2].parse::<f64>().unwrap()
        })
        .collect();
    for model in ["MLP", "NHITS", "NBEATSx", "LSTM", "TCN", "TiDE"] {
        let mut with = NeuralForecast::new(vec![spec_with(model, "promo", "level")], None).unwrap();
        let options = FitOptions {
            statics: Some(statics.clone()),
            ..FitOptions::default()
        };
        with.fit(&frame, options, None).unwrap();
        let err = with.predict(None).unwrap_err().to_string();
        assert!(
            err.contains("future exogenous column 'promo'"),
            "{model}: {err}"
        );
        let forecast = with
            .predict_with(PredictOptions {
                futr: Some(&futr),
                ..PredictOptions::default()
            })
            .unwrap();
        let exog_mae = mae(forecast.column(model).unwrap(), &actual);

        let mut without = NeuralForecast::new(vec![spec_with(model, "", "")], None).unwrap();
        without.fit(&frame, FitOptions::default(), None).unwrap();
        let plain_mae = mae(
            without.predict(None).unwrap().column(model).unwrap(),
            &actual,
        );
        assert!(
            exog_mae < 0.5 * plain_mae,
            "{model}: MAE with the promo signal {exog_mae:.3}, without {plain_mae:.3}"
        );

        let dir = tempfile::tempdir().unwrap();
        with.save(dir.path()).unwrap();
        let loaded = NeuralForecast::load(dir.path()).unwrap();
        let again = loaded
            .predict_with(PredictOptions {
                futr: Some(&futr),
                ..PredictOptions::default()
            })
            .unwrap();
        assert_eq!(again, forecast, "{model}: checkpoint round trip");
    }
}

#[test]
fn cross_validation_reads_future_values_from_the_data() {
    let (data, _, statics) = promo_panel();
    let frame = read_csv_from(data.as_bytes(), "promo.csv", None).unwrap();
    let statics = Arc::new(StaticTable::read_csv_from(statics.as_bytes(), "static.csv").unwrap());
    let mut nf = NeuralForecast::new(vec![spec_with("NHITS", "promo", "level")], None).unwrap();
    let options = FitOptions {
        statics: Some(statics),
        ..FitOptions::default()
    };
    let cv = nf.cross_validation(&frame, 3, 4, options, None).unwrap();
    assert_eq!(cv.len(), 2 * 3 * 4);
    let y = cv.y.as_deref().unwrap();
    let err = mae(cv.column("NHITS").unwrap(), y);
    assert!(err < 3.0, "cross-validation MAE {err}");
}

#[test]
fn calendar_features_need_no_future_file() {
    let air = common::air_passengers();
    let mut spec = common::small("MLP", 12, 24, 50);
    spec.set_param("futr_exog_list", "month").unwrap();
    spec.set_param("scaler_type", "standard").unwrap();
    let features = FeatureConfig {
        calendar: vec![CalendarFeature::Month],
        ..FeatureConfig::default()
    };
    let mut nf = NeuralForecast::new(vec![spec], None)
        .unwrap()
        .with_features(features)
        .unwrap();
    nf.fit(&air, FitOptions::default(), None).unwrap();
    let forecast = nf.predict(None).unwrap();
    assert_eq!(forecast.len(), 12);
    assert!(forecast
        .column("MLP")
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
}

#[test]
fn exogenous_errors_name_the_problem() {
    let (data, _, _) = promo_panel();
    let frame = read_csv_from(data.as_bytes(), "promo.csv", None).unwrap();
    let fit_error = |spec: ModelSpec, statics: Option<&str>| {
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        let options = FitOptions {
            statics: statics
                .map(|s| Arc::new(StaticTable::read_csv_from(s.as_bytes(), "static.csv").unwrap())),
            ..FitOptions::default()
        };
        nf.fit(&frame, options, None).unwrap_err().to_string()
    };
    // Extra ids are fine; a typo leaves a series without static values.
    let mut nf = NeuralForecast::new(vec![spec_with("MLP", "", "level")], None).unwrap();
    let options = FitOptions {
        statics: Some(Arc::new(
            StaticTable::read_csv_from("unique_id,level\na,1\nb,2\nc,3\n".as_bytes(), "static.csv")
                .unwrap(),
        )),
        ..FitOptions::default()
    };
    nf.fit(&frame, options, None).unwrap();
    let err = fit_error(
        spec_with("MLP", "", "level"),
        Some("unique_id,level\na,1\nB,2\n"),
    );
    assert!(
        err.contains("no static values for series 'b' (the static table has 2 series: B, a)"),
        "{err}"
    );
    let err = fit_error(
        spec_with("MLP", "", "level"),
        Some("unique_id,level\na,1\n"),
    );
    assert!(err.contains("no static values for series 'b'"), "{err}");
    let err = fit_error(spec_with("MLP", "price", ""), None);
    assert!(
        err.contains("exogenous column 'price' is neither a column"),
        "{err}"
    );
    let nan = data.replacen(",1\n", ",NaN\n", 1);
    let nan_frame = read_csv_from(nan.as_bytes(), "promo.csv", None).unwrap();
    let mut nf = NeuralForecast::new(vec![spec_with("MLP", "promo", "")], None).unwrap();
    let err = nf
        .fit(&nan_frame, FitOptions::default(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exogenous column 'promo' holds 'NaN'"),
        "{err}"
    );

    // Short future values: only 2 of the 4 steps.
    let mut nf = NeuralForecast::new(vec![spec_with("MLP", "promo", "")], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let short = format!(
        "unique_id,ds,promo\na,{},0\na,{},1\nb,{},0\nb,{},1\n",
        chrono_day(120),
        chrono_day(121),
        chrono_day(120),
        chrono_day(121)
    );
    let short = FutureTable::read_csv_from(short.as_bytes(), "future.csv").unwrap();
    let err = nf
        .predict_with(PredictOptions {
            futr: Some(&short),
            ..PredictOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("series 'a' has no future value of 'promo' at ds 2024-05-02"),
        "{err}"
    );
}

#[test]
fn distribution_losses_forecast_ordered_seeded_columns() {
    let air = common::air_passengers();
    for loss in ["normal:80,95", "studentt:80,95", "poisson:80", "negbin:80"] {
        let mut spec = common::small("NHITS", 12, 24, 60);
        spec.set_param("loss", loss).unwrap();
        spec.set_param("scaler_type", "robust").unwrap();
        spec.set_param("num_samples", "200").unwrap();
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&air, FitOptions::default(), None).unwrap();
        let forecast = nf.predict(None).unwrap();
        assert_eq!(forecast.columns[0], "NHITS", "{loss}");
        assert_eq!(forecast.columns[1], "NHITS-median", "{loss}");
        let lo = forecast.column("NHITS-lo-80").unwrap();
        let hi = forecast.column("NHITS-hi-80").unwrap();
        let median = forecast.column("NHITS-median").unwrap();
        for i in 0..forecast.len() {
            assert!(
                lo[i] <= median[i] && median[i] <= hi[i],
                "{loss}: step {i} crosses"
            );
            assert!(
                median[i] > 50.0 && median[i] < 1500.0,
                "{loss}: {}",
                median[i]
            );
        }
        assert_eq!(
            nf.predict(None).unwrap(),
            forecast,
            "{loss}: sampling is seeded"
        );
    }
    // A point valid_loss scores the distribution's mean, in the data's units.
    let mut spec = common::small("NHITS", 12, 24, 40);
    spec.set_param("loss", "studentt").unwrap();
    spec.set_param("valid_loss", "mae").unwrap();
    spec.set_param("val_check_steps", "20").unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    let options = FitOptions {
        val_size: 12,
        ..FitOptions::default()
    };
    nf.fit(&air, options, None).unwrap();
    let report = nf.train_reports()[0].unwrap();
    assert_eq!(report.val_losses.len(), 2);
    assert!(
        report
            .val_losses
            .iter()
            .all(|(_, v)| *v > 1.0 && *v < 300.0),
        "{report:?}"
    );

    let mut negative = common::small("MLP", 2, 4, 5);
    negative.set_param("loss", "poisson").unwrap();
    let frame = read_csv_from(
        "unique_id,ds,y\na,1,3\na,2,-1\na,3,2\na,4,5\na,5,1\na,6,2\n".as_bytes(),
        "counts.csv",
        None,
    )
    .unwrap();
    let err = NeuralForecast::new(vec![negative], None)
        .unwrap()
        .fit(&frame, FitOptions::default(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("series 'a' at ds 2: y is -1"), "{err}");
}
