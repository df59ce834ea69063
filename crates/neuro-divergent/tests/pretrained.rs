//! Chronos-Bolt and Chronos-2 against the reference implementation (`chronos-forecasting`
//! 2.3.2): small configurations with random weights, saved in the Hugging Face layout by
//! `benches/chronos_fixture.py` and `benches/chronos2_fixture.py`, and that package's quantile
//! forecasts for series of different lengths (shorter than a patch, longer than the context,
//! constant, far from zero) and, for Chronos-2, a series with a past-only and a known future
//! covariate.

use std::path::PathBuf;

use neuro_divergent::data::{read_csv_from, TimeSeriesFrame};
use neuro_divergent::models::ModelInput;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use serde_json::Value;

/// Quantile order of the fixture (the model's) and of the forecast columns.
const QUANTILES: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const SUFFIXES: [&str; 9] = [
    "-lo-80", "-lo-60", "-lo-40", "-lo-20", "-median", "-hi-20", "-hi-40", "-hi-60", "-hi-80",
];
/// The fixture's context length.
const CONTEXT: usize = 96;

fn fixture_dir() -> PathBuf {
    fixtures("chronos_bolt_small_random")
}

fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    expected_in(&fixture_dir())
}

fn expected_in(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn series(expected: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(expected["series"].clone()).unwrap()
}

/// `[series][quantile][step]` reference forecasts for horizon `h`.
fn reference(expected: &Value, h: usize) -> Vec<Vec<Vec<f64>>> {
    serde_json::from_value(expected[format!("quantiles_h{h}")].clone()).unwrap()
}

fn spec(h: usize) -> ModelSpec {
    let mut spec = ModelSpec::new("chronos_bolt", h, CONTEXT).unwrap();
    spec.set_param("model_path", fixture_dir().to_str().unwrap())
        .unwrap();
    spec
}

/// The fixture's steps per model pass.
const PREDICTION_LENGTH: usize = 16;

/// Relative agreement for forecast step `step`. The first pass differs from the reference by
/// float rounding only (2.6e-5 at most here; the reference run in `f64` differs from itself in
/// `f32` by 1.5e-4 on these wide random weights). Later passes read the earlier quantiles as
/// context and pool the sorted quantiles of 81 paths, which amplifies that rounding (4.3e-3 at
/// most here); a wrong path or quantile order would be off by far more.
fn assert_close(got: f64, want: f64, step: usize, what: &str) {
    let relative = if step < PREDICTION_LENGTH { 1e-4 } else { 1e-2 };
    let tolerance = relative * (1.0 + want.abs());
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, reference {want}"
    );
}

/// The last `CONTEXT` points of each of `all`, left-padded with zeros: `(values, mask)`.
fn windows(all: &[Vec<f64>]) -> (candle_core::Tensor, candle_core::Tensor) {
    let (mut values, mut mask) = (Vec::new(), Vec::new());
    for s in all {
        let kept = &s[s.len().saturating_sub(CONTEXT)..];
        let pad = CONTEXT - kept.len();
        values.extend(std::iter::repeat_n(0f32, pad).chain(kept.iter().map(|&v| v as f32)));
        mask.extend(std::iter::repeat_n(0f32, pad).chain(std::iter::repeat_n(1f32, kept.len())));
    }
    let device = candle_core::Device::Cpu;
    (
        candle_core::Tensor::from_vec(values, (all.len(), CONTEXT), &device).unwrap(),
        candle_core::Tensor::from_vec(mask, (all.len(), CONTEXT), &device).unwrap(),
    )
}

/// The raw outputs (`[series][step][output]`, before the forecast columns uncross them) of
/// `spec`'s model for `input`.
fn outputs_of(spec: &ModelSpec, input: &ModelInput) -> Vec<Vec<Vec<f32>>> {
    let built = spec.build_for_fit(&candle_core::Device::Cpu).unwrap();
    built
        .model
        .forward(input, false)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap()
}

/// The model's raw outputs for every series of the Chronos-Bolt fixture.
fn model_outputs(h: usize) -> Vec<Vec<Vec<f32>>> {
    let (insample, insample_mask) = windows(&series(&expected()));
    let input = ModelInput::target_only(insample, insample_mask);
    outputs_of(&spec(h), &input)
}

