//! `torch.optim.RMSprop`, optionally centred and with momentum.

use candle_core::{Tensor, Var};
use serde::Deserialize;

use super::{check_decay, read, StepHyper, PARAM};
use crate::error::Result;
use crate::train::kwargs::{self, Kwargs};

/// RMSprop's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RmsProp {
    pub alpha: f32,
    pub eps: f32,
    pub weight_decay: f32,
    pub momentum: f32,
    pub centered: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RmsPropKwargs {
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    centered: bool,
}

impl Default for RmsPropKwargs {
    fn default() -> Self {
        RmsPropKwargs {
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl RmsProp {
    /// RMSprop from its keyword arguments (`what`: the optimizer's name, for messages).
    pub(crate) fn new(what: &str, given: &Kwargs) -> Result<RmsProp> {
        let k: RmsPropKwargs = read(what, given)?;
        kwargs::check_range(PARAM, "alpha", k.alpha, 0.0, 1.0)?;
        kwargs::check_range(PARAM, "eps", k.eps, 0.0, f64::MAX)?;
        kwargs::check_range(PARAM, "momentum", k.momentum, 0.0, f64::MAX)?;
        check_decay(k.weight_decay)?;
        Ok(RmsProp {
            alpha: k.alpha as f32,
            eps: k.eps as f32,
            weight_decay: k.weight_decay as f32,
            momentum: k.momentum as f32,
            centered: k.centered,
        })
    }

    /// One step over plain buffers; `state` is the squared average, the gradient average
    /// (centred only) and the momentum buffer.
    pub(crate) fn host(
        &self,
        hyper: StepHyper,
        param: &mut [f32],
        grad: &[f32],
        state: &mut [Vec<f32>],
    ) {
        let [square, mean, buffer] = state else {
            unreachable!("RMSprop keeps three buffers")
        };
        let (lr, alpha) = (hyper.learning_rate, self.alpha);
        for ((((p, &g), s), a), b) in param
            .iter_mut()
            .zip(grad)
            .zip(square.iter_mut())
            .zip(mean.iter_mut())
            .zip(buffer.iter_mut())
        {
            let g = g + self.weight_decay * *p;
            *s = alpha * *s + (1.0 - alpha) * g * g;
            let denominator = if self.centered {
                *a += (1.0 - alpha) * (g - *a);
                (*s - *a * *a).sqrt() + self.eps
            } else {
                s.sqrt() + self.eps
            };
            if self.momentum > 0.0 {
                *b = self.momentum * *b + g / denominator;
                *p -= lr * *b;
            } else {
                *p -= lr * g / denominator;
            }
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
        let [square, mean, buffer] = state else {
            unreachable!("RMSprop keeps three buffers")
        };
        let param = var.as_tensor();
        let lr = f64::from(hyper.learning_rate);
        let alpha = f64::from(self.alpha);
        let g = (grad + (param * f64::from(self.weight_decay))?)?;
        *square = ((&*square * alpha)? + (g.sqr()? * (1.0 - alpha))?)?;
        let spread = if self.centered {
            *mean = (&*mean + ((&g - &*mean)? * (1.0 - alpha))?)?;
            (&*square - mean.sqr()?)?
        } else {
            square.clone()
        };
        let denominator = (spread.sqrt()? + f64::from(self.eps))?;
        let scaled = (g / denominator)?;
        Ok(if self.momentum > 0.0 {
            *buffer = ((&*buffer * f64::from(self.momentum))? + scaled)?;
            (param - (&*buffer * lr)?)?
        } else {
            (param - (scaled * lr)?)?
        })
    }
}
