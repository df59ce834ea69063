//! `longhorizon`: the long-horizon benchmark protocol (`neuro_divergent::longhorizon`) over the
//! requested models, one result row per model.

use std::fmt::Write as _;
use std::path::Path;

use neuro_divergent::longhorizon::{
    evaluate, scored_windows, Split, WideTable, REFERENCE_TEST_BATCH,
};
use neuro_divergent::{output, Error, NeuralForecast, Result};

use crate::args::{LongHorizonArgs, ModelArgs};
use crate::commands::model_specs;
use crate::error::CliResult;
use crate::progress::TrainingBars;

/// Early-stopping patience (validation checks) when `--early-stop-patience` is not given: the
/// protocol stops on the validation rows.
const DEFAULT_PATIENCE: i64 = 3;

/// Runs the protocol and writes `model,horizon,mse,mae,windows`.
pub fn run(args: &LongHorizonArgs) -> CliResult<()> {
    let m = &args.model;
    reject_unused(m)?;
    if let Some(path) = &m.out {
        output::check_writable(path)?;
    }
    let table = WideTable::read_csv(&m.data)?;
    let split = match &args.split {
        Some(text) => Split::parse(text)?,
        None => Split::for_file(&m.data),
    };
    let borders = split.borders(table.rows())?;
    let windows = borders.test_windows(m.horizon)?;
    let frame = table.scaled_frame(&borders)?;
    let mut specs = model_specs(m)?;
    if m.early_stop_patience.is_none() {
        for spec in &mut specs {
            spec.train.early_stop_patience_steps = DEFAULT_PATIENCE;
        }
    }
    let mut nf = NeuralForecast::new(specs, None)?.with_device(m.device)?;
    let batch = (!args.all_windows).then_some(REFERENCE_TEST_BATCH);
    let scored = scored_windows(windows, batch);
    let bars = TrainingBars::new();
    let callback = |e: &neuro_divergent::ProgressEvent| bars.update(e);
    let result = evaluate(&mut nf, &frame, &borders, scored, Some(&callback));
    bars.finish();
    let mut csv = String::from("model,horizon,mse,mae,windows\n");
    for (name, s) in result? {
        let _ = writeln!(
            csv,
            "{name},{},{},{},{}",
            m.horizon, s.mse, s.mae, s.windows
        );
    }
    output::write_bytes(m.out.as_deref().unwrap_or(Path::new("-")), csv.as_bytes())?;
    Ok(())
}

/// Options of the shared model arguments that the protocol decides itself or does not read.
fn reject_unused(m: &ModelArgs) -> Result<()> {
    let unused = [
        ("--hist-exog", !m.hist_exog.is_empty()),
        ("--futr-exog", !m.futr_exog.is_empty()),
        ("--stat-exog", !m.stat_exog.is_empty()),
        ("--static", m.statics.is_some()),
        ("--futr", m.futr.is_some()),
        ("--calendar", !m.calendar.is_empty()),
        ("--features", !m.features.is_empty()),
        ("--levels", !m.levels.is_empty()),
        ("--conformal-windows", m.conformal_windows.is_some()),
        ("--conformal-step", m.conformal_step.is_some()),
        ("--freq", m.freq.is_some()),
        ("--val-size", m.val_size > 0),
        ("--plot", m.plot.is_some()),
        ("--save", m.save.is_some()),
        ("--name", m.name.is_some()),
        ("--store", m.store.is_some()),
        ("--alias", !m.aliases.is_empty()),
        ("--tag", !m.tags.is_empty()),
        ("auto models (--model auto_…)", crate::search::has_auto(m)),
        ("--space", m.search.space.is_some()),
        ("--halving", m.search.halving),
        ("--trials", m.search.trials.is_some()),
        ("--refit-with-val", m.search.refit_with_val),
        ("--ensemble", m.ensemble.ensemble.is_some()),
        ("--ensemble-members", m.ensemble.ensemble_members),
        (
            "--ensemble-lookbacks",
            !m.ensemble.ensemble_lookbacks.is_empty(),
        ),
        ("--ensemble-losses", !m.ensemble.ensemble_losses.is_empty()),
        ("--ensemble-seeds", !m.ensemble.ensemble_seeds.is_empty()),
    ];
    match unused.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(Error::Config(format!(
            "{flag} is not used by longhorizon: the protocol forecasts every variable from its \
             own past, validates on the split's validation rows and writes scores"
        ))),
        None => Ok(()),
    }
}
