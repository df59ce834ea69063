//! The commands: each turns arguments into library calls and writes the result.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use neuro_divergent::auto::auto_alias;
use neuro_divergent::conformal::{ConformalMethod, PredictionIntervals};
use neuro_divergent::data::{read_csv, read_frame, DataFormat, Freq, TimeSeriesFrame};
use neuro_divergent::ensemble::{Combination, Ensemble, MemberGrid};
use neuro_divergent::evaluate::{evaluate, read_value_table, EvaluationRow, Metric};
use neuro_divergent::exog::{FutureTable, StaticTable};
use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::output;
use neuro_divergent::preprocess::{CalendarFeature, DerivedFeature, FeatureConfig, ScalerType};
use neuro_divergent::{
    input_size_for, Error, FitOptions, Forecasts, ModelSpec, NeuralForecast, Result,
};

use crate::args::{CheckArgs, Cli, Command, CvArgs, EvaluateArgs, ModelArgs, PredictArgs};
use crate::error::CliResult;
use crate::progress::TrainingBars;
use crate::store::{cross_validation_scores, Publisher};

/// Runs the parsed command.
pub fn run(cli: Cli) -> CliResult<()> {
    match cli.command {
        Command::Forecast(args) => forecast(&args),
        Command::Fit(args) => fit(&args),
        Command::Predict(args) => predict(&args),
        Command::Cv(args) => cross_validate(&args),
        Command::Longhorizon(args) => crate::longhorizon::run(&args),
        Command::Evaluate(args) => Ok(evaluate_command(&args)?),
        Command::Models(args) => crate::store::run_models(&args),
        Command::Serve(args) => crate::serve::run(&args),
        Command::Keys(args) => crate::keys::run_keys(&args),
        Command::Check(args) => Ok(check(&args)?),
        Command::Bench(args) => Ok(crate::bench::run(&args)?),
        Command::Info => {
            crate::machine::print();
            Ok(())
        }
        Command::Completions(args) => Ok(crate::shell::completions(args.shell)?),
        Command::Man(args) => Ok(crate::shell::man(args.out_dir.as_deref())?),
    }
}

fn forecast(args: &ModelArgs) -> CliResult<()> {
    let Prepared { nf, frame, statics } = prepare(args)?;
    let futr = read_optional(args.futr.as_deref(), FutureTable::read_csv)?;
    // Fail on missing future values or an unwritable output before any training.
    nf.check_future_values(&frame, futr.as_ref())?;
    check_outputs(
        args.out.as_deref(),
        args.plot.as_deref(),
        args.save.as_deref(),
    )?;
    check_explain(&nf, args.explain.as_deref(), args.out.as_deref())?;
    let publisher = Publisher::prepare(args)?;
    let mut nf = searched(args, nf, &frame, &statics, 0)?;
    train(&mut nf, &frame, args, &statics)?;
    if let Some(dir) = &args.save {
        nf.save(dir)?;
    }
    if let Some(publisher) = publisher {
        publisher.publish(&nf, Default::default())?;
    }
    let options = PredictOptions {
        futr: futr.as_ref(),
        levels: &args.levels,
        ..PredictOptions::default()
    };
    let forecasts = nf.predict_with(options)?;
    write_forecasts(&forecasts, args.out.as_deref(), args.format.as_deref())?;
    write_explanations(&nf, options, args.explain.as_deref())?;
    if let Some(path) = &args.plot {
        crate::plotting::plot_forecasts(path, &frame, &forecasts)?;
    }
    left_to_exit((forecasts, frame, nf));
    Ok(())
}

/// Rejects the options only `forecast` uses, which `command` would otherwise ignore.
fn reject_forecast_only(args: &ModelArgs, command: &str) -> Result<()> {
    if args.futr.is_some() {
        let why = if command == "cv" {
            " (cross-validation reads future values from the data)"
        } else {
            ""
        };
        return Err(Error::Config(format!(
            "--futr is used by forecast, not by {command}{why}"
        )));
    }
    if args.plot.is_some() {
        return Err(Error::Config(format!(
            "--plot is used by forecast, not by {command}"
        )));
    }
    if args.explain.is_some() {
        return Err(Error::Config(format!(
            "--explain is used by forecast and predict, not by {command}"
        )));
    }
    Ok(())
}

