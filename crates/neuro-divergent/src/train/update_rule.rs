//! The per-parameter update of each optimizer, as PyTorch defines it (`torch.optim.Adam`,
//! `AdamW`, `SGD`, `RMSprop`, single-tensor form), one file per optimizer in `rules/`: each
//! reads its keyword arguments and steps once over plain `f32` buffers (the fused CPU pass) and
//! once with Candle's generic ops (parameters on other devices), the same arithmetic.

use candle_core::{Tensor, Var};

use super::kwargs::Kwargs;
use super::rules::{Adam, RmsProp, Sgd};
use super::OptimizerName;
use crate::error::Result;

/// What changes from step to step: the learning rate and the 1-based step number (Adam's bias
/// corrections; at step 1 SGD's momentum buffer starts as the gradient).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepHyper {
    pub learning_rate: f32,
    pub step: i32,
}

/// How one optimizer moves a parameter, with its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum UpdateRule {
    /// Adam, or AdamW.
    Adam(Adam),
    /// Stochastic gradient descent.
    Sgd(Sgd),
    /// RMSprop.
    RmsProp(RmsProp),
}

impl UpdateRule {
    /// The rule of optimizer `name` with `kwargs` (PyTorch's names and defaults).
    pub(crate) fn new(name: OptimizerName, kwargs: &Kwargs) -> Result<UpdateRule> {
        let what = name.as_str();
        Ok(match name {
            OptimizerName::Adam => UpdateRule::Adam(Adam::new(what, kwargs, false)?),
            OptimizerName::AdamW => UpdateRule::Adam(Adam::new(what, kwargs, true)?),
            OptimizerName::Sgd => UpdateRule::Sgd(Sgd::new(what, kwargs)?),
            OptimizerName::RmsProp => UpdateRule::RmsProp(RmsProp::new(what, kwargs)?),
        })
    }

    /// Buffers of state kept per parameter (Adam: two moments; SGD: the momentum buffer;
    /// RMSprop: the squared average, the gradient average and the momentum buffer).
    pub(crate) fn state_buffers(&self) -> usize {
        match self {
            UpdateRule::Adam(_) => 2,
            UpdateRule::Sgd(_) => 1,
            UpdateRule::RmsProp(_) => 3,
        }
    }

    /// This rule with its momentum set to `momentum` (Adam's first beta): what a one-cycle
    /// schedule changes at every step, as PyTorch's `cycle_momentum` does.
    pub(crate) fn with_momentum(mut self, momentum: f32) -> UpdateRule {
        match &mut self {
            UpdateRule::Adam(rule) => rule.beta1 = momentum,
            UpdateRule::Sgd(rule) => rule.momentum = momentum,
            UpdateRule::RmsProp(rule) => rule.momentum = momentum,
        }
        self
    }

    /// Updates `param` in place from `grad`, with this parameter's `state` buffers (zeros
    /// before the first step).
    pub(crate) fn update_host(
        &self,
        hyper: StepHyper,
        param: &mut [f32],
        grad: &[f32],
        state: &mut [Vec<f32>],
    ) {
        match self {
            UpdateRule::Adam(rule) => rule.host(hyper, param, grad, state),
            UpdateRule::Sgd(rule) => rule.host(hyper, param, grad, state),
            UpdateRule::RmsProp(rule) => rule.host(hyper, param, grad, state),
        }
    }

    /// The same update with Candle's generic ops, for a parameter whose state lives on its own
    /// device.
    pub(crate) fn update_device(
        &self,
        hyper: StepHyper,
        var: &Var,
        grad: &Tensor,
        state: &mut [Tensor],
    ) -> Result<()> {
        let next = match self {
            UpdateRule::Adam(rule) => rule.device(hyper, var, grad, state)?,
            UpdateRule::Sgd(rule) => rule.device(hyper, var, grad, state)?,
            UpdateRule::RmsProp(rule) => rule.device(hyper, var, grad, state)?,
        };
        Ok(var.set(&next)?)
    }
}
