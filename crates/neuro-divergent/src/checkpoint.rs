//! Checkpoints: a directory holding `manifest.json` (configs, frequency, series tails, library
//! version, checksums) and one safetensors file of weights.
//!
//! The same two parts can live in memory ([`CheckpointBytes`]), which is how a model store keeps
//! them.
//!
//! Saving is atomic: the weights go to a new content-named file, then the manifest is written to
//! a temporary file and renamed over the old one, both through [`crate::output`] (so a file of
//! the checkpoint that is a link to a file elsewhere stays a link and its target is replaced). Until that rename the previous checkpoint stays
//! whole; after it the new one is. Loading verifies both checksums before using anything.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::auto::Searches;
use crate::conformal::ConformityScores;
use crate::data::{DataFingerprint, DsStyle, Freq};
use crate::ensemble::Ensemble;
use crate::error::{Error, Result};
use crate::exog::StaticTable;
use crate::forecast::{FittedModel, FittedState, NeuralForecast, SeriesTail};
use crate::models::ModelSpec;
use crate::output;
use crate::pipeline::checked_beside;
use crate::preprocess::FeatureConfig;
use crate::tail_tensors;

/// Identifies our manifests.
const FORMAT: &str = "neuro-divergent-checkpoint";
/// Version of the checkpoint layout this library writes and reads. Version 2: N-BEATS, NBEATSx
/// and N-HiTS read the insample window newest point first and N-HiTS pools from its start,
/// exogenous inputs are flattened time step by time step, and NBEATSx's exogenous stack takes its
/// forecast coefficients first (all as NeuralForecast does); version 1 weights would be misread.
/// Version 3: the series tails' values and exogenous columns are tensors in the weights file
/// (`tail_tensors`), the manifest lists each series' id and last `ds`; version 2 checkpoints,
/// which hold them in the manifest, are still read.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest checkpoint layout this library reads (see [`FORMAT_VERSION`]).
const OLDEST_READ_VERSION: u32 = 2;
const MANIFEST: &str = "manifest.json";

/// The outer manifest: the body's exact text travels with its checksum.
#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    format: String,
    body_sha256: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

