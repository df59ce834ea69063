//! Hyperparameter searches on the bundled AirPassengers: reproducible with a seed, trials side
//! by side, successive halving stopping trials, failed trials recorded, the history kept in
//! checkpoints.

mod common;

use neuro_divergent::auto::{
    AutoSearch, Halving, SearchAlgorithm, SearchData, SearchHistory, SearchSpace, Searches,
    TrialState,
};
use neuro_divergent::preprocess::FeatureConfig;
use neuro_divergent::{threads, FitOptions, NeuralForecast};
use serde_json::json;

/// A small MLP search over the learning rate, the scaler and the seed.
fn search(num_samples: usize, algorithm: SearchAlgorithm, halving: Option<Halving>) -> AutoSearch {
    let mut spec = common::small("MLP", 12, 24, 30);
    spec.alias = Some("AutoMLP".into());
    spec.train.val_check_steps = 5;
    let space = SearchSpace::from_json(&json!({
        "learning_rate": {"loguniform": [0.00001, 0.3]},
        "scaler_type": {"choice": [null, "robust", "standard"]},
        "random_seed": {"randint": [1, 20]},
        "max_steps": 30,
    }))
    .unwrap();
    AutoSearch {
        spec,
        space,
        num_samples,
        algorithm,
        seed: 11,
        halving,
        val_size: 0,
    }
}

/// Runs `search` on AirPassengers, two trials at a time, one thread each.
fn try_run(
    search: &AutoSearch,
) -> neuro_divergent::Result<(neuro_divergent::ModelSpec, SearchHistory)> {
    threads::configure_threads(Some(2));
    let frame = common::air_passengers();
    let features = FeatureConfig::default();
    let data = SearchData {
        frame: &frame,
        freq: None,
        features: &features,
        statics: None,
        device: Default::default(),
        cancel: None,
    };
    search.run(&data, None)
}

fn run(search: &AutoSearch) -> (neuro_divergent::ModelSpec, SearchHistory) {
    try_run(search).unwrap()
}

#[test]
fn a_seeded_search_repeats_exactly_and_chooses_its_lowest_validation_loss() {
    for algorithm in [SearchAlgorithm::Random, SearchAlgorithm::Tpe] {
        let s = search(12, algorithm, None);
        let (spec, first) = run(&s);
        let (again, second) = run(&s);
        let strip = |h: &SearchHistory| -> Vec<_> {
            h.trials
                .iter()
                .map(|t| (t.config.clone(), t.state, t.loss, t.steps))
                .collect()
        };
        assert_eq!(strip(&first), strip(&second), "{algorithm}");
        assert_eq!(spec, again);
        assert_eq!(first.trials.len(), 12);
        let best = first.best_trial();
        let lowest = first
            .trials
            .iter()
            .filter_map(|t| t.loss)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(best.loss, Some(lowest));
        assert_eq!(spec.display_name(), "AutoMLP");
        assert_eq!(
            spec.train.random_seed,
            best.config["random_seed"].as_u64().unwrap()
        );
        assert_eq!(
            spec.train.learning_rate,
            best.config["learning_rate"].as_f64().unwrap()
        );
        // Trials differ: the seed draws different configurations.
        let rates: std::collections::BTreeSet<String> = first
            .trials
            .iter()
            .map(|t| t.config["learning_rate"].to_string())
            .collect();
        assert_eq!(rates.len(), 12);
        // A different seed draws other trials.
        let other = AutoSearch { seed: 12, ..s };
        let (_, third) = run(&other);
        assert_ne!(strip(&first), strip(&third));
    }
}

#[test]
fn the_score_is_the_last_validation_loss_of_a_fit_with_the_same_settings() {
    let s = search(2, SearchAlgorithm::Random, None);
    let (spec, history) = run(&s);
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    let options = FitOptions {
        val_size: 12,
        ..FitOptions::default()
    };
    threads::solo(|| nf.fit(&common::air_passengers(), options, None)).unwrap();
    let report = nf.train_reports()[0].unwrap().clone();
    assert_eq!(
        report.val_losses.last().map(|v| v.1),
        history.best_trial().loss
    );
}

#[test]
fn successive_halving_stops_poor_trials_at_its_rungs() {
    let halving = Halving {
        grace_steps: 5,
        factor: 3,
    };
    let (_, history) = run(&search(16, SearchAlgorithm::Random, Some(halving)));
    let stopped: Vec<_> = history
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Stopped)
        .collect();
    assert!(!stopped.is_empty(), "{:#?}", history.trials);
    for t in &stopped {
        assert!([5, 15].contains(&t.steps), "stopped at step {}", t.steps);
        assert!(t.loss.is_some());
    }
    // The first two trials have nothing to learn from: they train to the end.
    assert!(history.trials[..2]
        .iter()
        .all(|t| t.state == TrialState::Complete && t.steps == 30));
    assert_eq!(history.best_trial().state, TrialState::Complete);
}

