//! What Chronos-Bolt and Chronos-2 share around their networks: each context standardised by
//! its observed values (Chronos' `InstanceNorm`), cut into patches, and the model's quantiles
//! mapped to the library's forecast columns.

use candle_core::{DType, Tensor, D};

use crate::error::{Error, Result};
use crate::losses::{Loss, QuantileSet};
use crate::nn::{ParamStore, ResidualMlp, ResidualMlpNames, ResidualMlpSpec};
use crate::preprocess::ScalerType;
use crate::train::TrainConfig;

/// Deviation used for a context whose observed values are all equal (Chronos' `InstanceNorm`).
const SCALE_EPS: f64 = 1e-5;

/// A context's observed mean and deviation, `[N, 1]` each (Chronos' `InstanceNorm`): 0 and 1
/// without observations, the deviation `1e-5` when every observation is equal.
pub(crate) fn location_and_scale(values: &Tensor, observed: &Tensor) -> Result<(Tensor, Tensor)> {
    let count = observed.sum_keepdim(D::Minus1)?;
    let safe_count = count.maximum(1.0)?;
    let location = (values * observed)?
        .sum_keepdim(D::Minus1)?
        .div(&safe_count)?;
    let centred = values.broadcast_sub(&location)?;
    let scale = (centred.sqr()? * observed)?
        .sum_keepdim(D::Minus1)?
        .div(&safe_count)?
        .sqrt()?;
    let ones = scale.ones_like()?;
    let scale = scale.eq(0.0)?.where_cond(&(&ones * SCALE_EPS)?, &scale)?;
    let scale = count.eq(0.0)?.where_cond(&ones, &scale)?;
    Ok((location, scale))
}

/// Patches of `size` points starting every `stride` points, over contexts left-padded to whole
/// patches (Chronos' `Patch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContextPatching {
    /// Points per patch.
    pub size: usize,
    /// Points between the starts of two patches.
    pub stride: usize,
}

impl ContextPatching {
    /// The contexts (`[N, L]` values and observed flags) left-padded (unobserved) to whole
    /// patches; with `drop_unobserved`, less the leading patches no context observes: masked
    /// keys take no attention weight and positions enter only relative to the end, so dropping
    /// them changes nothing but the work. Training keeps them: what a batch drops depends on the
    /// other windows in it, and each window's dropout masks must not.
    pub fn trim(
        &self,
        values: &Tensor,
        observed: &Tensor,
        drop_unobserved: bool,
    ) -> Result<(Tensor, Tensor)> {
        let (n, length) = values.dims2()?;
        let (size, stride) = (self.size, self.stride);
        let pad = (size - length % size) % size;
        let padded_length = length + pad;
        let drop = if drop_unobserved {
            let flags = observed.to_dtype(DType::F32)?.max(0)?.to_vec1::<f32>()?;
            let first_observed = flags.iter().position(|&f| f > 0.0).unwrap_or(length) + pad;
            // The first patch that reaches an observation; patches start on multiples of
            // `stride`, and the last one at most `padded_length - size`.
            let first_patch = (first_observed + 1).saturating_sub(size).div_ceil(stride);
            let last_patch = padded_length.saturating_sub(size) / stride;
            first_patch.min(last_patch) * stride
        } else {
            0
        };
        let pad_tensor = |x: &Tensor| -> Result<Tensor> {
            if pad == 0 {
                return Ok(x.clone());
            }
            let zeros = Tensor::zeros((n, pad), x.dtype(), x.device())?;
            Ok(Tensor::cat(&[&zeros, x], 1)?)
        };
        let values = pad_tensor(values)?.narrow(1, drop, padded_length - drop)?;
        let observed = pad_tensor(observed)?.narrow(1, drop, padded_length - drop)?;
        Ok((values, observed))
    }

    /// `[N, L]` cut into `[N, P, size]` patches (`Tensor.unfold`).
    pub fn cut(&self, x: &Tensor) -> Result<Tensor> {
        let (n, length) = x.dims2()?;
        let count = (length - self.size) / self.stride + 1;
        if self.size == self.stride && length == count * self.size {
            return Ok(x.reshape((n, count, self.size))?);
        }
        let pieces = (0..count)
            .map(|p| x.narrow(1, p * self.stride, self.size))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::stack(&pieces, 1)?)
    }
}

/// Floats of attention scores one inference block may hold (`rows · heads · tokens²`).
const BLOCK_SCORES: usize = 1 << 24;
/// Most rows of one inference block: larger blocks' temporaries outgrow the caches.
const BLOCK_ROWS: usize = 64;

/// Rows forecast together when not training, for `tokens` tokens a row and `heads` heads: up to
/// [`BLOCK_ROWS`], fewer when their attention scores would pass [`BLOCK_SCORES`] (long
/// contexts).
pub(crate) fn inference_rows(tokens: usize, heads: usize) -> usize {
    (BLOCK_SCORES / (heads * tokens * tokens).max(1)).clamp(1, BLOCK_ROWS)
}

