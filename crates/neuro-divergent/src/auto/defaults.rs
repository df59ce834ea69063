//! NeuralForecast 3.3's default search spaces (`default_config` of each `Auto*` class), as
//! data. The window-based models also search `step_size` over `[1, h]`, as NeuralForecast's
//! `get_default_config` adds. Departures: DeepAR's `minmax1` scaler (to `[-1, 1]`) is not
//! offered here, so its space chooses between `robust` and `minmax`; the recurrent models'
//! `-1` multipliers (NeuralForecast's whole-history windows) mean `input_size=-1`, three
//! horizons, as everywhere in this library, and their `inference_input_size` is left at its
//! default; their `context_size`, which NeuralForecast 3.3's models accept but ignore
//! (deprecated), is not searched.

use serde_json::Value;

use super::space::SearchSpace;

/// The training settings most spaces share.
const TRAINING: &str = r#""learning_rate": {"loguniform": [0.0001, 0.1]},
    "scaler_type": {"choice": [null, "robust", "standard"]},
    "batch_size": {"choice": [32, 64, 128, 256]},
    "windows_batch_size": {"choice": [128, 256, 512, 1024]},
    "random_seed": {"randint": [1, 20]}"#;

/// The recurrent family's shared settings.
const RECURRENT: &str = r#""input_size_multiplier": {"choice": [-1, 4, 16, 64]},
    "learning_rate": {"loguniform": [0.0001, 0.1]},
    "max_steps": {"choice": [500, 1000]},
    "batch_size": {"choice": [16, 32]},
    "random_seed": {"randint": [1, 20]}"#;

/// The Transformer family's settings (TFT, VanillaTransformer, Informer, Autoformer).
const TRANSFORMER: &str = r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
    "hidden_size": {"choice": [64, 128, 256]},
    "max_steps": {"choice": [500, 1000, 2000]}"#;

/// The models of NeuralForecast's recurrent family, which forecast from the whole history
/// and search no `step_size`.
const RECURRENT_MODELS: [&str; 5] = ["RNN", "LSTM", "GRU", "TCN", "DilatedRNN"];

/// The settings of `model`'s default space beyond the shared blocks, and the shared block.
fn model_settings(model: &str) -> Option<(String, &'static str)> {
    let settings = match model {
        "RNN" | "LSTM" | "GRU" => (
            r#""encoder_hidden_size": {"choice": [16, 32, 64, 128]},
            "encoder_n_layers": {"randint": [1, 4]},
            "decoder_hidden_size": {"choice": [16, 32, 64, 128]}"#,
            RECURRENT,
        ),
        "TCN" => (
            r#""encoder_hidden_size": {"choice": [16, 32, 64, 128]},
            "decoder_hidden_size": {"choice": [32, 64]}"#,
            RECURRENT,
        ),
        "DilatedRNN" => (
            r#""cell_type": {"choice": ["LSTM", "GRU"]},
            "encoder_hidden_size": {"choice": [16, 32, 64, 128]},
            "dilations": {"choice": [[[1, 2], [4, 8]], [[1, 2, 4, 8]]]},
            "decoder_hidden_size": {"choice": [16, 32, 64, 128]}"#,
            RECURRENT,
        ),
        "DeepAR" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "lstm_hidden_size": {"choice": [32, 64, 128, 256]},
            "lstm_n_layers": {"randint": [1, 4]},
            "lstm_dropout": {"uniform": [0.0, 0.5]},
            "learning_rate": {"loguniform": [0.0001, 0.1]},
            "scaler_type": {"choice": ["robust", "minmax"]},
            "max_steps": {"choice": [500, 1000, 2000]},
            "batch_size": {"choice": [32, 64, 128, 256]},
            "windows_batch_size": {"choice": [128, 256, 512, 1024]},
            "random_seed": {"randint": [1, 20]}"#,
            "",
        ),
        "BiTCN" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "hidden_size": {"choice": [16, 32]},
            "dropout": {"uniform": [0.0, 0.99]},
            "max_steps": {"choice": [500, 1000, 2000]}"#,
            TRAINING,
        ),
        "MLP" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "hidden_size": {"choice": [256, 512, 1024]},
            "num_layers": {"randint": [2, 6]},
            "max_steps": {"choice": [500, 1000]}"#,
            TRAINING,
        ),
        "NBEATS" | "NBEATSx" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "max_steps": {"choice": [500, 1000]}"#,
            TRAINING,
        ),
        "NHITS" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "n_pool_kernel_size": {"choice": [[2, 2, 1], [1, 1, 1], [2, 2, 2], [4, 4, 4], [8, 4, 1], [16, 8, 1]]},
            "n_freq_downsample": {"choice": [[168, 24, 1], [24, 12, 1], [180, 60, 1], [60, 8, 1], [40, 20, 1], [1, 1, 1]]},
            "max_steps": {"quniform": [500, 1500, 100]}"#,
            TRAINING,
        ),
        "DLinear" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "moving_avg_window": {"choice": [11, 25, 51]},
            "max_steps": {"quniform": [500, 1500, 100]}"#,
            TRAINING,
        ),
        "NLinear" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "max_steps": {"quniform": [500, 1500, 100]}"#,
            TRAINING,
        ),
        "TiDE" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "hidden_size": {"choice": [256, 512, 1024]},
            "decoder_output_dim": {"choice": [8, 16, 32]},
            "temporal_decoder_dim": {"choice": [32, 64, 128]},
            "num_encoder_layers": {"choice": [1, 2, 3]},
            "num_decoder_layers": {"choice": [1, 2, 3]},
            "temporal_width": {"choice": [4, 8, 16]},
            "dropout": {"choice": [0.0, 0.1, 0.2, 0.3, 0.5]},
            "layernorm": {"choice": [true, false]},
            "learning_rate": {"loguniform": [0.00001, 0.01]},
            "scaler_type": {"choice": [null, "robust", "standard"]},
            "max_steps": {"quniform": [500, 1500, 100]},
            "batch_size": {"choice": [32, 64, 128, 256]},
            "windows_batch_size": {"choice": [128, 256, 512, 1024]},
            "random_seed": {"randint": [1, 20]}"#,
            "",
        ),
        "TFT" | "VanillaTransformer" | "Informer" | "Autoformer" => {
            let heads = r#""n_head": {"choice": [4, 8]}"#;
            return Some((format!("{TRANSFORMER}, {heads}"), TRAINING));
        }
        "FEDformer" => (TRANSFORMER, TRAINING),
        "PatchTST" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3]},
            "hidden_size": {"choice": [16, 128, 256]},
            "n_heads": {"choice": [4, 16]},
            "patch_len": {"choice": [16, 24]},
            "revin": {"choice": [false, true]},
            "max_steps": {"choice": [500, 1000, 5000]}"#,
            TRAINING,
        ),
        "TimesNet" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "hidden_size": {"choice": [32, 64, 128]},
            "conv_hidden_size": {"choice": [32, 64, 128]},
            "learning_rate": {"loguniform": [0.0001, 0.1]},
            "scaler_type": {"choice": ["robust", "standard"]},
            "max_steps": {"choice": [500, 1000, 2000]},
            "batch_size": {"choice": [32, 64, 128]},
            "windows_batch_size": {"choice": [32, 64, 128, 256]},
            "random_seed": {"randint": [1, 20]}"#,
            "",
        ),
        "iTransformer" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4, 5]},
            "hidden_size": {"choice": [64, 128, 256]},
            "n_heads": {"choice": [4, 8]},
            "learning_rate": {"loguniform": [0.0001, 0.1]},
            "scaler_type": {"choice": [null, "robust", "standard"]},
            "max_steps": {"choice": [500, 1000, 2000]},
            "batch_size": {"choice": [32, 64, 128, 256]},
            "random_seed": {"randint": [1, 20]}"#,
            "",
        ),
        "TSMixer" | "TSMixerx" => (
            r#""input_size_multiplier": {"choice": [1, 2, 3, 4]},
            "n_block": {"choice": [1, 2, 4, 6, 8]},
            "learning_rate": {"loguniform": [0.0001, 0.01]},
            "ff_dim": {"choice": [32, 64, 128]},
            "scaler_type": {"choice": ["identity", "robust", "standard"]},
            "max_steps": {"choice": [500, 1000, 2000]},
            "batch_size": {"choice": [32, 64, 128, 256]},
            "dropout": {"uniform": [0.0, 0.99]},
            "random_seed": {"randint": [1, 20]}"#,
            "",
        ),
        _ => return None,
    };
    Some((settings.0.to_string(), settings.1))
}

