//! Layers shared by several models.

mod activation;
mod attention;
mod attention_op;
mod attentive_lstm;
mod batch_norm;
mod batch_norm_op;
mod conv;
mod decomposition;
mod dense;
mod dense_op;
mod dropout;
mod encoder;
mod fast_math;
mod params;
mod patching;
mod product;
mod recurrent;
mod recurrent_op;
mod residual;
mod residual_lstm;
mod revin;
mod softmax;
mod special;
#[cfg(test)]
mod test_support;

pub use activation::Activation;
pub use attention::{Attended, MultiHeadAttention};
pub use attentive_lstm::AttentiveLstm;
pub use batch_norm::BatchNorm;
pub use conv::{Reach, TemporalConv};
pub use decomposition::{decompose, moving_average};
pub use dense::{mlp_decoder, perceptron_layers, Dense, FeedForward};
pub use dropout::Dropout;
pub use encoder::{EncoderLayer, EncoderLayerSpec};
pub use params::{is_buffer, ParamStore, BUFFER_SUFFIXES};
pub use patching::Patching;
pub(crate) use recurrent::repeat_rows;
pub use recurrent::{Cell, RecurrentEncoder, RecurrentKernel, RecurrentLayers, RecurrentState};
pub use residual::{block_mlp, doubly_residual, BlockMlpSpec, ResidualBlock};
pub use residual_lstm::ResidualLstm;
pub use revin::{RevIn, RevInStats};
pub use softmax::softmax_last_dim;
pub use special::{digamma, ln_gamma, ln_gamma_tensor, softplus, LnGamma};
