//! One recurrent layer over a whole sequence as a single graph node with its own backward pass.
//!
//! The input projection `P = x W_ih^T + b_ih` (`[B, T, G*H]`, one product for every step) is
//! computed before, by the dense layer op. This op runs the recurrence: at each step one product
//! `h_{t-1} W_hh^T` into a scratch buffer, then the gate math in place, keeping the activated
//! gates (and the LSTM cell state, or GRU's recurrent new-gate term) for the backward pass. The
//! backward pass walks the steps in reverse with one product per step for the gradient carried
//! to the previous state, then forms `dW_hh` as a single product over all steps and `db_hh` as
//! column sums. Candle then sees one node per layer instead of a dozen per step.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::fast_math::{sigmoid, tanh};
use super::product::{add_rows, f32_slice, matrix_dims, multiply_into, Operand};
use super::Cell;

/// What the forward pass keeps for the backward pass, `[B, T, ·]` like the output.
struct Saved {
    /// Activated gates, `[B, T, G*H]`.
    gates: Vec<f32>,
    /// LSTM: the cell state; GRU: `W_hn h_{t-1} + b_hn`; `[B, T, H]` (empty for RNN cells).
    extra: Vec<f32>,
}

/// The recurrence of one layer: `(P [B, T, G*H], W_hh [G*H, H], b_hh [G*H]) -> h [B, T, H]`,
/// starting from zero states.
pub(crate) struct FusedRecurrence {
    cell: Cell,
    saved: Mutex<Option<Saved>>,
}

/// One row of one forward step: the input projection `p` and the recurrent product with its
/// bias `r` (`[G*H]` each), the previous step's hidden and extra state (zeros at the first
/// step), and where the activated gates, the extra state and the new hidden state go.
struct ForwardRow<'a> {
    p: &'a [f32],
    r: &'a [f32],
    h_prev: &'a [f32],
    extra_prev: &'a [f32],
    gates: &'a mut [f32],
    extra: &'a mut [f32],
    h: &'a mut [f32],
}

/// One row of one backward step: the hidden state's gradient `dh` (the output's plus the one
/// carried from the next step), what the forward pass kept for the row and for the previous
/// step, the carried cell-state gradient `dc` (updated for the previous step), and where the
/// gradients of the input projection (`dp`) and, for GRU, of the recurrent product (`drec`;
/// for the other cells it equals `dp`, which serves for both, and `drec` is empty) and of the
/// previous state directly (`direct`) go.
struct BackwardRow<'a> {
    dh: &'a [f32],
    gates: &'a [f32],
    extra: &'a [f32],
    extra_prev: &'a [f32],
    h: &'a [f32],
    h_prev: &'a [f32],
    dc: &'a mut [f32],
    dp: &'a mut [f32],
    drec: &'a mut [f32],
    direct: &'a mut [f32],
}

/// The sizes of one call.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    steps: usize,
    hidden: usize,
    gates: usize,
}

impl Dims {
    fn width(&self) -> usize {
        self.gates * self.hidden
    }
}

impl FusedRecurrence {
    /// The op for one call with `cell`.
    pub(crate) fn new(cell: Cell) -> FusedRecurrence {
        FusedRecurrence {
            cell,
            saved: Mutex::new(None),
        }
    }

    fn dims(&self, projection: &Layout, weight: &Layout) -> candle_core::Result<Dims> {
        let gates = self.cell.gates();
        match (projection.dims(), weight.dims()) {
            (&[batch, steps, width], &[rows, hidden])
                if rows == width && width == gates * hidden =>
            {
                Ok(Dims {
                    batch,
                    steps,
                    hidden,
                    gates,
                })
            }
            (p, w) => candle_core::bail!(
                "recurrence: projection {p:?} and recurrent weight {w:?} do not fit a {:?} cell",
                self.cell
            ),
        }
    }