#[derive(Serialize, Deserialize)]
struct Body {
    format_version: u32,
    library_version: String,
    freq: String,
    /// Kept beside `ds_style` so that earlier library versions read the file.
    date_only: bool,
    /// Absent in checkpoints written before styles were kept: plain ISO text then.
    #[serde(default)]
    ds_style: Option<DsStyle>,
    models: Vec<ModelSpec>,
    model_names: Vec<String>,
    weights_file: String,
    weights_sha256: String,
    /// Each series' id and last `ds`; version 2 also holds the values and columns, which
    /// version 3 keeps in the weights.
    series: Vec<SeriesTail>,
    #[serde(default)]
    conformity: Option<ConformityScores>,
    #[serde(default)]
    features: FeatureConfig,
    #[serde(default)]
    statics: Option<StaticTable>,
    #[serde(default)]
    data: Option<DataFingerprint>,
    /// The hyperparameter searches behind `Auto` models, by model name.
    #[serde(default, skip_serializing_if = "Searches::is_empty")]
    searches: Searches,
    /// The ensemble of the models, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ensemble: Option<Ensemble>,
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The model tensors of the safetensors file `bytes` (read from `path`), by name
/// (`{model}.{parameter}`), whose SHA-256 must be `expected`; `tails`, when given, are filled
/// from the file's series tail tensors (read in place, see [`tail_tensors::fill`]). With a
/// second thread free the checksum is computed beside the decoding; a mismatch is reported
/// before any decoding error, so corrupt weights read as corrupt either way.
fn verified_weights(
    bytes: &[u8],
    expected: &str,
    path: &Path,
    tails: Option<&mut [SeriesTail]>,
) -> Result<HashMap<String, Tensor>> {
    let decode = || {
        let unreadable =
            |e: &dyn std::fmt::Display| checkpoint_error(path, format!("unreadable weights: {e}"));
        let file = SafeTensors::deserialize(bytes).map_err(|e| unreadable(&e))?;
        if let Some(tails) = tails {
            tail_tensors::fill(tails, &file).map_err(|m| checkpoint_error(path, m))?;
        }
        file.iter()
            .filter(|(name, _)| !tail_tensors::is_tail_tensor(name))
            .map(|(name, view)| {
                Ok((
                    name.to_string(),
                    view.load(&Device::Cpu).map_err(|e| unreadable(&e))?,
                ))
            })
            .collect()
    };
    let intact = || sha256_hex(bytes) == expected;
    checked_beside(crate::threads::side_by_side(), intact, decode).unwrap_or_else(|| {
        Err(checkpoint_error(
            path,
            "checksum mismatch: the weights are corrupt or truncated",
        ))
    })
}

/// `tensors` named `{model}.{parameter}` split into one map per model (of `models`), by
/// parameter name; other names are left out.
fn by_model(tensors: HashMap<String, Tensor>, models: usize) -> Vec<HashMap<String, Tensor>> {
    let mut split = vec![HashMap::new(); models];
    for (name, tensor) in tensors {
        let Some((model, parameter)) = name.split_once('.') else {
            continue;
        };
        if let Some(values) = model.parse::<usize>().ok().and_then(|i| split.get_mut(i)) {
            values.insert(parameter.to_string(), tensor);
        }
    }
    split
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks, before any training, that a checkpoint can be saved to `dir`: it is a directory (or a
/// link to one) that files can be made in, or it is missing and the nearest part of it that
/// exists is such a directory, so that `save` can create it. Nothing is left behind.
pub fn check_save_dir(dir: &Path) -> Result<()> {
    for part in dir.ancestors() {
        let part = if part.as_os_str().is_empty() {
            Path::new(".")
        } else {
            part
        };
        match fs::symlink_metadata(part) {
            Ok(_) => {}
            // Missing, or under a file: the parts above say which.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                continue
            }
            Err(source) => {
                return Err(Error::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
        return match fs::metadata(part) {
            Ok(meta) if meta.is_dir() => output::check_folder_writable(dir, part),
            Ok(_) if part == dir => Err(checkpoint_error(dir, "exists and is not a directory")),
            Ok(_) => Err(Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    format!("cannot be created: {} is not a directory", part.display()),
                ),
            }),
            Err(_) => Err(checkpoint_error(
                dir,
                format!("{} is a link to nothing", part.display()),
            )),
        };
    }
    Ok(())
}

/// A checkpoint held in memory: the manifest and the safetensors weights it names, the same
/// bytes [`NeuralForecast::save`] writes to a directory. A model store keeps these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBytes {
    /// The manifest (`manifest.json`): configs, frequency, series tails, checksums.
    pub manifest: Vec<u8>,
    /// The weights, in safetensors format.
    pub weights: Vec<u8>,
}

impl NeuralForecast {
    /// Saves the fitted models to the directory `dir` (created when missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        check_save_dir(dir)?;
        let (bytes, weights_file) = self.encode(dir)?;
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        output::write_bytes(&dir.join(&weights_file), &bytes.weights)?;
        output::write_bytes(&dir.join(MANIFEST), &bytes.manifest)?;
        remove_stale_weights(dir, &weights_file);
        Ok(())
    }

    /// The checkpoint of the fitted models, in memory.
    pub fn to_checkpoint_bytes(&self) -> Result<CheckpointBytes> {
        Ok(self.encode(Path::new("<in memory>"))?.0)
    }

    /// The checkpoint's bytes and the name of its weights file; `at` names it in errors.
    fn encode(&self, at: &Path) -> Result<(CheckpointBytes, String)> {
        let state = self
            .fitted
            .as_ref()
            .ok_or_else(|| Error::NotFitted("nothing to save: call fit first".into()))?;
        let mut tensors: BTreeMap<String, Tensor> = tail_tensors::to_tensors(&state.tails)?;
        for (i, model) in state.models.iter().enumerate() {
            let vars = model
                .built
                .varmap
                .data()
                .lock()
                .expect("parameter map lock");
            for (name, var) in vars.iter() {
                // Host copies, so that a checkpoint does not depend on the device it was fitted on.
                let host = var.as_tensor().to_device(&Device::Cpu)?;
                tensors.insert(format!("{i}.{name}"), host);
            }
        }
        let weights = safetensors::serialize(tensors.iter(), None)
            .map_err(|e| checkpoint_error(at, format!("cannot serialise weights: {e}")))?;
        let weights_sha256 = sha256_hex(&weights);
        let weights_file = format!("weights-{}.safetensors", &weights_sha256[..16]);
        let body = Body {
            format_version: FORMAT_VERSION,
            library_version: env!("CARGO_PKG_VERSION").to_string(),
            freq: state.freq.alias(),
            date_only: state.ds_style.date_only,
            ds_style: Some(state.ds_style),
            models: self.specs().to_vec(),
            model_names: self.model_names().to_vec(),
            weights_file: weights_file.clone(),
            weights_sha256,
            series: tail_tensors::heads(&state.tails),
            conformity: state.conformity.clone(),
            features: self.features().clone(),
            statics: state.statics.clone(),
            data: state.data.clone(),
            searches: self.searches().clone(),
            ensemble: self.ensemble().cloned(),
        };
        let body_text = serde_json::to_string_pretty(&body)
            .map_err(|e| checkpoint_error(at, format!("cannot serialise manifest: {e}")))?;
        let body_sha256 = sha256_hex(body_text.as_bytes());
        let raw = RawValue::from_string(body_text)
            .map_err(|e| checkpoint_error(at, format!("cannot serialise manifest: {e}")))?;
        let envelope = Envelope {
            format: FORMAT.into(),
            body_sha256,
            body: &raw,
        };
        let manifest = serde_json::to_vec(&envelope)
            .map_err(|e| checkpoint_error(at, format!("cannot serialise manifest: {e}")))?;
        Ok((CheckpointBytes { manifest, weights }, weights_file))
    }

    /// Loads a checkpoint written by [`NeuralForecast::save`].
    pub fn load(dir: &Path) -> Result<NeuralForecast> {
        if !dir.is_dir() {
            return Err(checkpoint_error(dir, "no such checkpoint directory"));
        }
        let manifest_path = dir.join(MANIFEST);
        let manifest = fs::read(&manifest_path).map_err(|_| {
            checkpoint_error(
                dir,
                format!("not a neuro-divergent checkpoint: {MANIFEST} is missing"),
            )
        })?;
        Self::decode(&manifest, &manifest_path, |body| {
            let path = dir.join(&body.weights_file);
            let bytes = fs::File::open(&path)
                .and_then(WeightBytes::of_file)
                .map_err(|e| {
                    checkpoint_error(&path, format!("cannot read the weights file: {e}"))
                })?;
            Ok((bytes, path))
        })
    }

    /// Loads a checkpoint from memory (as [`NeuralForecast::to_checkpoint_bytes`] made it),
    /// verifying both checksums first; `origin` names it in error messages.
    pub fn from_checkpoint_bytes(bytes: &CheckpointBytes, origin: &Path) -> Result<NeuralForecast> {
        Self::decode(&bytes.manifest, origin, |_| {
            Ok((WeightBytes::Borrowed(&bytes.weights), origin.to_path_buf()))
        })
    }

    /// Parses and verifies `manifest` (found at `at`), then the weights `weights` returns for
    /// it (with the path that names them in errors), and builds the fitted models with those
    /// weights as their parameters: nothing is drawn and then overwritten, and the series tails
    /// are copied once, from the file's bytes. Loading a 100,000-series checkpoint (58 MB) took
    /// 0.10 s this way, 0.175 s when the models were built with random values first and every
    /// tensor went through a buffer of its own.
    fn decode<'w>(
        manifest: &[u8],
        at: &Path,
        weights: impl FnOnce(&Body) -> Result<(WeightBytes<'w>, PathBuf)>,
    ) -> Result<NeuralForecast> {
        let mut body = parse_manifest(manifest, at)?;
        let (bytes, weights_path) = weights(&body)?;
        let tails = (body.format_version >= 3).then_some(body.series.as_mut_slice());
        let tensors = verified_weights(&bytes, &body.weights_sha256, &weights_path, tails)?;
        drop(bytes);

        let mut forecaster = NeuralForecast::new(body.models.clone(), None)?
            .with_features(body.features.clone())?
            .with_searches(std::mem::take(&mut body.searches))
            .and_then(|nf| nf.with_ensemble(body.ensemble.take()))
            .map_err(|e| checkpoint_error(at, e.to_string()))?;
        let mut models = Vec::with_capacity(body.models.len());
        for (spec, values) in body.models.iter().zip(by_model(tensors, body.models.len())) {
            let built = spec
                .build_with_values(&Device::Cpu, values)
                .map_err(|e| checkpoint_error(&weights_path, e.to_string()))?;
            models.push(FittedModel::new(built, None));
        }
        forecaster.fitted = Some(FittedState {
            models,
            freq: Freq::parse(&body.freq)?,
            ds_style: body.ds_style.unwrap_or(DsStyle::dates(body.date_only)),
            tails: body.series,
            conformity: body.conformity,
            statics: body.statics,
            data: body.data,
        });
        Ok(forecaster)
    }
}

/// A weights file's bytes: borrowed from memory, the file mapped into memory (no copy), or
/// read into a buffer where it cannot be mapped.
enum WeightBytes<'a> {
    /// Bytes held by the caller.
    Borrowed(&'a [u8]),
    /// A read-only mapping of the whole file.
    Mapped(memmap2::Mmap),
    /// The file's bytes, read.
    Read(Vec<u8>),
}

impl WeightBytes<'_> {
    /// The bytes of `file`: a regular file of some bytes mapped read-only, its pages read in
    /// at once (no copy out of the page cache into a fresh buffer); anything else — an empty
    /// file, which has no pages to map, a pipe, a file system that cannot map files — read.
    /// A mapped file cut short by another program while it is mapped would fault; checkpoints
    /// are never rewritten in place (saves write a new file and rename), so that takes a
    /// deliberate truncation of the file being loaded.
    fn of_file(mut file: fs::File) -> std::io::Result<WeightBytes<'static>> {
        let metadata = file.metadata()?;
        if metadata.is_file() && metadata.len() > 0 {
            // SAFETY: the mapping is read-only and private to this load; see above for the one
            // way it can fault.
            if let Ok(map) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
                return Ok(WeightBytes::Mapped(map));
            }
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok(WeightBytes::Read(bytes))
    }
}

