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

/// Fails unless the fused node `fused` gives the values and input gradients of its generic twin
/// `generic` (within 2e-6 relative) on a `[2, 3, width]` grid of inputs within ±`spread`; the
/// gradients are those of a weighted sum of the outputs.
pub(crate) fn assert_fused_matches_generic(
    width: usize,
    spread: f64,
    fused: impl Fn(&Tensor) -> Tensor,
    generic: impl Fn(&Tensor) -> Tensor,
) {
    let x = candle_core::Var::from_tensor(&grid((2, 3, width), |a, b, c| {
        (a as f64 * 1.3 + b as f64 * 0.7 + c as f64 * 0.9 - 4.0).sin() * spread
    }))
    .unwrap();
    let (fused, generic) = (fused(x.as_tensor()), generic(x.as_tensor()));
    assert_eq!(fused.dims(), generic.dims());
    let probe = grid(fused.dims3().unwrap(), |a, b, c| {
        ((a + 2 * b + 3 * c) as f64).cos()
    });
    let gradient = |y: &Tensor| {
        let grads = weighted_sum_gradients(y, &probe);
        values(grads.get(x.as_tensor()).unwrap())
    };
    for (a, b) in [
        (values(&fused), values(&generic)),
        (gradient(&fused), gradient(&generic)),
    ] {
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 2e-6 * (1.0 + q.abs()), "{a:?} vs {b:?}");
        }
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