/// The output slot of model quantile `q` of `count` (the median first, then ascending).
fn slot(q: usize, count: usize) -> usize {
    let median = count / 2;
    match q {
        q if q == median => 0,
        q if q < median => q + 1,
        q => q,
    }
}

#[test]
fn chronos_bolt_matches_the_reference_quantiles_within_and_beyond_its_prediction_length() {
    let expected = expected();
    for h in [12, 40] {
        let want = reference(&expected, h);
        let got = model_outputs(h);
        for (s, (series_got, series_want)) in got.iter().zip(&want).enumerate() {
            for (q, steps) in series_want.iter().enumerate() {
                for (t, &w) in steps.iter().enumerate() {
                    let g = f64::from(series_got[t][slot(q, 9)]);
                    assert_close(g, w, t, &format!("h={h} series {s} quantile {q} step {t}"));
                }
            }
        }
    }
}

/// The fixture's series as a daily panel `s0` … `s5`.
fn panel(all: &[Vec<f64>]) -> TimeSeriesFrame {
    let mut csv = String::from("unique_id,ds,y\n");
    for (i, s) in all.iter().enumerate() {
        for (t, v) in s.iter().enumerate() {
            csv += &format!("s{i},2020-01-01 {:02}:{:02}:00,{v}\n", t / 60, t % 60);
        }
    }
    read_csv_from(csv.as_bytes(), "fixture", None).unwrap()
}

#[test]
fn forecasts_untrained_through_fit_and_predict_with_interval_columns() {
    let expected = expected();
    let all = series(&expected);
    let data = panel(&all);
    let mut forecaster = NeuralForecast::new(vec![spec(12)], None).unwrap();
    forecaster.fit(&data, FitOptions::default(), None).unwrap();
    let forecasts = forecaster.predict(None).unwrap();
    let want = reference(&expected, 12);
    for (s, series_want) in want.iter().enumerate() {
        let rows: Vec<usize> = (0..forecasts.ids.len())
            .filter(|&r| forecasts.ids[r] == format!("s{s}"))
            .collect();
        assert_eq!(rows.len(), 12);
        for (t, &row) in rows.iter().enumerate() {
            // The columns hold each step's quantiles in ascending order (made non-crossing).
            let mut step: Vec<f64> = series_want.iter().map(|q| q[t]).collect();
            step.sort_by(f64::total_cmp);
            for (rank, suffix) in SUFFIXES.iter().enumerate() {
                let column = forecasts.column(&format!("ChronosBolt{suffix}")).unwrap();
                assert_close(
                    column[row],
                    step[rank],
                    t,
                    &format!("s{s} step {t} {suffix}"),
                );
            }
        }
    }
    assert_eq!(QUANTILES.len(), SUFFIXES.len());
}

#[test]
fn model_path_sets_the_architecture_and_loss() {
    let spec = spec(12);
    let params = serde_json::to_value(&spec).unwrap()["params"].clone();
    assert_eq!(params["d_model"], 32);
    assert_eq!(params["context_length"], 96);
    assert_eq!(params["prediction_length"], 16);
    assert_eq!(spec.train.loss.to_string(), "mqloss:20,40,60,80");
    assert_eq!(spec.train.max_steps, 0);
}

