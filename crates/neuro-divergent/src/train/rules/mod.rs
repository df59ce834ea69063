//! The optimizers' update rules, one file each: hyperparameters read from `optimizer_kwargs`,
//! a fused step over `f32` buffers and the same step with Candle's ops.

mod adam;
mod rmsprop;
mod sgd;

pub(crate) use super::update_rule::StepHyper;
pub(crate) use adam::Adam;
pub(crate) use rmsprop::RmsProp;
pub(crate) use sgd::Sgd;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::train::kwargs::{self, Kwargs};

/// The parameter the rules' keyword arguments come from.
const PARAM: &str = "optimizer_kwargs";

/// PyTorch's switches that choose an implementation without changing the arithmetic: accepted
/// and ignored.
const IMPLEMENTATION_SWITCHES: [&str; 4] = ["foreach", "fused", "capturable", "differentiable"];

/// PyTorch's switches that change the update: accepted only when off.
const UNSUPPORTED_SWITCHES: [&str; 2] = ["amsgrad", "maximize"];

/// Reads a rule's keyword arguments (`what`: the optimizer's name, for messages) after taking
/// out PyTorch's switches: implementation switches are ignored, `amsgrad` and `maximize` are
/// refused when on, and any of them that is not a boolean (or null) is refused.
fn read<T: DeserializeOwned>(what: &str, given: &Kwargs) -> Result<T> {
    let mut rest = given.clone();
    for name in IMPLEMENTATION_SWITCHES.iter().chain(&UNSUPPORTED_SWITCHES) {
        match rest.remove(*name) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) if IMPLEMENTATION_SWITCHES.contains(name) => {}
            Some(Value::Bool(true)) => {
                return Err(Error::Config(format!(
                    "{PARAM}: {name}=true is not supported"
                )))
            }
            Some(other) => {
                return Err(Error::Config(format!(
                    "{PARAM}: {name} must be true or false, got {other}"
                )))
            }
        }
    }
    kwargs::read(PARAM, what, &rest)
}

/// Weight decay must be finite and non-negative.
fn check_decay(value: f64) -> Result<()> {
    kwargs::check_range(PARAM, "weight_decay", value, 0.0, f64::MAX)
}
