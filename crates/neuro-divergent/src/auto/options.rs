//! The options of an `Auto<Model>` as a front end receives them (the CLI's flags, Node's
//! options object): what to search, how many trials, which algorithm, and which values the
//! user fixed. [`AutoOptions::search`] turns them and the model into an [`AutoSearch`];
//! [`search_models`] runs the searches of a fit's models.

use crate::{Error, ModelSpec, Result};

use super::{
    default_space, AutoSearch, Halving, SearchAlgorithm, SearchData, SearchSpace, Searches,
    TrialEvent,
};

/// How an `Auto<Model>` searches (NeuralForecast's `Auto*` arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct AutoOptions {
    /// Trials to run (NeuralForecast's `num_samples`).
    pub num_samples: usize,
    /// How configurations are chosen.
    pub algorithm: SearchAlgorithm,
    /// The space searched; `None` for NeuralForecast's default space of the model.
    pub space: Option<SearchSpace>,
    /// Successive halving, with its first rung after this many steps (`None` inside: the
    /// model's `val_check_steps`); `None` for no early stopping of trials.
    pub halving: Option<Option<usize>>,
    /// Seed of the configurations drawn.
    pub seed: u64,
    /// Points held out at the end of each series to score trials on (0: the horizon).
    pub val_size: usize,
    /// Refit the chosen configuration holding out the scored points for early stopping and
    /// validation (NeuralForecast's `refit_with_val`).
    pub refit_with_val: bool,
    /// The hyperparameters the user set, which the search leaves as they are.
    pub pinned: Vec<String>,
}

impl Default for AutoOptions {
    /// NeuralForecast's defaults: 10 random trials scored on the last horizon, seed 1.
    fn default() -> AutoOptions {
        AutoOptions {
            num_samples: 10,
            algorithm: SearchAlgorithm::Random,
            space: None,
            halving: None,
            seed: 1,
            val_size: 0,
            refit_with_val: false,
            pinned: Vec::new(),
        }
    }
}

impl AutoOptions {
    /// The search of `spec` (the model at its defaults with the user's values set, under its
    /// `Auto<Model>` alias): the given space or the model's default one, without the pinned
    /// hyperparameters. Fails for a model without a default space when none is given.
    pub fn search(&self, spec: ModelSpec) -> Result<AutoSearch> {
        let space = match &self.space {
            Some(space) => space.clone(),
            None => default_space(spec.model_name(), spec.h).ok_or_else(|| {
                Error::Config(format!(
                    "{} has no default search space: give one (--space FILE.json, `space` in Node)",
                    spec.model_name()
                ))
            })?,
        };
        let halving = self.halving.map(|grace| Halving {
            grace_steps: grace.unwrap_or(spec.train.val_check_steps),
            factor: 3,
        });
        Ok(AutoSearch {
            space: space.without(&self.pinned),
            spec,
            num_samples: self.num_samples,
            algorithm: self.algorithm,
            seed: self.seed,
            halving,
            val_size: self.val_size,
        })
    }
}

/// Hears every trial of a run of searches, with the column of the model searched.
pub type SearchProgressFn<'a> = dyn Fn(&str, &TrialEvent<'_>) + Send + Sync + 'a;

