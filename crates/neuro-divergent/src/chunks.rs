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
use crate::nn::kernels;
use crate::threads;

/// Fewest windows worth a chunk of their own: below that, splitting costs more than it saves.
const MIN_CHUNK_ROWS: usize = 32;

/// The row ranges of `input`'s batch: on the CPU one per worker ([`row_ranges`]); on other
/// devices (a GPU) the whole batch as one chunk.
fn input_ranges(input: &ModelInput) -> Result<Vec<Range<usize>>> {
    let rows = input.insample.dim(0)?;
    Ok(if kernels::fused(input.insample.device()) {
        row_ranges(rows, threads::workers())
    } else {
        row_ranges(rows, 1)
    })
}

/// The row ranges of a batch of `rows` windows: one per worker, their sizes differing by at most
/// one, but fewer when chunks would have under [`MIN_CHUNK_ROWS`] rows.
fn row_ranges(rows: usize, workers: usize) -> Vec<Range<usize>> {
    let chunks = workers.min(rows / MIN_CHUNK_ROWS).max(1);
    (0..chunks)
        .map(|i| i * rows / chunks..(i + 1) * rows / chunks)
        .collect()
}

/// Applies `work` to every row range, in parallel when `parallel` is set; results in row order.
fn map_ranges<T: Send>(
    ranges: &[Range<usize>],
    parallel: bool,
    work: impl Fn(usize, &Range<usize>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    if parallel && ranges.len() > 1 {
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

/// Forward passes over the chunks of `input`. Models that draw random numbers while training
/// (dropout) run their chunks in row order so that the draws do not depend on scheduling.
fn chunk_outputs(
    model: &dyn Model,
    input: &ModelInput,
    train: bool,
    ranges: &[Range<usize>],
) -> Result<Vec<Tensor>> {
    let parallel = !train || model.is_deterministic();
    map_ranges(ranges, parallel, |_, rows| {
        model.forward(&input.rows(rows.clone())?, train)
    })
}

/// The model's output for the whole batch (`train` as in [`Model::forward`]), computed chunk by
/// chunk.
pub(crate) fn forward(model: &dyn Model, input: &ModelInput, train: bool) -> Result<Tensor> {
    let ranges = input_ranges(input)?;
    let outputs = chunk_outputs(model, input, train, &ranges)?;
    Ok(Tensor::cat(&outputs, 0)?)
}

/// A training pass: the loss that `loss_of` computes from the model's output for the whole batch,
/// and the gradients of that loss with respect to the model's parameters.
pub(crate) fn loss_and_gradients(
    model: &dyn Model,
    input: &ModelInput,
    loss_of: impl FnOnce(&Tensor) -> Result<Tensor>,
) -> Result<(Tensor, GradStore)> {
    let ranges = input_ranges(input)?;
    loss_and_gradients_over(model, input, loss_of, &ranges)
}

/// [`loss_and_gradients`] with the batch cut into `ranges`.
fn loss_and_gradients_over(
    model: &dyn Model,
    input: &ModelInput,
    loss_of: impl FnOnce(&Tensor) -> Result<Tensor>,
    ranges: &[Range<usize>],
) -> Result<(Tensor, GradStore)> {
    let outputs = chunk_outputs(model, input, true, ranges)?;
    let detached: Vec<Tensor> = outputs.iter().map(Tensor::detach).collect();
    let joined = Var::from_tensor(&Tensor::cat(&detached, 0)?)?;
    let loss = loss_of(joined.as_tensor())?;
    let output_grad = loss
        .backward()?
        .remove(joined.as_tensor())
        .ok_or_else(|| Error::Train("the loss does not depend on the model's output".into()))?;
    let stores = map_ranges(ranges, true, |i, rows| {
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

    /// A small NHITS, a batch of `rows` windows and the loss of the MAE of its output.
    fn nhits_batch(rows: usize) -> (crate::models::BuiltModel, ModelInput, Tensor) {
        let mut spec = crate::ModelSpec::new("NHITS", 3, 8).unwrap();
        spec.set_param("mlp_units", "[[16, 16]]").unwrap();
        let device = candle_core::Device::Cpu;
        let built = spec.build(&device).unwrap();
        let insample = Tensor::randn(0f32, 1f32, (rows, 8), &device).unwrap();
        let input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        let target = Tensor::randn(0f32, 1f32, (rows, 3, 1), &device).unwrap();
        (built, input, target)
    }

    #[test]
    fn chunked_gradients_are_those_of_the_whole_batch() {
        let (built, input, target) = nhits_batch(70);
        let mae = |output: &Tensor| Ok((output - &target)?.abs()?.mean_all()?);
        let model = built.model.as_ref();
        let whole = loss_and_gradients_over(model, &input, mae, &row_ranges(70, 1)).unwrap();
        let chunked =
            loss_and_gradients_over(model, &input, mae, &[0..30, 30..31, 31..70]).unwrap();
        let loss = |l: &Tensor| l.to_scalar::<f32>().unwrap();
        assert!((loss(&whole.0) - loss(&chunked.0)).abs() < 1e-6);
        let vars = built.varmap.all_vars();
        assert!(!vars.is_empty());
        for var in &vars {
            let a = whole
                .1
                .get(var.as_tensor())
                .expect("gradient of the whole batch");
            let b = chunked
                .1
                .get(var.as_tensor())
                .expect("gradient of the chunks");
            let gap = (a - b).unwrap().abs().unwrap().max_all().unwrap();
            let size = a.abs().unwrap().max_all().unwrap();
            assert!(
                loss(&gap) <= 1e-5 * (1.0 + loss(&size)),
                "gradients differ by {} (largest {})",
                loss(&gap),
                loss(&size)
            );
        }
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
    fn chunked_forward_joins_the_rows_in_order() {
        let (built, input, _) = nhits_batch(70);
        let model = built.model.as_ref();
        let whole = model.forward(&input, false).unwrap();
        let chunks = chunk_outputs(model, &input, false, &[0..30, 30..70]).unwrap();
        let joined = Tensor::cat(&chunks, 0).unwrap();
        let gap = (whole - joined).unwrap().abs().unwrap().max_all().unwrap();
        assert!(gap.to_scalar::<f32>().unwrap() < 1e-5);
    }

    #[test]
    fn one_chunk_per_worker_unless_the_chunks_would_be_too_small() {
        assert_eq!(row_ranges(1024, 1), vec![0..1024]);
        assert_eq!(row_ranges(1024, 2), vec![0..512, 512..1024]);
        assert_eq!(row_ranges(97, 4), vec![0..32, 32..64, 64..97]);
        let many = row_ranges(2049, 64);
        assert_eq!(many.len(), 64);
        assert!(many.iter().all(|r| r.len() == 32 || r.len() == 33));
        assert_eq!(many.last().unwrap().end, 2049);
        assert_eq!(row_ranges(40, 2), vec![0..40]);
        assert_eq!(row_ranges(0, 2), vec![0..0]);
    }
}
