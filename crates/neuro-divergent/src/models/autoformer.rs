//! Autoformer (Wu et al., 2021, as NeuralForecast implements it): the decomposition
//! transformer ([`super::decomposition_transformer`]) whose layers mix tokens by
//! auto-correlation ([`crate::nn::AutoCorrelation`]). Future exogenous columns enter both
//! embeddings; historic and static ones are not read (as in NeuralForecast).

use serde::{Deserialize, Serialize};

use super::decomposition_transformer::{DecompositionAttention, DecompositionNetworkSpec};
use super::encoder_decoder::EncoderDecoderLayers;
use super::{require_at_least_one, ArchitectureConfig, ExogenousKinds, Model};
use crate::error::Result;
use crate::nn::{AutoCorrelation, ParamStore, SequenceMixer};
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// Autoformer hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutoformerConfig {
    /// Sizes, dropout and activation of the layers.
    #[serde(flatten)]
    pub layers: EncoderDecoderLayers,
    /// Auto-correlation's lag factor: `factor * ln L` lags aggregated.
    pub factor: usize,
    /// Steps of the moving average that splits off the trend (odd).
    #[serde(rename = "MovingAvg_window")]
    pub moving_avg_window: usize,
}

impl Default for AutoformerConfig {
    fn default() -> Self {
        AutoformerConfig {
            layers: EncoderDecoderLayers::default(),
            factor: 3,
            moving_avg_window: 25,
        }
    }
}

impl AutoformerConfig {
    fn network(&self) -> DecompositionNetworkSpec {
        DecompositionNetworkSpec {
            layers: self.layers,
            moving_avg: self.moving_avg_window,
            // Training couples a batch's windows: one set of lags serves them all.
            deterministic: false,
        }
    }
}

/// Auto-correlation in every sublayer.
struct AutoCorrelations {
    hidden: usize,
    heads: usize,
    factor: usize,
}

impl AutoCorrelations {
    fn make(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        let layer = AutoCorrelation::new(store, name, self.hidden, self.heads, self.factor)?;
        Ok(Box::new(layer))
    }
}

impl DecompositionAttention for AutoCorrelations {
    fn encoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        self.make(store, name)
    }

    fn decoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        self.make(store, name)
    }

    fn cross(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        self.make(store, name)
    }
}

impl ArchitectureConfig for AutoformerConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let prefix = "Autoformer: ";
        self.layers.validate(prefix, shape)?;
        require_at_least_one(prefix, &[("factor", self.factor)])?;
        self.network().check_moving_average(prefix)?;
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::FUTURE
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let d = self.layers.hidden_size as f64;
        let network = self.network();
        let (encoder_steps, decoder_steps) = network.steps(shape);
        // Multiply-adds per auto-correlation: the four projections, the correlation product and
        // the aggregation over `factor ln L` lags.
        let correlation = |steps: f64| {
            let lags = self.factor as f64 * steps.ln();
            8.0 * steps * d * d + steps * steps * d + lags * steps * d
        };
        network.training_flops(
            shape,
            correlation(encoder_steps),
            2.0 * correlation(decoder_steps),
        )
    }

    /// Creates the network's parameters in NeuralForecast's order (see
    /// [`DecompositionNetworkSpec::build`]).
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let attention = AutoCorrelations {
            hidden: self.layers.hidden_size,
            heads: self.layers.n_head,
            factor: self.factor,
        };
        self.network()
            .build(shape, n_outputs, store, seed, |_| Ok(attention))
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn hyperparameters_are_checked_by_name() {
        let mut spec = ModelSpec::new("Autoformer", 12, 24).unwrap();
        spec.set_param("MovingAvg_window", "24").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains(
                "Autoformer: MovingAvg_window must be odd (a centred moving average), got 24"
            ),
            "{err}"
        );
        spec.set_param("MovingAvg_window", "25").unwrap();
        spec.set_param("factor", "0").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: factor must be at least 1"),
            "{err}"
        );
        spec.set_param("factor", "1").unwrap();
        spec.set_param("n_head", "3").unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: hidden_size (128) must be a multiple of n_head (3)"),
            "{err}"
        );
        spec.set_param("n_head", "4").unwrap();
        spec.set_param("decoder_input_size_multiplier", "1.0")
            .unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(
            err.contains("Autoformer: decoder_input_size_multiplier must be in (0, 1)"),
            "{err}"
        );
        spec.set_param("decoder_input_size_multiplier", "0.5")
            .unwrap();
        spec.validate().unwrap();
    }
}
