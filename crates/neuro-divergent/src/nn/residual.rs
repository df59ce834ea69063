//! The doubly residual stacking of N-BEATS and N-HiTS: each block reads the residual of the
//! insample window left by the blocks before it, removes its backcast from that residual and adds
//! its forecast to the running total, which starts from the last observed value (a naive level).
//!
//! As in NeuralForecast, the residual runs newest point first (the insample window and its mask
//! are reversed in time before the first block), so that identically initialised blocks compute
//! what NeuralForecast's compute. Exogenous inputs stay in time order.

use candle_core::{Device, Tensor};

use super::{Activation, FeedForward, ParamStore};
use crate::error::Result;
use crate::models::ModelInput;

/// A block of a doubly residual stack.
pub trait ResidualBlock {
    /// `(backcast [B, L], forecast [B, H, n_outputs])` from the current residual `[B, L]`
    /// (newest point first; the backcast in the same order); the block may also read the batch's
    /// exogenous inputs (in time order) from `input`.
    fn backcast_forecast(
        &self,
        residual: &Tensor,
        input: &ModelInput,
        train: bool,
    ) -> Result<(Tensor, Tensor)>;
}

/// Runs the blocks over the insample window of `input` (masked by its mask) and returns
/// `[B, H, n_outputs]`.
pub fn doubly_residual<B: ResidualBlock>(
    blocks: &[B],
    input: &ModelInput,
    output_shape: (usize, usize),
    train: bool,
) -> Result<Tensor> {
    let (horizon, n_outputs) = output_shape;
    let (insample, mask) = (&input.insample, &input.insample_mask);
    let (batch, l) = insample.dims2()?;
    let level = insample.narrow(1, l - 1, 1)?.reshape((batch, 1, 1))?;
    let mut forecast = level
        .broadcast_as((batch, horizon, n_outputs))?
        .contiguous()?;
    let newest_first = reversed_time(l, insample.device())?;
    let mask = mask.index_select(&newest_first, 1)?;
    let mut residual = insample.index_select(&newest_first, 1)?;
    for block in blocks {
        let (backcast, block_forecast) = block.backcast_forecast(&residual, input, train)?;
        residual = (residual - backcast)?.mul(&mask)?;
        forecast = (forecast + block_forecast)?;
    }
    Ok(forecast)
}

/// The indices `L-1, ..., 0` that reverse a `[B, L]` window in time.
fn reversed_time(l: usize, device: &Device) -> Result<Tensor> {
    let indices: Vec<u32> = (0..l as u32).rev().collect();
    Ok(Tensor::from_vec(indices, l, device)?)
}

/// Shape and regularisation of the fully connected part of a block.
#[derive(Debug, Clone, Copy)]
pub struct BlockMlpSpec<'a> {
    /// Width of the block's input.
    pub inputs: usize,
    /// `[in, out]` widths of each activated hidden layer (`mlp_units`).
    pub mlp_units: &'a [[usize; 2]],
    /// Number of basis coefficients produced.
    pub n_theta: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Dropout probability after each activated layer.
    pub dropout: f64,
}

/// The fully connected part of an N-BEATS / N-HiTS block in NeuralForecast's layout: a linear
/// projection to the first width, then one activated layer per entry of `mlp_units`, then a
/// linear map to the `n_theta` basis coefficients.
pub fn block_mlp(
    store: &mut ParamStore,
    name: &str,
    spec: BlockMlpSpec<'_>,
    seed: u64,
) -> Result<FeedForward> {
    let units = spec.mlp_units;
    let mut layers = vec![(spec.inputs, units[0][0], false)];
    layers.extend(units.iter().map(|u| (u[0], u[1], true)));
    layers.push((units[units.len() - 1][1], spec.n_theta, false));
    FeedForward::new(store, name, &layers, spec.activation, spec.dropout, seed)
}
