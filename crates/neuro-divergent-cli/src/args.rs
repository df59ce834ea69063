//! Command-line arguments (the CLI contract: other tools depend on these names).

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use neuro_divergent::ComputeDevice;

/// The argument parser, with the version lines (known only at run time: the CPU's kernels)
/// filled in. Completions and man pages are generated from it too.
pub fn command() -> clap::Command {
    Cli::command()
        .version(crate::machine::short_version())
        .long_version(crate::machine::long_version())
}

/// Parses the process's arguments; on a usage error prints it and exits with code 2.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Neural time-series forecasting from the command line: NeuralForecast's models (NHITS, NBEATS,
/// LSTM, PatchTST, TFT, ...) and the pretrained Chronos models.
#[derive(Debug, Parser)]
#[command(name = "neuro-divergent", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The thread count requested by the command, if any.
    pub fn threads(&self) -> Option<usize> {
        match &self.command {
            Command::Forecast(a) | Command::Fit(a) => a.threads,
            Command::Cv(c) => c.model.threads,
            Command::Longhorizon(l) => l.model.threads,
            Command::Predict(p) => p.threads,
            Command::Evaluate(_)
            | Command::Models(_)
            | Command::Keys(_)
            | Command::Check(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Info => None,
            // Each forecast runs on one core; the node runs --workers of them side by side.
            Command::Serve(_) => Some(1),
            Command::Bench(b) => b.threads,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit the models and forecast the next `horizon` steps of every series.
    Forecast(ModelArgs),
    /// Fit the models and save them (`--save DIR` required).
    Fit(ModelArgs),
    /// Forecast with saved models.
    Predict(PredictArgs),
    /// Rolling-origin cross-validation.
    Cv(CvArgs),
    /// The long-horizon benchmark protocol on a wide CSV (`date` and one column per variable):
    /// fixed splits, standard scaling, every test window one step apart, MSE and MAE per model.
    Longhorizon(LongHorizonArgs),
    /// Score forecasts against actuals.
    Evaluate(EvaluateArgs),
    /// List, show, alias, tag and delete the versions in a model store.
    Models(ModelsArgs),
    /// Answer forecasts over HTTP from a model store (one node of a deployment).
    Serve(ServeArgs),
    /// Create, list and revoke the API keys of `serve --auth` (kept in the model store).
    Keys(KeysArgs),
    /// Read and validate a panel, then print what it holds as JSON (series, rows, frequency,
    /// time span, extra columns, content hash, seconds to read and validate, and the seconds
    /// of validation among them).
    Check(CheckArgs),
    /// Measure training throughput, prediction latency and memory (benchmark, not a test).
    Bench(BenchArgs),
    /// Print the CPU, its vector extensions, the matrix kernels that run on it and the threads.
    Info,
    /// Print a shell completion script to standard output, e.g.
    /// `source <(neuro-divergent completions bash)`.
    Completions(CompletionsArgs),
    /// Write the man pages (one per command), generated from these definitions.
    Man(ManArgs),
}

/// Options of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write every page into (neuro-divergent.1, neuro-divergent-forecast.1, ...;
    /// created if missing). Without it, the main page goes to standard output.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Data, models and training options shared by `forecast`, `fit` and `cv`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Long-format data with columns unique_id, ds, y: CSV, Parquet, Arrow IPC (.arrow,
    /// .feather), JSON (an array of records) or JSON lines, by extension; - for standard input.
    #[arg(long)]
    pub data: PathBuf,
    /// The format of --data, overriding its extension (for standard input, .txt, ...):
    /// csv, parquet, arrow, json or jsonl.
    #[arg(long, value_name = "FORMAT")]
    pub data_format: Option<String>,
    /// The format of the forecasts, overriding --out's extension (for standard output, ...):
    /// csv, parquet, arrow, json or jsonl (default: by extension, else csv).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Forecast horizon h.
    #[arg(long)]
    pub horizon: usize,
    /// Comma-separated models: nhits, nbeats, nbeatsx, mlp, rnn, lstm, gru, dilated_rnn, tcn, bitcn, deepar, dlinear, nlinear, patchtst, tide, vanilla_transformer, informer, autoformer, fedformer, timesnet; auto_<model> (auto_nhits, ...) searches the model's hyperparameters first.
    #[arg(long, default_value = "nhits", value_delimiter = ',')]
    pub model: Vec<String>,
    /// Historic exogenous columns of the data (comma-separated), read by every model that takes
    /// exogenous inputs (MLP, NHITS, NBEATSx, RNN, LSTM, GRU, TCN, BiTCN, DilatedRNN, DeepAR).
    #[arg(long, value_delimiter = ',')]
    pub hist_exog: Vec<String>,
    /// Future exogenous columns of the data (comma-separated); forecasting needs their values
    /// over the horizon (--futr).
    #[arg(long, value_delimiter = ',')]
    pub futr_exog: Vec<String>,
    /// Static exogenous columns (comma-separated) of the --static file.
    #[arg(long, value_delimiter = ',')]
    pub stat_exog: Vec<String>,
    /// Static values: CSV with unique_id and one numeric column per static variable.
    #[arg(long = "static", value_name = "FILE.csv")]
    pub statics: Option<PathBuf>,
    /// Future exogenous values over the horizon: CSV with unique_id, ds and the future columns
    /// (forecast only; cv reads them from the data).
    #[arg(long, value_name = "FILE.csv")]
    pub futr: Option<PathBuf>,
    /// Calendar features generated from ds as future exogenous columns (comma-separated):
    /// minute, hour, dayofweek, day, dayofyear, week, month.
    #[arg(long, value_delimiter = ',')]
    pub calendar: Vec<String>,
    /// Features of y generated as historic exogenous columns (comma-separated): lag:K,
    /// rolling_mean:W, rolling_std:W, ema:ALPHA.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Frequency alias (H, D, W, M, MS, Q, Y, 15min, ... or an integer step for integer ds);
    /// inferred from the data when omitted.
    #[arg(long)]
    pub freq: Option<String>,
    /// Insample window length; -1 for 3 x horizon, as in NeuralForecast (default: 3 x horizon
    /// for the models NeuralForecast gives that default: RNN, LSTM, GRU, TCN, DilatedRNN,
    /// DeepAR; 2 x horizon for the others).
    #[arg(long, allow_negative_numbers = true)]
    pub input_size: Option<i64>,
    /// Training steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Series per training step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Windows per training step.
    #[arg(long)]
    pub windows_batch_size: Option<usize>,
    /// Window scaler: identity, standard, robust or minmax.
    #[arg(long)]
    pub scaler: Option<String>,
    /// Points at the end of each series held out for validation.
    #[arg(long, default_value_t = 0)]
    pub val_size: usize,
    /// Validation checks without improvement before stopping early.
    #[arg(long)]
    pub early_stop_patience: Option<i64>,
    /// Random seed (NeuralForecast's random_seed: the same initial weights and windows).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Any hyperparameter by its NeuralForecast name, KEY=VALUE (repeatable); prefix the key
    /// with a model name (nhits.mlp_units=...) to set it on that model only.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Threads for tensor work (default: the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Device to train and forecast on: cpu, cuda or cuda:N (CUDA needs a `--features cuda`
    /// build).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: ComputeDevice,
    /// Conformal prediction-interval levels in percent (e.g. 80,95): calibrates intervals for the
    /// point models during the fit and adds `-lo-L` / `-hi-L` columns to the forecasts.
    #[arg(long, value_delimiter = ',')]
    pub levels: Vec<f64>,
    /// Calibration windows of the conformal intervals (default: chosen from the data for
    /// conformal_pooled, 2 for NeuralForecast's methods).
    #[arg(long)]
    pub conformal_windows: Option<usize>,
    /// Distance between the calibration cutoffs (default: the horizon for conformal_pooled,
    /// closer only when the series are too short; 1 for NeuralForecast's methods).
    #[arg(long)]
    pub conformal_step: Option<usize>,
    /// conformal_pooled (scaled errors pooled across series, finite-sample quantile),
    /// or NeuralForecast's per-series conformal_distribution or conformal_error.
    #[arg(long, default_value = "conformal_pooled")]
    pub conformal_method: String,
    /// Output file, its format by extension (.csv, .parquet, .arrow, .json, .jsonl; default:
    /// CSV on standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the fitted models to this directory.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Publish the fitted models to the model store as the next version of NAME.
    #[arg(long)]
    pub name: Option<String>,
    /// The model store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (default with
    /// --name: sqlite:models.db).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Aliases to point at the published version (comma-separated; moved if they exist).
    #[arg(long = "alias", value_delimiter = ',')]
    pub aliases: Vec<String>,
    /// Tags of the published version, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Draw history, forecasts and interval bands of a few series to FILE.svg or FILE.png
    /// (forecast only).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write what the interpretable models (TFT) weighed for each forecast to FILE.json:
    /// variable importances per step and attention weights (forecast only).
    #[arg(long, value_name = "FILE.json")]
    pub explain: Option<PathBuf>,
    /// Hyperparameter search of the `auto_*` models.
    #[command(flatten)]
    pub search: SearchArgs,
    /// An ensemble of the models.
    #[command(flatten)]
    pub ensemble: EnsembleArgs,
}

/// An `Ensemble` column combining the models' point forecasts, and N-BEATS-style ensembles:
/// each model trained over several look-backs, losses and seeds.
#[derive(Debug, Args)]
pub struct EnsembleArgs {
    /// Combine the models' forecasts into an Ensemble column: mean or median (default median
    /// when an --ensemble-* axis is given).
    #[arg(long, value_name = "mean|median")]
    pub ensemble: Option<String>,
    /// Keep the members' own columns beside Ensemble.
    #[arg(long)]
    pub ensemble_members: bool,
    /// Train each model with these input windows, in multiples of the horizon (e.g. 2,3,4).
    #[arg(long, value_delimiter = ',', value_name = "MULTIPLES")]
    pub ensemble_lookbacks: Vec<usize>,
    /// Train each model with each of these losses (e.g. smape,mase:24,mape).
    #[arg(long, value_delimiter = ',', value_name = "LOSSES")]
    pub ensemble_losses: Vec<String>,
    /// Train each model with each of these seeds (e.g. 1,2,3).
    #[arg(long, value_delimiter = ',', value_name = "SEEDS")]
    pub ensemble_seeds: Vec<u64>,
}

/// How the `auto_*` models (auto_nhits, auto_lstm, ...: NeuralForecast's Auto models) search
/// their hyperparameters. Trials are scored on the last --val-size points (default: the
/// horizon) of each series; the best configuration is then fitted like any model.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Trials per auto model (NeuralForecast's num_samples).
    #[arg(long, default_value_t = 10)]
    pub num_samples: usize,
    /// How trials are chosen: random (NeuralForecast's default) or tpe (Optuna's).
    #[arg(long, default_value = "random")]
    pub search: String,
    /// The search space as JSON, replacing NeuralForecast's default: {"learning_rate":
    /// {"loguniform": [1e-4, 1e-1]}, "max_steps": {"choice": [500, 1000]}, ...}.
    #[arg(long, value_name = "FILE.json")]
    pub space: Option<PathBuf>,
    /// Stop poor trials early by successive halving (ASHA): at validation checks after
    /// --halving-grace steps and that times 3, 9, ... only the best third continues.
    #[arg(long)]
    pub halving: bool,
    /// Steps before successive halving's first rung (default: the models' val_check_steps).
    #[arg(long, value_name = "STEPS")]
    pub halving_grace: Option<usize>,
    /// Keep the validation part out of the final fit too (NeuralForecast's refit_with_val),
    /// instead of fitting the chosen configuration on the whole series.
    #[arg(long)]
    pub refit_with_val: bool,
    /// Write every trial (configuration, validation loss, steps, seconds) to FILE: .csv or
    /// .json.
    #[arg(long, value_name = "FILE")]
    pub trials: Option<PathBuf>,
}