impl std::ops::Deref for WeightBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            WeightBytes::Borrowed(bytes) => bytes,
            WeightBytes::Mapped(map) => map,
            WeightBytes::Read(bytes) => bytes,
        }
    }
}

/// The version fields of a manifest's body, read before the rest.
#[derive(Deserialize)]
struct Version {
    format_version: Option<u64>,
    library_version: Option<String>,
}

/// The manifest's body after checking its format, checksum and version; `at` names it in errors.
fn parse_manifest(bytes: &[u8], at: &Path) -> Result<Body> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| checkpoint_error(at, "not a neuro-divergent checkpoint (not UTF-8 text)"))?;
    let envelope: Envelope<'_> = serde_json::from_str(text).map_err(|e| {
        checkpoint_error(
            at,
            format!("not a neuro-divergent checkpoint, or truncated/corrupt: {e}"),
        )
    })?;
    if envelope.format != FORMAT {
        return Err(checkpoint_error(
            at,
            format!(
                "not a neuro-divergent checkpoint (format '{}')",
                envelope.format
            ),
        ));
    }
    let body = envelope.body.get();
    let intact = || sha256_hex(body.as_bytes()) == envelope.body_sha256;
    let parse = || serde_json::from_str::<Body>(body);
    // With a second thread free the checksum is computed beside the parse; either way a
    // mismatch is reported first.
    let parsed = checked_beside(crate::threads::side_by_side(), intact, parse)
        .ok_or_else(|| checkpoint_error(at, "checksum mismatch: the manifest is corrupt"))?;
    // The version next: a body of another format may not read as this one's.
    let (found, writer) = match &parsed {
        Ok(body) => (
            u64::from(body.format_version),
            Some(body.library_version.clone()),
        ),
        Err(_) => {
            let version: Version = serde_json::from_str(body)
                .map_err(|e| checkpoint_error(at, format!("corrupt manifest: {e}")))?;
            (version.format_version.unwrap_or(0), version.library_version)
        }
    };
    check_format_version(found, writer.as_deref(), at)?;
    // The checksum held: what fails here is what this program cannot read (e.g. a model type
    // or loss it has not registered), not damage.
    parsed.map_err(|e| checkpoint_error(at, format!("the manifest cannot be read here: {e}")))
}

