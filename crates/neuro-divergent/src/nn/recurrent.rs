//! Stacked recurrent encoders: Elman RNN, LSTM and GRU layers as PyTorch's `nn.RNN`, `nn.LSTM`
//! and `nn.GRU` define them (gate order, an input and a hidden bias, initialisation).
//!
//! Each layer runs on one of two kernels ([`RecurrentKernel`]): the fused recurrence
//! (`recurrent_op.rs`, the default: the input projection of all steps as one product, then the
//! whole recurrence forward and backward as one graph node), or Candle's generic ops unrolled one
//! step at a time, kept as the reference the fused kernel is tested against. In the generic
//! version every step's tensors stay separate, so Candle's backward pass is linear in the
//! sequence length (slicing one whole-sequence tensor per step would make it quadratic). The
//! fused kernel runs on the CPU; on other devices (CUDA) the layers run on the generic one.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::dense_op::affine;
use super::kernels;
use super::recurrent_op::{FusedRecurrence, FusedStep};
use super::{Dropout, ParamStore};
use crate::error::{Error, Result};

/// How recurrent layers are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecurrentKernel {
    /// The whole sequence as one op with its own backward pass (the default).
    Fused,
    /// Candle's generic ops, one step at a time (the reference, for tests and benchmarks).
    Generic,
}

/// Set when models built from now on should use [`RecurrentKernel::Generic`].
static GENERIC_KERNEL: AtomicBool = AtomicBool::new(false);

impl RecurrentKernel {
    /// The kernel recurrent models built from now on use (fused unless
    /// [`RecurrentKernel::set_default`] chose otherwise).
    pub fn default_kernel() -> RecurrentKernel {
        if GENERIC_KERNEL.load(Ordering::Relaxed) {
            RecurrentKernel::Generic
        } else {
            RecurrentKernel::Fused
        }
    }

    /// Chooses the kernel of recurrent models built from now on, process-wide: for comparing
    /// the two (`neuro-divergent bench --recurrent-kernel generic`). Results agree up to float
    /// rounding.
    pub fn set_default(kernel: RecurrentKernel) {
        GENERIC_KERNEL.store(kernel == RecurrentKernel::Generic, Ordering::Relaxed);
    }
}

/// The recurrent cell of every layer of an encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    /// Elman cell `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnTanh,
    /// Elman cell with ReLU in place of tanh.
    RnnRelu,
    /// Long short-term memory, gates in PyTorch's order input, forget, cell, output.
    Lstm,
    /// Gated recurrent unit, gates in PyTorch's order reset, update, new.
    Gru,
}

