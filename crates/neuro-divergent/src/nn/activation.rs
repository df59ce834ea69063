//! Activation functions by their NeuralForecast names.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::elu_op::scaled_elu;
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
    /// x for x > 0, e^x - 1 otherwise.
    ELU,
    /// Scaled ELU (Klambauer et al., 2017): λ x for x > 0, λ α (e^x - 1) otherwise, with
    /// PyTorch's λ ≈ 1.0507 and α ≈ 1.6733.
    SELU,
}

/// SELU's α, as PyTorch defines it.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's λ, as PyTorch defines it.
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

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
            Activation::GELU => super::gelu_op::gelu(x)?,
            Activation::ELU => scaled_elu(x, 1.0, 1.0)?,
            Activation::SELU => scaled_elu(x, SELU_ALPHA, SELU_SCALE)?,
        })
    }
}
