//! Activation functions by their NeuralForecast names.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A pointwise non-linearity (`activation` in NeuralForecast; `relu` and `gelu` are read in
/// lower case too, as PatchTST spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// max(x, 0).
    #[serde(alias = "relu")]
    ReLU,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// log(1 + e^x).
    Softplus,
    /// max(x, 0.01 x).
    LeakyReLU,
    /// x Φ(x), with Φ the standard normal distribution function (PyTorch's exact GELU).
    #[serde(alias = "gelu")]
    GELU,
}

impl Activation {
    /// Applies the function.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::ReLU => x.relu()?,
            Activation::Tanh => x.tanh()?,
            Activation::Sigmoid => candle_nn::ops::sigmoid(x)?,
            Activation::Softplus => {
                // log(1 + e^x) computed stably as relu(x) + log(1 + e^-|x|).
                let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
                (x.relu()? + tail)?
            }
            Activation::LeakyReLU => x.maximum(&(x * 0.01)?)?,
            Activation::GELU => x.gelu_erf()?,
        })
    }
}
