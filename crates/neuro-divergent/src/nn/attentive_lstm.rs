//! The attentive LSTM layer of NeuralForecast's DilatedRNN (`cell_type="AttentiveLSTM"`, input
//! attention after Qin et al., 2017, "A Dual-Stage Attention-Based Recurrent Neural Network"):
//! before each step the layer scores every step of its input sequence against its current
//! hidden and cell states, `e_s = w2 · tanh(W1 [x_s; h; c] + b1) + b2`, and the LSTM cell reads
//! the softmax-weighted sum of the inputs instead of the step's own input.
//!
//! NeuralForecast 3.3 declares this cell but its forward pass fails (it concatenates the tuple
//! of unbound steps); this is the computation that code describes, with its parameters, names
//! and initialisation.

use candle_core::Tensor;

use super::dense::torch_default_parameters;
use super::recurrent::{linear, lstm_update};
use super::ParamStore;
use crate::error::Result;

/// One attentive LSTM layer over `[B, T, I]` sequences.
#[derive(Debug)]
pub struct AttentiveLstm {
    /// The LSTM cell: `W_ih: [4H, I]`, `W_hh: [4H, H]` and their biases.
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    /// `W1: [A, I + 2H]`, reading an input step, the hidden state and the cell state, and `b1`.
    w1: Tensor,
    b1: Tensor,
    /// `w2: [1, A]` and `b2`.
    w2: Tensor,
    b2: Tensor,
    hidden: usize,
}

impl AttentiveLstm {
    /// Creates the layer's parameters in NeuralForecast's order: the cell's `{name}.cell.
    /// weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` drawn as `torch.randn` draws them, then the
    /// scoring layers `{name}.attn_layer.0` (`I + 2H` to `H`) and `{name}.attn_layer.2` (`H` to
    /// 1) as PyTorch's `Linear` initialises them.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        inputs: usize,
        hidden: usize,
    ) -> Result<AttentiveLstm> {
        let mut draw =
            |kind: &str, dims: &[usize]| store.normal(&format!("{name}.cell.{kind}"), dims);
        let w_ih = draw("weight_ih", &[4 * hidden, inputs])?;
        let w_hh = draw("weight_hh", &[4 * hidden, hidden])?;
        let b_ih = draw("bias_ih", &[4 * hidden])?;
        let b_hh = draw("bias_hh", &[4 * hidden])?;
        let (w1, b1) = torch_default_parameters(
            store,
            &format!("{name}.attn_layer.0"),
            &[hidden, inputs + 2 * hidden],
        )?;
        let (w2, b2) =
            torch_default_parameters(store, &format!("{name}.attn_layer.2"), &[1, hidden])?;
        Ok(AttentiveLstm {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            w1,
            b1,
            w2,
            b2,
            hidden,
        })
    }

    /// The hidden state at every step of `x: [B, T, I]`, as `[B, T, H]`, from zero states.
    /// Every step attends over the whole sequence (`T` scores per step).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, steps, inputs) = x.dims3()?;
        // The input steps' part of the scores, the same for every step: [B, T, A].
        let keys = linear(x, &self.w1.narrow(1, 0, inputs)?.contiguous()?, None)?;
        let w_states = self.w1.narrow(1, inputs, 2 * self.hidden)?.contiguous()?;
        let zeros = Tensor::zeros((batch, self.hidden), x.dtype(), x.device())?;
        let (mut h, mut c) = (zeros.clone(), zeros);
        let mut outputs = Vec::with_capacity(steps);
        for _ in 0..steps {
            let query = linear(&Tensor::cat(&[&h, &c], 1)?, &w_states, Some(&self.b1))?;
            let scores = keys.broadcast_add(&query.unsqueeze(1)?)?.tanh()?;
            let scores = linear(&scores, &self.w2, Some(&self.b2))?;
            // [B, T, 1] weights over the steps -> [B, 1, T] x [B, T, I] -> [B, I]
            let weights = candle_nn::ops::softmax(&scores, 1)?;
            let context = weights.transpose(1, 2)?.matmul(x)?.squeeze(1)?;
            let gates = (linear(&context, &self.w_ih, Some(&self.b_ih))?
                + linear(&h, &self.w_hh, Some(&self.b_hh))?)?;
            (h, c) = lstm_update(&gates, &c)?;
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

    /// NeuralForecast's `AttentiveLSTMLayer(3, 4)` created after `torch.manual_seed(1)`, its
    /// forward pass run with the sequence stacked (as its code intends), on
    /// `x[b, t, i] = sin(b + 2t + 3i)` (2 x 5 x 3) with the loss `sum(out * cos(b + t + h))`.
    #[test]
    fn matches_neuralforecast_forward_and_backward() {
        let mut store = ParamStore::new(1, &Device::Cpu);
        let layer = AttentiveLstm::new(&mut store, "layer", 3, 4).unwrap();
        let x = Var::from_tensor(&grid((2, 5, 3), |b, t, i| {
            ((b + 2 * t + 3 * i) as f64).sin()
        }))
        .unwrap();
        let out = layer.forward(x.as_tensor()).unwrap();
        assert_eq!(out.dims(), &[2, 5, 4]);
        let row = |b: usize, t: usize| out.get(b).unwrap().get(t).unwrap().to_vec1().unwrap();
        assert_close(
            &row(0, 4),
            &[0.37493888, -0.217_546_9, 0.44371477, 0.039_320_8],
            "last step",
        );
        assert_close(
            &row(1, 0),
            &[0.297_305_7, -0.067205444, 0.39165732, 0.10525738],
            "first step",
        );
        let weights = grid((2, 5, 4), |b, t, h| ((b + t + h) as f64).cos());
        let grads = weighted_sum_gradients(&out, &weights);
        let params = store.into_varmap();
        let params = params.data().lock().unwrap();
        for (name, expected) in [
            (
                "cell.weight_ih",
                [-0.011470317, 0.010687456, -0.009_690_683],
            ),
            ("cell.weight_hh", [-0.059913732, 0.029739687, -0.078152284]),
            ("cell.bias_hh", [-0.093_593_13, 0.447_63, -0.0015893616]),
            (
                "attn_layer.0.weight",
                [-0.162_387_1, 0.17646593, -0.187_012_8],
            ),
            (
                "attn_layer.0.bias",
                [-0.012011395, -0.0016056603, 0.069_670_73],
            ),
            ("attn_layer.2.weight", [0.217_245, -0.10517707, -0.15403113]),
        ] {
            let grad = grads
                .get(params[&format!("layer.{name}")].as_tensor())
                .unwrap();
            let grad: Vec<f32> = grad.flatten_all().unwrap().to_vec1().unwrap();
            assert_close(&grad[..3], &expected, name);
        }
        let x_grad = grads.get(x.as_tensor()).unwrap();
        let x_grad: Vec<f32> = x_grad.get(0).unwrap().get(0).unwrap().to_vec1().unwrap();
        assert_close(
            &x_grad,
            &[-0.15770088, -0.072_243_76, 0.16623187],
            "input gradient",
        );
    }
}