/// NeuralForecast's default search space of `model` (its registry name) for horizon `h`, or
/// `None` for models NeuralForecast has no `Auto` class for (the pretrained ones, and models
/// registered by other crates).
pub fn default_space(model: &str, h: usize) -> Option<SearchSpace> {
    let (settings, shared) = model_settings(model)?;
    let mut text = format!("{{{settings}");
    if !shared.is_empty() {
        text.push_str(", ");
        text.push_str(shared);
    }
    if !RECURRENT_MODELS.contains(&model) {
        text.push_str(&format!(r#", "step_size": {{"choice": [1, {h}]}}"#));
    }
    text.push('}');
    let value: Value = serde_json::from_str(&text).expect("default spaces are valid JSON");
    Some(SearchSpace::from_json(&value).expect("default spaces are valid spaces"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auto::configured;
    use crate::models::{builtin_model_names, ModelSpec};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn every_trainable_built_in_model_has_a_space_its_spec_accepts() {
        let mut refused = Vec::new();
        // The built-in models: other tests of this crate register models without spaces.
        for name in builtin_model_names() {
            let Ok(mut spec) = ModelSpec::new(name, 12, 24) else {
                continue;
            };
            if spec.has_param("n_series") {
                spec.set_param("n_series", "3").unwrap();
            }
            if spec.architecture.config().is_pretrained() {
                assert!(default_space(name, 12).is_none(), "{name}");
                continue;
            }
            let space = default_space(name, 12).unwrap_or_else(|| panic!("{name}: no space"));
            if let Err(e) = space.check_against(&spec) {
                refused.push(format!("{name}: {e}"));
            }
            // Every drawn configuration makes a valid model.
            let mut rng = StdRng::seed_from_u64(3);
            for _ in 0..30 {
                let config = space.sample(&mut rng);
                if let Err(e) = configured(&spec, &config) {
                    refused.push(format!("{name} {config:?}: {e}"));
                    break;
                }
            }
        }
        assert!(refused.is_empty(), "{refused:#?}");
    }

    #[test]
    fn nhits_space_is_neuralforecasts() {
        let space = default_space("NHITS", 24).unwrap().to_json();
        assert_eq!(
            space["max_steps"],
            serde_json::json!({"quniform": [500.0, 1500.0, 100.0]})
        );
        assert_eq!(space["step_size"], serde_json::json!({"choice": [1, 24]}));
        assert_eq!(
            space["input_size_multiplier"],
            serde_json::json!({"choice": [1, 2, 3, 4, 5]})
        );
        assert_eq!(
            space["random_seed"],
            serde_json::json!({"randint": [1, 20]})
        );
        assert_eq!(space.as_object().unwrap().len(), 10);
        let lstm = default_space("LSTM", 24).unwrap().to_json();
        assert!(lstm.get("step_size").is_none());
    }
}
