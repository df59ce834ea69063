//! The Temporal Fusion Transformer's variable selection network (Lim et al., 2021, §4.2): each
//! variable's embedding transformed by its own gated residual network, and the results mixed
//! with softmax weights that a joint network computes from all embeddings (and a context).

use candle_core::{Tensor, D};

use super::{softmax_last_dim, Activation, GatedResidualNetwork, GatedResidualSpec, ParamStore};
use crate::error::Result;

/// Selects among `n` embedded variables of `hidden` features each. Parameters
/// `{name}.joint_grn` (all embeddings, flattened, and a `hidden`-wide context to `n` weights;
/// no dropout, as in NeuralForecast, which also creates its context layer where no context is
/// given) and `{name}.var_grns.{i}` (one per variable).
#[derive(Debug)]
pub struct VariableSelection {
    joint: GatedResidualNetwork,
    per_variable: Vec<GatedResidualNetwork>,
}

/// What a [`VariableSelection`] returns.
#[derive(Debug)]
pub struct Selected {
    /// The weighted sum of the transformed variables, `[..., hidden]`.
    pub features: Tensor,
    /// The selection weights, `[..., n]`, each position's summing to 1.
    pub weights: Tensor,
}

impl VariableSelection {
    /// The network for `variables` embeddings of `hidden` features; dropout `dropout` in the
    /// per-variable networks, drawn from streams keyed by `seed` onwards.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        variables: usize,
        hidden: usize,
        dropout: f64,
        activation: Activation,
        seed: u64,
    ) -> Result<VariableSelection> {
        let joint = GatedResidualNetwork::new(
            store,
            &format!("{name}.joint_grn"),
            GatedResidualSpec {
                inputs: hidden * variables,
                hidden,
                outputs: Some(variables),
                context: Some(hidden),
                dropout: 0.0,
                activation,
            },
            seed,
        )?;
        let per_variable = (0..variables)
            .map(|i| {
                GatedResidualNetwork::new(
                    store,
                    &format!("{name}.var_grns.{i}"),
                    GatedResidualSpec {
                        inputs: hidden,
                        hidden,
                        outputs: None,
                        context: None,
                        dropout,
                        activation,
                    },
                    seed.wrapping_add(1 + i as u64),
                )
            })
            .collect::<Result<_>>()?;
        Ok(VariableSelection {
            joint,
            per_variable,
        })
    }

    /// Selects from `x: [B, ..., n, hidden]` (the variables' embeddings at each position), with
    /// the context `c: [B, hidden]` when one is given: the mixed features and the weights.
    pub fn select(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Result<Selected> {
        let variable_axis = x.rank() - 2;
        let joint = x.flatten_from(variable_axis)?;
        let weights = softmax_last_dim(&self.joint.forward(&joint, context, train)?)?;
        // Each position's weighted sum of its transformed variables, one variable at a time:
        // each weight's gradient is then a sum along the last axis.
        let mut features: Option<Tensor> = None;
        for (i, grn) in self.per_variable.iter().enumerate() {
            let variable = x.narrow(variable_axis, i, 1)?.squeeze(variable_axis)?;
            let weight = weights.narrow(D::Minus1, i, 1)?;
            let term = grn
                .forward(&variable, None, train)?
                .broadcast_mul(&weight)?;
            features = Some(match features {
                Some(sum) => (sum + term)?,
                None => term,
            });
        }
        let features = features.ok_or_else(|| {
            crate::error::Error::Config("variable selection over no variables".into())
        })?;
        Ok(Selected { features, weights })
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::nn::test_support::{grid, values};

    #[test]
    fn weights_sum_to_one_and_mix_the_transformed_variables() {
        let mut store = ParamStore::new(2, &Device::Cpu);
        let vsn = VariableSelection::new(&mut store, "v", 3, 4, 0.0, Activation::ELU, 1).unwrap();
        // [B=2, T=5, n=3, hidden=4]
        let x = grid((10, 3, 4), |p, v, h| {
            ((p + 3 * v + 5 * h) as f64 * 0.37).sin()
        })
        .reshape((2, 5, 3, 4))
        .unwrap();
        let c = grid((1, 2, 4), |_, b, h| (b * 4 + h) as f64 * 0.1)
            .squeeze(0)
            .unwrap();
        let selected = vsn.select(&x, Some(&c), false).unwrap();
        assert_eq!(selected.weights.dims(), &[2, 5, 3]);
        assert_eq!(selected.features.dims(), &[2, 5, 4]);
        for row in values(&selected.weights).chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
        // Position (0, 0) by hand: the weighted sum of each variable's network output.
        let position = x.get(0).unwrap().get(0).unwrap();
        let weights = values(&selected.weights)[..3].to_vec();
        let mut expected = [0f32; 4];
        for (v, w) in weights.iter().enumerate() {
            let out = vsn.per_variable[v]
                .forward(&position.get(v).unwrap().unsqueeze(0).unwrap(), None, false)
                .unwrap();
            for (e, o) in expected.iter_mut().zip(values(&out)) {
                *e += w * o;
            }
        }
        for (got, want) in values(&selected.features)[..4].iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{got} {want}");
        }
    }
}