/// Reads the file at `path` with `read`, when a path is given.
fn read_optional<T>(path: Option<&Path>, read: fn(&Path) -> Result<T>) -> Result<Option<T>> {
    path.map(read).transpose()
}

fn fit(args: &ModelArgs) -> CliResult<()> {
    let publisher = Publisher::prepare(args)?;
    if args.save.is_none() && publisher.is_none() {
        return Err(Error::Config(
            "fit needs --save DIR or --name NAME (with --store URL) to keep the fitted models"
                .into(),
        )
        .into());
    }
    reject_forecast_only(args, "fit")?;
    let Prepared { nf, frame, statics } = prepare(args)?;
    check_outputs(None, None, args.save.as_deref())?;
    let mut nf = searched(args, nf, &frame, &statics, 0)?;
    train(&mut nf, &frame, args, &statics)?;
    if let Some(dir) = &args.save {
        nf.save(dir)?;
        eprintln!("saved {} model(s) to {}", nf.specs().len(), dir.display());
    }
    if let Some(publisher) = publisher {
        publisher.publish(&nf, Default::default())?;
    }
    Ok(())
}

fn predict(args: &PredictArgs) -> CliResult<()> {
    check_outputs(args.out.as_deref(), None, None)?;
    format_option(args.format.as_deref())?;
    let nf = match (&args.model_dir, &args.model) {
        (Some(dir), _) => NeuralForecast::load(dir)?,
        (None, Some(reference)) => crate::store::load(args.store.as_deref(), reference)?,
        (None, None) => {
            return Err(Error::Config(
                "predict needs --model-dir DIR or --model NAME[@VERSION|@ALIAS]".into(),
            )
            .into())
        }
    }
    .with_device(args.device)?;
    let frame = match &args.data {
        Some(path) => Some(read_frame(
            path,
            format_option(args.data_format.as_deref())?,
            nf.fitted_freq(),
        )?),
        None => None,
    };
    let futr = read_optional(args.futr.as_deref(), FutureTable::read_csv)?;
    let statics = read_optional(args.statics.as_deref(), StaticTable::read_csv)?;
    check_explain(&nf, args.explain.as_deref(), args.out.as_deref())?;
    let options = PredictOptions {
        data: frame.as_ref(),
        futr: futr.as_ref(),
        statics: statics.as_ref(),
        levels: &args.levels,
    };
    let forecasts = nf.predict_with(options)?;
    write_forecasts(&forecasts, args.out.as_deref(), args.format.as_deref())?;
    write_explanations(&nf, options, args.explain.as_deref())?;
    left_to_exit((forecasts, frame, nf));
    Ok(())
}

fn cross_validate(args: &CvArgs) -> CliResult<()> {
    reject_forecast_only(&args.model, "cv")?;
    let step = args.step_size.unwrap_or(args.model.horizon);
    let Prepared { nf, frame, statics } = prepare(&args.model)?;
    let test_span = nf.cross_validation_span(args.n_windows, step)?;
    check_outputs(args.model.out.as_deref(), None, args.model.save.as_deref())?;
    let publisher = Publisher::prepare(&args.model)?;
    let mut nf = searched(&args.model, nf, &frame, &statics, test_span)?;
    let bars = TrainingBars::new();
    let callback = |e: &neuro_divergent::ProgressEvent| bars.update(e);
    let result = nf.cross_validation_with_levels(
        &frame,
        (args.n_windows, step),
        fit_options(&args.model, nf.specs(), &statics)?,
        &args.model.levels,
        Some(&callback),
    );
    bars.finish();
    let forecasts = result?;
    report_calibration(&nf);
    write_forecasts(
        &forecasts,
        args.model.out.as_deref(),
        args.model.format.as_deref(),
    )?;
    if let Some(dir) = &args.model.save {
        nf.save(dir)?;
    }
    if let Some(publisher) = publisher {
        publisher.publish(&nf, cross_validation_scores(&nf, &forecasts))?;
    }
    left_to_exit((forecasts, frame, nf));
    Ok(())
}

