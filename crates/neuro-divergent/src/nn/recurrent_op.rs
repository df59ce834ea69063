//! One recurrent layer over a whole sequence as a single graph node with its own backward pass.
//!
//! Sequences are time-major (`[T, B, ·]`), so that each step's rows lie together in memory: the
//! gate math streams through them, and the per-step products read and write one block. The
//! input product `x W_ih^T` is one product over every step, written straight into the buffer
//! the gates are kept in; at each step the recurrent term `h_{t-1} W_hh^T` (one product) lands
//! in a scratch buffer that stays in cache, and the gate math adds it and the biases to the
//! step's block and activates the gates there, keeping them (and the LSTM cell state, or GRU's
//! recurrent new-gate term) for the backward pass. The backward pass walks the steps in reverse,
//! turning each step's kept gates into their gradients in place, with one product per step (two
//! for GRU, whose new gate's recurrent gradient is kept apart) for the gradient carried to the
//! previous state and the biases' gradients summed as each row's gradients are formed; then it
//! forms the input gradient (only for an input that tracks one), `dW_ih` and `dW_hh` as one
//! product each (GRU's `dW_hh` two) over all steps, the weight gradients formed as their
//! transposes. No buffer the size of the gates is zero-filled. Candle sees one node per layer,
//! and no `[T, B, G*H]` gradient passes through its graph; a last layer made to output only
//! the last steps (batch-major, as a forecaster's decoder reads them) takes only their gradient.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::fast_math::{sigmoid, tanh};
use super::panel_product::PackedRight;
use super::product::{
    f32_slice, matrix_dims, multiply_into_transposed, product, product_with_room, Operand,
};
use super::Cell;

/// What the forward pass keeps for the backward pass, time-major (`[T, B, ·]`).
struct Saved {
    /// Activated gates, `[T, B, G*H]` (the backward pass overwrites them with their gradients).
    gates: Vec<f32>,
    /// LSTM: the cell state; GRU: `W_hn h_{t-1} + b_hn`; `[T, B, H]` (empty for RNN cells).
    extra: Vec<f32>,
    /// Every step's hidden state `[T, B, H]` when the output holds only the last steps.
    states: Option<Vec<f32>>,
}

/// One layer over a time-major sequence:
/// `(x [T, B, I], [W_ih | W_hh] [G*H, I+H], [b_ih, b_hh] [2*G*H]) -> h [T, B, H]` from zero
/// states, or, made by [`FusedRecurrence::from_state`], from a given state that follows the
/// biases in the third operand (`[b_ih, b_hh, h_0 [B*H]]`, and for LSTM `c_0 [B*H]` after it),
/// an LSTM then also returning its last cell state as one more step block (`[T + 1, B, H]`).
/// Gradients reach the initial state and the last cell state like any other operand. Made by
/// [`FusedRecurrence::last_steps`], the output is only the last `K` hidden states, batch-major
/// (`[B, K, H]`, what a forecaster's decoder reads).
pub(crate) struct FusedRecurrence {
    cell: Cell,
    form: Form,
    saved: Mutex<Option<Saved>>,
}

/// What a [`FusedRecurrence`] starts from and what it outputs.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// From zero states, every step's hidden state, `[T, B, H]`.
    Sequence,
    /// From the state after the biases, every step's hidden state and an LSTM's last cell state.
    FromState,
    /// From zero states, the last `K` steps' hidden states, batch-major `[B, K, H]`.
    LastSteps(usize),
}

/// One row of one forward step: the gates, holding the input projection `x_t W_ih^T` on entry
/// and the activated gates on return, the recurrent product `h_{t-1} W_hh^T` `r`, the biases
/// (`[G*H]` each), the previous step's hidden and extra state (zeros at the first step), and
/// where the extra state and the new hidden state go.
struct ForwardRow<'a> {
    gates: &'a mut [f32],
    r: &'a [f32],
    b_ih: &'a [f32],
    b_hh: &'a [f32],
    h_prev: &'a [f32],
    extra_prev: &'a [f32],
    extra: &'a mut [f32],
    h: &'a mut [f32],
}

/// One row of one backward step: the hidden state's gradient `dh` (the output's plus the one
/// carried from the next step), the activated gates, which become the gradient of the input
/// projection in place, what the forward pass kept for the row and for the previous step, the
/// carried cell-state gradient `dc` (updated for the previous step), and where the gradients
/// of, for GRU, the new gate's recurrent term `W_hn h_{t-1} + b_hn` (`drec`, `[H]`: the other
/// gates' recurrent gradients equal the projection's, as all of them do for the other cells,
/// whose `drec` is empty) and of the previous state directly (`direct`) go.
struct BackwardRow<'a> {
    dh: &'a [f32],
    gates: &'a mut [f32],
    extra: &'a [f32],
    extra_prev: &'a [f32],
    h: &'a [f32],
    h_prev: &'a [f32],
    dc: &'a mut [f32],
    drec: &'a mut [f32],
    direct: &'a mut [f32],
    /// The sums over rows of the gates' gradients (`[G*H]`) and of `drec` (GRU: `[H]`), which
    /// the row's gradients are added to while in the L1 cache.
    bias_sums: (&'a mut [f32], &'a mut [f32]),
}