/// `forecast(start, count)` over `count` consecutive groups of rows at a time (all of them while
/// training), joined along the rows. Outside training each block's result is detached, so that
/// no graph keeps its intermediate tensors alive.
pub(crate) fn in_blocks(
    total: usize,
    count: usize,
    train: bool,
    mut forecast: impl FnMut(usize, usize) -> Result<Tensor>,
) -> Result<Tensor> {
    let count = if train { total } else { count }.max(1);
    let blocks = (0..total)
        .step_by(count)
        .map(|start| {
            let block = forecast(start, count.min(total - start))?;
            Ok(if train { block } else { block.detach() })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&blocks, 0)?)
}

/// `tokens` (`[N, P, d]`) and their observed flags (`[N, P]`) followed by the `[REG]` token
/// (row `id` of the `shared` embedding), always observed.
pub(crate) fn append_reg_token(
    shared: &Tensor,
    id: usize,
    tokens: &Tensor,
    observed: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let (n, _, width) = tokens.dims3()?;
    let reg = shared
        .get(id)?
        .reshape((1, 1, width))?
        .broadcast_as((n, 1, width))?;
    let flag = Tensor::ones((n, 1), observed.dtype(), observed.device())?;
    Ok((
        Tensor::cat(&[tokens, &reg], 1)?,
        Tensor::cat(&[observed, &flag], 1)?,
    ))
}

/// The loss whose outputs are `quantiles`: `MQLoss` with the levels they bound (0.1 … 0.9 are
/// the median and the 20, 40, 60 and 80% intervals); an error naming `model` when they are not
/// a median and symmetric pairs.
pub(crate) fn quantile_outputs(model: &str, quantiles: &[f64]) -> Result<QuantileSet> {
    let mut levels: Vec<f64> = quantiles
        .iter()
        .filter(|&&q| q < 0.5)
        .map(|&q| round_level(100.0 - 200.0 * q))
        .collect();
    levels.sort_by(f64::total_cmp);
    let set = QuantileSet::from_levels(&levels)?;
    let mut wanted = quantiles.to_vec();
    let mut given = set.quantiles.clone();
    wanted.sort_by(f64::total_cmp);
    given.sort_by(f64::total_cmp);
    let same =
        wanted.len() == given.len() && wanted.iter().zip(&given).all(|(a, b)| (a - b).abs() < 1e-9);
    if !same {
        return Err(Error::Config(format!(
            "{model}: the quantiles {quantiles:?} are not a median and symmetric interval bounds, \
             which the forecast columns need"
        )));
    }
    Ok(set)
}

/// A level in percent with the float noise of `100 - 200 q` removed (`0.7` gives 40, not
/// 39.99999999999999).
fn round_level(level: f64) -> f64 {
    (level * 1e9).round() / 1e9
}

/// The training defaults of a pretrained quantile model: no training step (it forecasts as it
/// is), no scaler (it standardises each context itself), its quantiles' loss, and for
/// fine-tuning a learning rate of 1e-5 without decay.
pub(crate) fn pretrained_train_defaults(model: &str, quantiles: &[f64]) -> TrainConfig {
    TrainConfig {
        max_steps: 0,
        learning_rate: 1e-5,
        num_lr_decays: -1,
        scaler_type: ScalerType::Identity,
        loss: Loss::Quantiles(
            quantile_outputs(model, quantiles)
                .expect("the default quantiles are a median and symmetric bounds"),
        ),
        ..TrainConfig::default()
    }
}

/// Refuses any loss but the one whose outputs are the model's `quantiles`.
pub(crate) fn check_quantile_loss(model: &str, quantiles: &[f64], loss: &Loss) -> Result<()> {
    let expected = quantile_outputs(model, quantiles)?;
    match loss {
        Loss::Quantiles(set) if *set == expected => Ok(()),
        _ => Err(Error::Config(format!(
            "{model} forecasts its quantiles {quantiles:?}: its loss is {} (set with \
             model_path), not {loss}",
            Loss::Quantiles(expected)
        ))),
    }
}

/// The output slot of each of the model's `quantiles`, checked against the `n_outputs` the
/// loss gives the model.
pub(crate) fn quantile_slots(
    model: &str,
    quantiles: &[f64],
    n_outputs: usize,
) -> Result<Vec<usize>> {
    let loss = quantile_outputs(model, quantiles)?;
    if n_outputs != loss.quantiles.len() {
        return Err(Error::Config(format!(
            "{model} has {} quantile outputs, the loss {n_outputs}",
            loss.quantiles.len()
        )));
    }
    Ok(output_slots(&loss, quantiles))
}