    /// The gate math of one row at one step (see [`ForwardRow`]), `n` units. Each pass runs
    /// over whole slices, so that it vectorises.
    #[inline(always)]
    fn forward_row_portable(&self, n: usize, row: ForwardRow<'_>) {
        let ForwardRow {
            p,
            r,
            h_prev,
            extra_prev,
            gates,
            extra,
            h,
        } = row;
        let (h, h_prev) = (&mut h[..n], &h_prev[..n]);
        match self.cell {
            Cell::RnnTanh | Cell::RnnRelu => {
                for ((v, &a), &b) in h.iter_mut().zip(p).zip(r) {
                    *v = a + b;
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
                for ((g, &a), &b) in gates.iter_mut().zip(p).zip(r) {
                    *g = a + b;
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
                for ((g, &a), &b) in reset_update.iter_mut().zip(p).zip(r) {
                    *g = sigmoid(a + b);
                }
                let (reset, update) = reset_update.split_at(n);
                let (p_new, r_new) = (&p[2 * n..3 * n], &r[2 * n..3 * n]);
                extra[..n].copy_from_slice(r_new);
                for ((((v, &a), &b), &reset), ((h, &z), &previous)) in new
                    .iter_mut()
                    .zip(p_new)
                    .zip(r_new)
                    .zip(reset)
                    .zip(h.iter_mut().zip(update).zip(h_prev))
                {
                    *v = tanh(a + reset * b);
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
            dp,
            drec,
            direct,
        } = row;
        let width = self.cell.gates() * n;
        let (dh, gates, dp) = (&dh[..n], &gates[..width], &mut dp[..width]);
        match self.cell {
            Cell::RnnTanh => {
                for ((d, &g), &v) in dp.iter_mut().zip(dh).zip(&h[..n]) {
                    *d = g * (1.0 - v * v);
                }
            }
            Cell::RnnRelu => {
                for ((d, &g), &v) in dp.iter_mut().zip(dh).zip(&h[..n]) {
                    *d = if v > 0.0 { g } else { 0.0 };
                }
            }
            Cell::Lstm => {
                let (input, rest) = gates.split_at(n);
                let (forget, rest) = rest.split_at(n);
                let (candidate, output) = rest.split_at(n);
                let (d_input, rest) = dp.split_at_mut(n);
                let (d_forget, rest) = rest.split_at_mut(n);
                let (d_candidate, d_output) = rest.split_at_mut(n);
                for (
                    (((d_i, d_f), d_g), d_o),
                    ((((((&g_h, &i), &f), &g), &o), (&c, &c_prev)), dc),
                ) in d_input
                    .iter_mut()
                    .zip(d_forget.iter_mut())
                    .zip(d_candidate.iter_mut())
                    .zip(d_output.iter_mut())
                    .zip(
                        dh.iter()
                            .zip(input)
                            .zip(forget)
                            .zip(candidate)
                            .zip(output)
                            .zip(extra[..n].iter().zip(&extra_prev[..n]))
                            .zip(dc[..n].iter_mut()),
                    )
                {
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
                let (reset, rest) = gates.split_at(n);
                let (update, new) = rest.split_at(n);
                let (d_reset, rest) = dp.split_at_mut(n);
                let (d_update, d_new) = rest.split_at_mut(n);
                for (((d_r, d_z), d_n), ((((((&g_h, &r), &z), &v), &r_new), &previous), direct)) in
                    d_reset
                        .iter_mut()
                        .zip(d_update.iter_mut())
                        .zip(d_new.iter_mut())
                        .zip(
                            dh.iter()
                                .zip(reset)
                                .zip(update)
                                .zip(new)
                                .zip(&extra[..n])
                                .zip(&h_prev[..n])
                                .zip(direct[..n].iter_mut()),
                        )
                {
                    *d_n = g_h * (1.0 - z) * (1.0 - v * v);
                    *d_z = g_h * (previous - v) * z * (1.0 - z);
                    *direct = g_h * z;
                    *d_r = *d_n * r_new * r * (1.0 - r);
                }
                let drec = &mut drec[..width];
                drec[..2 * n].copy_from_slice(&dp[..2 * n]);
                for ((d, &d_n), &r) in drec[2 * n..].iter_mut().zip(&dp[2 * n..]).zip(reset) {
                    *d = d_n * r;
                }
            }
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
        projection: &CpuStorage,
        projection_layout: &Layout,
        weight: &CpuStorage,
        weight_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let d = self.dims(projection_layout, weight_layout)?;
        let p = f32_slice(projection, projection_layout, self.name())?;
        let w_hh = f32_slice(weight, weight_layout, self.name())?;
        let b_hh = f32_slice(bias, bias_layout, self.name())?;
        let (hidden, width, steps) = (d.hidden, d.width(), d.steps);
        if b_hh.len() != width {
            candle_core::bail!(
                "{}: bias of {} for {width} gate rows",
                self.name(),
                b_hh.len()
            );
        }
        let mut out = vec![0.0f32; d.batch * steps * hidden];
        let mut gates = vec![0.0f32; d.batch * steps * width];
        let extra_width = if matches!(self.cell, Cell::Lstm | Cell::Gru) {
            hidden
        } else {
            0
        };
        let mut extra = vec![0.0f32; d.batch * steps * extra_width];
        let mut recurrent = vec![0.0f32; d.batch * width];
        let zeros = vec![0.0f32; hidden];
        for t in 0..steps {
            for row in recurrent.chunks_exact_mut(width.max(1)) {
                row.copy_from_slice(b_hh);
            }
            if t > 0 {
                // h_{t-1} W_hh^T, added onto the bias.
                multiply_into(
                    d.batch,
                    width,
                    hidden,
                    Operand::rows(&out[(t - 1) * hidden..], steps * hidden),
                    Operand::transposed(w_hh, hidden),
                    &mut recurrent,
                    width,
                    true,
                )?;
            }
            for b in 0..d.batch {
                let (q, q_prev) = (b * steps + t, (b * steps + t).wrapping_sub(1));
                let (out_done, out_rest) = out.split_at_mut(q * hidden);
                let (extra_done, extra_rest) = extra.split_at_mut(q * extra_width);
                let h_prev = if t > 0 {
                    &out_done[q_prev * hidden..]
                } else {
                    &zeros
                };
                let extra_prev = if t > 0 {
                    &extra_done[q_prev * extra_width..]
                } else {
                    &zeros
                };
                self.forward_row(
                    hidden,
                    ForwardRow {
                        p: &p[q * width..(q + 1) * width],
                        r: &recurrent[b * width..(b + 1) * width],
                        h_prev,
                        extra_prev,
                        gates: &mut gates[q * width..(q + 1) * width],
                        extra: &mut extra_rest[..extra_width],
                        h: &mut out_rest[..hidden],
                    },
                );
            }
        }
        *self.saved.lock().expect("recurrence state lock poisoned") = Some(Saved { gates, extra });
        Ok((CpuStorage::F32(out), Shape::from((d.batch, steps, hidden))))
    }

    fn bwd(
        &self,
        projection: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        out: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let saved = self.saved.lock().expect("recurrence state lock poisoned");
        let Some(saved) = saved.as_ref() else {
            candle_core::bail!("{}: backward pass before the forward pass", self.name());
        };
        let backward = RecurrenceBackward { op: self, saved };
        let all = grad
            .contiguous()?
            .apply_op3_no_bwd(out, weight, &backward)?;
        let (batch, steps, width) = projection.dims3()?;
        let hidden = weight.dim(1)?;
        let sizes = [batch * steps * width, width * hidden, width];
        let d_projection = all.narrow(0, 0, sizes[0])?.reshape((batch, steps, width))?;
        let d_weight = all
            .narrow(0, sizes[0], sizes[1])?
            .reshape((width, hidden))?;
        let d_bias = all.narrow(0, sizes[0] + sizes[1], sizes[2])?;
        Ok((Some(d_projection), Some(d_weight), Some(d_bias)))
    }
}

/// Row `q - 1` of `[rows, width]` values (the same window's previous step), or `zeros` at the
/// first step.
fn previous_step<'a>(
    values: &'a [f32],
    q: usize,
    width: usize,
    t: usize,
    zeros: &'a [f32],
) -> &'a [f32] {
    if t > 0 {
        &values[(q - 1) * width..q * width]
    } else {
        zeros
    }
}

/// The backward pass of [`FusedRecurrence`] as a Candle op without a gradient:
/// `(dh [B, T, H], h [B, T, H], W_hh) -> [dP, dW_hh, db_hh]` flattened into one vector.
struct RecurrenceBackward<'a> {
    op: &'a FusedRecurrence,
    saved: &'a Saved,
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
        weight: &CpuStorage,
        weight_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let grad = f32_slice(grad, grad_layout, self.name())?;
        let out = f32_slice(out, out_layout, self.name())?;
        let w_hh = f32_slice(weight, weight_layout, self.name())?;
        let (rows, hidden) = matrix_dims(out_layout);
        let (batch, steps) = match out_layout.dims() {
            &[batch, steps, _] => (batch, steps),
            dims => candle_core::bail!("{}: output of shape {dims:?}", self.name()),
        };
        let width = self.op.cell.gates() * hidden;
        let extra_width = self.saved.extra.len() / rows.max(1);
        if grad.len() != out.len() || self.saved.gates.len() != rows * width {
            candle_core::bail!("{}: saved state does not fit the output", self.name());
        }
        let (gates, extra) = (&self.saved.gates, &self.saved.extra);
        let mut d_projection = vec![0.0f32; rows * width];
        // GRU's recurrent-product gradient differs from the projection's in its new gate; the
        // other cells use the projection's for both.
        let mut gru_recurrent = (self.op.cell == Cell::Gru).then(|| vec![0.0f32; rows * width]);
        let mut dh_carry = vec![0.0f32; batch * hidden];
        let mut dc_carry = vec![0.0f32; batch * hidden];
        let mut direct = vec![0.0f32; batch * hidden];
        let mut dh = vec![0.0f32; hidden];
        let zeros = vec![0.0f32; hidden];
        for t in (0..steps).rev() {
            for b in 0..batch {
                let q = b * steps + t;
                let carried = &dh_carry[b * hidden..(b + 1) * hidden];
                for ((d, &g), &c) in dh.iter_mut().zip(&grad[q * hidden..]).zip(carried) {
                    *d = g + c;
                }
                self.op.backward_row(
                    hidden,
                    BackwardRow {
                        dh: &dh,
                        gates: &gates[q * width..(q + 1) * width],
                        extra: &extra[q * extra_width..(q + 1) * extra_width],
                        extra_prev: previous_step(extra, q, extra_width, t, &zeros),
                        h: &out[q * hidden..(q + 1) * hidden],
                        h_prev: previous_step(out, q, hidden, t, &zeros),
                        dc: &mut dc_carry[b * hidden..(b + 1) * hidden],
                        dp: &mut d_projection[q * width..(q + 1) * width],
                        drec: match &mut gru_recurrent {
                            Some(values) => &mut values[q * width..(q + 1) * width],
                            None => &mut [],
                        },
                        direct: &mut direct[b * hidden..(b + 1) * hidden],
                    },
                );
            }
            if t > 0 {
                // The gradient reaching h_{t-1}: through W_hh, plus GRU's direct path.
                let d_recurrent = gru_recurrent.as_deref().unwrap_or(&d_projection);
                multiply_into(
                    batch,
                    hidden,
                    width,
                    Operand::rows(&d_recurrent[t * width..], steps * width),
                    Operand::rows(w_hh, hidden),
                    &mut dh_carry,
                    hidden,
                    false,
                )?;
                if self.op.cell == Cell::Gru {
                    for (c, d) in dh_carry.iter_mut().zip(&direct) {
                        *c += d;
                    }
                }
            }
        }
        // dW_hh = sum over rows (b, t) of drec(b, t)^T h(b, t - 1), as one product over the
        // previous states shifted by a step (zeros at t = 0).
        let mut previous = vec![0.0f32; rows * hidden];
        for b in (0..batch).filter(|_| steps > 0) {
            let start = b * steps * hidden;
            previous[start + hidden..start + steps * hidden]
                .copy_from_slice(&out[start..start + (steps - 1) * hidden]);
        }
        let d_recurrent = gru_recurrent.as_deref().unwrap_or(&d_projection);
        let mut d_weight = vec![0.0f32; width * hidden];
        multiply_into(
            width,
            hidden,
            rows,
            Operand::transposed(d_recurrent, width),
            Operand::rows(&previous, hidden),
            &mut d_weight,
            hidden,
            false,
        )?;
        let mut bias = vec![0.0f32; width];
        add_rows(&mut bias, d_recurrent);
        let mut result = d_projection;
        result.extend_from_slice(&d_weight);
        result.extend_from_slice(&bias);
        let len = result.len();
        Ok((CpuStorage::F32(result), Shape::from(len)))
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
        let zeros = vec![0.0f32; hidden];
        // GRU keeps its recurrent new-gate term for a backward pass; a step has none, so it goes
        // to a scratch row.
        let mut scratch = vec![0.0f32; if cell == Cell::Gru { hidden } else { 0 }];
        for (b, row) in next.chunks_exact_mut(state_width.max(1)).enumerate() {
            let before = &previous[b * state_width..(b + 1) * state_width];
            let (h_prev, extra_prev) = if cell == Cell::Lstm {
                before.split_at(hidden)
            } else {
                (before, &zeros[..])
            };
            let (h, extra) = if cell == Cell::Lstm {
                row.split_at_mut(hidden)
            } else {
                (row, &mut scratch[..])
            };
            self.recurrence.forward_row(
                hidden,
                ForwardRow {
                    p: &p[b * width..(b + 1) * width],
                    r: &r[b * width..(b + 1) * width],
                    h_prev,
                    extra_prev,
                    gates: &mut gates,
                    extra,
                    h,
                },
            );
        }
        Ok((CpuStorage::F32(next), Shape::from((batch, state_width))))
    }
}
