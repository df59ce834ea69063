//! Fully connected layers and stacks of them.

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::Rng;
use std::sync::Mutex;

use super::bias_act::BiasActivation;
use super::{Activation, ParamStore};
use crate::error::Result;

/// A linear layer `y = x W^T + b`, initialised like `torch.nn.Linear`
/// (weights and bias uniform in ±1/sqrt(fan_in)).
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// Creates the layer's parameters as `{name}.weight` and `{name}.bias`.
    pub fn new(store: &mut ParamStore, name: &str, inputs: usize, outputs: usize) -> Result<Dense> {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let weight = store.uniform(&format!("{name}.weight"), &[outputs, inputs], bound)?;
        let bias = store.uniform(&format!("{name}.bias"), &[outputs], bound)?;
        Ok(Dense { weight, bias })
    }

    /// Applies the layer to `[B, inputs]`, then `activation` if any; ReLU is fused with the bias
    /// addition.
    pub fn forward(&self, x: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
        let product = x.matmul(&self.weight.t()?)?;
        let relu = activation == Some(Activation::ReLU);
        let out = product.apply_op2(&self.bias, BiasActivation { relu })?;
        match activation {
            Some(act) if !relu => act.apply(&out),
            _ => Ok(out),
        }
    }
}

/// One layer of a [`FeedForward`] stack: a dense map, optionally followed by an activation and
/// dropout.
#[derive(Debug, Clone)]
struct Layer {
    dense: Dense,
    activation: Option<Activation>,
}

/// A sequence of dense layers with activations where requested and inverted dropout after each
/// activated layer during training. Dropout draws from its own seeded RNG.
#[derive(Debug)]
pub struct FeedForward {
    layers: Vec<Layer>,
    dropout: f32,
    rng: Mutex<StdRng>,
}

impl FeedForward {
    /// Builds the stack from `(inputs, outputs, activated)` triples, naming layers `{name}.{i}`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        layers: &[(usize, usize, bool)],
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Result<FeedForward> {
        let layers = layers
            .iter()
            .enumerate()
            .map(|(i, &(inputs, outputs, activated))| {
                Ok(Layer {
                    dense: Dense::new(store, &format!("{name}.{i}"), inputs, outputs)?,
                    activation: activated.then_some(activation),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FeedForward {
            layers,
            dropout: dropout as f32,
            rng: Mutex::new(rand::SeedableRng::seed_from_u64(seed)),
        })
    }

    /// Applies every layer in turn; dropout only when `train` is set.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.dense.forward(&x, layer.activation)?;
            if layer.activation.is_some() && train && self.dropout > 0.0 {
                x = self.drop(&x)?;
            }
        }
        Ok(x)
    }

    fn drop(&self, x: &Tensor) -> Result<Tensor> {
        let keep = 1.0 - self.dropout;
        let mut rng = self.rng.lock().expect("dropout rng lock poisoned");
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| {
                if rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}