/// A Chronos patch embedding (`ResidualBlock`: `hidden_layer`, `output_layer`,
/// `residual_layer`), dropout `dropout` on its output while training.
pub(crate) fn patch_embedding(
    store: &mut ParamStore,
    name: &str,
    sizes: (usize, usize, usize),
    dropout: f64,
    seed: u64,
) -> Result<ResidualMlp> {
    let (inputs, hidden, outputs) = sizes;
    let spec = ResidualMlpSpec {
        inputs,
        hidden,
        outputs,
        dropout,
        layer_norm: false,
    };
    ResidualMlp::with_names(store, name, ResidualMlpNames::CHRONOS, spec, seed)
}

/// The output slot of each of the model's `quantiles` in `loss` (which lists the median first).
fn output_slots(loss: &QuantileSet, quantiles: &[f64]) -> Vec<usize> {
    quantiles
        .iter()
        .map(|q| {
            loss.quantiles
                .iter()
                .position(|l| (l - q).abs() < 1e-9)
                .expect("quantile_outputs covers every quantile")
        })
        .collect()
}

/// `[B, Q, H]` forecasts in the model's quantile order as `[B, H, Q]` in the loss's, quantile
/// `q` going to output `slots[q]`.
pub(crate) fn in_output_order(quantiles: &Tensor, slots: &[usize]) -> Result<Tensor> {
    let order: Vec<u32> = (0..slots.len())
        .map(|slot| {
            slots
                .iter()
                .position(|&s| s == slot)
                .expect("every output slot has a quantile") as u32
        })
        .collect();
    let order = Tensor::from_vec(order, slots.len(), quantiles.device())?;
    Ok(quantiles
        .contiguous()?
        .index_select(&order, 1)?
        .transpose(1, 2)?
        .contiguous()?)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn quantiles_map_to_median_and_interval_levels() {
        let set = quantile_outputs("M", &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]).unwrap();
        assert_eq!(set.levels, vec![20.0, 40.0, 60.0, 80.0]);
        assert_eq!(set.suffixes[0], "-median");
        assert_eq!(set.suffixes[1], "-lo-80");
        assert_eq!(output_slots(&set, &[0.1, 0.5, 0.9]), vec![1, 0, 8]);
        let lopsided = quantile_outputs("M", &[0.1, 0.5, 0.8]).unwrap_err();
        assert!(lopsided
            .to_string()
            .contains("M: the quantiles [0.1, 0.5, 0.8] are not a median and symmetric"));
    }

    #[test]
    fn leading_unobserved_patches_are_dropped() {
        let patching = ContextPatching { size: 4, stride: 4 };
        // 10 points, 3 observed at the end: padded to 12, the last patch alone observes.
        let values = Tensor::arange(0f32, 10.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 10))
            .unwrap();
        let flags: Vec<f32> = (0..10).map(|i| if i >= 7 { 1.0 } else { 0.0 }).collect();
        let observed = Tensor::from_vec(flags, (1, 10), &Device::Cpu).unwrap();
        let (v, o) = patching.trim(&values, &observed, true).unwrap();
        assert_eq!(v.to_vec2::<f32>().unwrap(), vec![vec![6.0, 7.0, 8.0, 9.0]]);
        assert_eq!(o.to_vec2::<f32>().unwrap(), vec![vec![0.0, 1.0, 1.0, 1.0]]);
        // Training keeps every patch: 10 points padded to 12.
        let (v, _) = patching.trim(&values, &observed, false).unwrap();
        assert_eq!(v.dim(1).unwrap(), 12);
        // Patches of 3 every 2 points over 9 (padded to 9): starts 0, 2, 4, 6; an observation
        // only at the end keeps the grid (a drop of 6, a multiple of the stride).
        let overlapping = ContextPatching { size: 3, stride: 2 };
        let values = Tensor::arange(0f32, 9.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 9))
            .unwrap();
        let flags: Vec<f32> = (0..9).map(|i| if i == 8 { 1.0 } else { 0.0 }).collect();
        let observed = Tensor::from_vec(flags, (1, 9), &Device::Cpu).unwrap();
        let (v, _) = overlapping.trim(&values, &observed, true).unwrap();
        assert_eq!(v.to_vec2::<f32>().unwrap(), vec![vec![6.0, 7.0, 8.0]]);
    }

    #[test]
    fn long_contexts_take_fewer_rows_a_block() {
        assert_eq!(inference_rows(11, 12), BLOCK_ROWS);
        assert_eq!(inference_rows(515, 12), 5);
        assert_eq!(inference_rows(100_000, 12), 1);
    }

    #[test]
    fn standardises_by_the_observed_values_only() {
        let values = Tensor::new(&[[100f32, 1.0, 3.0], [5.0, 5.0, 5.0]], &Device::Cpu).unwrap();
        let observed = Tensor::new(&[[0f32, 1.0, 1.0], [1.0, 1.0, 1.0]], &Device::Cpu).unwrap();
        let (location, scale) = location_and_scale(&values, &observed).unwrap();
        assert_eq!(
            location.to_vec2::<f32>().unwrap(),
            vec![vec![2.0], vec![5.0]]
        );
        assert_eq!(scale.to_vec2::<f32>().unwrap(), vec![vec![1.0], vec![1e-5]]);
    }
}
