//! The residual LSTM layer of NeuralForecast's DilatedRNN (`cell_type="ResLSTM"`, after Kim et
//! al., 2017, "Residual LSTM"): the input, forget and output gates read the input, the hidden
//! state and the cell state; the candidate reads the hidden state alone; and the output adds the
//! input back, `h' = o * (tanh(c') + r)` with `r` the input itself when it is as wide as the
//! state, else its projection `W_ir x`.
//!
//! Run one step at a time on Candle's generic ops (each step's tensors kept separate, so the
//! backward pass stays linear in the steps but for the slices of the input projections).

use candle_core::{Tensor, D};

use super::recurrent::{linear, steps_of};
use super::ParamStore;
use crate::error::Result;

/// One residual LSTM layer over `[B, T, I]` sequences.
#[derive(Debug)]
pub struct ResidualLstm {
    /// `W_ii: [3H, I]` and `b_ii`: the gates' input part.
    w_ii: Tensor,
    b_ii: Tensor,
    /// `W_ic: [3H, H]` and `b_ic`: the gates' cell-state part.
    w_ic: Tensor,
    b_ic: Tensor,
    /// `W_ih: [3H, H]` and `b_ih`: the gates' hidden-state part.
    w_ih: Tensor,
    b_ih: Tensor,
    /// `W_hh: [H, H]` and `b_hh`: the candidate's (hidden state only).
    w_hh: Tensor,
    b_hh: Tensor,
    /// `W_ir: [H, I]`, used when the input is not as wide as the state.
    w_ir: Tensor,
    hidden: usize,
}