/// Options of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Checkpoint directory written by `fit --save` or `forecast --save`.
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    pub model_dir: Option<PathBuf>,
    /// A version in the model store: NAME (the newest), NAME@VERSION or NAME@ALIAS.
    #[arg(long, value_name = "NAME[@VERSION|@ALIAS]")]
    pub model: Option<String>,
    /// The model store of --model (default: sqlite:models.db).
    #[arg(long, value_name = "URL", requires = "model")]
    pub store: Option<String>,
    /// Forecast these series instead of those seen at fit time (CSV, Parquet, Arrow IPC, JSON
    /// or JSON lines, by extension; - for standard input).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The format of --data, overriding its extension: csv, parquet, arrow, json, jsonl.
    #[arg(long, value_name = "FORMAT")]
    pub data_format: Option<String>,
    /// The format of the forecasts, overriding --out's extension (for standard output, ...):
    /// csv, parquet, arrow, json or jsonl (default: by extension, else csv).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Conformal interval levels in percent (the models must have been fitted with --levels).
    #[arg(long, value_delimiter = ',')]
    pub levels: Vec<f64>,
    /// Future exogenous values over the horizon: CSV with unique_id, ds and the future columns.
    #[arg(long, value_name = "FILE.csv")]
    pub futr: Option<PathBuf>,
    /// Static values replacing those saved with the models (CSV: unique_id, columns).
    #[arg(long = "static", value_name = "FILE.csv")]
    pub statics: Option<PathBuf>,
    /// Output file, its format by extension (.csv, .parquet, .arrow, .json, .jsonl; default:
    /// CSV on standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write what the interpretable models (TFT) weighed for each forecast to FILE.json.
    #[arg(long, value_name = "FILE.json")]
    pub explain: Option<PathBuf>,
    /// Threads for tensor work (default: the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Device to train and forecast on: cpu, cuda or cuda:N (CUDA needs a `--features cuda`
    /// build).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: ComputeDevice,
}