/// The sizes of one call.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    steps: usize,
    inputs: usize,
    hidden: usize,
    gates: usize,
}

impl Dims {
    /// Gate rows, `G*H`.
    fn width(&self) -> usize {
        self.gates * self.hidden
    }

    /// A row of the weights, `I+H`.
    fn weight_row(&self) -> usize {
        self.inputs + self.hidden
    }
}

impl FusedRecurrence {
    /// The op for one call with `cell`.
    pub(crate) fn new(cell: Cell) -> FusedRecurrence {
        FusedRecurrence {
            cell,
            form: Form::Sequence,
            saved: Mutex::new(None),
        }
    }

    /// The op with `cell` from zero states whose output is the last `steps` hidden states,
    /// batch-major (see [`FusedRecurrence`]): no `[T, B, H]` output to narrow and transpose, and
    /// no gradient of that size to build from the last steps' in the backward pass.
    pub(crate) fn last_steps(cell: Cell, steps: usize) -> FusedRecurrence {
        FusedRecurrence {
            form: Form::LastSteps(steps),
            ..FusedRecurrence::new(cell)
        }
    }

    /// The op with `cell` that starts from the state after the biases and, for LSTM, returns
    /// the last cell state after the outputs (see [`FusedRecurrence`]).
    pub(crate) fn from_state(cell: Cell) -> FusedRecurrence {
        FusedRecurrence {
            form: Form::FromState,
            ..FusedRecurrence::new(cell)
        }
    }

    /// True when the layer starts from a given state.
    fn carries_state(&self) -> bool {
        self.form == Form::FromState
    }

    /// `K` when the output is the last `K` steps.
    fn kept_steps(&self) -> Option<usize> {
        match self.form {
            Form::LastSteps(kept) => Some(kept),
            Form::Sequence | Form::FromState => None,
        }
    }

    /// True when the state carries a cell state (LSTM).
    fn has_cell_state(&self) -> bool {
        self.cell == Cell::Lstm
    }

    /// Values of the initial state in the third operand: `h_0`, and `c_0` for LSTM (none
    /// from zero states).
    fn state_len(&self, d: Dims) -> usize {
        match self.carries_state() {
            true => d.batch * d.hidden * (1 + usize::from(self.has_cell_state())),
            false => 0,
        }
    }

    /// Step blocks after the outputs: the last cell state of an LSTM started from a state.
    fn extra_blocks(&self) -> usize {
        usize::from(self.carries_state() && self.has_cell_state())
    }

    fn dims(&self, input: &Layout, weights: &Layout) -> candle_core::Result<Dims> {
        let gates = self.cell.gates();
        match (input.dims(), weights.dims()) {
            (&[steps, batch, inputs], &[rows, row])
                if row >= inputs && rows == gates * (row - inputs) =>
            {
                Ok(Dims {
                    batch,
                    steps,
                    inputs,
                    hidden: row - inputs,
                    gates,
                })
            }
            (x, w) => candle_core::bail!(
                "recurrence: input {x:?} and weights {w:?} do not fit a {:?} cell",
                self.cell
            ),
        }
    }