/// Fails unless this library reads checkpoint format `found` (written by library version
/// `writer`, when known), saying what to do instead.
fn check_format_version(found: u64, writer: Option<&str>, at: &Path) -> Result<()> {
    if (u64::from(OLDEST_READ_VERSION)..=u64::from(FORMAT_VERSION)).contains(&found) {
        return Ok(());
    }
    // A newer format needs a newer library; an older one needs the models fitted again.
    let remedy = match (found > u64::from(FORMAT_VERSION), writer) {
        (true, Some(writer)) => format!("upgrade neuro-divergent to {writer} or newer to read it"),
        (true, None) => "upgrade neuro-divergent to read it".to_string(),
        (false, _) => "refit the models and save them again".to_string(),
    };
    Err(checkpoint_error(
        at,
        format!(
            "checkpoint format version {found} (written by neuro-divergent {}) is not \
             supported: this is version {} and reads formats {OLDEST_READ_VERSION} to \
             {FORMAT_VERSION}; {remedy}",
            writer.unwrap_or("unknown"),
            env!("CARGO_PKG_VERSION")
        ),
    ))
}

/// Deletes weights files of earlier saves (best effort: a leftover file is harmless).
fn remove_stale_weights(dir: &Path, keep: &str) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("weights-") && name.ends_with(".safetensors") && name != keep {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}
