//! The patched backward pass of the vendored candle-core (`vendor/README.md`): a tensor's first
//! gradient is stored as it is, later ones are added, and a gradient that does not fit its
//! tensor is still refused.

use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Shape, Tensor, Var};

/// `x -> 2x`, whose backward returns a gradient that does not fit `x`.
enum BadGradient {
    /// One value short.
    Shape,
    /// f64 values.
    Type,
}

impl CustomOp1 for BadGradient {
    fn name(&self) -> &'static str {
        "bad-gradient"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let values = match storage {
            CpuStorage::F32(values) => values,
            _ => candle_core::bail!("f32 only"),
        };
        let doubled = values[layout.start_offset()..][..layout.shape().elem_count()]
            .iter()
            .map(|v| 2.0 * v)
            .collect();
        Ok((CpuStorage::F32(doubled), layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        _grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let gradient = match self {
            BadGradient::Shape => Tensor::zeros(arg.elem_count() - 1, arg.dtype(), arg.device())?,
            BadGradient::Type => Tensor::zeros(arg.shape(), DType::F64, arg.device())?,
        };
        Ok(Some(gradient))
    }
}

#[test]
fn first_gradients_are_stored_and_later_ones_added() {
    let x = Var::new(&[[1f32, -2.0], [3.0, 0.5]], &Device::Cpu).unwrap();
    // One path: d/dx sum(3x) = 3.
    let once = (x.as_tensor() * 3.0).unwrap().sum_all().unwrap();
    let grads = once.backward().unwrap();
    let grad = grads.get(x.as_tensor()).unwrap();
    assert_eq!(grad.to_vec2::<f32>().unwrap(), [[3.0, 3.0], [3.0, 3.0]]);
    // Three paths to x (x + x and x * x): d/dx sum(x + x + x * x) = 2 + 2x.
    let twice = ((x.as_tensor() + x.as_tensor()).unwrap() + x.as_tensor().sqr().unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = twice.backward().unwrap();
    let grad = grads.get(x.as_tensor()).unwrap();
    assert_eq!(grad.to_vec2::<f32>().unwrap(), [[4.0, -2.0], [8.0, 3.0]]);
    // A transposed gradient is stored contiguous, in its tensor's shape.
    let transposed = x.as_tensor().t().unwrap();
    let weights = Tensor::new(&[[1f32, 10.0], [100.0, 1000.0]], &Device::Cpu).unwrap();
    let grads = (transposed * &weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let grad = grads.get(x.as_tensor()).unwrap();
    assert!(grad.is_contiguous());
    assert_eq!(
        grad.to_vec2::<f32>().unwrap(),
        [[1.0, 100.0], [10.0, 1000.0]]
    );
}

#[test]
fn a_gradient_of_another_shape_or_type_is_refused() {
    let x = Var::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap();
    for (op, message) in [
        (BadGradient::Shape, "shape mismatch in add"),
        (BadGradient::Type, "dtype mismatch in add"),
    ] {
        let loss = x.apply_op1(op).unwrap().sum_all().unwrap();
        let err = loss.backward().unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
}