    /// The gate math of one row at one step (see [`ForwardRow`]), `n` units. Each pass runs
    /// over whole slices, so that it vectorises.
    #[inline(always)]
    fn forward_row_portable(&self, n: usize, row: ForwardRow<'_>) {
        let ForwardRow {
            gates,
            r,
            b_ih,
            b_hh,
            h_prev,
            extra_prev,
            extra,
            h,
        } = row;
        let (h, h_prev) = (&mut h[..n], &h_prev[..n]);
        // The pre-activation `(x_t W_ih^T + b_ih) + (b_hh + h_{t-1} W_hh^T)`, summed in the order
        // the two linear maps of PyTorch's cells give.
        let pre = |p: f32, r: f32, b_ih: f32, b_hh: f32| (p + b_ih) + (b_hh + r);
        match self.cell {
            Cell::RnnTanh | Cell::RnnRelu => {
                for ((((v, &p), &r), &bi), &bh) in
                    h.iter_mut().zip(&*gates).zip(r).zip(b_ih).zip(b_hh)
                {
                    *v = pre(p, r, bi, bh);
                }
                if self.cell == Cell::RnnTanh {
                    h.iter_mut().for_each(|v| *v = tanh(*v));
                } else {
                    h.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                gates[..n].copy_from_slice(h);
            }
            Cell::Lstm => {
                let gates = &mut gates[..4 * n];
                for (((g, &r), &bi), &bh) in gates.iter_mut().zip(r).zip(b_ih).zip(b_hh) {
                    *g = pre(*g, r, bi, bh);
                }
                let (sigmoid_gates, output) = gates.split_at_mut(3 * n);
                let (input_forget, candidate) = sigmoid_gates.split_at_mut(2 * n);
                input_forget.iter_mut().for_each(|v| *v = sigmoid(*v));
                candidate.iter_mut().for_each(|v| *v = tanh(*v));
                output.iter_mut().for_each(|v| *v = sigmoid(*v));
                let (input, forget) = input_forget.split_at(n);
                let c = &mut extra[..n];
                for (((((c, h), &i), &f), &g), (&o, &c_prev)) in c
                    .iter_mut()
                    .zip(h.iter_mut())
                    .zip(input)
                    .zip(forget)
                    .zip(&*candidate)
                    .zip(output.iter().zip(&extra_prev[..n]))
                {
                    *c = f * c_prev + i * g;
                    *h = o * tanh(*c);
                }
            }
            Cell::Gru => {
                let gates = &mut gates[..3 * n];
                let (reset_update, new) = gates.split_at_mut(2 * n);
                for (((g, &r), &bi), &bh) in reset_update.iter_mut().zip(r).zip(b_ih).zip(b_hh) {
                    *g = sigmoid(pre(*g, r, bi, bh));
                }
                let (reset, update) = reset_update.split_at(n);
                // The new gate's recurrent term with its bias, `W_hn h_{t-1} + b_hn`, is kept.
                let r_new = &mut extra[..n];
                for ((v, &r), &bh) in r_new.iter_mut().zip(&r[2 * n..3 * n]).zip(&b_hh[2 * n..]) {
                    *v = bh + r;
                }
                for ((((v, &bi), &b), &reset), ((h, &z), &previous)) in new
                    .iter_mut()
                    .zip(&b_ih[2 * n..])
                    .zip(&*r_new)
                    .zip(reset)
                    .zip(h.iter_mut().zip(update).zip(h_prev))
                {
                    *v = tanh((*v + bi) + reset * b);
                    *h = (1.0 - z) * *v + z * previous;
                }
            }
        }
    }

    /// The gradients of one row at one step (see [`BackwardRow`]), `n` units.
    #[inline(always)]
    fn backward_row_portable(&self, n: usize, row: BackwardRow<'_>) {
        let BackwardRow {
            dh,
            gates,
            extra,
            extra_prev,
            h,
            h_prev,
            dc,
            drec,
            direct,
            bias_sums: (gate_sums, drec_sums),
        } = row;
        let width = self.cell.gates() * n;
        let (dh, gates) = (&dh[..n], &mut gates[..width]);
        match self.cell {
            Cell::RnnTanh => {
                for ((d, &g), &v) in gates.iter_mut().zip(dh).zip(&h[..n]) {
                    *d = g * (1.0 - v * v);
                }
            }
            Cell::RnnRelu => {
                for ((d, &g), &v) in gates.iter_mut().zip(dh).zip(&h[..n]) {
                    *d = if v > 0.0 { g } else { 0.0 };
                }
            }
            Cell::Lstm => {
                let (input, rest) = gates.split_at_mut(n);
                let (forget, rest) = rest.split_at_mut(n);
                let (candidate, output) = rest.split_at_mut(n);
                for ((((d_i, d_f), d_g), d_o), (((&g_h, &c), &c_prev), dc)) in input
                    .iter_mut()
                    .zip(forget.iter_mut())
                    .zip(candidate.iter_mut())
                    .zip(output.iter_mut())
                    .zip(
                        dh.iter()
                            .zip(&extra[..n])
                            .zip(&extra_prev[..n])
                            .zip(dc[..n].iter_mut()),
                    )
                {
                    let (i, f, g, o) = (*d_i, *d_f, *d_g, *d_o);
                    let tanh_c = tanh(c);
                    let d_cell = g_h * o * (1.0 - tanh_c * tanh_c) + *dc;
                    *dc = d_cell * f;
                    *d_i = d_cell * g * i * (1.0 - i);
                    *d_f = d_cell * c_prev * f * (1.0 - f);
                    *d_g = d_cell * i * (1.0 - g * g);
                    *d_o = g_h * tanh_c * o * (1.0 - o);
                }
            }
            Cell::Gru => {
                let (reset, rest) = gates.split_at_mut(n);
                let (update, new) = rest.split_at_mut(n);
                for ((((d_r, d_z), d_n), d_rec_n), (((&g_h, &r_new), &previous), direct)) in reset
                    .iter_mut()
                    .zip(update.iter_mut())
                    .zip(new.iter_mut())
                    .zip(drec[..n].iter_mut())
                    .zip(
                        dh.iter()
                            .zip(&extra[..n])
                            .zip(&h_prev[..n])
                            .zip(direct[..n].iter_mut()),
                    )
                {
                    let (r, z, v) = (*d_r, *d_z, *d_n);
                    *d_n = g_h * (1.0 - z) * (1.0 - v * v);
                    *d_z = g_h * (previous - v) * z * (1.0 - z);
                    *direct = g_h * z;
                    *d_r = *d_n * r_new * r * (1.0 - r);
                    *d_rec_n = *d_n * r;
                }
            }
        }
        for (sum, &g) in gate_sums.iter_mut().zip(&*gates) {
            *sum += g;
        }
        for (sum, &g) in drec_sums.iter_mut().zip(&*drec) {
            *sum += g;
        }
    }
}

/// Defines `FusedRecurrence::$name`, which runs `$portable` compiled for the widest vector
/// extension the CPU has (AVX-512F, else AVX2 with FMA, else the build's baseline): the gate
/// loops and the `exp`/`tanh` they call are inlined into each copy and vectorised for it.
macro_rules! widest_vectors {
    ($name:ident => $portable:ident($($arg:ident: $ty:ty),* $(,)?)) => {
        impl FusedRecurrence {
            fn $name(&self, $($arg: $ty),*) {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f")]
                    fn avx512(op: &FusedRecurrence, $($arg: $ty),*) {
                        op.$portable($($arg),*)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2(op: &FusedRecurrence, $($arg: $ty),*) {
                        op.$portable($($arg),*)
                    }
                    if std::arch::is_x86_feature_detected!("avx512f") {
                        // SAFETY: this CPU has AVX-512F (checked on the line above).
                        return unsafe { avx512(self, $($arg),*) };
                    }
                    if std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("fma")
                    {
                        // SAFETY: this CPU has AVX2 and FMA (checked just above).
                        return unsafe { avx2(self, $($arg),*) };
                    }
                }
                self.$portable($($arg),*)
            }
        }
    };
}

widest_vectors!(forward_row => forward_row_portable(n: usize, row: ForwardRow<'_>));
widest_vectors!(backward_row => backward_row_portable(n: usize, row: BackwardRow<'_>));

impl CustomOp3 for FusedRecurrence {
    fn name(&self) -> &'static str {
        "fused-recurrence"
    }

    fn cpu_fwd(
        &self,
        input: &CpuStorage,
        input_layout: &Layout,
        weights: &CpuStorage,
        weights_layout: &Layout,
        biases: &CpuStorage,
        biases_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = self.dims(input_layout, weights_layout)?;
        let x = f32_slice(input, input_layout, self.name())?;
        let w = f32_slice(weights, weights_layout, self.name())?;
        let b = f32_slice(biases, biases_layout, self.name())?;
        let (hidden, width, steps, inputs) = (d.hidden, d.width(), d.steps, d.inputs);
        if b.len() != 2 * width + self.state_len(d) {
            candle_core::bail!(
                "{}: {} values for {width} gate rows (b_ih then b_hh) and {} of initial state",
                self.name(),
                b.len(),
                self.state_len(d)
            );
        }
        let (b_ih, rest) = b.split_at(width);
        let (b_hh, initial) = rest.split_at(width);
        let extra_width = if matches!(self.cell, Cell::Lstm | Cell::Gru) {
            hidden
        } else {
            0
        };
        // Grown one step at a time, so that each step's rows are zeroed while in cache.
        let (step_out, step_gates, step_extra) =
            (d.batch * hidden, d.batch * width, d.batch * extra_width);
        let mut out = Vec::with_capacity(steps * step_out);
        let mut extra = Vec::with_capacity(steps * step_extra);
        // x W_ih^T for every step at once (one product), each step's block then turned into
        // that step's activated gates in place.
        let mut gates = product(
            steps * d.batch,
            width,
            inputs,
            Operand::rows(x, inputs),
            weights_transposed(w, 0, d),
            self.name(),
        )?;
        // W_hh^T packed once for every step's product (see `PackedRight`).
        let recurrent_weights = PackedRight::new(weights_transposed(w, inputs, d), hidden, width)?;
        // h_{t-1} W_hh^T; zero at the first step from zero states.
        let mut recurrent = vec![0.0f32; step_gates];
        let zeros = vec![0.0f32; step_out.max(step_extra)];
        let (h_0, c_0) = initial_state(initial, &zeros, step_out, step_extra);
        for t in 0..steps {
            if t > 0 || self.carries_state() {
                recurrent_weights.multiply_into(
                    d.batch,
                    0..hidden,
                    Operand::rows(previous_block(&out, t, step_out, h_0), hidden),
                    &mut recurrent,
                    width,
                    false,
                )?;
            }
            out.resize((t + 1) * step_out, 0.0);
            extra.resize((t + 1) * step_extra, 0.0);
            let (out_done, out_now) = out.split_at_mut(t * step_out);
            let (extra_done, extra_now) = extra.split_at_mut(t * step_extra);
            let h_prev = previous_block(out_done, t, step_out, h_0);
            let extra_prev = previous_block(extra_done, t, step_extra, c_0);
            let gates_now = &mut gates[t * step_gates..];
            for b in 0..d.batch {
                let (units, cells, row) = (
                    b * hidden..(b + 1) * hidden,
                    b * extra_width..(b + 1) * extra_width,
                    b * width..(b + 1) * width,
                );
                self.forward_row(
                    hidden,
                    ForwardRow {
                        gates: &mut gates_now[row.clone()],
                        r: &recurrent[row],
                        b_ih,
                        b_hh,
                        h_prev: &h_prev[units.clone()],
                        extra_prev: &extra_prev[cells.clone()],
                        extra: &mut extra_now[cells],
                        h: &mut out_now[units],
                    },
                );
            }
        }
        if self.extra_blocks() > 0 {
            let last_cells = match steps {
                0 => c_0,
                _ => step_block(&extra, steps - 1, step_extra),
            };
            out.extend_from_slice(last_cells);
        }
        if let Some(kept) = self.kept_steps() {
            let Some(first) = steps.checked_sub(kept) else {
                candle_core::bail!("{}: the last {kept} of {steps} steps", self.name());
            };
            let mut last = Vec::with_capacity(d.batch * kept * hidden);
            for b in 0..d.batch {
                for t in first..steps {
                    last.extend_from_slice(&step_block(&out, t, step_out)[b * hidden..][..hidden]);
                }
            }
            *self.saved.lock().expect("recurrence state lock poisoned") = Some(Saved {
                gates,
                extra,
                states: Some(out),
            });
            return Ok((CpuStorage::F32(last), Shape::from((d.batch, kept, hidden))));
        }
        *self.saved.lock().expect("recurrence state lock poisoned") = Some(Saved {
            gates,
            extra,
            states: None,
        });
        let blocks = steps + self.extra_blocks();
        Ok((CpuStorage::F32(out), Shape::from((blocks, d.batch, hidden))))
    }

    fn bwd(
        &self,
        input: &Tensor,
        weights: &Tensor,
        biases: &Tensor,
        out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Taken: the backward pass turns the kept gates into their gradients in place.
        let saved = self
            .saved
            .lock()
            .expect("recurrence state lock poisoned")
            .take();
        let Some(saved) = saved else {
            candle_core::bail!(
                "{}: no forward pass to differentiate (each forward pass supports one backward pass)",
                self.name()
            );
        };
        // The weights and the initial state as values, read only when a backward pass runs
        // (not on every forward).
        let weight_values = weights.flatten_all()?.to_vec1::<f32>()?;
        let (gate_rows, _) = weights.dims2()?;
        let bias_values = biases.flatten_all()?.to_vec1::<f32>()?;
        // A first layer's input is data: its gradient, a product reading every step's gate
        // gradients, would be thrown away.
        let input_gradient = input.track_op();
        let backward = RecurrenceBackward {
            op: self,
            saved: Mutex::new(Some(saved)),
            weights: &weight_values,
            initial: &bias_values[(2 * gate_rows).min(bias_values.len())..],
            input_gradient,
        };
        let all = grad
            .contiguous()?
            .apply_op3_no_bwd(out, &input.contiguous()?, &backward)?;
        let sizes = [
            if input_gradient {
                input.elem_count()
            } else {
                0
            },
            weights.elem_count(),
            biases.elem_count(),
        ];
        let d_input = match input_gradient {
            true => Some(all.narrow(0, 0, sizes[0])?.reshape(input.shape())?),
            false => None,
        };
        let d_weights = all
            .narrow(0, sizes[0], sizes[1])?
            .reshape(weights.shape())?;
        let d_biases = all.narrow(0, sizes[0] + sizes[1], sizes[2])?;
        Ok((d_input, Some(d_weights), Some(d_biases)))
    }
}

/// `W_ih^T` (`offset` 0, `I x G*H`) or `W_hh^T` (`offset` I, `H x G*H`) inside the weights
/// `[W_ih | W_hh]`.
fn weights_transposed(weights: &[f32], offset: usize, d: Dims) -> Operand<'_> {
    Operand {
        values: &weights[offset..],
        row_stride: 1,
        col_stride: d.weight_row(),
    }
}

/// The `size` values of step `t` in a time-major buffer.
fn step_block(values: &[f32], t: usize, size: usize) -> &[f32] {
    &values[t * size..(t + 1) * size]
}

/// The `size` values of step `t - 1` in a time-major buffer, or `initial` at the first step.
fn previous_block<'a>(values: &'a [f32], t: usize, size: usize, initial: &'a [f32]) -> &'a [f32] {
    match t {
        0 => &initial[..size],
        _ => step_block(values, t - 1, size),
    }
}

/// The initial hidden state (`h_size` values) held in `initial`, and the step before the first
/// of the saved extra state (`extra_size` values): the initial cell state an LSTM's `initial`
/// holds after `h_0`, zeros for the other cells. `zeros` stand in for a layer that starts from
/// zero states (`initial` empty).
fn initial_state<'a>(
    initial: &'a [f32],
    zeros: &'a [f32],
    h_size: usize,
    extra_size: usize,
) -> (&'a [f32], &'a [f32]) {
    let (h, c) = initial.split_at(h_size.min(initial.len()));
    match (initial.is_empty(), c.len() >= extra_size) {
        (true, _) => (&zeros[..h_size], &zeros[..extra_size]),
        (false, true) => (h, &c[..extra_size]),
        (false, false) => (h, &zeros[..extra_size]),
    }
}

/// The backward pass of [`FusedRecurrence`] as a Candle op without a gradient:
/// `(dh [T, B, H], h [T, B, H], x [T, B, I]) -> [dx, d[W_ih | W_hh], d[b_ih, b_hh]]` flattened
/// into one vector (without `dx` when the input needs no gradient); from a given state, `dh`
/// and `h` hold the last cell state's gradient and value after the steps (LSTM), and
/// `d[h_0, c_0]` follows the biases' gradient; for the last `K` steps, `dh` and `h` are the
/// output's `[B, K, H]` and every step's states come from what the forward pass kept.
struct RecurrenceBackward<'a> {
    op: &'a FusedRecurrence,
    /// What the forward pass kept, taken by the one call of the op.
    saved: Mutex<Option<Saved>>,
    /// The layer's weights `[W_ih | W_hh]`, `[G*H, I+H]`.
    weights: &'a [f32],
    /// The initial state `h_0` (then `c_0` for LSTM); empty from zero states.
    initial: &'a [f32],
    /// Whether the input's gradient `dx` is formed (it leads the result when it is).
    input_gradient: bool,
}

impl CustomOp3 for RecurrenceBackward<'_> {
    fn name(&self) -> &'static str {
        "fused-recurrence-backward"
    }

    fn cpu_fwd(
        &self,
        grad: &CpuStorage,
        grad_layout: &Layout,
        out: &CpuStorage,
        out_layout: &Layout,
        input: &CpuStorage,
        input_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let output = f32_slice(out, out_layout, self.name())?;
        let x = f32_slice(input, input_layout, self.name())?;
        let w = self.weights;
        let (_, hidden) = matrix_dims(out_layout);
        let extra_blocks = self.op.extra_blocks();
        let (steps, batch, inputs) = match input_layout.dims() {
            &[steps, batch, inputs] => (steps, batch, inputs),
            x => candle_core::bail!("{}: input {x:?}", self.name()),
        };
        let output_dims = match self.op.kept_steps() {
            Some(kept) => [batch, kept, hidden],
            None => [steps + extra_blocks, batch, hidden],
        };
        let kept_too_many = self.op.kept_steps().is_some_and(|kept| kept > steps);
        if out_layout.dims() != output_dims || kept_too_many {
            candle_core::bail!(
                "{}: output {:?} for input {:?}",
                self.name(),
                out_layout.dims(),
                input_layout.dims()
            );
        }
        let rows = steps * batch;
        let d = Dims {
            batch,
            steps,
            inputs,
            hidden,
            gates: self.op.cell.gates(),
        };
        let width = d.width();
        let Some(Saved {
            gates: mut d_projection,
            extra,
            states,
        }) = self
            .saved
            .lock()
            .expect("recurrence state lock poisoned")
            .take()
        else {
            candle_core::bail!("{}: called twice for one forward pass", self.name());
        };
        // Every step's hidden state: the output, or kept apart when it is the last steps.
        let out = states.as_deref().unwrap_or(output);
        let extra_width = extra.len() / rows.max(1);
        if grad.len() != output.len()
            || out.len() != (rows + extra_blocks * batch) * hidden
            || d_projection.len() != rows * width
            || w.len() != width * d.weight_row()
            || self.initial.len() != self.op.state_len(d)
        {
            candle_core::bail!("{}: saved state does not fit the output", self.name());
        }
        let (step_out, step_gates, step_extra) =
            (batch * hidden, batch * width, batch * extra_width);
        // The biases' gradients, summed row by row as the rows' gradients are formed.
        let mut d_b_ih = vec![0.0f32; width];
        // GRU's recurrent-product gradient differs from the projection's in its new gate, kept
        // here (`[T, B, H]`, and its bias's gradient `d_b_hn`); the other cells use the
        // projection's for all gates.
        let is_gru = self.op.cell == Cell::Gru;
        let mut gru_new = is_gru.then(|| vec![0.0f32; rows * hidden]);
        let mut d_b_hn = vec![0.0f32; if is_gru { hidden } else { 0 }];
        let mut dh_carry = vec![0.0f32; step_out];
        // The last cell state's gradient, when the op returns it, starts the carried one.
        let mut dc_carry = match extra_blocks {
            0 => vec![0.0f32; step_out],
            _ => step_block(grad, steps, step_out).to_vec(),
        };
        let mut direct = vec![0.0f32; step_out];
        let mut dh = vec![0.0f32; hidden];
        let zeros = vec![0.0f32; step_out.max(step_extra)];
        let (h_0, c_0) = initial_state(self.initial, &zeros, step_out, step_extra);
        // W_hh [G*H, H] packed once for every step's `dh_{t-1} = drec_t W_hh`.
        let recurrent_weights =
            PackedRight::new(Operand::rows(&w[d.inputs..], d.weight_row()), width, hidden)?;
        for t in (0..steps).rev() {
            let (extra_now, extra_prev) = (
                step_block(&extra, t, step_extra),
                previous_block(&extra, t, step_extra, c_0),
            );
            let (h_now, h_prev) = (
                step_block(out, t, step_out),
                previous_block(out, t, step_out, h_0),
            );
            // The step's activated gates, turned into their gradients row by row.
            let dp_now = &mut d_projection[t * step_gates..(t + 1) * step_gates];
            let mut new_now = gru_new
                .as_mut()
                .map(|values| &mut values[t * step_out..(t + 1) * step_out]);
            for b in 0..batch {
                let (units, cells, row) = (
                    b * hidden..(b + 1) * hidden,
                    b * extra_width..(b + 1) * extra_width,
                    b * width..(b + 1) * width,
                );
                match self.output_gradient(grad, t, b, d) {
                    Some(g) => {
                        for ((d, &g), &c) in dh.iter_mut().zip(g).zip(&dh_carry[units.clone()]) {
                            *d = g + c;
                        }
                    }
                    None => dh.copy_from_slice(&dh_carry[units.clone()]),
                }
                self.op.backward_row(
                    hidden,
                    BackwardRow {
                        dh: &dh,
                        gates: &mut dp_now[row.clone()],
                        extra: &extra_now[cells.clone()],
                        extra_prev: &extra_prev[cells],
                        h: &h_now[units.clone()],
                        h_prev: &h_prev[units.clone()],
                        dc: &mut dc_carry[units.clone()],
                        drec: match new_now.as_deref_mut() {
                            Some(values) => &mut values[units.clone()],
                            None => &mut [],
                        },
                        direct: &mut direct[units],
                        bias_sums: (&mut d_b_ih, &mut d_b_hn),
                    },
                );
            }
            if t > 0 || self.op.carries_state() {
                // The gradient reaching h_{t-1} (h_0 at the first step): through W_hh, plus
                // GRU's direct path.
                RecurrentGradient {
                    dp: dp_now,
                    new_gate: new_now.as_deref(),
                    d,
                }
                .times_weights(batch, &recurrent_weights, &mut dh_carry)?;
                if self.op.cell == Cell::Gru {
                    for (c, d) in dh_carry.iter_mut().zip(&direct) {
                        *c += d;
                    }
                }
            }
        }
        // [dx | dW | db | d(h_0, c_0)]: dx = dP W_ih over all steps (when the input tracks a
        // gradient), one product written into a new buffer with room for the rest, which is
        // written below (the weight gradient's two column blocks by products over all steps; from
        // zero states dW_hh stays zero for a single step).
        let state_len = self.initial.len();
        let rest_len = w.len() + 2 * width + state_len;
        let (mut result, dx_len) = match self.input_gradient {
            true => (
                product_with_room(
                    rows,
                    inputs,
                    width,
                    Operand::rows(&d_projection, width),
                    Operand::rows(w, d.weight_row()),
                    rest_len,
                    self.name(),
                )?,
                rows * inputs,
            ),
            false => (Vec::with_capacity(rest_len), 0),
        };
        result.resize(dx_len + rest_len, 0.0);
        let (d_weights, rest) = result[dx_len..].split_at_mut(w.len());
        let (d_biases, d_initial) = rest.split_at_mut(2 * width);
        if state_len > 0 {
            let (d_h0, d_c0) = d_initial.split_at_mut(step_out);
            d_h0.copy_from_slice(&dh_carry);
            if self.op.has_cell_state() {
                d_c0.copy_from_slice(&dc_carry);
            }
        }
        // dW_ih = dP^T x over all steps, formed as its transpose (see
        // `multiply_into_transposed`): a first layer's one to a few features are then not the
        // rows gemm's kernels run along, which would leave most vector lanes idle.
        multiply_into_transposed(
            width,
            inputs,
            rows,
            Operand::transposed(&d_projection, width),
            Operand::rows(x, inputs),
            d_weights,
            d.weight_row(),
            false,
        )?;
        // dW_hh = sum over steps t >= 1 of drec(t)^T h(t - 1): time-major, the rows of steps
        // 1.. and of steps ..T-1 are each one block, so this is one product.
        let d_recurrent = RecurrentGradient {
            dp: &d_projection,
            new_gate: gru_new.as_deref(),
            d,
        };
        if steps > 1 {
            d_recurrent.skip_steps(1).transposed_times(
                (steps - 1) * batch,
                &out[..(steps - 1) * step_out],
                d_weights,
                false,
            )?;
        }
        // The first step's term, drec(0)^T h_0, when the layer starts from a given state.
        if state_len > 0 && steps > 0 {
            d_recurrent.transposed_times(batch, h_0, d_weights, true)?;
        }
        let (biases_ih, biases_hh) = d_biases.split_at_mut(width);
        biases_ih.copy_from_slice(&d_b_ih);
        biases_hh.copy_from_slice(&d_b_ih);
        if gru_new.is_some() {
            biases_hh[width - hidden..].copy_from_slice(&d_b_hn);
        }
        let len = result.len();
        Ok((CpuStorage::F32(result), Shape::from(len)))
    }
}

