//! Batches computed in row chunks, the chunks side by side on the configured workers
//! (`crate::threads`).
//!
//! Windows of a batch do not interact inside a model, so each chunk of rows runs its own
//! forward pass. For training, the loss is taken over the joined outputs of all chunks, its
//! gradient with respect to those outputs is handed back to each chunk, and each chunk runs its
//! own backward pass; the parameter gradients are summed chunk by chunk in order. By the chain
//! rule that is the gradient of the loss over the whole batch, for any loss.
//!
//! There is one chunk per worker (fewer for small batches), so with one thread a batch is a single
//! chunk and gives bit for bit what a single pass over it gives. Results differ with the thread
//! count by float rounding, which training can amplify; with the same seed and thread count they
//! are identical. On a GPU the batch is one chunk: its kernels use the whole device already.

use std::ops::Range;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, TensorId, Var};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::models::{Model, ModelInput};
use crate::nn::{kernels, pass};
use crate::threads;

/// Fewest rows worth a chunk of their own: below that, splitting costs more than it saves. A
/// model that normalises over the windows of a batch gets at least this many windows instead
/// ([`Model::normalises_over_windows`]).
const MIN_CHUNK_ROWS: usize = 32;

/// The window ranges of `input`'s batch for `model`: on the CPU one per worker
/// ([`window_ranges`]); on other devices (a GPU) the whole batch as one chunk. A window is
/// [`Model::rows_per_window`] rows of the batch (several for a multivariate model), so a chunk
/// never cuts one.
fn input_ranges(model: &dyn Model, input: &ModelInput) -> Result<Vec<Range<usize>>> {
    let rows = input.insample.dim(0)?;
    let group = model.rows_per_window();
    if !rows.is_multiple_of(group) {
        return Err(Error::Train(format!(
            "a batch of {rows} rows is not made of windows of {group} series each"
        )));
    }
    let windows = rows / group;
    // The rows that count towards a chunk's minimum size: whole windows for batch statistics.
    let counted = if model.normalises_over_windows() {
        1
    } else {
        group
    };
    Ok(if kernels::fused(input.insample.device()) {
        window_ranges(windows, counted, threads::workers())
    } else {
        window_ranges(windows, counted, 1)
    })
}

/// The batch rows of the windows `windows`, each window `group` rows.
fn rows_of(windows: &Range<usize>, group: usize) -> Range<usize> {
    windows.start * group..windows.end * group
}

/// The ranges of a batch of `windows` windows, each counting as `counted` rows: one per worker,
/// their sizes differing by at most one window, but fewer when chunks would count under
/// [`MIN_CHUNK_ROWS`] rows.
fn window_ranges(windows: usize, counted: usize, workers: usize) -> Vec<Range<usize>> {
    let chunks = workers
        .min(windows * counted / MIN_CHUNK_ROWS)
        .min(windows)
        .max(1);
    (0..chunks)
        .map(|i| i * windows / chunks..(i + 1) * windows / chunks)
        .collect()
}

