//! Layers shared by several models.

mod activation;
mod attentive_lstm;
mod conv;
mod decomposition;
mod dense;
mod dense_op;
mod dropout;
mod fast_math;
mod params;
mod product;
mod recurrent;
mod recurrent_op;
mod residual;
mod residual_lstm;
mod special;
#[cfg(test)]
mod test_support;

pub use activation::Activation;
pub use attentive_lstm::AttentiveLstm;
pub use conv::{Reach, TemporalConv};
pub use decomposition::{decompose, moving_average};
pub use dense::{mlp_decoder, perceptron_layers, Dense, FeedForward};
pub use dropout::Dropout;
pub use params::ParamStore;
pub(crate) use recurrent::repeat_rows;
pub use recurrent::{Cell, RecurrentEncoder, RecurrentKernel, RecurrentLayers, RecurrentState};
pub use residual::{block_mlp, doubly_residual, BlockMlpSpec, ResidualBlock};
pub use residual_lstm::ResidualLstm;
pub use special::{digamma, ln_gamma, ln_gamma_tensor, softplus, LnGamma};