#[test]
fn bad_model_paths_and_settings_are_refused_with_clear_errors() {
    let mut by_id = ModelSpec::new("chronos_bolt", 12, 96).unwrap();
    let missing = by_id
        .set_param("model_path", "amazon/chronos-bolt-small")
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("model id 'amazon/chronos-bolt-small' is not in the Hugging Face cache at")
            && missing
                .to_string()
                .contains("models--amazon--chronos-bolt-small")
            && missing
                .to_string()
                .contains("huggingface-cli download amazon/chronos-bolt-small"),
        "{missing}"
    );
    // A refused model_path leaves the spec as it was.
    assert_eq!(by_id, ModelSpec::new("chronos_bolt", 12, 96).unwrap());
    // Without model_path, fitting says what is needed.
    let unset = ModelSpec::new("chronos_bolt", 12, 96).unwrap();
    let data = panel(&series(&expected()));
    let err = NeuralForecast::new(vec![unset], None)
        .unwrap()
        .fit(&data, FitOptions::default(), None)
        .unwrap_err();
    assert!(err.to_string().contains("needs model_path"), "{err}");
    // A context longer than the model reads.
    let mut long = ModelSpec::new("chronos_bolt", 12, 200).unwrap();
    long.set_param("model_path", fixture_dir().to_str().unwrap())
        .unwrap();
    assert!(long
        .validate()
        .unwrap_err()
        .to_string()
        .contains("input_size 200 exceeds the model's context_length 96"));
    // Another loss than the model's quantiles.
    let mut other = spec(12);
    other.set_param("loss", "mae").unwrap();
    assert!(other
        .validate()
        .unwrap_err()
        .to_string()
        .contains("its loss is mqloss:20,40,60,80"));
    // Untrained forecasting is for pretrained models only.
    let mut untrained = ModelSpec::new("nhits", 12, 24).unwrap();
    untrained.train.max_steps = 0;
    assert!(untrained
        .validate()
        .unwrap_err()
        .to_string()
        .contains("max_steps must be at least 1"));
    // A directory that is not a Chronos-Bolt model.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"architectures": ["T5Model"]}"#,
    )
    .unwrap();
    let err = spec(12)
        .set_param("model_path", dir.path().to_str().unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("not a Chronos-Bolt model"),
        "{err}"
    );
}

#[test]
fn fine_tunes_through_the_common_trainer_when_given_steps() {
    let data = panel(&series(&expected()));
    let untrained = {
        let mut forecaster = NeuralForecast::new(vec![spec(12)], None).unwrap();
        forecaster.fit(&data, FitOptions::default(), None).unwrap();
        forecaster.predict(None).unwrap()
    };
    let mut tuned = spec(12);
    tuned.set_param("max_steps", "3").unwrap();
    tuned.set_param("learning_rate", "1e-3").unwrap();
    tuned.set_param("windows_batch_size", "16").unwrap();
    let mut forecaster = NeuralForecast::new(vec![tuned], None).unwrap();
    forecaster.fit(&data, FitOptions::default(), None).unwrap();
    let report = forecaster.train_reports()[0].unwrap().clone();
    assert_eq!(report.steps, 3);
    assert!(report.final_train_loss.is_finite());
    let forecasts = forecaster.predict(None).unwrap();
    let (before, after) = (
        untrained.column("ChronosBolt-median").unwrap(),
        forecasts.column("ChronosBolt-median").unwrap(),
    );
    assert!(after.iter().all(|v| v.is_finite()));
    assert!(
        before
            .iter()
            .zip(after)
            .any(|(b, a)| (b - a).abs() > 1e-3 * (1.0 + b.abs())),
        "three steps at 1e-3 moved no forecast"
    );
    // Training reads one pass: horizons beyond prediction_length (16) are forecast only.
    let mut long = ModelSpec::new("chronos_bolt", 20, CONTEXT).unwrap();
    long.set_param("model_path", fixture_dir().to_str().unwrap())
        .unwrap();
    long.set_param("max_steps", "1").unwrap();
    let err = NeuralForecast::new(vec![long], None)
        .unwrap()
        .fit(&data, FitOptions::default(), None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("fine-tunes on horizons up to its prediction_length 16, not 20"),
        "{err}"
    );
}

fn chronos2_dir() -> PathBuf {
    fixtures("chronos2_small_random")
}

fn chronos2_spec(h: usize) -> ModelSpec {
    let mut spec = ModelSpec::new("chronos2", h, CONTEXT).unwrap();
    spec.set_param("model_path", chronos2_dir().to_str().unwrap())
        .unwrap();
    spec
}

/// Agreement of Chronos-2's raw outputs with the reference's `[series][quantile][step]`, within
/// 1e-5 of each series' largest forecast (float rounding: the largest gap here is below 1e-6,
/// and the reference run in `f64` differs from itself in `f32` by 3.9e-7).
fn assert_chronos2_matches(got: &[Vec<Vec<f32>>], want: &[Vec<Vec<f64>>]) {
    for (s, (series_got, series_want)) in got.iter().zip(want).enumerate() {
        let scale = series_want
            .iter()
            .flatten()
            .fold(1.0f64, |m, v| m.max(v.abs()));
        for (q, steps) in series_want.iter().enumerate() {
            for (t, &w) in steps.iter().enumerate() {
                let g = f64::from(series_got[t][slot(q, 21)]);
                assert!(
                    (g - w).abs() <= 1e-5 * scale,
                    "series {s} quantile {q} step {t}: got {g}, reference {w} (scale {scale})"
                );
            }
        }
    }
}

