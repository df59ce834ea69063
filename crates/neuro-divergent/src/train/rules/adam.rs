//! `torch.optim.Adam` and `torch.optim.AdamW` (decoupled weight decay).

use candle_core::{Tensor, Var};
use serde::Deserialize;

use super::{check_decay, read, StepHyper, PARAM};
use crate::error::Result;
use crate::train::kwargs::{self, Kwargs};

/// Adam's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Adam {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// Weight decay applied to the parameter (AdamW) instead of added to the gradient.
    pub decoupled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdamKwargs {
    #[serde(default = "default_betas")]
    betas: [f64; 2],
    #[serde(default = "default_eps")]
    eps: f64,
    weight_decay: Option<f64>,
}

fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}

fn default_eps() -> f64 {
    1e-8
}

impl Adam {
    /// Adam (or AdamW when `decoupled`, whose `weight_decay` defaults to 0.01 as in PyTorch)
    /// from its keyword arguments (`what`: the optimizer's name, for messages).
    pub(crate) fn new(what: &str, given: &Kwargs, decoupled: bool) -> Result<Adam> {
        let k: AdamKwargs = read(what, given)?;
        let weight_decay = k.weight_decay.unwrap_or(if decoupled { 0.01 } else { 0.0 });
        let below_one = 1.0 - f64::EPSILON;
        kwargs::check_range(PARAM, "betas[0]", k.betas[0], 0.0, below_one)?;
        kwargs::check_range(PARAM, "betas[1]", k.betas[1], 0.0, below_one)?;
        kwargs::check_range(PARAM, "eps", k.eps, 0.0, f64::MAX)?;
        check_decay(weight_decay)?;
        Ok(Adam {
            beta1: k.betas[0] as f32,
            beta2: k.betas[1] as f32,
            eps: k.eps as f32,
            weight_decay: weight_decay as f32,
            decoupled,
        })
    }

    /// One step over plain buffers; `state` is the first and second moments.
    pub(crate) fn host(
        &self,
        hyper: StepHyper,
        param: &mut [f32],
        grad: &[f32],
        state: &mut [Vec<f32>],
    ) {
        let [m, v] = state else {
            unreachable!("Adam keeps two buffers")
        };
        let lr = hyper.learning_rate;
        let step = lr / (1.0 - self.beta1.powi(hyper.step));
        let inv_sqrt_bias2 = 1.0 / (1.0 - self.beta2.powi(hyper.step)).sqrt();
        if self.decoupled && self.weight_decay != 0.0 {
            let keep = 1.0 - lr * self.weight_decay;
            param.iter_mut().for_each(|p| *p *= keep);
        }
        let l2 = if self.decoupled {
            0.0
        } else {
            self.weight_decay
        };
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m.iter_mut()).zip(v) {
            let g = if l2 != 0.0 { g + l2 * *p } else { g };
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *p -= step * *m / (v.sqrt() * inv_sqrt_bias2 + eps);
        }
    }

    /// The same step with Candle's ops; returns the parameter's next value.
    pub(crate) fn device(
        &self,
        hyper: StepHyper,
        var: &Var,
        grad: &Tensor,
        state: &mut [Tensor],
    ) -> Result<Tensor> {
        let [m, v] = state else {
            unreachable!("Adam keeps two buffers")
        };
        let lr = f64::from(hyper.learning_rate);
        let (b1, b2) = (f64::from(self.beta1), f64::from(self.beta2));
        let wd = f64::from(self.weight_decay);
        let param = if self.decoupled && wd != 0.0 {
            (var.as_tensor() * (1.0 - lr * wd))?
        } else {
            var.as_tensor().clone()
        };
        let g = if !self.decoupled && wd != 0.0 {
            (grad + (&param * wd)?)?
        } else {
            grad.clone()
        };
        *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
        *v = ((&*v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
        let step = f64::from(hyper.learning_rate / (1.0 - self.beta1.powi(hyper.step)));
        let inv_sqrt_bias2 = f64::from(1.0 / (1.0 - self.beta2.powi(hyper.step)).sqrt());
        let denominator = ((v.sqrt()? * inv_sqrt_bias2)? + f64::from(self.eps))?;
        Ok((param - ((&*m / denominator)? * step)?)?)
    }
}
