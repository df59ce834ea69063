//! Layers shared by several models.

mod activation;
mod bias_act;
mod dense;
mod params;
mod residual;

pub use activation::Activation;
pub use dense::{Dense, FeedForward};
pub use params::ParamStore;
pub use residual::{block_mlp, doubly_residual, BlockMlpSpec, ResidualBlock};