/// Options of `cv`.
#[derive(Debug, Args)]
pub struct CvArgs {
    /// Data, models and training options.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Number of forecast windows.
    #[arg(long)]
    pub n_windows: usize,
    /// Distance between cutoffs (default: horizon).
    #[arg(long)]
    pub step_size: Option<usize>,
}

/// Options of `longhorizon`.
#[derive(Debug, Args)]
pub struct LongHorizonArgs {
    /// Data (`--data` is the wide CSV), models and training options; `--out` receives the
    /// results (`model,horizon,mse,mae,windows`).
    #[command(flatten)]
    pub model: ModelArgs,
    /// etth, ettm or TRAIN/VAL/TEST percentages such as 70/10/20 (default: from the file name,
    /// ETTh* and ETTm* as theirs, others 70/10/20).
    #[arg(long)]
    pub split: Option<String>,
    /// Score every test window, not only whole batches of 32 as the published tables do.
    #[arg(long)]
    pub all_windows: bool,
}

/// Options of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Forecasts CSV: unique_id, ds, one column per model.
    #[arg(long)]
    pub forecasts: PathBuf,
    /// Actuals CSV: unique_id, ds, y.
    #[arg(long)]
    pub actuals: PathBuf,
    /// Training data (needed by MASE and OWA).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Season length of MASE's naive scale.
    #[arg(long, default_value_t = 1)]
    pub season_length: usize,
    /// Naive2 forecasts (needed by OWA).
    #[arg(long)]
    pub naive2: Option<PathBuf>,
    /// Comma-separated metrics: mae, mse, rmse, mape, smape, mase, owa, and for interval
    /// columns (`NHITS-lo-80`...) coverage, width, quantile_loss, scaled_crps.
    #[arg(long, default_value = "mae,rmse,smape", value_delimiter = ',')]
    pub metrics: Vec<String>,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, value_name = "URL", default_value = crate::store::DEFAULT_STORE)]
    pub store: String,
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// Forecasts computed at once, one core each (default: the physical cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Requests admitted at once; more get 503 with Retry-After (default: 64 per worker).
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Largest request body in MiB.
    #[arg(long, default_value_t = 16)]
    pub max_body_mb: usize,
    /// Most series in one request.
    #[arg(long, default_value_t = 10_000)]
    pub max_series: usize,
    /// Time limit of one request in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Seconds between checks of the versions that names and aliases point to.
    #[arg(long, default_value_t = 2.0)]
    pub refresh: f64,
    /// MiB of recent responses kept for identical requests (0: off).
    #[arg(long, default_value_t = 64)]
    pub cache_mb: usize,
    /// Model versions kept in memory.
    #[arg(long, default_value_t = 16)]
    pub max_models: usize,
    /// Models to load at start (NAME, NAME@VERSION or NAME@ALIAS; comma-separated); /readyz
    /// answers 200 once they are loaded.
    #[arg(long, value_delimiter = ',', value_name = "REF")]
    pub preload: Vec<String>,
    /// Milliseconds to wait for more requests for the same version, to compute them in one
    /// forward pass (0: no batching).
    #[arg(long, default_value_t = 0)]
    pub batch_window_ms: u64,
    /// Most requests in one batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Require an API key (`keys create`) on the model routes: Authorization: Bearer KEY.
    #[arg(long)]
    pub auth: bool,
}

