//! The model registry as data, so the JavaScript model classes and their TypeScript options are
//! generated from the Rust models rather than kept by hand.

use napi_derive::napi;
use neuro_divergent::auto::default_space;
use neuro_divergent::{model_names, ModelSpec};

/// One hyperparameter of a model.
#[napi(object)]
pub struct ParamInfo {
    /// NeuralForecast name (snake_case).
    pub key: String,
    /// Default value as JSON text.
    pub default_json: String,
}

/// One model and its hyperparameters.
#[napi(object)]
pub struct ModelInfo {
    /// Model name (`NHITS`, ...).
    pub name: String,
    /// Every hyperparameter except `h`, `input_size` and `alias` (the exogenous lists only for
    /// models that read exogenous inputs).
    pub params: Vec<ParamInfo>,
    /// Whether the model has NeuralForecast's default search space (an `Auto<Model>` class).
    pub has_default_space: bool,
}

/// Every model with its hyperparameters and NeuralForecast defaults.
#[napi(js_name = "modelRegistry")]
pub fn model_registry() -> Vec<ModelInfo> {
    model_names()
        .into_iter()
        .filter_map(|name| ModelSpec::new(name, 1, 1).ok())
        .map(|spec| {
            let whole = serde_json::to_value(&spec).unwrap_or_default();
            let mut params = Vec::new();
            for section in ["train", "params"] {
                if let Some(map) = whole[section].as_object() {
                    params.extend(map.iter().map(|(key, value)| {
                        ParamInfo {
                            key: key.clone(),
                            default_json: match key.as_str() {
                                // Losses are written as text (`mae`, `mase:24`) in options.
                                "loss" => serde_json::Value::from(spec.train.loss.to_string()),
                                _ => value.clone(),
                            }
                            .to_string(),
                        }
                    }));
                }
            }
            params.extend(
                spec.exogenous()
                    .list_names()
                    .into_iter()
                    .map(|key| ParamInfo {
                        key: key.to_string(),
                        default_json: "[]".to_string(),
                    }),
            );
            params.sort_by(|a, b| a.key.cmp(&b.key));
            ModelInfo {
                name: spec.model_name().to_string(),
                params,
                has_default_space: default_space(spec.model_name(), spec.h).is_some(),
            }
        })
        .collect()
}
