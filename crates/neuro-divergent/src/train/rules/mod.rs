//! The optimizers' update rules, one file each: hyperparameters read from `optimizer_kwargs`,
//! a fused step over `f32` buffers and the same step with Candle's ops.

mod adam;
mod rmsprop;
mod sgd;

pub(crate) use super::update_rule::StepHyper;
pub(crate) use adam::Adam;
pub(crate) use rmsprop::RmsProp;
pub(crate) use sgd::Sgd;

use crate::error::Result;
use crate::train::kwargs;

/// The parameter the rules' keyword arguments come from.
const PARAM: &str = "optimizer_kwargs";

/// Weight decay must be finite and non-negative.
fn check_decay(value: f64) -> Result<()> {
    kwargs::check_range(PARAM, "weight_decay", value, 0.0, f64::MAX)
}