/// Options of `keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// The model store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, value_name = "URL", default_value = crate::store::DEFAULT_STORE, global = true)]
    pub store: String,
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
}

/// `keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; it is printed once, on standard output.
    Create {
        /// What the key may do (comma-separated): forecast, publish.
        #[arg(long, value_delimiter = ',', default_value = "forecast")]
        scope: Vec<String>,
        /// What the key is for (shown by `keys list`).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Every key (never its secret), as a table or JSON.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id (nodes refuse it within their refresh interval).
    Revoke {
        /// The key's id (as `keys list` shows it).
        id: String,
    },
}

/// Options of `models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// The model store: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE.
    #[arg(long, value_name = "URL", default_value = crate::store::DEFAULT_STORE, global = true)]
    pub store: String,
    /// What to do.
    #[command(subcommand)]
    pub action: ModelsAction,
}

/// `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Every version (of one model when NAME is given), as a table or JSON.
    List {
        /// Only this model's versions.
        name: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything the store records about one version.
    Show {
        /// NAME, NAME@VERSION or NAME@ALIAS.
        reference: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Point an alias at a version (creating or moving it), or remove it with --remove.
    Alias {
        /// The version: NAME@VERSION, NAME@ALIAS or NAME (the newest); with --remove, NAME.
        reference: String,
        /// The alias (production, staging, ...).
        alias: String,
        /// Remove the alias instead.
        #[arg(long)]
        remove: bool,
    },
    /// Set tags on a version (KEY=VALUE), or remove them (--remove KEY).
    Tag {
        /// NAME, NAME@VERSION or NAME@ALIAS.
        reference: String,
        /// Tags to set, KEY=VALUE.
        tags: Vec<String>,
        /// Tag keys to remove (repeatable).
        #[arg(long = "remove", value_name = "KEY")]
        remove: Vec<String>,
    },
    /// Delete one version (refused while an alias points to it, unless --force).
    Delete {
        /// NAME@VERSION.
        reference: String,
        /// Also remove the aliases that point to it.
        #[arg(long)]
        force: bool,
    },
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Long-format data (CSV, Parquet, Arrow IPC, JSON or JSON lines, by extension; - for
    /// standard input).
    #[arg(long)]
    pub data: PathBuf,
    /// The format of --data, overriding its extension: csv, parquet, arrow, json, jsonl.
    #[arg(long, value_name = "FORMAT")]
    pub data_format: Option<String>,
    /// Frequency alias (inferred from the data when unset).
    #[arg(long)]
    pub freq: Option<String>,
}

/// Options of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Long-format panel to train on: CSV, Parquet, Arrow, JSON or JSON lines, by extension.
    #[arg(long)]
    pub data: PathBuf,
    /// Forecast horizon h.
    #[arg(long)]
    pub horizon: usize,
    /// Insample window length; -1 for 3 x horizon, as in NeuralForecast (default: 3 x horizon
    /// for the models NeuralForecast gives that default: RNN, LSTM, GRU, TCN, DilatedRNN,
    /// DeepAR; 2 x horizon for the others).
    #[arg(long, allow_negative_numbers = true)]
    pub input_size: Option<i64>,
    /// Model to measure.
    #[arg(long, default_value = "nhits")]
    pub model: String,
    /// Training steps to time.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Series per training step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Windows per training step.
    #[arg(long)]
    pub windows_batch_size: Option<usize>,
    /// Hyperparameters by NeuralForecast name, KEY=VALUE (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Threads for tensor work (default: the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Device to train and forecast on: cpu, cuda or cuda:N (CUDA needs a `--features cuda`
    /// build).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: ComputeDevice,
    /// Kernel of the recurrent layers (RNN, LSTM, GRU): the fused recurrence, or Candle's
    /// generic ops one step at a time, to compare the two.
    #[arg(long, value_enum, default_value_t = RecurrentKernelArg::Fused)]
    pub recurrent_kernel: RecurrentKernelArg,
}

/// `--recurrent-kernel` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecurrentKernelArg {
    /// The whole sequence as one op with its own backward pass.
    Fused,
    /// Candle's generic ops, one step at a time.
    Generic,
}

/// `--device` values.
fn parse_device(text: &str) -> Result<ComputeDevice, String> {
    text.parse()
        .map_err(|e: neuro_divergent::Error| e.to_string())
}
