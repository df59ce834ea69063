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
    /// patches, less the leading patches no context observes: masked keys take no attention
    /// weight and positions enter only relative to the end, so dropping them changes nothing but
    /// the work.
    pub fn trim(&self, values: &Tensor, observed: &Tensor) -> Result<(Tensor, Tensor)> {
        let (n, length) = values.dims2()?;
        let (size, stride) = (self.size, self.stride);
        let pad = (size - length % size) % size;
        let flags = observed.to_dtype(DType::F32)?.max(0)?.to_vec1::<f32>()?;
        let first_observed = flags.iter().position(|&f| f > 0.0).unwrap_or(length) + pad;
        // The first patch that reaches an observation; patches start on multiples of `stride`.
        let first_patch = (first_observed + 1).saturating_sub(size).div_ceil(stride);
        let padded_length = length + pad;
        let drop = (first_patch * stride).min(padded_length.saturating_sub(size));
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
        let (v, o) = patching.trim(&values, &observed).unwrap();
        assert_eq!(v.to_vec2::<f32>().unwrap(), vec![vec![6.0, 7.0, 8.0, 9.0]]);
        assert_eq!(o.to_vec2::<f32>().unwrap(), vec![vec![0.0, 1.0, 1.0, 1.0]]);
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
