//! The model store from the command line: publishing after a fit, loading for `predict`, and
//! the `models` command.

use std::collections::BTreeMap;
use std::path::Path;

use neuro_divergent::ensemble::ENSEMBLE_COLUMN;
use neuro_divergent::{output, Error, Forecasts, NeuralForecast};
use neuro_divergent_store::{
    parse_tag, ModelRef, ModelStore, OpenOptions, PublishOptions, Selector, StoreError, VersionInfo,
};

use crate::args::{ModelArgs, ModelsAction, ModelsArgs};
use crate::error::CliResult;

/// The store used when `--name` (or `--model`) is given without `--store`.
pub const DEFAULT_STORE: &str = "sqlite:models.db";

/// A single-threaded runtime for the store's I/O.
pub(crate) fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Train(format!("cannot start the store's I/O runtime: {e}")).into())
}

/// A store opened, and a publication checked, before training, so that a bad name or an
/// unreachable store fails at once rather than after the fit.
pub struct Publisher {
    runtime: tokio::runtime::Runtime,
    store: ModelStore,
    name: String,
    options: PublishOptions,
}

impl Publisher {
    /// The publisher `args` ask for (`--name`, `--store`, `--alias`, `--tag`), if any.
    pub fn prepare(args: &ModelArgs) -> CliResult<Option<Publisher>> {
        let Some(name) = &args.name else {
            for (given, flag) in [
                (args.store.is_some(), "--store"),
                (!args.aliases.is_empty(), "--alias"),
                (!args.tags.is_empty(), "--tag"),
            ] {
                if given {
                    return Err(Error::Config(format!(
                        "{flag} publishes to a model store and needs --name NAME"
                    ))
                    .into());
                }
            }
            return Ok(None);
        };
        neuro_divergent_store::check_name(name)?;
        let mut options = PublishOptions::default();
        for alias in &args.aliases {
            neuro_divergent_store::check_alias(alias)?;
            options.aliases.push(alias.clone());
        }
        for tag in &args.tags {
            let (key, value) = parse_tag(tag)?;
            options.tags.insert(key, value);
        }
        let runtime = runtime()?;
        let url = args.store.as_deref().unwrap_or(DEFAULT_STORE);
        let store = runtime.block_on(ModelStore::open(url))?;
        Ok(Some(Publisher {
            runtime,
            store,
            name: name.clone(),
            options,
        }))
    }

    /// Publishes `nf` with `scores` beside those of its fit, and says which version it became.
    pub fn publish(mut self, nf: &NeuralForecast, scores: BTreeMap<String, f64>) -> CliResult<()> {
        self.options.scores.extend(scores);
        let info = self
            .runtime
            .block_on(self.store.publish(nf, &self.name, &self.options))?;
        let aliases = if info.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", info.aliases.join(", "))
        };
        eprintln!(
            "published {}@{}{aliases} to {}",
            info.name,
            info.version,
            self.store.address()
        );
        self.runtime.block_on(self.store.close());
        Ok(())
    }
}

/// Loads `reference` from the store at `url` (default [`DEFAULT_STORE`], which must exist).
pub fn load(url: Option<&str>, reference: &str) -> CliResult<NeuralForecast> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let store = open_existing(url.unwrap_or(DEFAULT_STORE)).await?;
        let loaded = store.load(reference).await?;
        store.close().await;
        Ok(loaded.forecaster)
    })
}

/// Opens the store at `url` for a command that reads or changes it (a missing SQLite file is an
/// error, not a new store).
pub(crate) async fn open_existing(url: &str) -> Result<ModelStore, StoreError> {
    let options = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    ModelStore::open_with(url, options).await
}

/// Mean absolute and root mean squared error of each model's point forecasts in
/// cross-validation results (`cv/NHITS/mae`, `cv/NHITS/rmse`).
pub fn cross_validation_scores(
    nf: &NeuralForecast,
    forecasts: &Forecasts,
) -> BTreeMap<String, f64> {
    let mut scores = BTreeMap::new();
    let Some(y) = &forecasts.y else { return scores };
    let ensemble = nf.ensemble().map(|_| ENSEMBLE_COLUMN.to_string());
    for name in nf.model_names().iter().chain(&ensemble) {
        let Some(values) = forecasts.column(name) else {
            continue;
        };
        let n = values.len().max(1) as f64;
        let errors = values.iter().zip(y).map(|(f, a)| f - a);
        let mae = errors.clone().map(f64::abs).sum::<f64>() / n;
        let rmse = (errors.map(|e| e * e).sum::<f64>() / n).sqrt();
        scores.insert(format!("cv/{name}/mae"), mae);
        scores.insert(format!("cv/{name}/rmse"), rmse);
    }
    scores
}

