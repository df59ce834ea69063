//! The Temporal Fusion Transformer's gating blocks (Lim et al., 2021, §4.1): the gated linear
//! unit and the gated residual network, as NeuralForecast's TFT builds them.

use candle_core::Tensor;

use super::glu_op::glu;
use super::{Activation, Dense, Dropout, LayerNorm, ParamStore};
use crate::error::Result;

/// TFT's layer norms add 1e-3 to the variance.
pub(crate) const TFT_NORM_EPS: f64 = 1e-3;

/// A gated linear unit: `a * sigmoid(b)`, where `[a | b] = x W^T + c` (`{name}.lin`, twice
/// `outputs` wide).
#[derive(Debug)]
pub struct GatedLinearUnit {
    lin: Dense,
}

impl GatedLinearUnit {
    /// The unit reading `inputs` features and writing `outputs`; its layer `{name}.lin`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        outputs: usize,
    ) -> Result<GatedLinearUnit> {
        Ok(GatedLinearUnit {
            lin: Dense::new(store, &format!("{name}.lin"), inputs, 2 * outputs)?,
        })
    }

    /// The gated values of `x: [..., inputs]`, `[..., outputs]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        glu(&self.lin.forward(x, None)?)
    }
}

/// The shape of a [`GatedResidualNetwork`].
#[derive(Debug, Clone, Copy)]
pub struct GatedResidualSpec {
    /// Features read.
    pub inputs: usize,
    /// Units of the hidden layers.
    pub hidden: usize,
    /// Features written; `None`: `hidden`, with the input itself as the residual (so `inputs`
    /// must equal `hidden`). Otherwise the residual is a linear map of the input.
    pub outputs: Option<usize>,
    /// Width of the context vector added to the first layer's output, when there is one.
    pub context: Option<usize>,
    /// Dropout before the gate.
    pub dropout: f64,
    /// The non-linearity after the first layer (and context).
    pub activation: Activation,
}

/// A gated residual network: `norm(residual(a) + GLU(dropout(W_i act(W_a a + W_c c))))`, the
/// norm left out when the output is a single feature (as NeuralForecast's `MaybeLayerNorm`
/// does). Parameters `{name}.lin_a`, `.lin_c` (no bias), `.lin_i`, `.glu.lin` and
/// `.out_proj`, drawn in that order as PyTorch draws them, and `.layer_norm.ln` (no draw).
#[derive(Debug)]
pub struct GatedResidualNetwork {
    lin_a: Dense,
    lin_c: Option<Dense>,
    lin_i: Dense,
    glu: GatedLinearUnit,
    out_proj: Option<Dense>,
    norm: Option<LayerNorm>,
    dropout: Dropout,
    activation: Activation,
}