/// Applies `work` to every row range, side by side on the workers; results in row order.
fn map_ranges<T: Send>(
    ranges: &[Range<usize>],
    work: impl Fn(usize, &Range<usize>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    if ranges.len() > 1 {
        threads::install(|| {
            ranges
                .par_iter()
                .enumerate()
                .map(|(i, r)| work(i, r))
                .collect()
        })
    } else {
        ranges.iter().enumerate().map(|(i, r)| work(i, r)).collect()
    }
}

/// The model's output for the whole batch, not training, computed chunk by chunk.
pub(crate) fn forward(model: &dyn Model, input: &ModelInput) -> Result<Tensor> {
    forward_over(model, input, &input_ranges(model, input)?)
}

/// [`forward`] with the batch cut into the window ranges `ranges`.
fn forward_over(model: &dyn Model, input: &ModelInput, ranges: &[Range<usize>]) -> Result<Tensor> {
    let group = model.rows_per_window();
    let outputs = map_ranges(ranges, |_, windows| {
        model.forward(&input.rows(rows_of(windows, group))?, false)
    })?;
    Ok(Tensor::cat(&outputs, 0)?)
}

/// Training pass number `number`: the loss that `loss_of` computes from the model's output for
/// the whole batch, and the gradients of that loss with respect to the model's parameters. Each
/// chunk's forward pass runs in a `nn::pass` scope, so that its random draws (dropout) are keyed
/// by the pass and each window's row, and the running statistics it moves (batch
/// normalisation) move once per pass with the whole batch's: neither depends on the chunks or
/// on the order they run in.
pub(crate) fn loss_and_gradients(
    model: &dyn Model,
    input: &ModelInput,
    number: u64,
    loss_of: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<(Tensor, GradStore)> {
    let ranges = input_ranges(model, input)?;
    loss_and_gradients_over(model, input, number, loss_of, &ranges)
}

/// [`loss_and_gradients`] with the batch cut into the window ranges `ranges`; the pass scopes
/// count windows, so a multivariate model's draws are keyed by window (and series within it).
fn loss_and_gradients_over(
    model: &dyn Model,
    input: &ModelInput,
    number: u64,
    loss_of: impl FnOnce(&Tensor) -> Result<Tensor>,
    ranges: &[Range<usize>],
) -> Result<(Tensor, GradStore)> {
    let group = model.rows_per_window();
    let batch_windows = input.insample.dim(0)? / group;
    let outputs = map_ranges(ranges, |_, windows| {
        let chunk = input.rows(rows_of(windows, group))?;
        pass::scope(number, windows.clone(), batch_windows, || {
            model.forward(&chunk, true)
        })
    })?;
    let detached: Vec<Tensor> = outputs.iter().map(Tensor::detach).collect();
    let joined = Var::from_tensor(&Tensor::cat(&detached, 0)?)?;
    let loss = loss_of(joined.as_tensor())?;
    let output_grad = loss
        .backward()?
        .remove(joined.as_tensor())
        .ok_or_else(|| Error::Train("the loss does not depend on the model's output".into()))?;
    let stores = map_ranges(ranges, |i, windows| {
        let rows = rows_of(windows, group);
        let chunk_grad = output_grad.narrow(0, rows.start, rows.len())?;
        Ok((&outputs[i] * chunk_grad)?.sum_all()?.backward()?)
    })?;
    Ok((loss, sum_stores(stores)?))
}

/// The gradients of all chunks summed: each tensor's gradients added chunk by chunk in row order
/// (so the sums do not depend on scheduling), different tensors side by side on the workers.
fn sum_stores(stores: Vec<GradStore>) -> Result<GradStore> {
    let mut stores = stores.into_iter();
    let mut total = stores
        .next()
        .ok_or_else(|| Error::Train("an empty batch has no gradients".into()))?;
    let rest: Vec<GradStore> = stores.collect();
    // Tensors with a gradient in several chunks: the parameters.
    let shared: Vec<(TensorId, &Tensor, Vec<&Tensor>)> = total
        .get_ids()
        .filter_map(|&id| {
            let others: Vec<&Tensor> = rest.iter().filter_map(|s| s.get_id(id)).collect();
            let first = total.get_id(id)?;
            (!others.is_empty()).then_some((id, first, others))
        })
        .collect();
    let sums = threads::install(|| {
        shared
            .par_iter()
            .map(|(id, first, others)| {
                let mut sum = (*first).clone();
                for grad in others {
                    sum = (sum + *grad)?;
                }
                Ok((*id, sum))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    for (id, sum) in sums {
        total.insert_id(id, sum);
    }
    for store in &rest {
        for &id in store.get_ids() {
            if total.get_id(id).is_none() {
                if let Some(grad) = store.get_id(id) {
                    total.insert_id(id, grad.clone());
                }
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small NHITS, a batch of `rows` windows and targets for them.
    fn nhits_batch(rows: usize) -> (crate::models::BuiltModel, ModelInput, Tensor) {
        model_batch("NHITS", &[("mlp_units", "[[16, 16]]")], 3, 8, rows)
    }

    /// Model `name` with `params`, horizon `h` and input size `input_size`, a batch of `rows`
    /// windows and targets for them.
    fn model_batch(
        name: &str,
        params: &[(&str, &str)],
        h: usize,
        input_size: usize,
        rows: usize,
    ) -> (crate::models::BuiltModel, ModelInput, Tensor) {
        let mut spec = crate::ModelSpec::new(name, h, input_size).unwrap();
        for (key, value) in params {
            spec.set_param(key, value).unwrap();
        }
        let device = candle_core::Device::Cpu;
        let built = spec.build(&device).unwrap();
        let insample = Tensor::randn(0f32, 1f32, (rows, input_size), &device).unwrap();
        let input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        let target = Tensor::randn(0f32, 1f32, (rows, h, 1), &device).unwrap();
        (built, input, target)
    }

    /// The largest difference between the two passes' gradients, relative to 1 plus the
    /// largest gradient, over every parameter of `built` (a parameter the inputs do not reach,
    /// as TFT's context maps without static columns, must have a gradient in neither).
    fn gradient_gap(built: &crate::models::BuiltModel, a: &GradStore, b: &GradStore) -> f32 {
        let scalar = |t: Tensor| t.to_scalar::<f32>().unwrap();
        built
            .varmap
            .all_vars()
            .iter()
            .map(|var| {
                let (a, b) = match (a.get(var.as_tensor()), b.get(var.as_tensor())) {
                    (Some(a), Some(b)) => (a, b),
                    (None, None) => return 0.0,
                    _ => panic!("a gradient in one pass only"),
                };
                let gap = scalar((a - b).unwrap().abs().unwrap().max_all().unwrap());
                gap / (1.0 + scalar(a.abs().unwrap().max_all().unwrap()))
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn chunked_gradients_are_those_of_the_whole_batch() {
        let (built, input, target) = nhits_batch(70);
        let mae = |output: &Tensor| Ok((output - &target)?.abs()?.mean_all()?);
        let model = built.model.as_ref();
        let whole =
            loss_and_gradients_over(model, &input, 0, mae, &window_ranges(70, 1, 1)).unwrap();
        let chunked =
            loss_and_gradients_over(model, &input, 0, mae, &[0..30, 30..31, 31..70]).unwrap();
        let loss = |l: &Tensor| l.to_scalar::<f32>().unwrap();
        assert!((loss(&whole.0) - loss(&chunked.0)).abs() < 1e-6);
        let gap = gradient_gap(&built, &whole.1, &chunked.1);
        assert!(gap <= 1e-5, "gradients differ by {gap}");
        let vars = built.varmap.all_vars();
        assert!(!vars.is_empty());
        // One chunk is the plain pass, bit for bit.
        let direct = mae(&model.forward(&input, true).unwrap()).unwrap();
        assert_eq!(loss(&direct), loss(&whole.0));
        let direct_grads = direct.backward().unwrap();
        for var in &vars {
            let values = |g: &GradStore| {
                let g = g.get(var.as_tensor()).unwrap().flatten_all().unwrap();
                g.to_vec1::<f32>().unwrap()
            };
            assert_eq!(values(&direct_grads), values(&whole.1));
        }
    }

    #[test]
    fn random_draws_do_not_depend_on_the_chunks() {
        // Dropout in every layer and ProbSparse key samples (Informer without the distilling
        // convolutions, whose batch normalisation normalises each chunk on its own), residual
        // dropout (TiDE; without layer norm, which over a single output would zero the
        // temporal decoder's path), dropout between convolutions (BiTCN), between recurrent
        // layers (LSTM), in gated residual networks and on attention weights (TFT), and at
        // every T5 site and on the patch embeddings (ChronosBolt; 48 points are 6 patches).
        let cases: [(&str, &[(&str, &str)]); 6] = [
            (
                "Informer",
                &[
                    ("hidden_size", "16"),
                    ("dropout", "0.3"),
                    ("distil", "false"),
                ],
            ),
            ("TiDE", &[("hidden_size", "16"), ("layernorm", "false")]),
            ("BiTCN", &[("hidden_size", "4")]),
            (
                "LSTM",
                &[
                    ("encoder_hidden_size", "8"),
                    ("encoder_n_layers", "2"),
                    ("encoder_dropout", "0.5"),
                ],
            ),
            (
                "TFT",
                &[
                    ("hidden_size", "8"),
                    ("n_head", "2"),
                    ("attn_dropout", "0.3"),
                ],
            ),
            (
                "ChronosBolt",
                &[
                    ("d_model", "16"),
                    ("d_ff", "16"),
                    ("d_kv", "4"),
                    ("num_heads", "2"),
                    ("num_layers", "2"),
                    ("num_decoder_layers", "1"),
                    ("prediction_length", "4"),
                    ("input_patch_size", "8"),
                    ("input_patch_stride", "8"),
                    ("dropout_rate", "0.3"),
                ],
            ),
        ];
        for (name, params) in cases {
            let (built, mut input, target) = model_batch(name, params, 4, 48, 70);
            // Every third window left-padded: what a model does with padding (ChronosBolt
            // drops patches no window of a chunk observes when forecasting) must not make a
            // window's draws depend on its neighbours.
            let flags: Vec<f32> = (0..70 * 48)
                .map(|i| {
                    if (i / 48) % 3 == 0 && i % 48 < 20 {
                        0.0
                    } else {
                        1.0
                    }
                })
                .collect();
            input.insample_mask =
                Tensor::from_vec(flags, (70, 48), input.insample.device()).unwrap();
            let mae = |output: &Tensor| Ok(output.broadcast_sub(&target)?.abs()?.mean_all()?);
            let model = built.model.as_ref();
            let pass = |pass, ranges: &[Range<usize>]| {
                loss_and_gradients_over(model, &input, pass, mae, ranges).unwrap()
            };
            let whole = pass(7, &window_ranges(70, 1, 1));
            let chunked = pass(7, &[0..30, 30..31, 31..70]);
            let loss = |l: &Tensor| l.to_scalar::<f32>().unwrap();
            assert!(
                (loss(&whole.0) - loss(&chunked.0)).abs() < 1e-5,
                "{name}: losses {} and {}",
                loss(&whole.0),
                loss(&chunked.0)
            );
            let gap = gradient_gap(&built, &whole.1, &chunked.1);
            assert!(gap < 1e-4, "{name}: gradients differ by {gap}");
            // Another pass draws other masks: the outputs move (the loss, an average of
            // errors of either sign, may barely move).
            let output =
                |number| pass::scope(number, 0..70, 70, || model.forward(&input, true)).unwrap();
            let moved = (output(7) - output(8))
                .and_then(|d| d.abs()?.max_all()?.to_scalar::<f32>())
                .unwrap();
            assert!(moved > 1e-3, "{name}: passes 7 and 8 gave the same outputs");
        }
    }

    #[test]
    fn a_multivariate_models_draws_and_gradients_do_not_depend_on_the_chunks() {
        // iTransformer over 5 series with dropout everywhere: 70 rows are 14 windows, cut into
        // chunks of whole windows.
        let params = [
            ("n_series", "5"),
            ("hidden_size", "8"),
            ("n_heads", "2"),
            ("d_ff", "8"),
            ("dropout", "0.3"),
        ];
        let (built, input, target) = model_batch("iTransformer", &params, 4, 12, 70);
        let mae = |output: &Tensor| Ok((output - &target)?.abs()?.mean_all()?);
        let model = built.model.as_ref();
        let pass = |ranges: &[Range<usize>]| {
            loss_and_gradients_over(model, &input, 3, mae, ranges).unwrap()
        };
        let whole = pass(&window_ranges(14, 5, 1));
        let chunked = pass(&[0..6, 6..7, 7..14]);
        let loss = |l: &Tensor| l.to_scalar::<f32>().unwrap();
        assert!((loss(&whole.0) - loss(&chunked.0)).abs() < 1e-5);
        assert!(gradient_gap(&built, &whole.1, &chunked.1) < 1e-4);
        // Windows cut in the middle are refused.
        let err = loss_and_gradients(model, &input.rows(0..68).unwrap(), 0, mae)
            .err()
            .unwrap();
        assert!(err.to_string().contains("68 rows"), "{err}");
    }

    #[test]
    fn chunked_forward_joins_the_rows_in_order() {
        let (built, input, _) = nhits_batch(70);
        let model = built.model.as_ref();
        let whole = model.forward(&input, false).unwrap();
        let joined = forward_over(model, &input, &[0..30, 30..70]).unwrap();
        let gap = (whole - joined).unwrap().abs().unwrap().max_all().unwrap();
        assert!(gap.to_scalar::<f32>().unwrap() < 1e-5);
    }

    #[test]
    fn one_chunk_per_worker_unless_the_chunks_would_be_too_small() {
        assert_eq!(window_ranges(1024, 1, 1), vec![0..1024]);
        assert_eq!(window_ranges(1024, 1, 2), vec![0..512, 512..1024]);
        assert_eq!(window_ranges(97, 1, 4), vec![0..32, 32..64, 64..97]);
        let many = window_ranges(2049, 1, 64);
        assert_eq!(many.len(), 64);
        assert!(many.iter().all(|r| r.len() == 32 || r.len() == 33));
        assert_eq!(many.last().unwrap().end, 2049);
        assert_eq!(window_ranges(40, 1, 2), vec![0..40]);
        assert_eq!(window_ranges(0, 1, 2), vec![0..0]);
        // Multivariate windows of 7 rows: 32 of them are worth two chunks, 4 are not.
        assert_eq!(window_ranges(32, 7, 2), vec![0..16, 16..32]);
        assert_eq!(window_ranges(4, 7, 2), vec![0..4]);
    }
}