/// Reads and validates `--data` and prints a JSON summary of it on standard output.
fn check(args: &CheckArgs) -> Result<()> {
    let freq = args.freq.as_deref().map(Freq::parse).transpose()?;
    let format = format_option(args.data_format.as_deref())?;
    let started = std::time::Instant::now();
    let frame = read_frame(&args.data, format, freq)?;
    let read_seconds = started.elapsed().as_secs_f64();
    let fingerprint = frame.fingerprint();
    let summary = serde_json::json!({
        "source": fingerprint.source,
        "series": fingerprint.series,
        "rows": fingerprint.rows,
        "freq": frame.freq().alias(),
        "first_ds": fingerprint.first_ds,
        "last_ds": fingerprint.last_ds,
        "extra_columns": frame.extra_names(),
        "sha256": fingerprint.sha256,
        "read_seconds": read_seconds,
        "validate_seconds": frame.validation_seconds(),
    });
    let text = format!("{summary:#}\n");
    output::write_bytes(Path::new("-"), text.as_bytes())
}

fn evaluate_command(args: &EvaluateArgs) -> Result<()> {
    let metrics = args
        .metrics
        .iter()
        .map(|m| Metric::parse(m.trim()))
        .collect::<Result<Vec<_>>>()?;
    let forecasts = read_value_table(&args.forecasts)?;
    let actuals = read_value_table(&args.actuals)?;
    let train = match &args.train {
        Some(path) => Some(read_csv(path, None)?),
        None => None,
    };
    let naive2 = match &args.naive2 {
        Some(path) => Some(read_value_table(path)?),
        None => None,
    };
    let rows = evaluate(
        &forecasts,
        &actuals,
        train.as_ref(),
        args.season_length,
        naive2.as_ref(),
        &metrics,
    )?;
    print_evaluation(&rows);
    Ok(())
}

/// Prints `metric,<model>...` rows, one per metric (and level: `coverage-80`), to standard
/// output.
fn print_evaluation(rows: &[EvaluationRow]) {
    let label = |r: &EvaluationRow| match r.level {
        Some(level) => format!("{}-{level}", r.metric.name()),
        None => r.metric.name().to_string(),
    };
    let mut models: Vec<&str> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for row in rows {
        if !models.contains(&row.model.as_str()) {
            models.push(&row.model);
        }
        if !labels.contains(&label(row)) {
            labels.push(label(row));
        }
    }
    println!("metric,{}", models.join(","));
    for name in labels {
        let values: Vec<String> = models
            .iter()
            .map(|m| {
                rows.iter()
                    .find(|r| label(r) == name && r.model == *m)
                    .map_or(String::new(), |r| format!("{:.6}", r.value))
            })
            .collect();
        println!("{name},{}", values.join(","));
    }
}

/// What a run reads once, before any search.
struct Prepared {
    /// The specs (auto models at the defaults of the model they search), features, device and
    /// ensemble.
    nf: NeuralForecast,
    /// The data, read and validated.
    frame: TimeSeriesFrame,
    /// `--static`, for the searches and the fit.
    statics: Option<Arc<StaticTable>>,
}

/// The models, data and static values of a run, before any search.
fn prepare(args: &ModelArgs) -> Result<Prepared> {
    let freq = args.freq.as_deref().map(Freq::parse).transpose()?;
    // A misspelled output format fails now, not after training.
    format_option(args.format.as_deref())?;
    crate::search::check(args)?;
    let specs = model_specs(args)?;
    let nf = NeuralForecast::new(specs, freq)?
        .with_features(feature_config(args)?)?
        .with_device(args.device)?
        .with_ensemble(ensemble_of(args)?)?;
    let frame = read_frame(
        &args.data,
        format_option(args.data_format.as_deref())?,
        freq,
    )?;
    let statics = read_optional(args.statics.as_deref(), StaticTable::read_csv)?.map(Arc::new);
    Ok(Prepared { nf, frame, statics })
}

/// `nf` with each auto model replaced by the configuration its search chose on `frame`
/// without its last `held_out` points (the test windows of a cross-validation), with the
/// static values `statics`.
fn searched(
    args: &ModelArgs,
    nf: NeuralForecast,
    frame: &TimeSeriesFrame,
    statics: &Option<Arc<StaticTable>>,
    held_out: usize,
) -> Result<NeuralForecast> {
    if !crate::search::has_auto(args) {
        return Ok(nf);
    }
    crate::search::run_searches(args, nf, frame, statics, held_out)
}