#[test]
fn chronos2_matches_the_reference_quantiles_of_lone_series() {
    let expected = expected_in(&chronos2_dir());
    let (insample, insample_mask) = windows(&series(&expected));
    let input = ModelInput::target_only(insample, insample_mask);
    let want: Vec<Vec<Vec<f64>>> =
        serde_json::from_value(expected["quantiles_h12"].clone()).unwrap();
    assert_chronos2_matches(&outputs_of(&chronos2_spec(12), &input), &want);
}

#[test]
fn chronos2_reads_past_only_and_known_future_covariates_as_the_reference_does() {
    let expected = expected_in(&chronos2_dir());
    let task = &expected["covariates"];
    let column = |name: &str| -> Vec<f64> { serde_json::from_value(task[name].clone()).unwrap() };
    let (target, price, promo) = (column("target"), column("price"), column("promo"));
    let promo_ahead = column("promo_future");
    let (insample, insample_mask) = windows(std::slice::from_ref(&target));
    let padded = |v: &[f64], extra: &[f64]| -> Vec<f32> {
        std::iter::repeat_n(0.0, CONTEXT - v.len())
            .chain(v.iter().copied())
            .chain(extra.iter().copied())
            .map(|x| x as f32)
            .collect()
    };
    let device = candle_core::Device::Cpu;
    let hist =
        candle_core::Tensor::from_vec(padded(&price, &[]), (1, CONTEXT, 1), &device).unwrap();
    let futr =
        candle_core::Tensor::from_vec(padded(&promo, &promo_ahead), (1, CONTEXT + 12, 1), &device)
            .unwrap();
    let input = ModelInput {
        insample,
        insample_mask,
        hist: Some(hist),
        futr: Some(futr),
        stat: None,
        teacher: None,
    };
    let mut spec = chronos2_spec(12);
    spec.set_param("hist_exog_list", "price").unwrap();
    spec.set_param("futr_exog_list", "promo").unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(expected["covariates_h12"].clone()).unwrap();
    let got = outputs_of(&spec, &input);
    assert_chronos2_matches(&got, std::slice::from_ref(&want));
    // The covariates matter: without them the forecasts differ.
    let alone = ModelInput {
        hist: None,
        futr: None,
        ..input
    };
    let without = outputs_of(&chronos2_spec(12), &alone);
    let moved = got[0]
        .iter()
        .flatten()
        .zip(without[0].iter().flatten())
        .any(|(a, b)| (a - b).abs() > 1e-3 * (1.0 + b.abs()));
    assert!(moved, "the covariates changed no forecast");
}

#[test]
fn chronos2_refuses_horizons_beyond_one_pass() {
    let mut spec = ModelSpec::new("chronos2", 17, CONTEXT).unwrap();
    spec.set_param("model_path", chronos2_dir().to_str().unwrap())
        .unwrap();
    let err = spec.validate().unwrap_err().to_string();
    assert!(
        err.contains("horizon 17 exceeds the 16 steps the model forecasts in one pass"),
        "{err}"
    );
}

#[test]
fn chronos2_forecasts_two_series_together_as_the_reference_does() {
    let expected = expected_in(&chronos2_dir());
    let pair: Vec<Vec<f64>> = serde_json::from_value(expected["pair"].clone()).unwrap();
    // One window of the two series, window-major as multivariate models read them.
    let (insample, insample_mask) = windows(&pair);
    let input = ModelInput::target_only(insample, insample_mask);
    let mut spec = chronos2_spec(12);
    spec.set_param("n_series", "2").unwrap();
    let want: Vec<Vec<Vec<f64>>> = serde_json::from_value(expected["pair_h12"].clone()).unwrap();
    let together = outputs_of(&spec, &input);
    assert_chronos2_matches(&together, &want);
    // Each on its own forecasts otherwise: the group attention mixes them.
    let apart = outputs_of(&chronos2_spec(12), &input);
    let moved = together
        .iter()
        .flatten()
        .flatten()
        .zip(apart.iter().flatten().flatten())
        .any(|(a, b)| (a - b).abs() > 1e-4 * (1.0 + b.abs()));
    assert!(moved, "forecasting the pair together changed nothing");
}

