//! Explanations of TFT's forecasts through `NeuralForecast::explain`: one entry per forecast
//! window with named variables, weights that sum to 1, causal attention, and a clear error when
//! no model explains its forecasts.

mod common;

use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};

fn small_tft() -> ModelSpec {
    let mut spec = ModelSpec::new("TFT", 6, 12).unwrap();
    for (key, value) in [("max_steps", "3"), ("hidden_size", "8"), ("n_head", "2")] {
        spec.set_param(key, value).unwrap();
    }
    spec
}

fn assert_sums_to_one(row: &[f32], what: &str) {
    assert!(
        (row.iter().sum::<f32>() - 1.0).abs() < 1e-5,
        "{what}: {row:?}"
    );
}

#[test]
fn every_forecast_window_is_explained_with_named_variables() {
    let frame = common::three_aligned_series(60);
    let mut nf =
        NeuralForecast::new(vec![small_tft(), common::small("MLP", 6, 12, 3)], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    let explanations = nf.explain(PredictOptions::default()).unwrap();
    // The MLP explains nothing, so only TFT is listed.
    let [tft] = &explanations[..] else {
        panic!("one explaining model, got {}", explanations.len())
    };
    assert_eq!(tft.model, "TFT");
    assert_eq!((tft.input_size, tft.horizon), (12, 6));
    assert_eq!(tft.past_variables, ["repeated_target", "observed_target"]);
    assert_eq!(tft.future_variables, ["repeated_target"]);
    let ids: Vec<&str> = tft.series.iter().map(|s| s.unique_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    for series in &tft.series {
        assert_eq!(series.past_importance.len(), 12);
        assert_eq!(series.future_importance.len(), 6);
        assert!(series.static_importance.is_empty());
        assert_eq!(series.attention.len(), 18);
        for row in &series.past_importance {
            assert_eq!(row.len(), 2);
            assert_sums_to_one(row, "past");
        }
        for (query, row) in series.attention.iter().enumerate() {
            assert_eq!(row.len(), 18);
            assert_sums_to_one(row, "attention");
            assert!(
                row[query + 1..].iter().all(|&w| w == 0.0),
                "causal: {row:?}"
            );
        }
    }
    // Different series are explained differently.
    assert_ne!(tft.series[0].past_importance, tft.series[1].past_importance);
    // The same data given explicitly gives the same explanation.
    let again = nf
        .explain(PredictOptions {
            data: Some(&frame),
            ..PredictOptions::default()
        })
        .unwrap();
    assert_eq!(again, explanations);
}

#[test]
fn explaining_needs_a_fitted_model_that_explains() {
    let frame = common::three_aligned_series(60);
    let mut nf = NeuralForecast::new(vec![common::small("MLP", 6, 12, 2)], None).unwrap();
    let message = nf
        .explain(PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("none of the models (MLP) explains its forecasts; models that do: TFT"),
        "{message}"
    );
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    assert!(nf.explain(PredictOptions::default()).is_err());
    let unfitted = NeuralForecast::new(vec![small_tft()], None).unwrap();
    let message = unfitted
        .explain(PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("not fitted"), "{message}");
}
