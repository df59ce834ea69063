//! What the store says about a version, what a publisher adds to it, and how its rows decode.

use std::collections::BTreeMap;

use neuro_divergent::data::DataFingerprint;
use neuro_divergent::NeuralForecast;
use serde::Serialize;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::{Result, StoreError};

/// One published version: everything but the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    /// The model name.
    pub name: String,
    /// The version number (1, 2, … per name, never reused).
    pub version: i64,
    /// When it was published, in milliseconds since 1970-01-01 UTC.
    pub created_at_ms: i64,
    /// When it was published, as an RFC 3339 UTC time.
    pub created_at: String,
    /// The neuro-divergent version that published it.
    pub library_version: String,
    /// The forecast models it holds (`NHITS`, `LSTM`, …).
    pub models: Vec<String>,
    /// Each model's configuration (hyperparameters and training settings).
    pub params: serde_json::Value,
    /// The data the models were fitted on.
    pub data: Option<DataFingerprint>,
    /// Scores of the fit (validation losses, cross-validation metrics), by name.
    pub scores: BTreeMap<String, f64>,
    /// Free-form tags.
    pub tags: BTreeMap<String, String>,
    /// The aliases that point to this version.
    pub aliases: Vec<String>,
    /// SHA-256 of the weights.
    pub weights_sha256: String,
    /// Size of the weights in bytes.
    pub weights_bytes: i64,
}

/// What a publisher adds to the fitted models.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Aliases to point at the new version (moved there if they exist).
    pub aliases: Vec<String>,
    /// Free-form tags.
    pub tags: BTreeMap<String, String>,
    /// Scores to record beside those of the fit itself (for example cross-validation metrics).
    pub scores: BTreeMap<String, f64>,
}

/// A version loaded from the store: the fitted models, ready to forecast, and what the store
/// says about them.
pub struct LoadedModel {
    /// The fitted models.
    pub forecaster: NeuralForecast,
    /// The version's record.
    pub info: VersionInfo,
}

/// The scores a fit produced: each model's last training loss and, when it validated, its
/// last validation loss (`NHITS/train_loss`, `NHITS/valid_loss`). A model that took no training
/// step (a pretrained model forecasting as it is) has neither.
pub(crate) fn fit_scores(forecaster: &NeuralForecast) -> BTreeMap<String, f64> {
    let mut scores = BTreeMap::new();
    for (name, report) in forecaster
        .model_names()
        .iter()
        .zip(forecaster.train_reports())
    {
        let Some(report) = report.filter(|r| r.steps > 0) else {
            continue;
        };
        scores.insert(format!("{name}/train_loss"), report.final_train_loss);
        if let Some((_, loss)) = report.val_losses.last() {
            scores.insert(format!("{name}/valid_loss"), *loss);
        }
    }
    scores
}

/// The metadata columns of `nd_versions` (table alias `v`), in the order [`info_from_row`]
/// reads them by name.
pub(crate) const INFO_COLUMNS: &str = "v.name, v.version, v.created_at, v.library_version, \
     v.model_names, v.params, v.data, v.scores, v.weights_sha256, \
     CAST(length(v.weights) AS BIGINT) AS weights_bytes";

/// Decodes the columns of [`INFO_COLUMNS`] (tags and aliases are filled in later).
pub(crate) fn info_from_row<R>(row: &R, store: &str) -> Result<VersionInfo>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: ColumnIndex<R>,
{
    let name: String = get(row, "name", store)?;
    let version: i64 = get(row, "version", store)?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt {
        store: store.to_string(),
        name: name.clone(),
        version,
        message: format!("unreadable {what}: {e}"),
    };
    let data: Option<String> = get(row, "data", store)?;
    let created_at_ms: i64 = get(row, "created_at", store)?;
    Ok(VersionInfo {
        created_at: format_time(created_at_ms),
        created_at_ms,
        library_version: get(row, "library_version", store)?,
        models: serde_json::from_str(&get::<_, String>(row, "model_names", store)?)
            .map_err(|e| corrupt("model names", e))?,
        params: serde_json::from_str(&get::<_, String>(row, "params", store)?)
            .map_err(|e| corrupt("parameters", e))?,
        data: data
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|e| corrupt("data fingerprint", e))?,
        scores: serde_json::from_str(&get::<_, String>(row, "scores", store)?)
            .map_err(|e| corrupt("scores", e))?,
        tags: BTreeMap::new(),
        aliases: Vec::new(),
        weights_sha256: get(row, "weights_sha256", store)?,
        weights_bytes: get(row, "weights_bytes", store)?,
        name,
        version,
    })
}

/// One column of a row.
pub(crate) fn get<'r, R, T>(row: &'r R, column: &'r str, store: &str) -> Result<T>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: ColumnIndex<R>,
{
    row.try_get(column).map_err(|e| StoreError::Database {
        store: store.to_string(),
        message: format!("column {column}: {e}"),
    })
}

/// Milliseconds since the epoch as an RFC 3339 UTC time.
pub(crate) fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}
