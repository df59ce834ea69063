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
    /// The directory `path`, checked to hold `config.json`. `model` names the model in errors,
    /// which say how to fetch weights when `path` looks like a model id rather than a directory.
    pub fn open(model: &str, path: &str) -> Result<HuggingFaceDir> {
        if path.trim().is_empty() {
            return Err(Error::Config(format!(
                "{model} needs model_path: a directory with the pretrained model's config.json and \
                 model.safetensors (fetch one with `huggingface-cli download amazon/chronos-bolt-small \
                 --local-dir DIR`)"
            )));
        }
        let dir = PathBuf::from(path);
        if !dir.join("config.json").is_file() {
            let hint = if !dir.exists() && path.contains('/') && !path.starts_with(['/', '.']) {
                format!(
                    "; '{path}' looks like a model id: download it first with \
                     `huggingface-cli download {path} --local-dir DIR` and pass model_path=DIR"
                )
            } else {
                String::new()
            };
            return Err(Error::Config(format!(
                "{model}: model_path '{path}' is not a directory with config.json{hint}"
            )));
        }
        Ok(HuggingFaceDir { path: dir })
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
