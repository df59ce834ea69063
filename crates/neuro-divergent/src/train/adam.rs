//! Adam (Kingma & Ba), as `torch.optim.Adam` with its defaults, fused into one pass per
//! parameter: the moments live in plain buffers and each parameter is updated in place.
//! candle-nn's optimiser makes about a dozen full-size temporaries per parameter per step, which
//! measured here as a third of an NHITS training step. The fused pass is a CPU kernel: parameters
//! on other devices (CUDA) keep their moments there and are updated with Candle's generic ops.

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var};
use rayon::prelude::*;

use crate::error::Result;
use crate::nn::kernels;
use crate::threads;

/// Adam hyperparameters (PyTorch defaults).
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

/// Adam over a fixed set of parameters.
pub struct Adam {
    vars: Vec<Var>,
    moments: Vec<Moments>,
    steps: i32,
    learning_rate: f64,
}

/// One parameter's first and second moments: plain buffers updated by the fused CPU op, or
/// tensors on the parameter's device (CUDA), updated with Candle's generic ops.
enum Moments {
    Host { first: Vec<f32>, second: Vec<f32> },
    Device { first: Tensor, second: Tensor },
}

impl Moments {
    /// Zero moments for `var`, where its updates will run.
    fn zeros(var: &Var) -> Result<Moments> {
        Ok(if kernels::fused(var.device()) {
            Moments::Host {
                first: vec![0.0; var.elem_count()],
                second: vec![0.0; var.elem_count()],
            }
        } else {
            Moments::Device {
                first: var.zeros_like()?,
                second: var.zeros_like()?,
            }
        })
    }
}

/// The step's learning rate and bias corrections `1 − βᵗ`.
#[derive(Clone, Copy)]
struct StepScale {
    learning_rate: f32,
    bias1: f32,
    bias2: f32,
}

impl Adam {
    /// Prepares zero moments for every parameter.
    pub fn new(vars: Vec<Var>, learning_rate: f64) -> Result<Adam> {
        Ok(Adam {
            moments: vars.iter().map(Moments::zeros).collect::<Result<_>>()?,
            vars,
            steps: 0,
            learning_rate,
        })
    }

    /// Changes the learning rate used by the next steps.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Applies one update from `grads`; parameters without a gradient are left alone. Parameters
    /// in host memory are updated side by side on the chunk workers (`crate::threads`); each
    /// one's update is independent of the others, so the result does not depend on scheduling.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.steps += 1;
        let scale = StepScale {
            learning_rate: self.learning_rate as f32,
            bias1: 1.0 - BETA1.powi(self.steps),
            bias2: 1.0 - BETA2.powi(self.steps),
        };
        let mut host = Vec::new();
        for ((var, moments), grad) in self
            .vars
            .iter()
            .zip(self.moments.iter_mut())
            .filter_map(|(var, m)| Some(((var, m), grads.get(var.as_tensor())?)))
        {
            match moments {
                Moments::Host { first, second } => host.push((var, grad, first, second)),
                Moments::Device { first, second } => {
                    device_update(var, grad, first, second, scale)?
                }
            }
        }
        threads::install(|| {
            host.into_par_iter().try_for_each(|(var, grad, m, v)| {
                let update = AdamUpdate {
                    moments: RefCell::new((m, v)),
                    scale,
                };
                Ok(var.as_tensor().inplace_op2(&grad.contiguous()?, &update)?)
            })
        })
    }
}

/// The Adam update of a parameter whose moments are tensors, with Candle's generic ops (for
/// devices the fused op does not run on); the same arithmetic as [`AdamUpdate`].
fn device_update(
    var: &Var,
    grad: &Tensor,
    first: &mut Tensor,
    second: &mut Tensor,
    scale: StepScale,
) -> Result<()> {
    let (beta1, beta2) = (f64::from(BETA1), f64::from(BETA2));
    *first = ((&*first * beta1)? + (grad * (1.0 - beta1))?)?;
    *second = ((&*second * beta2)? + (grad.sqr()? * (1.0 - beta2))?)?;
    let step = f64::from(scale.learning_rate / scale.bias1);
    let inv_sqrt_bias2 = f64::from(1.0 / scale.bias2.sqrt());
    let denominator = ((second.sqrt()? * inv_sqrt_bias2)? + f64::from(EPS))?;
    let next = (var.as_tensor() - ((&*first / denominator)? * step)?)?;
    Ok(var.set(&next)?)
}