/// Runs, one after another, the search of every model of `specs` that has options in `autos`
/// (the same order; `names` are the forecast columns) on `data` without the last `held_out`
/// points of each series (a cross-validation's test windows), and returns the specs with each
/// search's choice in place and the histories by column. `progress` hears every trial with
/// its search's column.
pub fn search_models(
    mut specs: Vec<ModelSpec>,
    names: &[String],
    autos: &[Option<AutoOptions>],
    data: &SearchData<'_>,
    held_out: usize,
    progress: Option<&SearchProgressFn<'_>>,
) -> Result<(Vec<ModelSpec>, Searches)> {
    if autos.len() != specs.len() || names.len() != specs.len() {
        return Err(Error::Config(format!(
            "search options for {} and names for {} of {} models: give one of each per model",
            autos.len(),
            names.len(),
            specs.len()
        )));
    }
    let mut searches = Searches::new();
    if autos.iter().all(Option::is_none) {
        return Ok((specs, searches));
    }
    let seen;
    let data = if held_out > 0 {
        seen = data.frame.split_last(held_out)?.0;
        SearchData {
            frame: &seen,
            ..*data
        }
    } else {
        *data
    };
    for ((spec, options), name) in specs.iter_mut().zip(autos).zip(names) {
        let Some(options) = options else { continue };
        let report = |event: &TrialEvent<'_>| {
            if let Some(progress) = progress {
                progress(name, event);
            }
        };
        let (chosen, history) = options.search(spec.clone())?.run(&data, Some(&report))?;
        searches.insert(name.clone(), history);
        *spec = chosen;
    }
    Ok((specs, searches))
}

/// The points the final fit holds out, given the fit's own `val_size` and the searched models
/// with their options: with `refit_with_val` — forced, as in NeuralForecast, when a searched
/// model stops early — and no `val_size` of the fit's own, the points the trials were scored
/// on (the most of them, when several searches ask; the fit's models share one validation
/// size).
pub fn refit_val_size<'a>(
    searched: impl IntoIterator<Item = (&'a ModelSpec, &'a AutoOptions)>,
    val_size: usize,
) -> usize {
    if val_size > 0 {
        return val_size;
    }
    searched
        .into_iter()
        .filter(|(spec, options)| {
            options.refit_with_val || spec.train.early_stop_patience_steps > 0
        })
        .map(|(spec, options)| match options.val_size {
            0 => spec.h,
            scored => scored,
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhits() -> ModelSpec {
        let mut spec = ModelSpec::new("NHITS", 12, 24).unwrap();
        spec.alias = Some("AutoNHITS".into());
        spec
    }

    #[test]
    fn pinned_values_leave_the_default_space() {
        let options = AutoOptions {
            pinned: vec!["learning_rate".into(), "input_size".into()],
            halving: Some(None),
            ..AutoOptions::default()
        };
        let search = options.search(nhits()).unwrap();
        let keys: Vec<&str> = search.space.domains().map(|(k, _)| k).collect();
        assert!(keys.contains(&"max_steps") && keys.contains(&"n_pool_kernel_size"));
        assert!(!keys.contains(&"learning_rate"));
        assert!(!keys.contains(&"input_size_multiplier"));
        assert_eq!(search.num_samples, 10);
        assert_eq!(
            search.halving.unwrap().grace_steps,
            nhits().train.val_check_steps
        );
        assert_eq!(search.spec.display_name(), "AutoNHITS");
    }

    #[test]
    fn a_model_without_a_default_space_needs_one() {
        let spec = ModelSpec::new("ChronosBolt", 12, 24).unwrap();
        let err = AutoOptions::default().search(spec).unwrap_err().to_string();
        assert!(
            err.contains("ChronosBolt has no default search space"),
            "{err}"
        );
    }

    #[test]
    fn refits_hold_out_the_horizon_only_when_asked_or_stopping_early() {
        let plain = AutoOptions::default();
        let refit = AutoOptions {
            refit_with_val: true,
            ..AutoOptions::default()
        };
        let mut stopping = nhits();
        stopping.train.early_stop_patience_steps = 3;
        assert_eq!(refit_val_size([(&nhits(), &plain)], 0), 0);
        assert_eq!(refit_val_size([(&nhits(), &refit)], 0), 12);
        assert_eq!(refit_val_size([(&stopping, &plain)], 0), 12);
        assert_eq!(refit_val_size([(&nhits(), &refit)], 5), 5);
        let scored_on_24 = AutoOptions {
            val_size: 24,
            ..refit.clone()
        };
        assert_eq!(refit_val_size([(&nhits(), &scored_on_24)], 0), 24);
    }
}