/// The generated features requested by `--calendar` and `--features`.
fn feature_config(args: &ModelArgs) -> Result<FeatureConfig> {
    Ok(FeatureConfig {
        calendar: args
            .calendar
            .iter()
            .map(|n| CalendarFeature::parse(n))
            .collect::<Result<_>>()?,
        derived: args
            .features
            .iter()
            .map(|f| DerivedFeature::parse(f))
            .collect::<Result<_>>()?,
    })
}

/// Adds the exogenous columns of `--hist-exog`, `--futr-exog`, `--stat-exog`, `--features` and
/// `--calendar` to every model that reads exogenous inputs.
fn apply_exog_options(specs: &mut [ModelSpec], args: &ModelArgs) -> Result<()> {
    let features = feature_config(args)?;
    let hist: Vec<String> = args
        .hist_exog
        .iter()
        .cloned()
        .chain(features.derived.iter().map(DerivedFeature::name))
        .collect();
    let futr: Vec<String> = args
        .futr_exog
        .iter()
        .cloned()
        .chain(features.calendar.iter().map(|f| f.name().to_string()))
        .collect();
    if hist.is_empty() && futr.is_empty() && args.stat_exog.is_empty() {
        return Ok(());
    }
    if !specs.iter().any(ModelSpec::reads_exogenous) {
        return Err(Error::Config(format!(
            "exogenous columns were given but none of the models reads them; models that do: {}",
            neuro_divergent::exogenous_readers().join(", ")
        )));
    }
    let given = [
        (!hist.is_empty(), "historic"),
        (!futr.is_empty(), "future"),
        (!args.stat_exog.is_empty(), "static"),
    ];
    let reads = |spec: &ModelSpec| {
        let kinds = spec.exogenous();
        [kinds.hist, kinds.futr, kinds.stat]
    };
    for (kind, (present, name)) in given.iter().enumerate() {
        if *present && !specs.iter().any(|spec| reads(spec)[kind]) {
            return Err(Error::Config(format!(
                "{name} exogenous columns were given but none of the models reads them"
            )));
        }
    }
    for spec in specs.iter_mut() {
        let [hist_read, futr_read, stat_read] = reads(spec);
        if hist_read {
            spec.exog.hist_exog_list.extend(hist.iter().cloned());
        }
        if futr_read {
            spec.exog.futr_exog_list.extend(futr.iter().cloned());
        }
        if stat_read {
            spec.exog
                .stat_exog_list
                .extend(args.stat_exog.iter().cloned());
        }
    }
    Ok(())
}

fn train(
    nf: &mut NeuralForecast,
    frame: &TimeSeriesFrame,
    args: &ModelArgs,
    statics: &Option<Arc<StaticTable>>,
) -> Result<()> {
    let bars = TrainingBars::new();
    let callback = |e: &neuro_divergent::ProgressEvent| bars.update(e);
    let result = nf.fit(
        frame,
        fit_options(args, nf.specs(), statics)?,
        Some(&callback),
    );
    bars.finish();
    result?;
    report_calibration(nf);
    Ok(())
}

/// Says on standard error which calibration windows the intervals were calibrated on.
fn report_calibration(nf: &NeuralForecast) {
    if let Some(c) = nf.calibration() {
        let _ = writeln!(
            std::io::stderr(),
            "intervals: {} calibrated on {} windows {} step(s) apart",
            c.method.name(),
            c.n_windows,
            c.step_size
        );
    }
}

/// The fit options of `specs`: validation size, the static values `statics` and, with
/// `--levels`, conformal calibration.
fn fit_options(
    args: &ModelArgs,
    specs: &[ModelSpec],
    statics: &Option<Arc<StaticTable>>,
) -> Result<FitOptions> {
    let prediction_intervals = if args.levels.is_empty() {
        None
    } else {
        Some(PredictionIntervals {
            n_windows: args.conformal_windows,
            method: ConformalMethod::parse(&args.conformal_method)?,
            step_size: args.conformal_step,
        })
    };
    Ok(FitOptions {
        val_size: crate::search::final_val_size(args, specs)?,
        prediction_intervals,
        statics: statics.clone(),
        ..FitOptions::default()
    })
}

