//! `torch.optim.SGD`, with optional (Nesterov) momentum.

use candle_core::{Tensor, Var};
use serde::Deserialize;

use super::{check_decay, read, StepHyper, PARAM};
use crate::error::{Error, Result};
use crate::train::kwargs::{self, Kwargs};

/// SGD's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sgd {
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SgdKwargs {
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
}

impl Default for SgdKwargs {
    fn default() -> Self {
        SgdKwargs {
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl Sgd {
    /// SGD from its keyword arguments (`what`: the optimizer's name, for messages).
    pub(crate) fn new(what: &str, given: &Kwargs) -> Result<Sgd> {
        let k: SgdKwargs = read(what, given)?;
        kwargs::check_range(PARAM, "momentum", k.momentum, 0.0, f64::MAX)?;
        kwargs::check_range(PARAM, "dampening", k.dampening, f64::MIN, f64::MAX)?;
        check_decay(k.weight_decay)?;
        if k.nesterov && (k.momentum <= 0.0 || k.dampening != 0.0) {
            return Err(Error::Config(format!(
                "{PARAM}: nesterov needs a momentum above 0 and no dampening (as in PyTorch)"
            )));
        }
        Ok(Sgd {
            momentum: k.momentum as f32,
            dampening: k.dampening as f32,
            weight_decay: k.weight_decay as f32,
            nesterov: k.nesterov,
        })
    }

    /// One step over plain buffers; `state` is the momentum buffer, which starts as the
    /// gradient at step 1.
    pub(crate) fn host(
        &self,
        hyper: StepHyper,
        param: &mut [f32],
        grad: &[f32],
        state: &mut [Vec<f32>],
    ) {
        let [buffer] = state else {
            unreachable!("SGD keeps one buffer")
        };
        let first = hyper.step == 1;
        let (lr, momentum) = (hyper.learning_rate, self.momentum);
        for ((p, &g), b) in param.iter_mut().zip(grad).zip(buffer.iter_mut()) {
            let mut d = g + self.weight_decay * *p;
            if momentum != 0.0 {
                *b = if first {
                    d
                } else {
                    momentum * *b + (1.0 - self.dampening) * d
                };
                d = if self.nesterov { d + momentum * *b } else { *b };
            }
            *p -= lr * d;
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
        let [buffer] = state else {
            unreachable!("SGD keeps one buffer")
        };
        let param = var.as_tensor();
        let momentum = f64::from(self.momentum);
        let mut d = (grad + (param * f64::from(self.weight_decay))?)?;
        if momentum != 0.0 {
            *buffer = if hyper.step == 1 {
                d.clone()
            } else {
                ((&*buffer * momentum)? + (&d * (1.0 - f64::from(self.dampening)))?)?
            };
            d = if self.nesterov {
                (d + (&*buffer * momentum)?)?
            } else {
                buffer.clone()
            };
        }
        Ok((param - (d * f64::from(hyper.learning_rate))?)?)
    }
}
