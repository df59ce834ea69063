//! FEDformer (Zhou et al., 2022, as NeuralForecast 3.3 implements it): the decomposition
//! transformer ([`super::decomposition_transformer`]) whose layers mix tokens in the frequency
//! domain ([`crate::nn::FourierBlock`], [`crate::nn::FourierCrossAttention`]), NeuralForecast's
//! "Fourier" version. One block of complex weights serves all encoder layers, one all decoder
//! layers' self-attention and one their cross-attention, as NeuralForecast shares its three
//! modules. The kept frequencies are drawn from NumPy's stream seeded with `random_seed` (or are
//! the lowest ones with `mode_select=lowest`), so they are those NeuralForecast keeps. Future
//! exogenous columns enter both embeddings; historic and static ones are not read.

use serde::{Deserialize, Serialize};

use super::decomposition_transformer::{DecompositionAttention, DecompositionNetworkSpec};
use super::encoder_decoder::EncoderDecoderLayers;
use super::{require_at_least_one, ArchitectureConfig, ExogenousKinds, Model};
use crate::error::{Error, Result};
use crate::nn::{
    frequency_modes, FourierBlock, FourierCrossAttention, ModeSelection, ModeWeights, ParamStore,
    SequenceMixer, FOURIER_HEADS,
};
use crate::random::NumpyRandomState;
use crate::train::TrainConfig;
use crate::windows::WindowShape;

/// Which FEDformer (NeuralForecast's `version`): only the Fourier-enhanced one exists there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FedformerVersion {
    /// Fourier-enhanced blocks.
    Fourier,
}

/// FEDformer hyperparameters (NeuralForecast's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FedformerConfig {
    /// Sizes, dropout and activation of the layers (`n_head` must be 8).
    #[serde(flatten)]
    pub layers: EncoderDecoderLayers,
    /// The block type.
    pub version: FedformerVersion,
    /// Frequencies kept per block (at most half the sequence's steps).
    pub modes: usize,
    /// How the kept frequencies are chosen: `random` or `lowest`.
    pub mode_select: ModeSelection,
    /// Steps of the moving average that splits off the trend (odd).
    #[serde(rename = "MovingAvg_window")]
    pub moving_avg_window: usize,
}

impl Default for FedformerConfig {
    fn default() -> Self {
        FedformerConfig {
            layers: EncoderDecoderLayers {
                n_head: FOURIER_HEADS,
                ..EncoderDecoderLayers::default()
            },
            version: FedformerVersion::Fourier,
            modes: 64,
            mode_select: ModeSelection::Random,
            moving_avg_window: 25,
        }
    }
}

impl FedformerConfig {
    fn network(&self) -> DecompositionNetworkSpec {
        DecompositionNetworkSpec {
            layers: self.layers,
            moving_avg: self.moving_avg_window,
            deterministic: self.layers.dropout == 0.0,
        }
    }

    /// The decoder's steps, and the steps NeuralForecast sizes its frequency blocks for
    /// (`input_size / 2 + h`, whatever `decoder_input_size_multiplier` is).
    fn decoder_steps(&self, shape: WindowShape) -> (usize, usize) {
        (
            self.layers.decoder_len(shape),
            shape.input_size / 2 + shape.horizon,
        )
    }
}

impl ArchitectureConfig for FedformerConfig {
    fn train_defaults(&self) -> TrainConfig {
        super::long_horizon_train_defaults()
    }

    fn validate(&self, shape: WindowShape) -> Result<()> {
        let prefix = "FEDformer: ";
        self.layers.validate(prefix, shape)?;
        require_at_least_one(prefix, &[("modes", self.modes)])?;
        if self.layers.n_head != FOURIER_HEADS {
            return Err(Error::Config(format!(
                "{prefix}n_head must be {FOURIER_HEADS} (the frequency blocks' weights have \
                 {FOURIER_HEADS} heads), got {}",
                self.layers.n_head
            )));
        }
        self.network().check_moving_average(prefix)?;
        if shape.input_size < 2 {
            return Err(Error::Config(format!(
                "{prefix}input_size must be at least 2 (a frequency below input_size / 2 to \
                 keep), got {}",
                shape.input_size
            )));
        }
        let (steps, sized_for) = self.decoder_steps(shape);
        if steps < sized_for {
            return Err(Error::Config(format!(
                "{prefix}decoder_input_size_multiplier {} gives the decoder {steps} steps, fewer \
                 than the input_size / 2 + h = {sized_for} its frequency blocks are sized for \
                 (use 0.5 or more)",
                self.layers.decoder_input_size_multiplier
            )));
        }
        Ok(())
    }

    fn exogenous(&self) -> ExogenousKinds {
        ExogenousKinds::FUTURE
    }