impl RecurrenceBackward<'_> {
    /// The output's gradient for row `b` at step `t` (`grad` shaped like the output), `None`
    /// at a step before the last ones when the output is only those.
    fn output_gradient<'g>(
        &self,
        grad: &'g [f32],
        t: usize,
        b: usize,
        d: Dims,
    ) -> Option<&'g [f32]> {
        let hidden = d.hidden;
        match self.op.kept_steps() {
            None => Some(&grad[(t * d.batch + b) * hidden..][..hidden]),
            Some(kept) => {
                let first = d.steps - kept;
                (t >= first).then(|| &grad[(b * kept + t - first) * hidden..][..hidden])
            }
        }
    }
}

/// The gradient of the recurrent product `h W_hh^T` over a run of time-major rows, as blocks of
/// gate rows: the projection's gradient `dp` (rows `G*H` apart) where the two are equal, and
/// GRU's new gate's own (rows `H` apart) after it.
#[derive(Clone, Copy)]
struct RecurrentGradient<'a> {
    dp: &'a [f32],
    new_gate: Option<&'a [f32]>,
    d: Dims,
}

impl<'a> RecurrentGradient<'a> {
    /// `(first gate row, gate rows, values, row stride)` of each block.
    fn blocks(self) -> Vec<(usize, usize, &'a [f32], usize)> {
        let (width, hidden) = (self.d.width(), self.d.hidden);
        match self.new_gate {
            None => vec![(0, width, self.dp, width)],
            Some(new_gate) => vec![
                (0, width - hidden, self.dp, width),
                (width - hidden, hidden, new_gate, hidden),
            ],
        }
    }

