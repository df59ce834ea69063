//! What the layer tests share: inputs on a grid, comparison with PyTorch's numbers, and the
//! gradients of a weighted sum.

use candle_core::{Device, Tensor};

/// `[a, b, c]` values `f(a, b, c)`: the inputs and loss weights the reference runs used.
pub(crate) fn grid(dims: (usize, usize, usize), f: impl Fn(usize, usize, usize) -> f64) -> Tensor {
    let values: Vec<f32> = (0..dims.0)
        .flat_map(|a| (0..dims.1).flat_map(move |b| (0..dims.2).map(move |c| (a, b, c))))
        .map(|(a, b, c)| f(a, b, c) as f32)
        .collect();
    Tensor::from_vec(values, dims, &Device::Cpu).unwrap()
}

/// Every value of `t`, in row-major order.
pub(crate) fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Fails unless `ours` and PyTorch's `theirs` agree to float rounding.
pub(crate) fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    for (a, b) in ours.iter().zip(theirs) {
        assert!(
            (a - b).abs() < 2e-5 * (1.0 + b.abs()),
            "{what}: ours {a}, PyTorch {b}"
        );
    }
}

/// The gradients of `sum(out * weights)`.
pub(crate) fn weighted_sum_gradients(
    out: &Tensor,
    weights: &Tensor,
) -> candle_core::backprop::GradStore {
    (out * weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap()
}
