//! The `auto_*` models: each one's hyperparameter search runs before the fit, on the data the
//! fit sees, and the configuration it chooses takes its place, named `Auto<Model>`.

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuro_divergent::auto::{
    auto_alias, default_space, searched_model, write_trials_csv, AutoSearch, Halving,
    SearchAlgorithm, SearchData, SearchSpace, Searches, TrialEvent,
};
use neuro_divergent::data::{Freq, TimeSeriesFrame};
use neuro_divergent::exog::StaticTable;
use neuro_divergent::output;
use neuro_divergent::preprocess::FeatureConfig;
use neuro_divergent::{Error, ModelSpec, Result};

use crate::args::ModelArgs;

/// For each `--model`, the model an `auto_*` name searches (`None` for plain models).
pub(crate) fn searched_models(args: &ModelArgs) -> Vec<Option<&'static str>> {
    args.model
        .iter()
        .map(|n| searched_model(n.trim()))
        .collect()
}

/// True when an `auto_*` model was requested.
pub(crate) fn has_auto(args: &ModelArgs) -> bool {
    searched_models(args).iter().any(Option::is_some)
}

/// True when `target` (the model part of `--param MODEL.KEY=…`) selects `spec`: its model's
/// name, its column name, or the `auto_*` name that searches it.
pub(crate) fn targets(target: &str, spec: &ModelSpec) -> bool {
    let target = target.trim();
    target.eq_ignore_ascii_case(spec.model_name())
        || target.eq_ignore_ascii_case(spec.display_name())
        || searched_model(target)
            .is_some_and(|m| m == spec.model_name() && spec.display_name() == auto_alias(m))
}

/// Checks the search options before any data is read or model trained: a known search
/// algorithm, a writable `--trials` file, `--halving-grace` only with `--halving`, and no
/// search options without an auto model. (`--space` is read and checked against each model
/// when its search starts.)
pub(crate) fn check(args: &ModelArgs) -> Result<()> {
    let search = &args.search;
    if !has_auto(args) {
        let given = [
            (search.space.is_some(), "--space"),
            (search.trials.is_some(), "--trials"),
            (search.halving, "--halving"),
            (search.halving_grace.is_some(), "--halving-grace"),
            (search.refit_with_val, "--refit-with-val"),
        ];
        if let Some((_, flag)) = given.iter().find(|(set, _)| *set) {
            return Err(Error::Config(format!(
                "{flag} applies to auto models (--model auto_nhits, ...), and none was requested"
            )));
        }
    }
    if search.halving_grace.is_some() && !search.halving {
        return Err(Error::Config(
            "--halving-grace applies to successive halving: add --halving".into(),
        ));
    }
    search.search.parse::<SearchAlgorithm>()?;
    if let Some(path) = &search.trials {
        trials_format(path)?;
        output::check_writable(path)?;
    }
    Ok(())
}

/// Whether the trials table at `path` is JSON (else CSV), by extension.
fn trials_format(path: &Path) -> Result<bool> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Ok(true),
        Some(e) if e.eq_ignore_ascii_case("csv") => Ok(false),
        _ => Err(Error::Config(format!(
            "--trials {}: the table is written to a .csv or .json file",
            path.display()
        ))),
    }
}

/// The names of the hyperparameters the user set for `spec` (flags and `--param`s), which
/// the search then leaves alone.
fn pinned(args: &ModelArgs, spec: &ModelSpec) -> Vec<String> {
    let flags = [
        (args.max_steps.is_some(), "max_steps"),
        (args.learning_rate.is_some(), "learning_rate"),
        (args.batch_size.is_some(), "batch_size"),
        (args.windows_batch_size.is_some(), "windows_batch_size"),
        (args.scaler.is_some(), "scaler_type"),
        (
            args.early_stop_patience.is_some(),
            "early_stop_patience_steps",
        ),
        (args.input_size.is_some(), "input_size"),
    ];
    let mut keys: Vec<String> = flags
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, k)| k.to_string())
        .collect();
    for param in &args.params {
        let key = param.split('=').next().unwrap_or_default();
        let key = match key.split_once('.') {
            Some((target, key)) if targets(target, spec) => key,
            Some(_) => continue,
            None => key,
        };
        keys.push(key.trim().to_string());
    }
    keys
}