impl Cell {
    /// Rows of the stacked gate weights per hidden unit.
    pub(crate) fn gates(self) -> usize {
        match self {
            Cell::RnnTanh | Cell::RnnRelu => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// The shape of a stack of recurrent layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurrentLayers {
    /// The cell of every layer.
    pub cell: Cell,
    /// Features read per step by the first layer.
    pub inputs: usize,
    /// Units of each layer's state.
    pub hidden: usize,
    /// Number of stacked layers.
    pub n_layers: usize,
    /// Whether the layers have the biases `b_ih` and `b_hh`.
    pub bias: bool,
    /// LSTM only, PyTorch's `proj_size`: when above 0, every layer's output (its hidden state,
    /// read by the next step and the next layer) is `W_hr (o * tanh(c))`, `proj_size` wide.
    pub proj_size: usize,
}

impl RecurrentLayers {
    /// `n_layers` layers of `hidden` units with biases and no projection.
    pub fn new(cell: Cell, inputs: usize, hidden: usize, n_layers: usize) -> RecurrentLayers {
        RecurrentLayers {
            cell,
            inputs,
            hidden,
            n_layers,
            bias: true,
            proj_size: 0,
        }
    }

    /// Width of each layer's output: `proj_size` when set, else `hidden`.
    pub fn output_width(&self) -> usize {
        if self.proj_size > 0 {
            self.proj_size
        } else {
            self.hidden
        }
    }
}

/// One layer's parameters: `W_ih: [G*H, I]`, `W_hh: [G*H, O]`, unless disabled the biases
/// `b_ih` and `b_hh: [G*H]`, and for a projected LSTM `W_hr: [O, H]` (`O` the output width).
#[derive(Debug)]
struct Layer {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Option<Tensor>,
    b_hh: Option<Tensor>,
    w_hr: Option<Tensor>,
}

/// The state carried from one step to the next.
#[derive(Debug, Clone)]
struct State {
    h: Tensor,
    /// The LSTM cell state (carried unchanged, as zeros, by the other cells).
    c: Tensor,
}

/// Every layer's state after the steps read so far, for stepping an encoder one step at a time
/// ([`RecurrentEncoder::advance`]): what autoregressive forecasting carries between steps.
#[derive(Debug, Clone)]
pub struct RecurrentState {
    layers: Vec<State>,
}

impl RecurrentState {
    /// The state of each layer, first layer first: its hidden state `h: [B, O]` and its cell
    /// state `c: [B, H]` (read by LSTM layers only; the other cells carry it unchanged).
    pub fn from_layers(layers: impl IntoIterator<Item = (Tensor, Tensor)>) -> RecurrentState {
        RecurrentState {
            layers: layers.into_iter().map(|(h, c)| State { h, c }).collect(),
        }
    }

    /// Each row repeated `times` times in a row (row `r` becomes rows `r * times ..
    /// (r + 1) * times`): one copy of a series' state per sample path.
    pub fn repeat_rows(&self, times: usize) -> Result<RecurrentState> {
        let layers = self
            .layers
            .iter()
            .map(|s| {
                Ok(State {
                    h: repeat_rows(&s.h, times)?,
                    c: repeat_rows(&s.c, times)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(RecurrentState { layers })
    }
}

/// A stack of recurrent layers over `[B, T, I]` sequences; each layer's outputs at every step
/// are the next layer's inputs, with dropout between layers while training.
#[derive(Debug)]
pub struct RecurrentEncoder {
    cell: Cell,
    hidden: usize,
    output_width: usize,
    layers: Vec<Layer>,
    dropout: Dropout,
    kernel: RecurrentKernel,
}

impl RecurrentEncoder {
    /// Creates the layers of `shape`, parameters named as PyTorch names them
    /// (`{name}.weight_ih_l0`, `{name}.weight_hh_l0`, `{name}.bias_ih_l0`, `{name}.bias_hh_l0`,
    /// `{name}.weight_hr_l0` when projected, then layer 1, ...) and drawn in that order from
    /// U(±1/sqrt(hidden)), as `reset_parameters` draws them. The layers run on `kernel`; a
    /// projected LSTM always runs on the generic one.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        shape: RecurrentLayers,
        dropout: f64,
        seed: u64,
        kernel: RecurrentKernel,
    ) -> Result<RecurrentEncoder> {
        if shape.proj_size > 0 && shape.cell != Cell::Lstm {
            return Err(Error::Config(format!(
                "{name}: only LSTM layers can be projected (proj_size), not {:?}",
                shape.cell
            )));
        }
        let hidden = shape.hidden;
        let bound = if hidden > 0 {
            1.0 / (hidden as f64).sqrt()
        } else {
            0.0
        };
        let rows = shape.cell.gates() * hidden;
        let output_width = shape.output_width();
        let layers = (0..shape.n_layers)
            .map(|l| {
                let width = if l == 0 { shape.inputs } else { output_width };
                let mut draw = |kind: &str, dims: &[usize]| {
                    store.uniform(&format!("{name}.{kind}_l{l}"), dims, bound)
                };
                let w_ih = draw("weight_ih", &[rows, width])?;
                let w_hh = draw("weight_hh", &[rows, output_width])?;
                let (b_ih, b_hh) = if shape.bias {
                    (
                        Some(draw("bias_ih", &[rows])?),
                        Some(draw("bias_hh", &[rows])?),
                    )
                } else {
                    (None, None)
                };
                let w_hr = (shape.proj_size > 0)
                    .then(|| draw("weight_hr", &[output_width, hidden]))
                    .transpose()?;
                Ok(Layer {
                    w_ih,
                    w_hh,
                    b_ih,
                    b_hh,
                    w_hr,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let kernel = if shape.proj_size > 0 {
            RecurrentKernel::Generic
        } else {
            kernel
        };
        Ok(RecurrentEncoder {
            cell: shape.cell,
            hidden,
            output_width,
            layers,
            dropout: Dropout::new(dropout, seed),
            kernel,
        })
    }

    /// The kernel for inputs like `x`: the fused one is a CPU kernel, so on other devices the
    /// layers run on the generic one.
    fn kernel_on(&self, x: &Tensor) -> RecurrentKernel {
        if kernels::fused(x.device()) {
            self.kernel
        } else {
            RecurrentKernel::Generic
        }
    }

    /// True when training draws no random numbers (no dropout between layers).
    pub fn is_deterministic(&self) -> bool {
        self.dropout.is_identity() || self.layers.len() < 2
    }

    /// The last layer's output (hidden state) at every step of `x: [B, T, I]`, as `[B, T, O]`
    /// (`O` the output width), starting from zero states.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match self.kernel_on(x) {
            RecurrentKernel::Fused => self.forward_fused(x, train),
            RecurrentKernel::Generic => self.forward_generic(x, train),
        }
    }

    /// The last `steps` of [`RecurrentEncoder::forward`]'s outputs, `[B, steps, O]`
    /// (`steps <= T`). On the fused recurrence the last layer's op writes only those steps,
    /// batch-major, and takes their gradient as it is (no `[T, B, O]` output or gradient).
    pub fn forward_last(&self, x: &Tensor, steps: usize, train: bool) -> Result<Tensor> {
        let all = x.dim(1)?;
        if steps > all {
            return Err(Error::Config(format!(
                "the last {steps} outputs of a {all}-step sequence"
            )));
        }
        if self.layers.is_empty() {
            return Ok(x.narrow(1, all - steps, steps)?);
        }
        match self.kernel_on(x) {
            RecurrentKernel::Fused => self.forward_time_major(x, Some(steps), train),
            RecurrentKernel::Generic => {
                Ok(self
                    .forward_generic(x, train)?
                    .narrow(1, all - steps, steps)?)
            }
        }
    }

    /// [`RecurrentEncoder::forward`] on the fused recurrence, which runs time-major: the
    /// output of [`RecurrentEncoder::forward_time_major`] transposed back.
    fn forward_fused(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self
            .forward_time_major(x, None, train)?
            .transpose(0, 1)?
            .contiguous()?)
    }

    /// The fused recurrence's outputs `[T, B, O]`, or with `last` the last steps' outputs
    /// batch-major (`[B, last, O]`, formed by the last layer's op): `x` is transposed to
    /// `[T, B, I]` once and the layers pass time-major sequences to each other.
    fn forward_time_major(&self, x: &Tensor, last: Option<usize>, train: bool) -> Result<Tensor> {
        let mut sequence = x.transpose(0, 1)?.contiguous()?;
        for (l, layer) in self.layers.iter().enumerate() {
            let weights = Tensor::cat(&[&layer.w_ih, &layer.w_hh], 1)?;
            let biases = Tensor::cat(
                &[
                    self.bias_or_zeros(&layer.b_ih, x)?,
                    self.bias_or_zeros(&layer.b_hh, x)?,
                ],
                0,
            )?;
            let op = match last {
                Some(steps) if l + 1 == self.layers.len() => {
                    FusedRecurrence::last_steps(self.cell, steps)
                }
                _ => FusedRecurrence::new(self.cell),
            };
            sequence = sequence.apply_op3(&weights, &biases, op)?;
            if l + 1 < self.layers.len() {
                // Drawn window by window, as chunked training needs.
                sequence = self.dropout.apply_time_major(&sequence, train)?;
            }
        }
        Ok(sequence)
    }

    /// The last layer's output at every step of `x: [B, T, I]` as `[B, T, O]`, starting from
    /// `state` (one per layer), and every layer's state after the last step. Gradients reach
    /// `state` and flow from the returned one: an encoder can start from a state computed by
    /// the network (TFT's static context) and hand its last state to a second encoder.
    pub fn forward_from(
        &self,
        x: &Tensor,
        state: &RecurrentState,
        train: bool,
    ) -> Result<(Tensor, RecurrentState)> {
        if state.layers.len() != self.layers.len() {
            return Err(Error::Config(format!(
                "recurrent encoder of {} layers given the state of {}",
                self.layers.len(),
                state.layers.len()
            )));
        }
        match self.kernel_on(x) {
            RecurrentKernel::Fused => self.forward_fused_from(x, state, train),
            RecurrentKernel::Generic => self.forward_generic_from(x, state, train),
        }
    }

    /// [`RecurrentEncoder::forward_from`] on the fused recurrence: each layer's initial state
    /// follows its biases into the op, and an LSTM layer's last cell state comes back after
    /// its outputs.
    fn forward_fused_from(
        &self,
        x: &Tensor,
        state: &RecurrentState,
        train: bool,
    ) -> Result<(Tensor, RecurrentState)> {
        let steps = x.dim(1)?;
        let mut sequence = x.transpose(0, 1)?.contiguous()?;
        let mut last = Vec::with_capacity(self.layers.len());
        for (l, (layer, initial)) in self.layers.iter().zip(&state.layers).enumerate() {
            let weights = Tensor::cat(&[&layer.w_ih, &layer.w_hh], 1)?;
            let mut parts = vec![
                self.bias_or_zeros(&layer.b_ih, x)?,
                self.bias_or_zeros(&layer.b_hh, x)?,
                initial.h.flatten_all()?,
            ];
            if self.cell == Cell::Lstm {
                parts.push(initial.c.flatten_all()?);
            }
            let operands = Tensor::cat(&parts, 0)?;
            let out =
                sequence.apply_op3(&weights, &operands, FusedRecurrence::from_state(self.cell))?;
            let outputs = out.narrow(0, 0, steps)?;
            let h = match steps {
                0 => initial.h.clone(),
                _ => outputs.get(steps - 1)?,
            };
            let c = match self.cell {
                Cell::Lstm => out.get(steps)?,
                _ => initial.c.clone(),
            };
            last.push(State { h, c });
            sequence = outputs;
            if l + 1 < self.layers.len() {
                sequence = self.dropout.apply_time_major(&sequence, train)?;
            }
        }
        Ok((
            sequence.transpose(0, 1)?.contiguous()?,
            RecurrentState { layers: last },
        ))
    }

    /// A layer's bias, or zeros for a layer without biases.
    fn bias_or_zeros(&self, bias: &Option<Tensor>, like: &Tensor) -> Result<Tensor> {
        Ok(match bias {
            Some(bias) => bias.clone(),
            None => Tensor::zeros(self.cell.gates() * self.hidden, like.dtype(), like.device())?,
        })
    }

    /// [`RecurrentEncoder::forward_from`] on Candle's generic ops (`x` read through views, as
    /// in [`RecurrentEncoder::forward`]).
    fn forward_generic_from(
        &self,
        x: &Tensor,
        state: &RecurrentState,
        train: bool,
    ) -> Result<(Tensor, RecurrentState)> {
        let mut sequence = steps_of(x)?;
        let mut last = Vec::with_capacity(self.layers.len());
        for (l, (layer, initial)) in self.layers.iter().zip(&state.layers).enumerate() {
            let (outputs, end) = self.run_layer_from(layer, &sequence, initial.clone())?;
            last.push(end);
            sequence = outputs;
            if l + 1 < self.layers.len() {
                sequence = sequence
                    .iter()
                    .map(|h| self.dropout.apply(h, train))
                    .collect::<Result<_>>()?;
            }
        }
        Ok((
            Tensor::stack(&sequence, 1)?,
            RecurrentState { layers: last },
        ))
    }

    /// Zero states for `batch` rows, the state before the first step.
    pub fn zero_state(&self, batch: usize, like: &Tensor) -> Result<RecurrentState> {
        let zeros = |width: usize| Tensor::zeros((batch, width), like.dtype(), like.device());
        let state = State {
            h: zeros(self.output_width)?,
            c: zeros(self.hidden)?,
        };
        Ok(RecurrentState {
            layers: vec![state; self.layers.len()],
        })
    }

    /// Reads one step `x: [B, I]` from `state` (updated in place) and returns the last layer's
    /// output `[B, O]`, as [`RecurrentEncoder::forward`] in inference mode computes it.
    pub fn advance(&self, x: &Tensor, state: &mut RecurrentState) -> Result<Tensor> {
        let mut input = x.contiguous()?;
        for (layer, layer_state) in self.layers.iter().zip(state.layers.iter_mut()) {
            let from_input = linear(&input, &layer.w_ih, layer.b_ih.as_ref())?;
            let from_state = linear(&layer_state.h, &layer.w_hh, layer.b_hh.as_ref())?;
            *layer_state = match self.kernel_on(x) {
                RecurrentKernel::Fused => self.fused_step(&from_input, &from_state, layer_state)?,
                RecurrentKernel::Generic => {
                    self.step(layer, &from_input, &from_state, layer_state)?
                }
            };
            input = layer_state.h.clone();
        }
        Ok(input)
    }

    /// [`RecurrentEncoder::step`] as one op over every row ([`FusedStep`]; forward only).
    fn fused_step(&self, from_input: &Tensor, from_state: &Tensor, state: &State) -> Result<State> {
        let packed = if self.cell == Cell::Lstm {
            Tensor::cat(&[&state.h, &state.c], 1)?
        } else {
            state.h.clone()
        };
        let next = from_input.apply_op3_no_bwd(from_state, &packed, &FusedStep::new(self.cell))?;
        Ok(if self.cell == Cell::Lstm {
            State {
                h: next.narrow(1, 0, self.hidden)?.contiguous()?,
                c: next.narrow(1, self.hidden, self.hidden)?,
            }
        } else {
            State {
                h: next,
                c: state.c.clone(),
            }
        })
    }

    /// The generic version: `x` is read one step at a time through views, so it is meant to be
    /// data, not a tensor that needs a gradient.
    fn forward_generic(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut sequence = steps_of(x)?;
        for (l, layer) in self.layers.iter().enumerate() {
            sequence = self.run_layer(layer, &sequence)?;
            if l + 1 < self.layers.len() {
                sequence = sequence
                    .iter()
                    .map(|h| self.dropout.apply(h, train))
                    .collect::<Result<_>>()?;
            }
        }
        Ok(Tensor::stack(&sequence, 1)?)
    }

    /// One layer over a sequence of `[B, I]` inputs from zero states.
    fn run_layer(&self, layer: &Layer, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        let batch = match inputs.first() {
            Some(first) => first.dim(0)?,
            None => return Ok(Vec::new()),
        };
        let zeros =
            |width: usize| Tensor::zeros((batch, width), inputs[0].dtype(), inputs[0].device());
        let state = State {
            h: zeros(self.output_width)?,
            c: zeros(self.hidden)?,
        };
        Ok(self.run_layer_from(layer, inputs, state)?.0)
    }

    /// One layer over a sequence of `[B, I]` inputs from `state`: its outputs and last state.
    fn run_layer_from(
        &self,
        layer: &Layer,
        inputs: &[Tensor],
        mut state: State,
    ) -> Result<(Vec<Tensor>, State)> {
        let mut outputs = Vec::with_capacity(inputs.len());
        for x in inputs {
            let from_input = linear(x, &layer.w_ih, layer.b_ih.as_ref())?;
            let from_state = linear(&state.h, &layer.w_hh, layer.b_hh.as_ref())?;
            state = self.step(layer, &from_input, &from_state, &state)?;
            outputs.push(state.h.clone());
        }
        Ok((outputs, state))
    }

    /// The next state of `layer` from the input's and the previous state's gate pre-activations
    /// (`[B, G*H]` each).
    fn step(
        &self,
        layer: &Layer,
        from_input: &Tensor,
        from_state: &Tensor,
        state: &State,
    ) -> Result<State> {
        let gate = |t: &Tensor, k: usize| t.narrow(D::Minus1, k * self.hidden, self.hidden);
        let sigmoid = |t: &Tensor| candle_nn::ops::sigmoid(t);
        Ok(match self.cell {
            Cell::RnnTanh => State {
                h: (from_input + from_state)?.tanh()?,
                c: state.c.clone(),
            },
            Cell::RnnRelu => State {
                h: (from_input + from_state)?.relu()?,
                c: state.c.clone(),
            },
            Cell::Lstm => {
                let (h, c) = lstm_update(&(from_input + from_state)?, &state.c)?;
                let h = match &layer.w_hr {
                    Some(w_hr) => h.matmul(&w_hr.t()?)?,
                    None => h,
                };
                State { h, c }
            }
            Cell::Gru => {
                let reset = sigmoid(&(gate(from_input, 0)? + gate(from_state, 0)?)?)?;
                let update = sigmoid(&(gate(from_input, 1)? + gate(from_state, 1)?)?)?;
                let new = (gate(from_input, 2)? + (reset * gate(from_state, 2)?)?)?.tanh()?;
                // (1 - z) n + z h, as PyTorch writes it.
                let h = ((update.affine(-1.0, 1.0)? * new)? + (update * &state.h)?)?;
                State {
                    h,
                    c: state.c.clone(),
                }
            }
        })
    }
}

/// An LSTM cell's next hidden and cell states from its gate pre-activations `[B, 4H]` (input,
/// forget, cell, output, PyTorch's order) and the cell state `c: [B, H]`.
pub(crate) fn lstm_update(gates: &Tensor, c: &Tensor) -> Result<(Tensor, Tensor)> {
    let hidden = c.dim(D::Minus1)?;
    let gate = |k: usize| gates.narrow(D::Minus1, k * hidden, hidden);
    let sigmoid = |t: &Tensor| candle_nn::ops::sigmoid(t);
    let input = sigmoid(&gate(0)?)?;
    let forget = sigmoid(&gate(1)?)?;
    let candidate = gate(2)?.tanh()?;
    let output = sigmoid(&gate(3)?)?;
    let c = ((forget * c)? + (input * candidate)?)?;
    let h = (output * c.tanh()?)?;
    Ok((h, c))
}

/// The steps of `x: [B, T, K]` as `T` contiguous tensors `[B, K]`. Each is a slice of `x`, so when `x`
/// needs a gradient the backward pass writes `T` full-size gradients: fine where a step's own
/// work (a `[K, G*H]` product per row) outweighs a copy of the sequence.
pub(crate) fn steps_of(x: &Tensor) -> Result<Vec<Tensor>> {
    (0..x.dim(1)?)
        .map(|t| Ok(x.narrow(1, t, 1)?.squeeze(1)?.contiguous()?))
        .collect()
}

/// `x: [B, ...]` with each row repeated `times` times in a row (`[B * times, ...]`).
pub(crate) fn repeat_rows(x: &Tensor, times: usize) -> Result<Tensor> {
    let dims = x.dims();
    let mut expanded = vec![dims[0], times];
    expanded.extend_from_slice(&dims[1..]);
    let mut merged = vec![dims[0] * times];
    merged.extend_from_slice(&dims[1..]);
    Ok(x.unsqueeze(1)?
        .broadcast_as(expanded.as_slice())?
        .contiguous()?
        .reshape(merged.as_slice())?)
}

/// `x W^T + b` over the last dimension of `x`, with the bias when there is one.
pub(crate) fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    Ok(match bias {
        Some(bias) => affine(x, weight, bias, false)?,
        None => x.broadcast_matmul(&weight.t()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::test_support::{assert_close, grid, values, weighted_sum_gradients};
    use candle_core::{Device, Var};

    /// The gradient of every parameter of `store` in `grads`, in name order.
    fn parameter_gradients(
        store: ParamStore,
        grads: &candle_core::backprop::GradStore,
    ) -> Vec<Vec<f32>> {
        let varmap = store.into_varmap();
        let vars = varmap.data().lock().unwrap();
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|name| values(grads.get(vars[name].as_tensor()).unwrap()))
            .collect()
    }

    /// PyTorch's outputs and gradients for a 2-layer encoder of 4 units over 3 inputs, created
    /// after `torch.manual_seed(1)`, on `x[b, t, i] = sin(b + 2t + 3i)` (2 x 5 x 3), with the
    /// loss `sum(out * cos(b + t + h))`: the last step of both windows, the first step of the
    /// second, then the first gradient values of `weight_ih_l0`, `weight_hh_l1`, `bias_hh_l0`.
    struct Reference {
        cell: Cell,
        last: [f32; 8],
        first: [f32; 4],
        grads: [[f32; 4]; 3],
    }

    const REFERENCES: [Reference; 4] = [
        Reference {
            cell: Cell::RnnTanh,
            last: [
                0.0798769, -0.3519045, 0.6424388, 0.0171294, 0.013548, -0.3707304, 0.6393135,
                0.1875419,
            ],
            first: [-0.2370599, -0.5039916, 0.5936049, 0.1638201],
            grads: [
                [1.5821307, -1.5707883, 1.5280063, -0.4251609],
                [-0.3308336, 1.2316122, -3.8406038, -1.3913128],
                [-1.499006, 0.4026666, 0.3681486, 1.9292431],
            ],
        },
        Reference {
            cell: Cell::RnnRelu,
            last: [
                0.2087343, 0.0, 0.7848357, 0.0, 0.1939406, 0.0, 0.7527952, 0.0,
            ],
            first: [0.0, 0.0, 0.5628383, 0.0],
            grads: [
                [0.0831296, -0.1576652, 0.2290451, -0.2824833],
                [-0.6303978, 0.0, -3.8193774, 0.0],
                [-0.0234341, -0.3872365, 0.0, 1.3016583],
            ],
        },
        Reference {
            cell: Cell::Lstm,
            last: [
                -0.1420867, 0.0978618, 0.1172363, -0.0205176, -0.1401429, 0.0960627, 0.1229161,
                -0.0266535,
            ],
            first: [-0.0880964, 0.0479422, 0.0561038, -0.0243537],
            grads: [
                [-0.0069894, 0.0074367, -0.007735, -0.0036917],
                [-0.0215989, 0.0138448, 0.0163423, -0.0051896],
                [0.0043278, -0.0001907, 0.0152417, 0.0238086],
            ],
        },
        Reference {
            cell: Cell::Gru,
            last: [
                -0.3062997, 0.0912356, 0.2176145, 0.6181368, -0.3150903, 0.0827167, 0.2403363,
                0.6218871,
            ],
            first: [-0.1801444, 0.0440183, 0.2019886, 0.3245887],
            grads: [
                [0.0200858, -0.0197939, 0.0191058, -0.0024815],
                [0.0204169, -0.0063486, -0.0194556, -0.0415522],
                [-0.0391498, -0.0360254, -0.0220956, 0.0109941],
            ],
        },
    ];

    #[test]
    fn every_cell_on_both_kernels_matches_pytorch_forward_and_backward() {
        let x = grid((2, 5, 3), |b, t, i| ((b + 2 * t + 3 * i) as f64).sin());
        let weights = grid((2, 5, 4), |b, t, h| ((b + t + h) as f64).cos());
        for kernel in [RecurrentKernel::Fused, RecurrentKernel::Generic] {
            for reference in &REFERENCES {
                let mut store = ParamStore::new(1, &Device::Cpu);
                let cell = reference.cell;
                let encoder = RecurrentEncoder::new(
                    &mut store,
                    "rnn",
                    RecurrentLayers::new(cell, 3, 4, 2),
                    0.0,
                    1,
                    kernel,
                )
                .unwrap();
                let out = encoder.forward(&x, true).unwrap();
                assert_eq!(out.dims(), &[2, 5, 4]);
                let what = format!("{cell:?} on {kernel:?}");
                let last = out.narrow(1, 4, 1).unwrap().flatten_all().unwrap();
                assert_close(&last.to_vec1::<f32>().unwrap(), &reference.last, &what);
                let first = out
                    .get(1)
                    .unwrap()
                    .get(0)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                assert_close(&first, &reference.first, &what);
                let grads = weighted_sum_gradients(&out, &weights);
                let varmap = store.into_varmap();
                let vars = varmap.data().lock().unwrap();
                for (name, expected) in ["weight_ih_l0", "weight_hh_l1", "bias_hh_l0"]
                    .iter()
                    .zip(&reference.grads)
                {
                    let var: &Var = &vars[&format!("rnn.{name}")];
                    let grad = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
                    let grad = grad.to_vec1::<f32>().unwrap();
                    assert_close(&grad[..4], expected, &format!("{what} {name}"));
                }
            }
        }
    }

    /// PyTorch's `nn.LSTM(3, 4, num_layers=2, proj_size=2)` after `torch.manual_seed(1)`, on the
    /// inputs and loss of [`REFERENCES`] (weights `cos(b + t + h)` over the 2 outputs): both
    /// windows' last outputs, the second window's first, and the first gradient values of
    /// `weight_ih_l0`, `weight_hh_l1`, `bias_hh_l0`, `weight_hr_l0` and `weight_hr_l1`. Projected
    /// layers run on the generic kernel whichever is asked for.
    #[test]
    fn a_projected_lstm_matches_pytorch_forward_and_backward() {
        let x = grid((2, 5, 3), |b, t, i| ((b + 2 * t + 3 * i) as f64).sin());
        let weights = grid((2, 5, 2), |b, t, h| ((b + t + h) as f64).cos());
        let grads: [(&str, [f32; 4]); 5] = [
            (
                "weight_ih_l0",
                [-0.00314607, 0.002988072, -0.002770268, -0.001733231],
            ),
            (
                "weight_hh_l1",
                [-0.004352239, 0.0007376039, -0.01248233, 0.00218378],
            ),
            (
                "bias_hh_l0",
                [0.008512316, 0.001156195, 0.003384684, -0.001938315],
            ),
            (
                "weight_hr_l0",
                [0.01522014, -0.00146407, -0.01186409, 0.01145528],
            ),
            (
                "weight_hr_l1",
                [0.1524939, -0.5420691, -0.7264661, 0.1974131],
            ),
        ];
        for kernel in [RecurrentKernel::Fused, RecurrentKernel::Generic] {
            let mut store = ParamStore::new(1, &Device::Cpu);
            let shape = RecurrentLayers {
                proj_size: 2,
                ..RecurrentLayers::new(Cell::Lstm, 3, 4, 2)
            };
            let encoder = RecurrentEncoder::new(&mut store, "lstm", shape, 0.0, 1, kernel).unwrap();
            let out = encoder.forward(&x, true).unwrap();
            assert_eq!(out.dims(), &[2, 5, 2]);
            let last = out.narrow(1, 4, 1).unwrap().flatten_all().unwrap();
            let last = last.to_vec1::<f32>().unwrap();
            assert_close(
                &last,
                &[-0.192791, 0.03811771, -0.1913177, 0.03590146],
                "last",
            );
            let first = out
                .get(1)
                .unwrap()
                .get(0)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert_close(&first, &[-0.09173997, 0.01164841], "first");
            let gradients = weighted_sum_gradients(&out, &weights);
            let varmap = store.into_varmap();
            let vars = varmap.data().lock().unwrap();
            for (name, expected) in &grads {
                let var: &Var = &vars[&format!("lstm.{name}")];
                let grad = gradients
                    .get(var.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap();
                let grad = grad.to_vec1::<f32>().unwrap();
                assert_close(&grad[..4], expected, name);
            }
        }
        let mut store = ParamStore::new(1, &Device::Cpu);
        let gru = RecurrentLayers {
            proj_size: 2,
            ..RecurrentLayers::new(Cell::Gru, 3, 4, 1)
        };
        let err = RecurrentEncoder::new(&mut store, "gru", gru, 0.0, 1, RecurrentKernel::Fused)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only LSTM layers can be projected"), "{err}");
    }

    /// The output's values, every parameter's gradient in name order and the input's, under the
    /// loss `sum(out * weights)`.
    fn output_and_gradients(
        store: ParamStore,
        out: &Tensor,
        weights: &Tensor,
        x: &Var,
    ) -> Vec<Vec<f32>> {
        let grads = weighted_sum_gradients(out, weights);
        let mut all = vec![values(out)];
        all.extend(parameter_gradients(store, &grads));
        all.push(values(grads.get(x.as_tensor()).unwrap()));
        all
    }

    /// Both kernels' outputs and gradients under the loss `sum(out * weights)`: the output, every
    /// parameter's gradient in name order and the input's, for each cell, compared.
    fn assert_kernels_agree(
        layers: impl Fn(Cell) -> RecurrentLayers,
        cells: &[Cell],
        x: &Var,
        weights: &Tensor,
    ) {
        for &cell in cells {
            let run = |kernel| {
                let mut store = ParamStore::new(7, &Device::Cpu);
                let encoder =
                    RecurrentEncoder::new(&mut store, "e", layers(cell), 0.0, 1, kernel).unwrap();
                let out = encoder.forward(x.as_tensor(), true).unwrap();
                output_and_gradients(store, &out, weights, x)
            };
            let (fused, generic) = (run(RecurrentKernel::Fused), run(RecurrentKernel::Generic));
            let parameters = layers(cell).n_layers * if layers(cell).bias { 4 } else { 2 };
            assert_eq!(fused.len(), parameters + 2, "output, parameters and dx");
            for (i, (a, b)) in fused.iter().zip(&generic).enumerate() {
                assert_close(a, b, &format!("{cell:?}, tensor {i}"));
            }
        }
    }

    /// Three windows of nine steps of two features, tracking a gradient.
    fn nine_step_input() -> Var {
        Var::from_tensor(&grid((3, 9, 2), |b, t, i| {
            ((3 * b + t) as f64 * 0.7 + i as f64).cos()
        }))
        .unwrap()
    }

    /// Every gradient of the fused kernel (parameters and a computed input) equals the generic
    /// kernel's, without biases, over three layers and a longer sequence.
    #[test]
    fn fused_and_generic_kernels_give_the_same_gradients() {
        let x = nine_step_input();
        let weights = grid((3, 9, 5), |b, t, h| ((b * 7 + t * 3 + h) as f64).sin());
        let layers = |cell| RecurrentLayers {
            bias: false,
            ..RecurrentLayers::new(cell, 2, 5, 3)
        };
        let cells = [Cell::RnnTanh, Cell::RnnRelu, Cell::Lstm, Cell::Gru];
        assert_kernels_agree(layers, &cells, &x, &weights);
    }

    /// `forward_last` gives the last steps of `forward`'s outputs, and the same gradients of
    /// the parameters and the input under a loss on those steps, on both kernels; more steps
    /// than the sequence has are refused.
    #[test]
    fn the_last_outputs_are_the_whole_sequences_last_steps() {
        let x = nine_step_input();
        let weights = grid((3, 4, 5), |b, t, h| ((b * 7 + t * 3 + h) as f64).sin());
        for kernel in [RecurrentKernel::Fused, RecurrentKernel::Generic] {
            for cell in [Cell::RnnTanh, Cell::Lstm, Cell::Gru] {
                let run = |last: bool| {
                    let mut store = ParamStore::new(7, &Device::Cpu);
                    let layers = RecurrentLayers::new(cell, 2, 5, 2);
                    let encoder =
                        RecurrentEncoder::new(&mut store, "e", layers, 0.0, 1, kernel).unwrap();
                    let out = match last {
                        true => encoder.forward_last(x.as_tensor(), 4, true).unwrap(),
                        false => encoder
                            .forward(x.as_tensor(), true)
                            .unwrap()
                            .narrow(1, 5, 4)
                            .unwrap(),
                    };
                    output_and_gradients(store, &out, &weights, &x)
                };
                let (last, whole) = (run(true), run(false));
                assert_eq!(last[0].len(), 3 * 4 * 5);
                assert_eq!(
                    last.len(),
                    10,
                    "output, 8 parameters and the input's gradient"
                );
                for (i, (a, b)) in last.iter().zip(&whole).enumerate() {
                    assert_close(a, b, &format!("{kernel:?} {cell:?}, tensor {i}"));
                }
            }
            let mut store = ParamStore::new(7, &Device::Cpu);
            let layers = RecurrentLayers::new(Cell::Lstm, 2, 5, 1);
            let encoder = RecurrentEncoder::new(&mut store, "e", layers, 0.0, 1, kernel).unwrap();
            let err = encoder
                .forward_last(x.as_tensor(), 10, false)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("the last 10 outputs of a 9-step sequence"),
                "{err}"
            );
        }
    }

    /// On the fused kernel the first layer forms its input's gradient only for an input that
    /// tracks one; either way the parameters' gradients are the same, bit for bit.
    #[test]
    fn parameter_gradients_do_not_depend_on_whether_the_input_is_data() {
        let values = grid((3, 6, 2), |b, t, i| {
            ((2 * b + t) as f64 * 0.3 + i as f64).sin()
        });
        let weights = grid((3, 6, 4), |b, t, h| ((b + 2 * t + 3 * h) as f64).cos());
        for cell in [Cell::Lstm, Cell::Gru] {
            let run = |x: &Tensor| {
                let mut store = ParamStore::new(5, &Device::Cpu);
                let layers = RecurrentLayers::new(cell, 2, 4, 2);
                let encoder =
                    RecurrentEncoder::new(&mut store, "e", layers, 0.0, 1, RecurrentKernel::Fused)
                        .unwrap();
                let grads = weighted_sum_gradients(&encoder.forward(x, true).unwrap(), &weights);
                (parameter_gradients(store, &grads), grads.get(x).is_some())
            };
            let variable = Var::from_tensor(&values).unwrap();
            let (with_variable, variable_has_gradient) = run(variable.as_tensor());
            let (with_data, _) = run(&values);
            assert!(variable_has_gradient, "{cell:?}");
            assert_eq!(with_variable.len(), 8);
            for (i, (a, b)) in with_data.iter().zip(&with_variable).enumerate() {
                assert_eq!(a, b, "{cell:?}, parameter {i}");
            }
        }
    }

    /// The fused layer keeps its activations for one backward pass, which consumes them: a
    /// second backward pass over the same forward pass is an error that says so, not a
    /// gradient from overwritten values.
    #[test]
    fn a_second_backward_pass_over_one_forward_pass_is_refused() {
        let x = grid((2, 3, 2), |b, t, i| (b + t + i) as f64 * 0.1);
        let mut store = ParamStore::new(3, &Device::Cpu);
        let layers = RecurrentLayers::new(Cell::Lstm, 2, 4, 1);
        let encoder =
            RecurrentEncoder::new(&mut store, "e", layers, 0.0, 1, RecurrentKernel::Fused).unwrap();
        let loss = encoder.forward(&x, true).unwrap().sum_all().unwrap();
        loss.backward().unwrap();
        let err = loss.backward().unwrap_err().to_string();
        assert!(
            err.contains("each forward pass supports one backward pass"),
            "{err}"
        );
    }

    /// The fused kernel's gradients equal the generic kernel's on layers 16 units and more
    /// wide (17 inputs), where the products have whole vectors of rows.
    #[test]
    fn wide_layers_give_the_generic_kernels_gradients() {
        let x = Var::from_tensor(&grid((4, 6, 17), |b, t, i| {
            ((5 * b + 3 * t + i) as f64 * 0.37).sin()
        }))
        .unwrap();
        let weights = grid((4, 6, 16), |b, t, h| {
            ((b * 5 + t * 2 + h) as f64 * 0.3).cos()
        });
        let layers = |cell| RecurrentLayers::new(cell, 17, 16, 2);
        assert_kernels_agree(
            layers,
            &[Cell::RnnTanh, Cell::Lstm, Cell::Gru],
            &x,
            &weights,
        );
    }

    /// From a given state, the fused kernel's outputs, last states and gradients (of the
    /// parameters, the input and the initial state, under a loss that reads the outputs and
    /// the last states) are the generic kernel's; from zero states it gives `forward`'s outputs.
    #[test]
    fn both_kernels_agree_from_a_given_state() {
        let x = Var::from_tensor(&grid((3, 7, 2), |b, t, i| {
            ((3 * b + t) as f64 * 0.7 + i as f64).cos()
        }))
        .unwrap();
        let weights = grid((3, 7, 4), |b, t, h| ((b * 7 + t * 3 + h) as f64).sin());
        let start = |offset: usize| {
            Var::from_tensor(
                &grid((1, 3, 4), |_, b, h| {
                    ((b * 4 + h + offset) as f64 * 0.4).sin()
                })
                .squeeze(0)
                .unwrap(),
            )
            .unwrap()
        };
        let (h0, c0, h1, c1) = (start(0), start(3), start(5), start(9));
        for cell in [Cell::RnnTanh, Cell::Lstm, Cell::Gru] {
            let run = |kernel| {
                let mut store = ParamStore::new(7, &Device::Cpu);
                let encoder = RecurrentEncoder::new(
                    &mut store,
                    "e",
                    RecurrentLayers::new(cell, 2, 4, 2),
                    0.0,
                    1,
                    kernel,
                )
                .unwrap();
                let zeros = encoder.zero_state(3, x.as_tensor()).unwrap();
                let (from_zeros, _) = encoder.forward_from(x.as_tensor(), &zeros, false).unwrap();
                let plain = encoder.forward(x.as_tensor(), false).unwrap();
                assert_close(&values(&from_zeros), &values(&plain), "from zero states");
                let state = RecurrentState::from_layers([
                    (h0.as_tensor().clone(), c0.as_tensor().clone()),
                    (h1.as_tensor().clone(), c1.as_tensor().clone()),
                ]);
                let (out, last) = encoder.forward_from(x.as_tensor(), &state, true).unwrap();
                let mut loss = (&out * &weights).unwrap().sum_all().unwrap();
                for (k, layer) in last.layers.iter().enumerate() {
                    let scale = (k + 2) as f64;
                    loss = (loss + (&layer.h * scale).unwrap().sum_all().unwrap()).unwrap();
                    if cell == Cell::Lstm {
                        let cells = (layer.c.sin().unwrap() * scale).unwrap();
                        loss = (loss + cells.sum_all().unwrap()).unwrap();
                    }
                }
                let grads = loss.backward().unwrap();
                let mut all = vec![values(&out)];
                for layer in &last.layers {
                    all.push(values(&layer.h));
                    all.push(values(&layer.c));
                }
                all.extend(parameter_gradients(store, &grads));
                for start in [&x, &h0, &h1] {
                    all.push(values(grads.get(start.as_tensor()).unwrap()));
                }
                if cell == Cell::Lstm {
                    for start in [&c0, &c1] {
                        all.push(values(grads.get(start.as_tensor()).unwrap()));
                    }
                }
                all
            };
            let (fused, generic) = (run(RecurrentKernel::Fused), run(RecurrentKernel::Generic));
            assert_eq!(fused.len(), generic.len());
            for (i, (a, b)) in fused.iter().zip(&generic).enumerate() {
                assert_close(a, b, &format!("{cell:?}, tensor {i}"));
            }
        }
    }

    /// Stepping an encoder one step at a time from zero states gives the whole-sequence
    /// outputs, for every cell on both kernels (the fused kernel steps with its one-step op) and
    /// for a projected LSTM.
    #[test]
    fn stepping_gives_the_whole_sequence_outputs() {
        let x = grid((3, 6, 2), |b, t, i| {
            ((2 * b + t) as f64 * 0.9 - i as f64).sin()
        });
        let projected = RecurrentLayers {
            proj_size: 2,
            ..RecurrentLayers::new(Cell::Lstm, 2, 5, 2)
        };
        let mut shapes: Vec<RecurrentLayers> =
            [Cell::RnnTanh, Cell::RnnRelu, Cell::Lstm, Cell::Gru]
                .iter()
                .map(|&cell| RecurrentLayers::new(cell, 2, 5, 2))
                .collect();
        shapes.push(projected);
        for shape in shapes {
            for kernel in [RecurrentKernel::Fused, RecurrentKernel::Generic] {
                let mut store = ParamStore::new(5, &Device::Cpu);
                let encoder =
                    RecurrentEncoder::new(&mut store, "e", shape, 0.0, 1, kernel).unwrap();
                let whole = encoder.forward(&x, false).unwrap();
                let mut state = encoder.zero_state(3, &x).unwrap();
                for t in 0..6 {
                    let step = x.narrow(1, t, 1).unwrap().squeeze(1).unwrap();
                    let out = encoder.advance(&step, &mut state).unwrap();
                    let expected = whole.narrow(1, t, 1).unwrap().squeeze(1).unwrap();
                    assert_close(
                        &out.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                        &expected.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                        &format!("{shape:?} on {kernel:?}, step {t}"),
                    );
                }
            }
        }
    }

    #[test]
    fn rows_are_repeated_in_place() {
        let x = Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let repeated = repeat_rows(&x, 3).unwrap();
        assert_eq!(
            repeated.to_vec2::<f32>().unwrap(),
            [
                [1.0, 2.0],
                [1.0, 2.0],
                [1.0, 2.0],
                [3.0, 4.0],
                [3.0, 4.0],
                [3.0, 4.0]
            ]
        );
    }

    #[test]
    fn layers_without_bias_have_no_bias_parameters_and_dropout_only_while_training() {
        for kernel in [RecurrentKernel::Fused, RecurrentKernel::Generic] {
            let mut store = ParamStore::new(1, &Device::Cpu);
            let encoder = RecurrentEncoder::new(
                &mut store,
                "e",
                RecurrentLayers {
                    bias: false,
                    ..RecurrentLayers::new(Cell::Gru, 3, 4, 2)
                },
                0.5,
                1,
                kernel,
            )
            .unwrap();
            assert!(!encoder.is_deterministic());
            let x = grid((2, 5, 3), |b, t, i| ((b + t + i) as f64).sin());
            let a = encoder.forward(&x, false).unwrap();
            let b = encoder.forward(&x, false).unwrap();
            let c = encoder.forward(&x, true).unwrap();
            let gap = |p: &Tensor, q: &Tensor| {
                let d = (p - q).unwrap().abs().unwrap().max_all().unwrap();
                d.to_scalar::<f32>().unwrap()
            };
            assert_eq!(gap(&a, &b), 0.0);
            assert!(gap(&a, &c) > 0.0, "dropout changes training outputs");
            let vars = store.into_varmap();
            let mut names: Vec<String> = vars.data().lock().unwrap().keys().cloned().collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "e.weight_hh_l0",
                    "e.weight_hh_l1",
                    "e.weight_ih_l0",
                    "e.weight_ih_l1"
                ]
            );
        }
    }
}
