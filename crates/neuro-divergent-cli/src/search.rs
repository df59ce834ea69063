//! The `auto_*` models: each one's hyperparameter search runs before the fit, on the data the
//! fit sees, and the configuration it chooses takes its place, named `Auto<Model>`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neuro_divergent::auto::{
    auto_alias, refit_val_size, searched_model, write_trials_csv, AutoOptions, SearchAlgorithm,
    SearchSpace, Searches, TrialEvent,
};
use neuro_divergent::data::TimeSeriesFrame;
use neuro_divergent::exog::StaticTable;
use neuro_divergent::output;
use neuro_divergent::{Error, FitOptions, ModelSpec, NeuralForecast, Result};

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

/// `nf` with each auto model replaced by the configuration its search chose on `frame`
/// without its last `held_out` points (the test windows of a cross-validation), with the
/// static values `statics`, the searches kept with it.
pub(crate) fn run_searches(
    args: &ModelArgs,
    nf: NeuralForecast,
    frame: &TimeSeriesFrame,
    statics: &Option<Arc<StaticTable>>,
    held_out: usize,
) -> Result<NeuralForecast> {
    let user_space = args
        .search
        .space
        .as_deref()
        .map(SearchSpace::read)
        .transpose()?;
    let common = auto_options(args)?;
    let autos: Vec<Option<AutoOptions>> = nf
        .specs()
        .iter()
        .zip(searched_models(args))
        .map(|(spec, model)| {
            model.map(|_| AutoOptions {
                space: user_space.clone(),
                pinned: pinned(args, spec),
                ..common.clone()
            })
        })
        .collect();
    let options = FitOptions {
        statics: statics.clone(),
        ..FitOptions::default()
    };
    let bar = TrialBar::default();
    let report = |name: &str, event: &TrialEvent<'_>| bar.update(name, event);
    let result = nf.searched(&autos, frame, held_out, &options, Some(&report));
    bar.finish();
    let nf = result?;
    let searched = nf
        .model_names()
        .iter()
        .filter_map(|name| Some((name, nf.searches().get(name)?)));
    for (name, history) in searched {
        let best = history.best_trial();
        eprintln!(
            "{name}: best of {} trials is trial {} (validation loss {:.6})",
            history.trials.len(),
            best.number,
            best.loss.unwrap_or(f64::NAN)
        );
    }
    if let Some(path) = &args.search.trials {
        write_trials(path, nf.searches())?;
    }
    Ok(nf)
}

/// The search options the flags give every auto model (its space and pinned values aside).
fn auto_options(args: &ModelArgs) -> Result<AutoOptions> {
    let search = &args.search;
    Ok(AutoOptions {
        num_samples: search.num_samples,
        algorithm: search.search.parse()?,
        halving: search.halving.then_some(search.halving_grace),
        seed: args.seed.unwrap_or(1),
        val_size: args.val_size,
        refit_with_val: search.refit_with_val,
        ..AutoOptions::default()
    })
}

/// The points the final fit holds out: the run's `--val-size`, or with `--refit-with-val`
/// (forced, as in NeuralForecast, when an auto model stops early) the points its trials were
/// scored on.
pub(crate) fn final_val_size(args: &ModelArgs, specs: &[ModelSpec]) -> Result<usize> {
    let options = auto_options(args)?;
    let searched = specs
        .iter()
        .zip(searched_models(args))
        .filter(|(_, m)| m.is_some())
        .map(|(spec, _)| (spec, &options));
    Ok(refit_val_size(searched, args.val_size))
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

/// A bar over the trials of the search running, on standard error: each search's first trial
/// finishes the bar before it and starts its own.
#[derive(Default)]
struct TrialBar {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl TrialBar {
    fn start(name: &str, trials: usize) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(trials as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{bar:30}] {pos}/{len} trials {msg} ({elapsed})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    fn update(&self, name: &str, event: &TrialEvent<'_>) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(n, _)| n != name) {
            if let Some((_, done)) = current.take() {
                done.finish();
            }
            *current = Some((name.to_string(), TrialBar::start(name, event.total)));
        }
        let Some((_, bar)) = current.as_ref() else {
            return;
        };
        bar.set_position(event.finished as u64);
        let t = event.trial;
        bar.set_message(match t.loss {
            Some(loss) => format!("last: #{} {} {loss:.4}", t.number, t.state.as_str()),
            None => format!("last: #{} {}", t.number, t.state.as_str()),
        });
    }

    fn finish(&self) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bar)) = current.take() {
            bar.finish();
        }
    }
}
