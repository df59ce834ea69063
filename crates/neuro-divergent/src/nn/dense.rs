//! Fully connected layers and stacks of them.

use candle_core::Tensor;

use super::dense_op::affine;
use super::product::unaliased;
use super::{Activation, Dropout, ParamStore};
use crate::error::Result;

/// A linear layer `y = x W^T + b`, initialised as `torch.nn.Linear` is: weights by Kaiming
/// uniform with `a = sqrt(5)`, bias uniform in ±1/sqrt(fan_in), both ±1/sqrt(fan_in) computed as
/// PyTorch computes them so that the drawn values are bit-identical.
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    /// Creates the layer's parameters as `{name}.weight` and `{name}.bias`.
    pub fn new(store: &mut ParamStore, name: &str, inputs: usize, outputs: usize) -> Result<Dense> {
        let (weight, bias) = torch_default_parameters(store, name, &[outputs, inputs])?;
        Dense::held(store, weight, bias)
    }

    /// A layer without bias (PyTorch's `bias=False`): `{name}.weight` alone, drawn as
    /// `Linear`'s; the bias is a constant zero, not a parameter.
    pub fn without_bias(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<Dense> {
        let weight = torch_default_weight(store, name, &[outputs, inputs])?;
        let bias = Tensor::zeros(outputs, weight.dtype(), weight.device())?;
        Dense::held(store, weight, bias)
    }

    /// A layer without bias whose weight is drawn from the normal distribution of deviation
    /// `std` (T5's initialisation): `{name}.weight` alone.
    pub fn normal_without_bias(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
        std: f64,
    ) -> Result<Dense> {
        let weight = store.normal_scaled(&format!("{name}.weight"), &[outputs, inputs], std)?;
        let bias = Tensor::zeros(outputs, weight.dtype(), weight.device())?;
        Dense::held(store, weight, bias)
    }

    /// The layer as `store` keeps it: a model that only forecasts holds its weight
    /// [`unaliased`] (a copy made once, beside the trained values), so that no forward pass
    /// copies it again.
    fn held(store: &ParamStore, weight: Tensor, bias: Tensor) -> Result<Dense> {
        let weight = if store.is_frozen() {
            unaliased(weight)?
        } else {
            weight
        };
        Ok(Dense { weight, bias })
    }

    /// A layer with the given `[outputs, inputs]` weight and `[outputs]` bias.
    #[cfg(test)]
    pub(crate) fn from_parts(weight: Tensor, bias: Tensor) -> Dense {
        Dense { weight, bias }
    }

    /// Applies the layer to `[..., inputs]`, then `activation` if any; the product, the bias and
    /// a ReLU are one fused op (`DenseOp`).
    pub fn forward(&self, x: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
        linear(x, &self.weight, &self.bias, activation)
    }

    /// Applies the layer along time to every channel of a sequence: `[B, inputs, C]` to
    /// `[B, outputs, C]` (a map from one sequence length to another).
    pub fn forward_over_steps(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward(&x.transpose(1, 2)?, None)?.transpose(1, 2)?)
    }
}

/// Draws `{name}.weight` of `weight_shape` (outputs first, then the inputs each output reads) and
/// `{name}.bias` as PyTorch's `Linear` and `Conv1d` initialise theirs: the weight by Kaiming
/// uniform with `a = sqrt(5)` and the bias uniform in ±1/sqrt(fan_in), the bounds computed step
/// by step as PyTorch computes them so that the drawn values are bit-identical.
pub(crate) fn torch_default_parameters(
    store: &mut ParamStore,
    name: &str,
    weight_shape: &[usize],
) -> Result<(Tensor, Tensor)> {
    let weight = torch_default_weight(store, name, weight_shape)?;
    let fan_in = fan_in(weight_shape);
    let bias = store.uniform(
        &format!("{name}.bias"),
        &weight_shape[..1],
        1.0 / fan_in.sqrt(),
    )?;
    Ok((weight, bias))
}