#[test]
fn configurations_the_model_refuses_are_failed_trials_not_a_failed_search() {
    let mut s = search(4, SearchAlgorithm::Random, None);
    // Windows of 20 horizons do not fit AirPassengers' 132 training points.
    s.space = SearchSpace::from_json(&json!({
        "input_size_multiplier": {"choice": [1, 20]},
        "random_seed": {"randint": [1, 20]},
    }))
    .unwrap();
    let (spec, history) = run(&s);
    let failed: Vec<_> = history
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Failed)
        .collect();
    assert!(!failed.is_empty());
    assert!(failed
        .iter()
        .all(|t| t.config["input_size_multiplier"] == json!(20)
            && t.loss.is_none()
            && !t.message.as_deref().unwrap_or_default().is_empty()));
    assert_eq!(spec.input_size, 12);
    // Every trial failing fails the search, with the first message.
    s.space = SearchSpace::from_json(&json!({"input_size_multiplier": 20})).unwrap();
    let e = try_run(&s).unwrap_err().to_string();
    assert!(
        e.contains("every trial of the AutoMLP search failed"),
        "{e}"
    );
}

#[test]
fn checkpoints_keep_the_search_history() {
    let (spec, history) = run(&search(2, SearchAlgorithm::Tpe, None));
    let searches: Searches = [("AutoMLP".to_string(), history)].into_iter().collect();
    let mut nf = NeuralForecast::new(vec![spec], None)
        .unwrap()
        .with_searches(searches.clone())
        .unwrap();
    nf.fit(&common::air_passengers(), FitOptions::default(), None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.searches(), &searches);
    assert_eq!(
        loaded.predict(None).unwrap().column("AutoMLP"),
        nf.predict(None).unwrap().column("AutoMLP")
    );
    let e = NeuralForecast::new(vec![common::small("MLP", 12, 24, 1)], None)
        .unwrap()
        .with_searches(searches)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("'AutoMLP', which is not one of the models (MLP)"),
        "{e}"
    );
}

#[test]
fn an_ensemble_column_is_its_members_median_and_survives_a_checkpoint() {
    use neuro_divergent::conformal::{ConformalMethod, PredictionIntervals};
    use neuro_divergent::ensemble::{Combination, Ensemble, MemberGrid};
    let grid = MemberGrid {
        lookbacks: vec![1, 2],
        seeds: vec![1, 2],
        ..MemberGrid::default()
    };
    let members = grid.members(&[common::small("MLP", 12, 24, 20)]).unwrap();
    let names: Vec<String> = members
        .iter()
        .map(|m| m.display_name().to_string())
        .collect();
    assert_eq!(
        names,
        ["MLP-in1h-s1", "MLP-in1h-s2", "MLP-in2h-s1", "MLP-in2h-s2"]
    );
    let ensemble = Ensemble {
        combination: Combination::Median,
        keep_members: true,
    };
    let mut nf = NeuralForecast::new(members, None)
        .unwrap()
        .with_ensemble(ensemble)
        .unwrap();
    let options = FitOptions {
        prediction_intervals: Some(PredictionIntervals {
            n_windows: Some(4),
            step_size: None,
            method: ConformalMethod::ConformalPooled,
        }),
        ..FitOptions::default()
    };
    nf.fit(&common::air_passengers(), options, None).unwrap();
    let forecasts = nf.predict_with_levels(None, &[80.0]).unwrap();
    let combined = forecasts.column("Ensemble").unwrap();
    for (step, value) in combined.iter().enumerate() {
        let mut at: Vec<f64> = names
            .iter()
            .map(|n| forecasts.column(n).unwrap()[step])
            .collect();
        at.sort_by(f64::total_cmp);
        assert_eq!(*value, (at[1] + at[2]) / 2.0);
    }
    // The ensemble is calibrated like a model: its own interval columns.
    let lo = forecasts.column("Ensemble-lo-80").unwrap();
    let hi = forecasts.column("Ensemble-hi-80").unwrap();
    assert!((0..12).all(|i| lo[i] < combined[i] && combined[i] < hi[i]));

    let dir = tempfile::tempdir().unwrap();
    nf.save(dir.path()).unwrap();
    let loaded = NeuralForecast::load(dir.path()).unwrap();
    assert_eq!(loaded.ensemble(), nf.ensemble());
    assert_eq!(
        loaded.predict_with_levels(None, &[80.0]).unwrap(),
        forecasts
    );

    // Without the members' columns: the Ensemble and its bands alone.
    let only = NeuralForecast::load(dir.path())
        .unwrap()
        .with_ensemble(Ensemble {
            combination: Combination::Median,
            keep_members: false,
        })
        .unwrap();
    let alone = only.predict_with_levels(None, &[80.0]).unwrap();
    assert_eq!(
        alone.columns,
        ["Ensemble", "Ensemble-lo-80", "Ensemble-hi-80"]
    );
    assert_eq!(alone.column("Ensemble").unwrap(), combined);
}