    fn training_flops_per_window(&self, shape: WindowShape, _parameters: usize) -> f64 {
        let d = self.layers.hidden_size as f64;
        let e = d / FOURIER_HEADS as f64;
        let network = self.network();
        let (encoder_steps, decoder_steps) = network.steps(shape);
        let modes = |sized: usize| self.modes.min(sized / 2) as f64;
        let encoder_modes = modes(shape.input_size);
        let decoder_modes = modes(self.decoder_steps(shape).1);
        // Multiply-adds per block: its projections, the transforms in and out (`L × d × 2M`
        // each) and the mixing (`M × d × 4E`); the cross block also scores the query modes
        // against the key modes and weights the keys (`4 d Mq Mk` each).
        let mixing = |m: f64| 4.0 * m * d * e;
        let block = |steps: f64, m: f64| 2.0 * steps * d * d + 4.0 * steps * d * m + mixing(m);
        let cross = 2.0 * decoder_steps * d * d
            + encoder_steps * d * d
            + 2.0 * (decoder_steps + encoder_steps) * d * decoder_modes
            + 8.0 * d * decoder_modes * encoder_modes
            + mixing(decoder_modes);
        network.training_flops(
            shape,
            block(encoder_steps, encoder_modes),
            block(decoder_steps, decoder_modes) + cross,
        )
    }

    /// Creates the network's parameters in NeuralForecast's order (see
    /// [`DecompositionNetworkSpec::build`]), the three blocks' weights after the embeddings.
    fn build(
        &self,
        shape: WindowShape,
        n_outputs: usize,
        store: &mut ParamStore,
        seed: u64,
    ) -> Result<Box<dyn Model>> {
        let hidden = self.layers.hidden_size;
        let (decoder_steps, sized_for) = self.decoder_steps(shape);
        let mut numpy = NumpyRandomState::new(seed);
        let mut modes = |length| frequency_modes(length, self.modes, self.mode_select, &mut numpy);
        let encoder_modes = modes(shape.input_size);
        let decoder_modes = modes(sized_for);
        let cross_query_modes = modes(sized_for);
        let cross_key_modes = modes(shape.input_size);
        self.network()
            .build(shape, n_outputs, store, seed, |store: &mut ParamStore| {
                // The blocks' weights are drawn once, before any layer: NeuralForecast creates
                // the three modules first and hands each to every layer.
                let mut weights =
                    |name: &str, count: usize| ModeWeights::new(store, name, hidden, count);
                Ok(FourierBlocks {
                    hidden,
                    encoder: (
                        weights(
                            "encoder.attn_layers.0.attention.inner_correlation",
                            encoder_modes.len(),
                        )?,
                        encoder_modes,
                        shape.input_size,
                    ),
                    decoder: (
                        weights(
                            "decoder.layers.0.self_attention.inner_correlation",
                            decoder_modes.len(),
                        )?,
                        decoder_modes,
                        decoder_steps,
                    ),
                    cross: weights(
                        "decoder.layers.0.cross_attention.inner_correlation",
                        cross_query_modes.len(),
                    )?,
                    cross_modes: [
                        (cross_query_modes, decoder_steps),
                        (cross_key_modes, shape.input_size),
                    ],
                })
            })
    }
}

/// The three shared blocks' weights, their kept frequencies and their sequences' steps.
struct FourierBlocks {
    hidden: usize,
    encoder: (ModeWeights, Vec<usize>, usize),
    decoder: (ModeWeights, Vec<usize>, usize),
    cross: ModeWeights,
    cross_modes: [(Vec<usize>, usize); 2],
}

impl FourierBlocks {
    fn block(
        &self,
        store: &mut ParamStore,
        name: &str,
        (weights, modes, steps): &(ModeWeights, Vec<usize>, usize),
    ) -> Result<Box<dyn SequenceMixer>> {
        let block = FourierBlock::new(store, name, self.hidden, weights.clone(), modes, *steps)?;
        Ok(Box::new(block))
    }
}

impl DecompositionAttention for FourierBlocks {
    fn encoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        self.block(store, name, &self.encoder)
    }

    fn decoder(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        self.block(store, name, &self.decoder)
    }

    fn cross(&self, store: &mut ParamStore, name: &str) -> Result<Box<dyn SequenceMixer>> {
        let [(query_modes, query_steps), (key_modes, key_steps)] = &self.cross_modes;
        let block = FourierCrossAttention::new(
            store,
            name,
            self.hidden,
            self.cross.clone(),
            (query_modes, *query_steps),
            (key_modes, *key_steps),
        )?;
        Ok(Box::new(block))
    }
}

#[cfg(test)]
mod tests {
    use crate::models::ModelSpec;

    #[test]
    fn hyperparameters_are_checked_by_name() {
        let spec = ModelSpec::new("FEDformer", 12, 24).unwrap();
        spec.validate().unwrap();
        let cases = [
            ("n_head", "4", "FEDformer: n_head must be 8"),
            ("modes", "0", "FEDformer: modes must be at least 1"),
            (
                "MovingAvg_window",
                "24",
                "FEDformer: MovingAvg_window must be odd",
            ),
            (
                "decoder_input_size_multiplier",
                "0.3",
                "FEDformer: decoder_input_size_multiplier 0.3 gives the decoder 20 steps, fewer \
                 than the input_size / 2 + h = 24",
            ),
        ];
        for (name, value, message) in cases {
            let mut spec = ModelSpec::new("FEDformer", 12, 24).unwrap();
            spec.set_param(name, value).unwrap();
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{name}={value}: {err}");
        }
        let mut spec = ModelSpec::new("FEDformer", 12, 24).unwrap();
        let err = spec
            .set_param("mode_select", "highest")
            .unwrap_err()
            .to_string();
        assert!(err.contains("highest"), "{err}");
        spec.set_param("mode_select", "lowest").unwrap();
        spec.validate().unwrap();
    }
}