/// `models list|show|alias|tag|delete`.
pub fn run_models(args: &ModelsArgs) -> CliResult<()> {
    runtime()?.block_on(async {
        let store = open_existing(&args.store).await?;
        let result = models_action(&store, &args.action).await;
        store.close().await;
        result
    })
}

async fn models_action(store: &ModelStore, action: &ModelsAction) -> CliResult<()> {
    match action {
        ModelsAction::List { name, json } => {
            let versions = store.list(name.as_deref()).await?;
            print(&if *json {
                to_json(&versions)
            } else {
                table(&versions)
            })?;
        }
        ModelsAction::Show { reference, json } => {
            let info = store.show(reference).await?;
            print(&if *json {
                to_json(&info)
            } else {
                describe(&info)
            })?;
        }
        ModelsAction::Alias {
            reference,
            alias,
            remove: true,
        } => {
            neuro_divergent_store::check_name(reference)?;
            store.remove_alias(reference, alias).await?;
            eprintln!("removed alias {reference}@{alias}");
        }
        ModelsAction::Alias {
            reference, alias, ..
        } => {
            let reference = ModelRef::parse(reference)?;
            let version = store.resolve(&reference).await?;
            let previous = store.set_alias(&reference.name, alias, version).await?;
            let moved = previous.map_or(String::new(), |p| format!(" (was version {p})"));
            eprintln!("{}@{alias} -> version {version}{moved}", reference.name);
        }
        ModelsAction::Tag {
            reference,
            tags,
            remove,
        } => {
            let set = tags
                .iter()
                .map(|t| parse_tag(t))
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            let info = store.tag(reference, &set, remove).await?;
            eprintln!(
                "{}@{} tags: {}",
                info.name,
                info.version,
                format_tags(&info.tags)
            );
        }
        ModelsAction::Delete { reference, force } => {
            let parsed = ModelRef::parse(reference)?;
            let Selector::Version(version) = parsed.selector else {
                return Err(StoreError::Invalid(format!(
                    "delete takes NAME@VERSION (a number), not '{reference}'"
                ))
                .into());
            };
            store.delete(&parsed.name, version, *force).await?;
            eprintln!("deleted {}@{version}", parsed.name);
        }
    }
    Ok(())
}

/// Writes `text` and a newline to standard output (a closed pipe is an error, not a panic).
pub(crate) fn print(text: &str) -> CliResult<()> {
    Ok(output::write_bytes(
        Path::new("-"),
        format!("{text}\n").as_bytes(),
    )?)
}

/// `value` as indented JSON.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("store records serialise to JSON")
}

fn format_tags(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One line per version under a header, columns padded to their widest cell.
fn table(versions: &[VersionInfo]) -> String {
    let header = [
        "NAME", "VERSION", "ALIASES", "MODELS", "SERIES", "CREATED", "TAGS",
    ];
    let rows: Vec<[String; 7]> = versions
        .iter()
        .map(|v| {
            [
                v.name.clone(),
                v.version.to_string(),
                v.aliases.join(","),
                v.models.join(","),
                v.data.as_ref().map_or("-".into(), |d| d.series.to_string()),
                v.created_at.chars().take(19).collect(),
                format_tags(&v.tags),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    std::iter::once(line(header.to_vec()))
        .chain(
            rows.iter()
                .map(|row| line(row.iter().map(String::as_str).collect())),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything about one version, one `key: value` line each.
fn describe(info: &VersionInfo) -> String {
    let mut lines = vec![
        format!("name:            {}", info.name),
        format!("version:         {}", info.version),
        format!("aliases:         {}", info.aliases.join(", ")),
        format!("created:         {}", info.created_at),
        format!("library version: {}", info.library_version),
        format!("models:          {}", info.models.join(", ")),
    ];
    if let Some(data) = &info.data {
        lines.push(format!(
            "data:            {} ({} series, {} rows, {} to {}, sha256 {})",
            data.source, data.series, data.rows, data.first_ds, data.last_ds, data.sha256
        ));
    }
    lines.extend(
        info.scores
            .iter()
            .map(|(k, v)| format!("score:           {k} = {v}")),
    );
    lines.extend(
        info.tags
            .iter()
            .map(|(k, v)| format!("tag:             {k} = {v}")),
    );
    lines.push(format!(
        "weights:         {} bytes, sha256 {}",
        info.weights_bytes, info.weights_sha256
    ));
    lines.push(format!("parameters:      {}", to_json(&info.params)));
    lines.join("\n")
}
