//! Pretrained models stored in the Hugging Face layout: a directory holding `config.json` and
//! `model.safetensors`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value;

use crate::error::{Error, Result};

/// A local directory in the Hugging Face layout.
#[derive(Debug, Clone)]
pub struct HuggingFaceDir {
    path: PathBuf,
}

impl HuggingFaceDir {
    /// The pretrained model `path` names: a directory holding `config.json`, or a model id
    /// (`amazon/chronos-bolt-small`) found in the local Hugging Face cache (see
    /// [`hub_cache_root`]) as `huggingface-cli download` leaves it. `model` names the model in
    /// errors, which say how to fetch what is missing.
    pub fn open(model: &str, path: &str) -> Result<HuggingFaceDir> {
        if path.trim().is_empty() {
            return Err(Error::Config(format!(
                "{model} needs model_path: a directory with the pretrained model's config.json and \
                 model.safetensors, or a model id in the Hugging Face cache (fetch one with \
                 `huggingface-cli download amazon/chronos-bolt-small`)"
            )));
        }
        let dir = PathBuf::from(path);
        if dir.join("config.json").is_file() {
            return Ok(HuggingFaceDir { path: dir });
        }
        if !dir.exists() && looks_like_model_id(path) {
            let root = hub_cache_root();
            return match cached_snapshot(&root, path) {
                Some(path) => Ok(HuggingFaceDir { path }),
                None => Err(Error::Config(format!(
                    "{model}: model id '{path}' is not in the Hugging Face cache at {} (looked for \
                     {}); download it with `huggingface-cli download {path}`, or with \
                     `--local-dir DIR` and pass model_path=DIR",
                    root.display(),
                    repo_folder(path)
                ))),
            };
        }
        Err(Error::Config(format!(
            "{model}: model_path '{path}' is not a directory with config.json"
        )))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `config.json`, parsed.
    pub fn config(&self) -> Result<Value> {
        let file = self.path.join("config.json");
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::Config(format!("{}: {e}", file.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: not valid JSON: {e}", file.display())))
    }

    /// Every tensor of `model.safetensors` by name, as `f32` on `device`.
    pub fn weights(&self, device: &Device) -> Result<HashMap<String, Tensor>> {
        let file = self.path.join("model.safetensors");
        if !file.is_file() {
            return Err(Error::Config(format!(
                "{}: the pretrained weights are missing",
                file.display()
            )));
        }
        let tensors = candle_core::safetensors::load(&file, device)
            .map_err(|e| Error::Config(format!("{}: unreadable weights: {e}", file.display())))?;
        tensors
            .into_iter()
            .map(|(name, t)| Ok((name, t.to_dtype(DType::F32)?)))
            .collect()
    }
}

/// A pretrained model's `config.json`, checked to name `architecture` among its
/// `architectures`, with the parts the Chronos models read.
pub(crate) struct ModelConfigJson {
    /// The whole file.
    pub json: Value,
    /// Its `chronos_config` object (`null` when absent).
    pub chronos: Value,
    /// The file's path, for errors about the whole file.
    pub what: String,
    /// The same, naming `chronos_config`.
    pub what_chronos: String,
}

impl HuggingFaceDir {
    /// `config.json`, refused unless it names `architecture` (`label` names the model kind in
    /// the error).
    pub(crate) fn model_config(&self, architecture: &str, label: &str) -> Result<ModelConfigJson> {
        let json = self.config()?;
        let what = format!("{}", self.path.join("config.json").display());
        let architectures: Vec<String> = field(&json, "architectures", Some(Vec::new()), &what)?;
        if !architectures.iter().any(|a| a == architecture) {
            return Err(Error::Config(format!(
                "{what}: not a {label} model (architectures {architectures:?}, expected \
                 {architecture})"
            )));
        }
        Ok(ModelConfigJson {
            chronos: json.get("chronos_config").cloned().unwrap_or(Value::Null),
            what_chronos: format!("{what} chronos_config"),
            json,
            what,
        })
    }
}

/// Reads field `key` of a JSON object as `T`, or `default` when absent; `what` names the file in
/// errors.
pub(crate) fn field<T: serde::de::DeserializeOwned>(
    object: &Value,
    key: &str,
    default: Option<T>,
    what: &str,
) -> Result<T> {
    match object.get(key) {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| Error::Config(format!("{what}: field '{key}': {e}"))),
        None => default.ok_or_else(|| Error::Config(format!("{what}: field '{key}' is missing"))),
    }
}

/// `org/name`: two non-empty parts, neither a path's `.` or `..`, no leading `/`.
fn looks_like_model_id(text: &str) -> bool {
    let mut parts = text.split('/');
    let (Some(org), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [org, name]
        .iter()
        .all(|p| !p.is_empty() && *p != "." && *p != "..")
}

/// The cache folder of model `id`: `models--{org}--{name}`.
fn repo_folder(id: &str) -> String {
    format!("models--{}", id.replace('/', "--"))
}

/// The Hugging Face cache root, as `huggingface_hub` finds it: `HF_HUB_CACHE`,
/// `HUGGINGFACE_HUB_CACHE`, `HF_HOME/hub`, `XDG_CACHE_HOME/huggingface/hub`, then
/// `~/.cache/huggingface/hub`.
pub fn hub_cache_root() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| var("HF_HOME").map(|home| home.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|cache| cache.join("huggingface").join("hub")))
        .unwrap_or_else(|| {
            var("HOME")
                .unwrap_or_default()
                .join(".cache")
                .join("huggingface")
                .join("hub")
        })
}

/// The snapshot of model `id` in the cache at `root` that `refs/main` names (the only snapshot
/// when there is no such ref), when it holds `config.json`.
pub fn cached_snapshot(root: &Path, id: &str) -> Option<PathBuf> {
    let repo = root.join(repo_folder(id));
    let snapshots = repo.join("snapshots");
    let snapshot = match std::fs::read_to_string(repo.join("refs").join("main")) {
        Ok(commit) => snapshots.join(commit.trim()),
        Err(_) => {
            let mut all = std::fs::read_dir(&snapshots)
                .ok()?
                .filter_map(|entry| entry.ok().map(|e| e.path()));
            let only = all.next()?;
            all.next().is_none().then_some(only)?
        }
    };
    snapshot.join("config.json").is_file().then_some(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_resolve_to_the_cached_snapshot_refs_main_names() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("models--amazon--chronos-bolt-tiny");
        for commit in ["aaa111", "bbb222"] {
            let dir = repo.join("snapshots").join(commit);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("config.json"), "{}").unwrap();
        }
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs").join("main"), "bbb222\n").unwrap();
        assert_eq!(
            cached_snapshot(root.path(), "amazon/chronos-bolt-tiny"),
            Some(repo.join("snapshots").join("bbb222"))
        );
        // Without refs/main, two snapshots are ambiguous; one is the answer.
        std::fs::remove_file(repo.join("refs").join("main")).unwrap();
        assert_eq!(
            cached_snapshot(root.path(), "amazon/chronos-bolt-tiny"),
            None
        );
        std::fs::remove_dir_all(repo.join("snapshots").join("aaa111")).unwrap();
        assert_eq!(
            cached_snapshot(root.path(), "amazon/chronos-bolt-tiny"),
            Some(repo.join("snapshots").join("bbb222"))
        );
        assert_eq!(cached_snapshot(root.path(), "amazon/chronos-2"), None);
    }

    #[test]
    fn model_ids_are_two_plain_parts() {
        assert!(looks_like_model_id("amazon/chronos-2"));
        for not_an_id in ["/abs/path", "./dir", "a/b/c", "name", "../x", "a/"] {
            assert!(!looks_like_model_id(not_an_id), "{not_an_id}");
        }
    }
}