impl ResidualLstm {
    /// Creates the layer's parameters in NeuralForecast's order, each drawn as `torch.randn`
    /// draws it: `{name}.weight_ii`, `weight_ic`, `weight_ih`, `bias_ii`, `bias_ic`, `bias_ih`,
    /// `weight_hh`, `bias_hh`, `weight_ir`.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        hidden: usize,
    ) -> Result<ResidualLstm> {
        let mut draw = |kind: &str, dims: &[usize]| store.normal(&format!("{name}.{kind}"), dims);
        let w_ii = draw("weight_ii", &[3 * hidden, inputs])?;
        let w_ic = draw("weight_ic", &[3 * hidden, hidden])?;
        let w_ih = draw("weight_ih", &[3 * hidden, hidden])?;
        let b_ii = draw("bias_ii", &[3 * hidden])?;
        let b_ic = draw("bias_ic", &[3 * hidden])?;
        let b_ih = draw("bias_ih", &[3 * hidden])?;
        let w_hh = draw("weight_hh", &[hidden, hidden])?;
        let b_hh = draw("bias_hh", &[hidden])?;
        let w_ir = draw("weight_ir", &[hidden, inputs])?;
        Ok(ResidualLstm {
            w_ii,
            b_ii,
            w_ic,
            b_ic,
            w_ih,
            b_ih,
            w_hh,
            b_hh,
            w_ir,
            hidden,
        })
    }

    /// The hidden state at every step of `x: [B, T, I]`, as `[B, T, H]`, from zero states.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, _, inputs) = x.dims3()?;
        let h3 = 3 * self.hidden;
        let gates_in = steps_of(&linear(x, &self.w_ii, Some(&self.b_ii))?)?;
        let residual = if inputs == self.hidden {
            steps_of(x)?
        } else {
            steps_of(&linear(x, &self.w_ir, None)?)?
        };
        // The hidden state's parts of the gates and the candidate as one product per step
        // (built here from the parameters, which the optimiser updates in place).
        let w_state = Tensor::cat(&[&self.w_ih, &self.w_hh], 0)?;
        let b_state = Tensor::cat(&[&(&self.b_ih + &self.b_ic)?, &self.b_hh], 0)?;
        let zeros = Tensor::zeros((batch, self.hidden), x.dtype(), x.device())?;
        let (mut h, mut c) = (zeros.clone(), zeros);
        let mut outputs = Vec::with_capacity(gates_in.len());
        for (from_input, residual) in gates_in.iter().zip(&residual) {
            let from_state = linear(&h, &w_state, Some(&b_state))?;
            let gates = ((from_input + from_state.narrow(D::Minus1, 0, h3)?)?
                + linear(&c, &self.w_ic, None)?)?;
            let gates = candle_nn::ops::sigmoid(&gates)?;
            let gate = |k: usize| gates.narrow(D::Minus1, k * self.hidden, self.hidden);
            let candidate = from_state.narrow(D::Minus1, h3, self.hidden)?.tanh()?;
            c = ((gate(1)? * &c)? + (gate(0)? * candidate)?)?;
            h = (gate(2)? * (c.tanh()? + residual)?)?;
            outputs.push(h.clone());
        }
        Ok(Tensor::stack(&outputs, 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::{assert_close, grid, weighted_sum_gradients};
    use candle_core::{Device, Var};

    /// NeuralForecast's `ResLSTMLayer(inputs, 4)` created after `torch.manual_seed(1)`, run on
    /// `x[b, t, i] = sin(b + 2t + 3i)` (2 x 5 x inputs) with the loss
    /// `sum(out * cos(b + t + h))`: the last step of the first window, the first step of the
    /// second, the first three gradient values of `weight_ii`, `weight_ic`, `bias_ih`,
    /// `weight_hh`, `bias_hh` and `weight_ir` (none when unused), and the input's first step's.
    struct Reference {
        inputs: usize,
        last: [f32; 4],
        first: [f32; 4],
        grads: [(&'static str, Option<[f32; 3]>); 6],
        x_grad: &'static [f32],
    }

    const REFERENCES: [Reference; 2] = [
        Reference {
            inputs: 3,
            last: [0.18017517, 0.008123659, -3.5764377, -0.5838312],
            first: [0.28428027, 0.046351448, -2.589412, -1.1168032],
            grads: [
                ("weight_ii", Some([-0.025847178, 0.03317651, -0.03984185])),
                ("weight_ic", Some([0.06400633, 0.19060943, -0.14423718])),
                ("bias_ih", Some([0.25244933, 0.081_378_1, 0.11145581])),
                ("weight_hh", Some([0.032_241_76, 0.013_311_53, -0.17357388])),
                ("bias_hh", Some([0.388_133_1, 0.054109722, -0.38074034])),
                ("weight_ir", Some([0.19681412, -0.20717162, 0.21338257])),
            ],
            x_grad: &[1.685_523, -1.659_582, 1.4054867],
        },
        Reference {
            inputs: 4,
            last: [1.5005851, -0.19660941, 0.57536715, -0.84825176],
            first: [1.0847659, -0.48025712, 0.45004487, -0.525_109_3],
            grads: [
                ("weight_ii", Some([-0.042078663, 0.034313772, -0.025862087])),
                ("weight_ic", Some([-0.013172039, 0.024933588, 0.024_700_65])),
                ("bias_ih", Some([-0.076378554, 0.060_725_14, -0.013380125])),
                ("weight_hh", Some([-0.281_247_2, 0.10270652, -0.091_968_68])),
                ("bias_hh", Some([-0.371_322_7, -0.694_202, -0.0066392124])),
                ("weight_ir", None),
            ],
            x_grad: &[0.40783352, -0.13259298, -0.28249535, -0.28131595],
        },
    ];

    #[test]
    fn matches_neuralforecast_forward_and_backward() {
        for reference in &REFERENCES {
            let inputs = reference.inputs;
            let mut store = ParamStore::new(1, &Device::Cpu);
            let layer = ResidualLstm::new(&mut store, "cell", inputs, 4).unwrap();
            let x = Var::from_tensor(&grid((2, 5, inputs), |b, t, i| {
                ((b + 2 * t + 3 * i) as f64).sin()
            }))
            .unwrap();
            let out = layer.forward(x.as_tensor()).unwrap();
            assert_eq!(out.dims(), &[2, 5, 4]);
            let row = |b: usize, t: usize| out.get(b).unwrap().get(t).unwrap().to_vec1().unwrap();
            assert_close(&row(0, 4), &reference.last, "last step");
            assert_close(&row(1, 0), &reference.first, "first step");
            let weights = grid((2, 5, 4), |b, t, h| ((b + t + h) as f64).cos());
            let grads = weighted_sum_gradients(&out, &weights);
            let params = store.into_varmap();
            let params = params.data().lock().unwrap();
            for (name, expected) in reference.grads {
                let grad = grads.get(params[&format!("cell.{name}")].as_tensor());
                match expected {
                    Some(expected) => {
                        let grad: Vec<f32> =
                            grad.unwrap().flatten_all().unwrap().to_vec1().unwrap();
                        assert_close(&grad[..3], &expected, name);
                    }
                    None => assert!(grad.is_none(), "{name} is unused when widths match"),
                }
            }
            let x_grad = grads.get(x.as_tensor()).unwrap();
            let x_grad: Vec<f32> = x_grad.get(0).unwrap().get(0).unwrap().to_vec1().unwrap();
            assert_close(&x_grad, reference.x_grad, "input gradient");
        }
    }
}