    /// The rows from step `t` on.
    fn skip_steps(self, t: usize) -> RecurrentGradient<'a> {
        let rows = t * self.d.batch;
        RecurrentGradient {
            dp: &self.dp[rows * self.d.width()..],
            new_gate: self.new_gate.map(|values| &values[rows * self.d.hidden..]),
            d: self.d,
        }
    }

    /// `dst [rows, H] = self [rows, G*H] W_hh`, `w_hh` the layer's `W_hh [G*H, H]` packed.
    fn times_weights(
        self,
        rows: usize,
        w_hh: &PackedRight,
        dst: &mut [f32],
    ) -> candle_core::Result<()> {
        let hidden = self.d.hidden;
        for (i, (first, gates, values, stride)) in self.blocks().into_iter().enumerate() {
            w_hh.multiply_into(
                rows,
                first..first + gates,
                Operand::rows(values, stride),
                dst,
                hidden,
                i > 0,
            )?;
        }
        Ok(())
    }

    /// `dW_hh = self^T [G*H, rows] states [rows, H]` (`+=` when `accumulate`), into the
    /// layer's weight gradient `d_weights` (`d[W_ih | W_hh]`).
    fn transposed_times(
        self,
        rows: usize,
        states: &[f32],
        d_weights: &mut [f32],
        accumulate: bool,
    ) -> candle_core::Result<()> {
        let (row, hidden) = (self.d.weight_row(), self.d.hidden);
        for (first, gates, values, stride) in self.blocks() {
            multiply_into_transposed(
                gates,
                hidden,
                rows,
                Operand::transposed(values, stride),
                Operand::rows(states, hidden),
                &mut d_weights[first * row + self.d.inputs..],
                row,
                accumulate,
            )?;
        }
        Ok(())
    }
}

