//! Layers shared by several models.

mod activation;
mod dense;
mod dense_op;
mod params;
mod residual;
mod special;

pub use activation::Activation;
pub use dense::{Dense, FeedForward};
pub use params::ParamStore;
pub use residual::{block_mlp, doubly_residual, BlockMlpSpec, ResidualBlock};
pub use special::{digamma, ln_gamma, ln_gamma_tensor, softplus, LnGamma};