/// `{name}.weight` alone, drawn as in [`torch_default_parameters`] (a layer without bias).
pub(crate) fn torch_default_weight(
    store: &mut ParamStore,
    name: &str,
    weight_shape: &[usize],
) -> Result<Tensor> {
    let a = 5f64.sqrt();
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    let weight_bound = 3f64.sqrt() * (gain / fan_in(weight_shape).sqrt());
    store.uniform(&format!("{name}.weight"), weight_shape, weight_bound)
}

/// The inputs each output of a weight of `weight_shape` reads (at least 1), as PyTorch counts.
fn fan_in(weight_shape: &[usize]) -> f64 {
    weight_shape[1..].iter().product::<usize>().max(1) as f64
}

/// `x W^T + b` over the last axis of `x` (`weight` is `[outputs, inputs]`), then `activation` if
/// any; on the CPU the product, the bias and a ReLU are one fused op (`DenseOp`).
pub(crate) fn linear(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    activation: Option<Activation>,
) -> Result<Tensor> {
    let relu = activation == Some(Activation::ReLU);
    let out = affine(x, weight, bias, relu)?;
    match activation {
        Some(act) if !relu => act.apply(&out),
        _ => Ok(out),
    }
}

/// One layer of a [`FeedForward`] stack: a dense map, optionally followed by an activation and
/// dropout.
#[derive(Debug, Clone)]
struct Layer {
    dense: Dense,
    activation: Option<Activation>,
}

/// The `(inputs, outputs, activated)` layers of a plain perceptron for [`FeedForward::new`]:
/// `hidden_layers` activated layers of width `hidden` (the first reading `inputs`), then a linear
/// map to `outputs`; with no hidden layers, a single linear map from `inputs`.
pub fn perceptron_layers(
    inputs: usize,
    hidden: usize,
    hidden_layers: usize,
    outputs: usize,
) -> Vec<(usize, usize, bool)> {
    let widths: Vec<usize> = std::iter::once(inputs)
        .chain(std::iter::repeat_n(hidden, hidden_layers))
        .collect();
    let activated = widths.windows(2).map(|w| (w[0], w[1], true));
    activated
        .chain(std::iter::once((widths[hidden_layers], outputs, false)))
        .collect()
}

/// NeuralForecast's `MLP` decoder of the sequence models (recurrent, TCN, DilatedRNN), named
/// `mlp_decoder.layers`: `layers` dense layers counting the output layer (1: a single linear
/// map), the hidden ones `hidden` wide and activated, without dropout.
pub fn mlp_decoder(
    store: &mut ParamStore,
    inputs: usize,
    hidden: usize,
    layers: usize,
    outputs: usize,
    activation: Activation,
    seed: u64,
) -> Result<FeedForward> {
    let layers = perceptron_layers(inputs, hidden, layers.saturating_sub(1), outputs);
    FeedForward::new(store, "mlp_decoder.layers", &layers, activation, 0.0, seed)
}

/// A sequence of dense layers with activations where requested and inverted dropout after each
/// activated layer during training. Dropout draws from its own seeded RNG.
#[derive(Debug)]
pub struct FeedForward {
    layers: Vec<Layer>,
    dropout: Dropout,
}