/// One step of a layer from a given state, for forecasting (forward only):
/// `(P [B, G*H], R [B, G*H], state [B, S]) -> state' [B, S]`, where `P` is the step input's
/// projection with its bias, `R` the previous hidden state's product with `W_hh` and its bias,
/// and the state is `h` (RNN, GRU: `S = H`) or `h` then `c` (LSTM: `S = 2H`). The gate math is
/// the fused recurrence's, one pass per row.
pub(crate) struct FusedStep {
    recurrence: FusedRecurrence,
}

impl FusedStep {
    /// The step op of `cell`.
    pub(crate) fn new(cell: Cell) -> FusedStep {
        FusedStep {
            recurrence: FusedRecurrence::new(cell),
        }
    }

    /// Width of the state of `hidden` units: `h`, and for LSTM `c` after it.
    pub(crate) fn state_width(cell: Cell, hidden: usize) -> usize {
        if cell == Cell::Lstm {
            2 * hidden
        } else {
            hidden
        }
    }
}

impl CustomOp3 for FusedStep {
    fn name(&self) -> &'static str {
        "fused-recurrent-step"
    }

    fn cpu_fwd(
        &self,
        projection: &CpuStorage,
        projection_layout: &Layout,
        recurrent: &CpuStorage,
        recurrent_layout: &Layout,
        state: &CpuStorage,
        state_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let cell = self.recurrence.cell;
        let (batch, width) = projection_layout.shape().dims2()?;
        let state_width = state_layout.shape().dims2()?.1;
        let hidden = width / cell.gates();
        if recurrent_layout.shape().dims2()? != (batch, width)
            || state_layout.shape().dims2()?.0 != batch
            || width != cell.gates() * hidden
            || state_width != Self::state_width(cell, hidden)
        {
            candle_core::bail!(
                "{}: projections {:?} and {:?} and state {:?} do not fit a {cell:?} cell",
                self.name(),
                projection_layout.dims(),
                recurrent_layout.dims(),
                state_layout.dims()
            );
        }
        let p = f32_slice(projection, projection_layout, self.name())?;
        let r = f32_slice(recurrent, recurrent_layout, self.name())?;
        let previous = f32_slice(state, state_layout, self.name())?;
        let mut next = vec![0.0f32; batch * state_width];
        let mut gates = vec![0.0f32; width];
        // `P` and `R` hold their biases already.
        let zeros = vec![0.0f32; width.max(hidden)];
        // GRU keeps its recurrent new-gate term for a backward pass; a step has none, so it goes
        // to a scratch row.
        let mut scratch = vec![0.0f32; if cell == Cell::Gru { hidden } else { 0 }];
        for (b, row) in next.chunks_exact_mut(state_width.max(1)).enumerate() {
            let before = &previous[b * state_width..(b + 1) * state_width];
            let (h_prev, extra_prev) = if cell == Cell::Lstm {
                before.split_at(hidden)
            } else {
                (before, &zeros[..hidden])
            };
            let (h, extra) = if cell == Cell::Lstm {
                row.split_at_mut(hidden)
            } else {
                (row, &mut scratch[..])
            };
            gates.copy_from_slice(&p[b * width..(b + 1) * width]);
            self.recurrence.forward_row(
                hidden,
                ForwardRow {
                    gates: &mut gates,
                    r: &r[b * width..(b + 1) * width],
                    b_ih: &zeros[..width],
                    b_hh: &zeros[..width],
                    h_prev,
                    extra_prev,
                    extra,
                    h,
                },
            );
        }
        Ok((CpuStorage::F32(next), Shape::from((batch, state_width))))
    }
}