/// The insample length of model `name` for `--input-size` (`given`): the given length, 3 x
/// `horizon` for -1, and when not given the model's NeuralForecast default (3 x `horizon`) or,
/// for models without one, 2 x `horizon`.
pub(crate) fn input_size(name: &str, horizon: usize, given: Option<i64>) -> Result<usize> {
    match given {
        Some(n) => input_size_for(horizon, n)
            .map_err(|_| Error::Config(format!("--input-size must be at least 1 or -1, got {n}"))),
        None => Ok(ModelSpec::default_input_size(name, horizon)),
    }
}

/// One spec per `--model`, with the common options and `--param`s applied.
pub(crate) fn model_specs(args: &ModelArgs) -> Result<Vec<ModelSpec>> {
    if args.horizon == 0 {
        return Err(Error::Config("--horizon must be at least 1".into()));
    }
    let mut specs = args
        .model
        .iter()
        .zip(crate::search::searched_models(args))
        .map(|(name, searched)| {
            let name = searched.unwrap_or(name.trim());
            let input_size = input_size(name, args.horizon, args.input_size)?;
            let mut spec = ModelSpec::new(name, args.horizon, input_size)?;
            spec.alias = searched.map(auto_alias);
            Ok(spec)
        })
        .collect::<Result<Vec<_>>>()?;
    let scaler = args.scaler.as_deref().map(ScalerType::parse).transpose()?;
    for spec in &mut specs {
        let t = &mut spec.train;
        t.max_steps = args.max_steps.unwrap_or(t.max_steps);
        t.learning_rate = args.learning_rate.unwrap_or(t.learning_rate);
        t.batch_size = args.batch_size.unwrap_or(t.batch_size);
        t.windows_batch_size = args.windows_batch_size.unwrap_or(t.windows_batch_size);
        t.scaler_type = scaler.unwrap_or(t.scaler_type);
        t.early_stop_patience_steps = args
            .early_stop_patience
            .unwrap_or(t.early_stop_patience_steps);
        t.random_seed = args.seed.unwrap_or(t.random_seed);
    }
    apply_exog_options(&mut specs, args)?;
    // `model_path` first: it sets a pretrained model's architecture, which the other
    // parameters then adjust, whatever order they were given in.
    let sets_model_path = |param: &&String| {
        let key = param.split('=').next().unwrap_or_default();
        key.rsplit('.').next().unwrap_or(key).trim() == "model_path"
    };
    let (first, rest): (Vec<&String>, Vec<&String>) = args.params.iter().partition(sets_model_path);
    for param in first.into_iter().chain(rest) {
        apply_param(&mut specs, param)?;
    }
    for spec in &specs {
        spec.validate()?;
    }
    ensemble_members(args, specs)
}

/// The members of an N-BEATS-style ensemble of `specs` when `--ensemble-*` axes are given
/// (auto models are refused there: their search chooses the look-back, loss and seed).
fn ensemble_members(args: &ModelArgs, specs: Vec<ModelSpec>) -> Result<Vec<ModelSpec>> {
    let grid = member_grid(args);
    if grid.is_empty() {
        return Ok(specs);
    }
    if crate::search::has_auto(args) {
        return Err(Error::Config(
            "--ensemble-lookbacks, --ensemble-losses and --ensemble-seeds expand plain models, \
             not auto models"
                .into(),
        ));
    }
    grid.members(&specs)
}

/// The axes `--ensemble-lookbacks`, `--ensemble-losses` and `--ensemble-seeds` give.
fn member_grid(args: &ModelArgs) -> MemberGrid {
    let e = &args.ensemble;
    MemberGrid {
        lookbacks: e.ensemble_lookbacks.clone(),
        losses: e.ensemble_losses.clone(),
        seeds: e.ensemble_seeds.clone(),
    }
}

/// The ensemble `--ensemble` (or an `--ensemble-*` axis, median by default) asks for.
fn ensemble_of(args: &ModelArgs) -> Result<Option<Ensemble>> {
    let e = &args.ensemble;
    let combination = match (&e.ensemble, !member_grid(args).is_empty()) {
        (Some(word), _) => word.parse()?,
        (None, true) => Combination::Median,
        (None, false) if e.ensemble_members => {
            return Err(Error::Config(
                "--ensemble-members needs an ensemble (--ensemble mean|median)".into(),
            ))
        }
        (None, false) => return Ok(None),
    };
    Ok(Some(Ensemble {
        combination,
        keep_members: e.ensemble_members,
    }))
}