impl FeedForward {
    /// Builds the stack from `(inputs, outputs, activated)` triples, naming layers `{name}.{i}`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        layers: &[(usize, usize, bool)],
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Result<FeedForward> {
        let layers = layers
            .iter()
            .enumerate()
            .map(|(i, &(inputs, outputs, activated))| {
                Ok(Layer {
                    dense: Dense::new(store, &format!("{name}.{i}"), inputs, outputs)?,
                    activation: activated.then_some(activation),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FeedForward {
            layers,
            dropout: Dropout::new(dropout, seed),
        })
    }

    /// Applies every layer in turn; dropout only when `train` is set.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.dense.forward(&x, layer.activation)?;
            if layer.activation.is_some() {
                x = self.dropout.apply(&x, train)?;
            }
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::values;
    use candle_core::Device;

    fn leading(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()[..3].to_vec()
    }

    #[test]
    fn layers_start_from_the_weights_torch_draws() {
        // NeuralForecast's MLP(h=12, input_size=24, random_seed=1): the first values of each
        // parameter, in creation order, as PyTorch initialised them.
        let mut store = ParamStore::new(1, &Device::Cpu);
        let layers = [(24, 1024, true), (1024, 1024, true), (1024, 12, false)];
        let net = FeedForward::new(&mut store, "mlp", &layers, Activation::ReLU, 0.0, 1).unwrap();
        let torch: [[f64; 3]; 6] = [
            [
                0.10517766326665878,
                -0.09009595960378647,
                -0.03957181051373482,
            ],
            [
                -0.1097460612654686,
                0.08695691078901291,
                -0.017204461619257927,
            ],
            [
                0.007295519113540649,
                -0.011912841349840164,
                0.01654703915119171,
            ],
            [
                0.010424409061670303,
                0.004929903894662857,
                -0.016705520451068878,
            ],
            [
                -0.004940100014209747,
                0.00563618540763855,
                0.01763138175010681,
            ],
            [
                -0.0037665963172912598,
                -0.020372986793518066,
                -0.00896870344877243,
            ],
        ];
        let ours: Vec<Vec<f32>> = net
            .layers
            .iter()
            .flat_map(|l| [leading(&l.dense.weight), leading(&l.dense.bias)])
            .collect();
        let expected: Vec<Vec<f32>> = torch
            .iter()
            .map(|p| p.iter().map(|&v| v as f32).collect())
            .collect();
        assert_eq!(ours, expected);
    }

    /// A model that only forecasts holds a weight whose rows would alias 16 floats further
    /// apart, and gives what the trained layer gives, bit for bit through the fused op and up
    /// to rounding through Candle's generic ops; other weights stay as they are.
    #[test]
    fn a_frozen_layer_holds_its_weight_unaliased_and_forecasts_the_same() {
        let mut trained = ParamStore::new(3, &Device::Cpu);
        let aliasing = Dense::new(&mut trained, "wide", 512, 96).unwrap();
        let plain = Dense::new(&mut trained, "narrow", 96, 40).unwrap();
        Dense::new(&mut trained, "head", 512, 12).unwrap();
        let mut frozen = ParamStore::frozen(&trained.into_varmap());
        let held = Dense::new(&mut frozen, "wide", 512, 96).unwrap();
        let held_plain = Dense::new(&mut frozen, "narrow", 96, 40).unwrap();
        let held_head = Dense::new(&mut frozen, "head", 512, 12).unwrap();
        assert_eq!(held.weight.dims(), &[96, 512]);
        assert_eq!(held.weight.stride(), &[528, 1]);
        // Rows that do not alias, or too few of them for the products to copy, stay as they are.
        assert_eq!(held_plain.weight.stride(), &[96, 1]);
        assert_eq!(held_head.weight.stride(), &[512, 1]);

        let x = Tensor::rand(-1f32, 1f32, (2, 9, 512), &Device::Cpu).unwrap();
        for activation in [None, Some(Activation::ReLU)] {
            let expected = aliasing.forward(&x, activation).unwrap();
            let got = held.forward(&x, activation).unwrap();
            assert_eq!(values(&got), values(&expected));
            assert_eq!(
                values(&held_plain.forward(&got, activation).unwrap()),
                values(&plain.forward(&expected, activation).unwrap())
            );
        }
        let generic =
            super::super::dense_op::affine_generic(&x, &held.weight, &held.bias, false).unwrap();
        let reference = aliasing.forward(&x, None).unwrap();
        for (g, r) in values(&generic).iter().zip(values(&reference)) {
            assert!((g - r).abs() <= 1e-5 * (1.0 + r.abs()), "{g} vs {r}");
        }
    }
}