impl GatedResidualNetwork {
    /// The network of `spec`, its dropout drawn from streams keyed by `seed`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: GatedResidualSpec,
        seed: u64,
    ) -> Result<GatedResidualNetwork> {
        if spec.outputs.is_none() && spec.inputs != spec.hidden {
            return Err(crate::error::Error::Config(format!(
                "{name}: without an output width the input is the residual, so its {} \
                 features must equal the {} hidden units",
                spec.inputs, spec.hidden
            )));
        }
        let outputs = spec.outputs.unwrap_or(spec.hidden);
        let lin_a = Dense::new(store, &format!("{name}.lin_a"), spec.inputs, spec.hidden)?;
        let lin_c = spec
            .context
            .map(|width| Dense::without_bias(store, &format!("{name}.lin_c"), width, spec.hidden))
            .transpose()?;
        let lin_i = Dense::new(store, &format!("{name}.lin_i"), spec.hidden, spec.hidden)?;
        let glu = GatedLinearUnit::new(store, &format!("{name}.glu"), spec.hidden, outputs)?;
        let out_proj = spec
            .outputs
            .map(|outputs| Dense::new(store, &format!("{name}.out_proj"), spec.inputs, outputs))
            .transpose()?;
        let norm = (outputs != 1 || spec.outputs.is_none())
            .then(|| {
                LayerNorm::with_eps(
                    store,
                    &format!("{name}.layer_norm.ln"),
                    outputs,
                    TFT_NORM_EPS,
                )
            })
            .transpose()?;
        Ok(GatedResidualNetwork {
            lin_a,
            lin_c,
            lin_i,
            glu,
            out_proj,
            norm,
            dropout: Dropout::new(spec.dropout, seed),
            activation: spec.activation,
        })
    }

    /// The network on `a: [B, ..., inputs]`, with the context `c: [B, context]` added at every
    /// position of a row when the network reads one (`None` reads as zeros).
    pub fn forward(&self, a: &Tensor, context: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let mut x = self.lin_a.forward(a, None)?;
        if let (Some(lin_c), Some(c)) = (&self.lin_c, context) {
            let projected = lin_c.forward(c, None)?;
            // [B, hidden] broadcast over the positions between the row and the features.
            let mut shape = vec![projected.dim(0)?];
            shape.extend(std::iter::repeat_n(1, x.rank() - 2));
            shape.push(projected.dim(1)?);
            x = x.broadcast_add(&projected.reshape(shape)?)?;
        }
        let x = self.lin_i.forward(&self.activation.apply(&x)?, None)?;
        let x = self.glu.forward(&self.dropout.apply(&x, train)?)?;
        let residual = match &self.out_proj {
            Some(out_proj) => out_proj.forward(a, None)?,
            None => a.clone(),
        };
        let x = (x + residual)?;
        match &self.norm {
            Some(norm) => norm.forward(&x),
            None => Ok(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::{grid, values};

    #[test]
    fn the_unit_gates_the_first_half_by_the_second() {
        let mut store = ParamStore::new(3, &Device::Cpu);
        let glu = GatedLinearUnit::new(&mut store, "g", 2, 3).unwrap();
        let x = grid((1, 2, 2), |_, r, i| (r + 2 * i) as f64 * 0.5);
        let both = glu.lin.forward(&x, None).unwrap();
        let got = values(&glu.forward(&x).unwrap());
        let both = values(&both);
        for r in 0..2 {
            for k in 0..3 {
                let (a, b) = (both[r * 6 + k], both[r * 6 + 3 + k]);
                let expected = a / (1.0 + (-b).exp());
                assert!((got[r * 3 + k] - expected).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn a_single_output_is_not_normalised_and_wider_ones_are() {
        let spec = |outputs| GatedResidualSpec {
            inputs: 4,
            hidden: 4,
            outputs,
            context: Some(4),
            dropout: 0.0,
            activation: Activation::ELU,
        };
        let a = grid((2, 3, 4), |b, t, i| ((b + 2 * t + 3 * i) as f64).sin());
        let c = grid((1, 2, 4), |_, b, i| (b + i) as f64 * 0.3)
            .squeeze(0)
            .unwrap();
        let mut store = ParamStore::new(5, &Device::Cpu);
        let single = GatedResidualNetwork::new(&mut store, "one", spec(Some(1)), 1).unwrap();
        let out = single.forward(&a, Some(&c), false).unwrap();
        assert_eq!(out.dims(), &[2, 3, 1]);
        assert!(values(&out).iter().any(|v| v.abs() > 1e-3));
        let wide = GatedResidualNetwork::new(&mut store, "wide", spec(None), 1).unwrap();
        let out = wide.forward(&a, Some(&c), false).unwrap();
        assert_eq!(out.dims(), &[2, 3, 4]);
        // Every position normalised: zero mean over its features.
        for row in values(&out).chunks(4) {
            assert!(row.iter().sum::<f32>().abs() < 1e-4, "{row:?}");
        }
        // The context moves the output.
        let without = wide.forward(&a, None, false).unwrap();
        assert_ne!(values(&without), values(&out));
    }
}