/// One in-place Adam update of one parameter from its gradient.
struct AdamUpdate<'a> {
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    scale: StepScale,
}

impl InplaceOp2 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "adam-update"
    }

    fn cpu_fwd(
        &self,
        param: &mut CpuStorage,
        param_layout: &Layout,
        grad: &CpuStorage,
        grad_layout: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(param), CpuStorage::F32(grad)) = (param, grad) else {
            candle_core::bail!("adam-update: parameters and gradients must be f32");
        };
        let (Some((p0, p1)), Some((g0, g1))) = (
            param_layout.contiguous_offsets(),
            grad_layout.contiguous_offsets(),
        ) else {
            candle_core::bail!("adam-update: parameters and gradients must be contiguous");
        };
        let param = &mut param[p0..p1];
        let grad = &grad[g0..g1];
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if param.len() != grad.len() || param.len() != m.len() {
            candle_core::bail!("adam-update: size mismatch");
        }
        let step = self.scale.learning_rate / self.scale.bias1;
        let inv_sqrt_bias2 = 1.0 / self.scale.bias2.sqrt();
        for (((p, &g), m), v) in param
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = BETA1 * *m + (1.0 - BETA1) * g;
            *v = BETA2 * *v + (1.0 - BETA2) * g * g;
            *p -= step * *m / (v.sqrt() * inv_sqrt_bias2 + EPS);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    /// Two steps on f(x) = sum(x^2) from x = [1, -2] with lr 0.1, against PyTorch's update rule
    /// evaluated in f64: the first step moves each coordinate by lr * sign(g).
    #[test]
    fn matches_pytorch_adam() {
        let x = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let mut adam = Adam::new(vec![x.clone()], 0.1).unwrap();
        for _ in 0..2 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            adam.step(&loss.backward().unwrap()).unwrap();
        }
        let got = x.as_tensor().to_vec1::<f32>().unwrap();
        assert!((got[0] - 0.800_412_2).abs() < 1e-6, "{got:?}");
        assert!((got[1] + 1.800_166_5).abs() < 1e-6, "{got:?}");
    }

    /// The generic update that devices other than the CPU run follows the fused one step for
    /// step.
    #[test]
    fn device_update_matches_the_fused_one() {
        let start = Tensor::new(&[0.3f32, -1.7, 2.5, 0.0], &Device::Cpu).unwrap();
        let (fused, generic) = (
            Var::from_tensor(&start).unwrap(),
            Var::from_tensor(&start).unwrap(),
        );
        let mut fused_adam = Adam::new(vec![fused.clone()], 0.05).unwrap();
        let mut generic_adam = Adam::new(vec![generic.clone()], 0.05).unwrap();
        generic_adam.moments = vec![Moments::Device {
            first: start.zeros_like().unwrap(),
            second: start.zeros_like().unwrap(),
        }];
        let loss = |x: &Var| {
            let t = x.as_tensor();
            (t.sqr().unwrap() * t.sin().unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        };
        for _ in 0..5 {
            fused_adam.step(&loss(&fused)).unwrap();
            generic_adam.step(&loss(&generic)).unwrap();
        }
        let (a, b) = (
            fused.as_tensor().to_vec1::<f32>().unwrap(),
            generic.as_tensor().to_vec1::<f32>().unwrap(),
        );
        assert!(a != start.to_vec1::<f32>().unwrap());
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-6, "{a:?} vs {b:?}");
        }
    }
}