/// Runs the search of every auto model among `specs` (forecast under `names`) on `frame`
/// without its last `held_out` points (the test windows of a cross-validation), and returns
/// the specs with each search's choice in place, and the searches by forecast column.
pub(crate) fn run_searches(
    args: &ModelArgs,
    mut specs: Vec<ModelSpec>,
    names: &[String],
    frame: &TimeSeriesFrame,
    features: &FeatureConfig,
    held_out: usize,
) -> Result<(Vec<ModelSpec>, Searches)> {
    let searched = searched_models(args);
    let mut searches = Searches::new();
    if searched.iter().all(Option::is_none) {
        return Ok((specs, searches));
    }
    let seen;
    let frame = if held_out > 0 {
        seen = frame.split_last(held_out)?.0;
        &seen
    } else {
        frame
    };
    let user_space = args
        .search
        .space
        .as_deref()
        .map(SearchSpace::read)
        .transpose()?;
    let statics = args
        .statics
        .as_deref()
        .map(StaticTable::read_csv)
        .transpose()?
        .map(Arc::new);
    let freq = args.freq.as_deref().map(Freq::parse).transpose()?;
    for ((spec, model), name) in specs.iter_mut().zip(&searched).zip(names) {
        let Some(model) = model else { continue };
        let space = match &user_space {
            Some(space) => space.clone(),
            None => default_space(model, spec.h).ok_or_else(|| {
                Error::Config(format!(
                    "{model} has no default search space: give one with --space FILE.json"
                ))
            })?,
        };
        let halving = args.search.halving.then(|| Halving {
            grace_steps: args
                .search
                .halving_grace
                .unwrap_or(spec.train.val_check_steps),
            factor: 3,
        });
        let search = AutoSearch {
            spec: spec.clone(),
            space: space.without(&pinned(args, spec)),
            num_samples: args.search.num_samples,
            algorithm: args.search.search.parse()?,
            seed: args.seed.unwrap_or(1),
            halving,
            val_size: args.val_size,
        };
        let bar = TrialBar::new(name, search.num_samples);
        let report = |event: &TrialEvent<'_>| bar.update(event);
        let data = SearchData {
            frame,
            freq,
            features,
            statics: statics.as_ref(),
            device: args.device,
            cancel: None,
        };
        let result = search.run(&data, Some(&report));
        bar.finish();
        let (chosen, history) = result?;
        let best = history.best_trial();
        eprintln!(
            "{name}: best of {} trials is trial {} (validation loss {:.6})",
            history.trials.len(),
            best.number,
            best.loss.unwrap_or(f64::NAN)
        );
        searches.insert(name.clone(), history);
        *spec = chosen;
    }
    if let Some(path) = &args.search.trials {
        write_trials(path, &searches)?;
    }
    Ok((specs, searches))
}

/// The points the final fit holds out: the run's `--val-size`, or with `--refit-with-val`
/// (forced, as in NeuralForecast, when an auto model stops early) the points its trials were
/// scored on.
pub(crate) fn final_val_size(args: &ModelArgs, specs: &[ModelSpec]) -> usize {
    let early_stopping = specs
        .iter()
        .zip(searched_models(args))
        .any(|(s, m)| m.is_some() && s.train.early_stop_patience_steps > 0);
    if has_auto(args) && (args.search.refit_with_val || early_stopping) && args.val_size == 0 {
        args.horizon
    } else {
        args.val_size
    }
}

fn write_trials(path: &Path, searches: &Searches) -> Result<()> {
    if trials_format(path)? {
        let text = serde_json::to_string_pretty(searches)
            .map_err(|e| Error::Config(format!("writing the trials table: {e}")))?;
        output::write_bytes(path, text.as_bytes())
    } else {
        output::write_with(path, |out| write_trials_csv(searches, out))
    }
}

/// A bar over one search's trials on standard error.
struct TrialBar {
    bar: ProgressBar,
}

impl TrialBar {
    fn new(name: &str, trials: usize) -> TrialBar {
        let bar = ProgressBar::with_draw_target(Some(trials as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {pos}/{len} trials {msg} ({elapsed})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        TrialBar { bar }
    }

    fn update(&self, event: &TrialEvent<'_>) {
        self.bar.set_position(event.finished as u64);
        let t = event.trial;
        self.bar.set_message(match t.loss {
            Some(loss) => format!("last: #{} {} {loss:.4}", t.number, t.state.as_str()),
            None => format!("last: #{} {}", t.number, t.state.as_str()),
        });
    }

    fn finish(&self) {
        self.bar.finish();
    }
}