/// Applies `KEY=VALUE` (or `MODEL.KEY=VALUE`) to every model that has the key.
fn apply_param(specs: &mut [ModelSpec], param: &str) -> Result<()> {
    let (key, value) = param
        .split_once('=')
        .ok_or_else(|| Error::Config(format!("--param '{param}' must look like KEY=VALUE")))?;
    let (target, key) = match key.split_once('.') {
        Some((model, key)) => (Some(model.trim().to_string()), key.trim()),
        None => (None, key.trim()),
    };
    let mut applied = false;
    for spec in specs.iter_mut() {
        let selected = target
            .as_ref()
            .is_none_or(|t| crate::search::targets(t, spec));
        if selected && spec.has_param(key) {
            spec.set_param(key, value.trim())?;
            applied = true;
        }
    }
    if applied {
        return Ok(());
    }
    match target {
        Some(t) if !specs.iter().any(|s| crate::search::targets(&t, s)) => Err(Error::Config(
            format!("--param {param}: no model named {t} was requested"),
        )),
        _ => {
            let first = specs
                .iter()
                .find(|s| target.as_ref().is_none_or(|t| crate::search::targets(t, s)))
                .unwrap_or(&specs[0]);
            Err(Error::Config(format!(
                "--param {param}: {}",
                first.unknown_param_message(key)
            )))
        }
    }
}

/// Writes the forecasts to `out` (`-` or none: standard output) through the library's one
/// output path, in `format` or else the format `out`'s extension names (CSV by default).
fn write_forecasts(forecasts: &Forecasts, out: Option<&Path>, format: Option<&str>) -> Result<()> {
    let path = out.unwrap_or(Path::new("-"));
    let format = DataFormat::resolve(path, format_option(format)?);
    for warning in &forecasts.warnings {
        // A closed standard error must not stop the forecasts from being written.
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
    output::write_with(path, |w| forecasts.write_as(format, w))
}

/// Leaves `value` to the end of the process instead of freeing it piece by piece: a command
/// that forecast is done and the process exits next, handing its memory back whole. Freeing
/// the forecasts of 100,000 series (2.4 M ids and rows) took about 40 ms of a 2.2 s `predict`.
/// Only for plain memory: nothing in `value` may need its `Drop` to run (a file to flush).
fn left_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// The format named by a `--format` or `--data-format` option.
fn format_option(name: Option<&str>) -> Result<Option<DataFormat>> {
    name.map(DataFormat::parse).transpose()
}

/// With `--explain FILE`: fails unless a model explains its forecasts, FILE can be written
/// and it is not where the forecasts (`out`, standard output when unset) go, before any
/// training.
fn check_explain(nf: &NeuralForecast, path: Option<&Path>, out: Option<&Path>) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let stdout = Path::new("-");
    if path == out.unwrap_or(stdout) {
        let place = if path == stdout {
            "standard output".to_string()
        } else {
            path.display().to_string()
        };
        return Err(Error::Config(format!(
            "--explain and the forecasts would both be written to {place}: give them different \
             files (--out FORECASTS.csv, --explain EXPLAINED.json)"
        )));
    }
    nf.require_explaining_model()?;
    output::check_writable(path)
}

/// With `--explain FILE`: writes the explanations of the forecasts made with `options` to
/// FILE as JSON.
fn write_explanations(
    nf: &NeuralForecast,
    options: PredictOptions<'_>,
    path: Option<&Path>,
) -> Result<()> {
    match path {
        Some(path) => {
            let explanations = nf.explain(options)?;
            output::write_with(path, |w| {
                neuro_divergent::explain::write_json(&explanations, w)
            })
        }
        None => Ok(()),
    }
}

/// Fails on an `--out`, `--plot` or `--save` that cannot be written, before any training.
fn check_outputs(out: Option<&Path>, plot: Option<&Path>, save: Option<&Path>) -> Result<()> {
    if let Some(path) = out {
        output::check_writable(path)?;
    }
    if let Some(path) = plot {
        crate::plotting::check_path(path)?;
    }
    if let Some(dir) = save {
        neuro_divergent::checkpoint::check_save_dir(dir)?;
    }
    Ok(())
}