#[test]
fn chronos2_forecasts_with_covariate_columns_through_predict_and_checkpoints() {
    use neuro_divergent::exog::FutureTable;
    use neuro_divergent::forecast::PredictOptions;
    let expected = expected_in(&chronos2_dir());
    let task = &expected["covariates"];
    let column = |name: &str| -> Vec<f64> { serde_json::from_value(task[name].clone()).unwrap() };
    let (target, price, promo) = (column("target"), column("price"), column("promo"));
    let date = |t: usize| format!("2020-01-01 {:02}:{:02}:00", t / 60, t % 60);
    let mut csv = String::from("unique_id,ds,y,price,promo\n");
    for t in 0..target.len() {
        csv += &format!("x,{},{},{},{}\n", date(t), target[t], price[t], promo[t]);
    }
    let mut future = String::from("unique_id,ds,promo\n");
    for (k, p) in column("promo_future").iter().enumerate() {
        future += &format!("x,{},{p}\n", date(target.len() + k));
    }
    let data = read_csv_from(csv.as_bytes(), "covariates.csv", None).unwrap();
    let futr = FutureTable::read_csv_from(future.as_bytes(), "future.csv").unwrap();
    let mut spec = chronos2_spec(12);
    spec.set_param("hist_exog_list", "price").unwrap();
    spec.set_param("futr_exog_list", "promo").unwrap();
    let mut forecaster = NeuralForecast::new(vec![spec], None).unwrap();
    forecaster.fit(&data, FitOptions::default(), None).unwrap();
    let options = || PredictOptions {
        futr: Some(&futr),
        ..PredictOptions::default()
    };
    let forecasts = forecaster.predict_with(options()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(expected["covariates_h12"].clone()).unwrap();
    let scale = want.iter().flatten().fold(1.0f64, |m, v| m.max(v.abs()));
    let (median, low, high) = (
        forecasts.column("Chronos2-median").unwrap(),
        forecasts.column("Chronos2-lo-98").unwrap(),
        forecasts.column("Chronos2-hi-98").unwrap(),
    );
    for t in 0..12 {
        let mut step: Vec<f64> = want.iter().map(|q| q[t]).collect();
        step.sort_by(f64::total_cmp);
        for (got, rank) in [(median[t], 10), (low[t], 0), (high[t], 20)] {
            assert!(
                (got - step[rank]).abs() <= 1e-5 * scale,
                "step {t}, rank {rank}: {got} against {}",
                step[rank]
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    forecaster.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.predict_with(options()).unwrap(), forecasts);
}

#[test]
fn a_model_id_loads_from_the_hugging_face_cache() {
    // The layout `huggingface-cli download` leaves: refs/main names the snapshot.
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join("models--test-org--chronos-bolt-fixture");
    let snapshot = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture_dir().join(file), snapshot.join(file)).unwrap();
    }
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "0123abcd").unwrap();
    // Only this test reads the cache variable.
    std::env::set_var("HF_HUB_CACHE", cache.path());
    let mut by_id = ModelSpec::new("chronos_bolt", 12, CONTEXT).unwrap();
    by_id
        .set_param("model_path", "test-org/chronos-bolt-fixture")
        .unwrap();
    let params = serde_json::to_value(&by_id).unwrap()["params"].clone();
    assert_eq!(params["model_path"], "test-org/chronos-bolt-fixture");
    assert_eq!(params["d_model"], 32);
    let data = panel(&series(&expected()));
    let mut forecaster = NeuralForecast::new(vec![by_id], None).unwrap();
    forecaster.fit(&data, FitOptions::default(), None).unwrap();
    let mut reference = NeuralForecast::new(vec![spec(12)], None).unwrap();
    reference.fit(&data, FitOptions::default(), None).unwrap();
    assert_eq!(
        forecaster.predict(None).unwrap(),
        reference.predict(None).unwrap()
    );
}
