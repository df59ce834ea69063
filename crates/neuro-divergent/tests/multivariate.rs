//! Multivariate models (iTransformer) through `NeuralForecast`: cross-validation reads every
//! series at each cutoff together, and panels that cannot form multivariate windows are refused
//! with the series named.

mod common;

use neuro_divergent::data::read_csv_from;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};

/// A small iTransformer over `n_series` series, `steps` training steps without dropout.
fn small_itransformer(n_series: usize, steps: usize) -> ModelSpec {
    let mut spec = ModelSpec::new("iTransformer", 12, 24).unwrap();
    spec.train.max_steps = steps;
    let n_series = n_series.to_string();
    for (key, value) in [
        ("n_series", n_series.as_str()),
        ("dropout", "0"),
        ("hidden_size", "16"),
        ("n_heads", "2"),
        ("e_layers", "1"),
        ("d_ff", "32"),
    ] {
        spec.set_param(key, value).unwrap();
    }
    spec
}

#[test]
fn cross_validation_forecasts_each_cutoff_of_every_series_like_neuralforecast() {
    // NeuralForecast 3.3's cross_validation(n_windows=2, step_size=12) after 3 steps: the first
    // four forecasts of each series at cutoffs 1957-12 and 1958-12.
    let reference = [
        ("a", [376.3298, 342.5148, 349.0698, 325.0824]),
        ("a", [395.2128, 363.9857, 368.7892, 345.1725]),
        ("b", [249.0245, 254.1307, 255.3714, 266.6776]),
        ("b", [226.9640, 231.3473, 233.2513, 242.6102]),
        ("c", [191.5819, 173.3784, 176.9995, 164.5413]),
        ("c", [198.5422, 183.6877, 185.9356, 175.6768]),
    ];
    let frame = common::three_aligned_series(132);
    let mut nf = NeuralForecast::new(vec![small_itransformer(3, 3)], None).unwrap();
    let cv = nf
        .cross_validation(&frame, 2, 12, FitOptions::default(), None)
        .unwrap();
    let values = cv.column("iTransformer").unwrap();
    for (window, (id, expected)) in reference.iter().enumerate() {
        assert_eq!(&cv.ids[window * 12], id);
        for (step, want) in expected.iter().enumerate() {
            let got = values[window * 12 + step];
            assert!(
                (got - want).abs() < 0.05,
                "series {id}, window {window}, step {step}: ours {got}, NeuralForecast {want}"
            );
        }
    }
}

#[test]
fn panels_that_cannot_form_multivariate_windows_are_refused_by_name() {
    let frame = common::three_aligned_series(60);
    let fit = |spec: ModelSpec, frame| {
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(frame, FitOptions::default(), None).map(|_| nf)
    };
    // n_series must be set, and must count the data's series.
    let unset = ModelSpec::new("iTransformer", 12, 24).unwrap();
    let err = NeuralForecast::new(vec![unset], None).err().unwrap();
    assert!(err.to_string().contains("set n_series"), "{err}");
    let err = fit(small_itransformer(2, 1), &frame).err().unwrap();
    assert!(
        err.to_string()
            .contains("n_series=2 series together, but the data has 3: set n_series to 3"),
        "{err}"
    );
    // Every series must cover the same dates.
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, first) in [("early", 0), ("late", 1)] {
        for t in first..40 {
            csv += &format!(
                "{id},{}-{:02}-01,{}\n",
                1949 + t / 12,
                t % 12 + 1,
                t * 2 + 100
            );
        }
    }
    let ragged = read_csv_from(csv.as_bytes(), "ragged", None).unwrap();
    let err = fit(small_itransformer(2, 1), &ragged).err().unwrap();
    assert!(
        err.to_string()
            .contains("need the same dates: series 'early' has 40 observations up to 1952-04-01")
            && err.to_string().contains("series 'late' 39"),
        "{err}"
    );
    // Forecasting other series than the model was fitted on.
    let nf = fit(small_itransformer(3, 1), &frame).unwrap();
    let two = common::air_passengers();
    let err = nf.predict(Some(&two)).err().unwrap();
    assert!(
        matches!(err, neuro_divergent::Error::Data(_))
            && err.to_string().contains(
                "was fitted on n_series=3 series and forecasts them together, but the data has 1"
            ),
        "{err}"
    );
    // Three series, one of them another: the model's weights belong to the fitted ones.
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, series) in ["a", "b", "d"].iter().zip(frame.series()) {
        for (ds, y) in series.ds.iter().zip(&series.y) {
            csv += &format!("{id},{ds},{y}\n");
        }
    }
    let other = read_csv_from(csv.as_bytes(), "other", None).unwrap();
    let err = nf.predict(Some(&other)).err().unwrap();
    assert!(
        err.to_string()
            .contains("series 3 of the data is 'd', where it was fitted on 'c'"),
        "{err}"
    );
    // The same series with more history forecast from their new ends.
    let longer = nf.predict(Some(&common::three_aligned_series(72))).unwrap();
    assert_eq!(longer.ids.len(), 36);
    // The fitted series forecast together, in the data's order.
    let forecasts = nf.predict(None).unwrap();
    assert_eq!(forecasts.ids[0], "a");
    assert_eq!(forecasts.ids[35], "c");
}

#[test]
fn a_checkpoint_of_several_series_forecasts_them_as_before() {
    // TSMixer keeps an affine map per series (views of its parameters) and batch statistics.
    let frame = common::three_aligned_series(132);
    let mut spec = ModelSpec::new("TSMixer", 12, 24).unwrap();
    spec.train.max_steps = 5;
    for (key, value) in [("n_series", "3"), ("ff_dim", "8")] {
        spec.set_param(key, value).unwrap();
    }
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let before = nf.predict(None).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(before, loaded.predict(None).unwrap());
    // New data for the same three series forecasts from their new ends.
    let longer = common::three_aligned_series(144);
    let after = loaded.predict(Some(&longer)).unwrap();
    assert_eq!(after.ids.len(), 36);
    assert_ne!(after.ds[0], before.ds[0]);
}

#[test]
fn quantile_losses_give_each_series_its_own_sorted_quantiles() {
    let frame = common::three_aligned_series(132);
    for model in ["iTransformer", "TSMixer", "TSMixerx"] {
        let mut spec = ModelSpec::new(model, 12, 24).unwrap();
        spec.train.max_steps = 20;
        for (key, value) in [("n_series", "3"), ("loss", "mqloss:80")] {
            spec.set_param(key, value).unwrap();
        }
        let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
        nf.fit(&frame, FitOptions::default(), None).unwrap();
        let forecasts = nf.predict(None).unwrap();
        let column = |suffix: &str| forecasts.column(&format!("{model}{suffix}")).unwrap();
        let (lo, median, hi) = (column("-lo-80"), column("-median"), column("-hi-80"));
        for row in 0..36 {
            assert!(
                lo[row] <= median[row] && median[row] <= hi[row] && lo[row].is_finite(),
                "{model}, row {row}: {} {} {}",
                lo[row],
                median[row],
                hi[row]
            );
        }
        // Series b (mirrored, around 600 - 280) and c (halved) keep their own levels.
        let level =
            |series: usize| median[series * 12..(series + 1) * 12].iter().sum::<f64>() / 12.0;
        assert!(
            level(1) < level(0) && level(2) < level(0),
            "{model}: {:?}",
            [level(0), level(1), level(2)]
        );
    }
}
