//! Layers shared by several models.

mod activation;
mod attention;
mod attention_op;
mod attentive_lstm;
mod auto_correlation;
mod batch_norm;
mod batch_norm_op;
mod conv;
mod conv2d_op;
mod decomposition;
mod decomposition_layers;
mod delay_op;
mod dense;
mod dense_op;
mod distil;
mod dropout;
mod elu_op;
mod embedding;
mod encoder;
mod exogenous_mixing;
mod fast_math;
mod fourier;
mod gated_residual;
mod gelu_op;
mod glu_op;
mod inception;
mod interpretable_attention;
pub(crate) mod kernels;
mod layer_norm;
mod layer_norm_op;
mod mixing;
mod panel_product;
mod params;
pub(crate) mod pass;
mod patching;
mod position_wise;
mod prob_attention;
mod product;
mod recurrent;
mod recurrent_op;
mod relative_position;
mod residual;
mod residual_lstm;
mod residual_mlp;
mod revin;
mod rms_norm;
mod rotary;
mod softmax;
mod special;
mod t5;
#[cfg(test)]
mod test_support;
mod time_group_encoder;
mod transformer;
mod variable_selection;

pub use activation::Activation;
pub use attention::{Attended, MultiHeadAttention, ProjectionNames};
pub use attentive_lstm::AttentiveLstm;
pub use auto_correlation::AutoCorrelation;
pub use batch_norm::BatchNorm;
pub use conv::{CircularConv, Reach, TemporalConv};
pub use conv2d_op::same_conv2d;
pub use decomposition::{decompose, moving_average};
pub use decomposition_layers::{
    DecompositionDecoderLayer, DecompositionEncoderLayer, DecompositionSpec, MixerMaker,
    SequenceMixer,
};
pub use dense::{mlp_decoder, perceptron_layers, Dense, FeedForward};
pub use distil::DistilConv;
pub use dropout::Dropout;
pub use embedding::{sinusoidal_positions, DataEmbedding};
pub use encoder::{EncoderLayer, EncoderLayerSpec};
pub use exogenous_mixing::{FeatureMixer, MixerBlock, MixerSizes, StaticMixerBlock};
pub use fourier::{
    analysis, frequency_modes, FourierBlock, FourierCrossAttention, ModeSelection, ModeWeights,
    FOURIER_HEADS,
};
pub(crate) use gated_residual::TFT_NORM_EPS;
pub use gated_residual::{GatedLinearUnit, GatedResidualNetwork, GatedResidualSpec};
pub use inception::InceptionBlock;
pub use interpretable_attention::{AttentionOutput, InterpretableAttention};
pub use layer_norm::{LayerNorm, SeasonalLayerNorm};
pub use mixing::MixingLayer;
pub use params::{is_buffer, ParamStore, BUFFER_SUFFIXES};
pub use patching::Patching;
pub use position_wise::PositionWiseFeedForward;
pub use prob_attention::ProbSparseAttention;
pub(crate) use recurrent::repeat_rows;
pub use recurrent::{Cell, RecurrentEncoder, RecurrentKernel, RecurrentLayers, RecurrentState};
pub use relative_position::{bucket_table, relative_position_bucket};
pub use residual::{block_mlp, doubly_residual, BlockMlpSpec, ResidualBlock};
pub use residual_lstm::ResidualLstm;
pub use residual_mlp::{ResidualMlp, ResidualMlpNames, ResidualMlpSpec};
pub use revin::{RevIn, RevInStats};
pub use rms_norm::RmsNorm;
pub use rotary::Rotary;
pub use softmax::softmax_last_dim;
pub use special::{digamma, ln_gamma, ln_gamma_tensor, softplus, LnGamma};
pub use t5::{additive_key_mask, T5Decoder, T5Encoder, T5Spec};
pub use time_group_encoder::TimeGroupEncoder;
pub use transformer::{AttentionKind, TransDecoderLayer, TransEncoderLayer, TransformerSpec};
pub use variable_selection::{Selected, VariableSelection};
