//! Losses defined outside the crate: a [`CustomLoss`] registered by name with
//! [`register_loss`] is then written as text like the built-in losses (`NAME` or `NAME:ARG`),
//! in `loss` and `valid_loss`, on the CLI of a program that registers it, and in checkpoints.

use std::any::TypeId;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use candle_core::{Tensor, D};

use super::WindowScale;
use crate::error::{Error, Result};

/// What a loss scores: a batch of windows, their targets and the model's outputs, all in the
/// windows' scale.
#[non_exhaustive]
pub struct LossBatch<'a> {
    /// `[B, H]` targets.
    pub y: &'a Tensor,
    /// `[B, H, n_outputs]` model outputs.
    pub y_hat: &'a Tensor,
    /// `[B, H]` weight of each point: the observation mask times the window's draw count (see
    /// [`super::weighted_mean`]).
    pub weight: &'a Tensor,
    /// `[B, L]` insample values (for losses scaled by the history, as MASE).
    pub insample: &'a Tensor,
    /// `[B, L]` 1 where the insample value is observed.
    pub insample_mask: &'a Tensor,
    /// Each window's scaler, for a loss that scores the data in its own units.
    pub window: &'a WindowScale,
}

/// A training loss on scaled model outputs. Forecast columns are the outputs mapped back
/// through each window's scaler (`y · scale + shift`), one column per output, so a custom loss
/// trains outputs that live in the windows' scale, as the point and quantile losses do.
pub trait CustomLoss: Send + Sync {
    /// Model outputs per forecast step (1: a point forecast, which conformal intervals can
    /// wrap).
    fn n_outputs(&self) -> usize {
        1
    }

    /// The forecast column suffix of each output, distinct: `""` for a single output; for
    /// several, by default `-0`, `-1`, … (suffixes containing `-lo-` or `-hi-` are refused:
    /// interval columns are named so).
    fn suffixes(&self) -> Vec<String> {
        match self.n_outputs() {
            1 => vec![String::new()],
            n => (0..n).map(|i| format!("-{i}")).collect(),
        }
    }

    /// The loss of a batch as a scalar: usually the mean over the points weighted by
    /// `batch.weight` ([`super::weighted_mean`]).
    fn compute(&self, batch: &LossBatch<'_>) -> Result<Tensor>;

    /// The point forecast `[B]` in one step's outputs `[B, n_outputs]` (windows' scale): what
    /// a model that forecasts one step at a time feeds back. By default the mean of the
    /// outputs (the output itself when there is one).
    fn point(&self, outputs: &Tensor) -> Result<Tensor> {
        Ok(outputs.mean(D::Minus1)?)
    }
}

/// Makes a registered loss from the text after its name's `:` (`None` when there is none).
pub type LossFactory = dyn Fn(Option<&str>) -> Result<Arc<dyn CustomLoss>> + Send + Sync;

/// One registered loss: its name, the factory's type (to recognise the same registration
/// again) and the factory.
struct Registration {
    name: &'static str,
    factory_type: TypeId,
    factory: Arc<LossFactory>,
}

/// A registered loss as used: its name, its argument and the loss the factory made.
#[derive(Clone)]
pub struct RegisteredLoss {
    name: &'static str,
    arg: Option<String>,
    loss: Arc<dyn CustomLoss>,
}

impl RegisteredLoss {
    /// The loss.
    pub fn loss(&self) -> &dyn CustomLoss {
        &*self.loss
    }

    /// The name it was registered under.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl PartialEq for RegisteredLoss {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.arg == other.arg
    }
}

impl fmt::Debug for RegisteredLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegisteredLoss({self})")
    }
}

impl fmt::Display for RegisteredLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(arg) => write!(f, "{}:{arg}", self.name),
            None => f.write_str(self.name),
        }
    }
}

fn registry() -> &'static RwLock<Vec<Registration>> {
    static REGISTRY: OnceLock<RwLock<Vec<Registration>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a loss under `name` (lower case, a word of letters, digits and `_`) for this
/// process: from then on `loss=NAME` and `loss=NAME:ARG` make it with `factory` (a function or
/// closure given the text after `:`). Built-in loss names are refused, and so is a name
/// registered with another factory; registering the same factory under its name again is
/// allowed, so that set-up code can run more than once.
pub fn register_loss<F>(name: &'static str, factory: F) -> Result<()>
where
    F: Fn(Option<&str>) -> Result<Arc<dyn CustomLoss>> + Send + Sync + 'static,
{
    let is_word = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_word {
        return Err(Error::Config(format!(
            "loss name '{name}' must start with a lower-case letter and hold only lower-case \
             letters, digits and '_'"
        )));
    }
    if super::is_builtin_name(name) {
        return Err(Error::Config(format!(
            "loss name '{name}' is a built-in loss"
        )));
    }
    let mut losses = registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match losses.iter().find(|r| r.name == name) {
        Some(taken) if taken.factory_type == TypeId::of::<F>() => Ok(()),
        Some(_) => Err(Error::Config(format!(
            "loss name '{name}' is already registered"
        ))),
        None => {
            losses.push(Registration {
                name,
                factory_type: TypeId::of::<F>(),
                factory: Arc::new(factory),
            });
            Ok(())
        }
    }
}

/// The names of the registered losses, in order.
pub fn registered_loss_names() -> Vec<&'static str> {
    registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .map(|r| r.name)
        .collect()
}

/// The registered loss `name` made from `arg`; `None` when no loss has that name.
pub(super) fn make(name: &str, arg: Option<&str>) -> Option<Result<RegisteredLoss>> {
    let (name, factory) = registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .find(|r| r.name == name)
        .map(|r| (r.name, Arc::clone(&r.factory)))?;
    Some(factory(arg).and_then(|loss| {
        let loss = RegisteredLoss {
            name,
            arg: arg.map(str::to_string),
            loss,
        };
        check_columns(&loss)?;
        Ok(loss)
    }))
}

/// Fails unless `loss` names each of its outputs' columns once: `""` alone for one output,
/// distinct suffixes without the interval columns' `-lo-` and `-hi-` for several.
fn check_columns(loss: &RegisteredLoss) -> Result<()> {
    let outputs = loss.loss.n_outputs();
    let suffixes = loss.loss.suffixes();
    let distinct = suffixes
        .iter()
        .enumerate()
        .all(|(i, s)| !suffixes[..i].contains(s));
    let fine = match outputs {
        0 => false,
        1 => suffixes == [""],
        _ => {
            suffixes.len() == outputs
                && distinct
                && suffixes
                    .iter()
                    .all(|s| !s.is_empty() && !s.contains("-lo-") && !s.contains("-hi-"))
        }
    };
    if fine {
        return Ok(());
    }
    Err(Error::Config(format!(
        "loss '{loss}' names its {outputs} outputs' columns {suffixes:?}: one output takes the \
         suffix \"\", several take distinct, non-empty suffixes without -lo- or -hi-"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::{weighted_mean, Loss};
    use candle_core::Device;

    /// The squared error of the first of `outputs` outputs, times `factor` (the text after
    /// `scaled_mse:`, 1 by default).
    struct Scaled {
        factor: f64,
        outputs: usize,
    }

    impl CustomLoss for Scaled {
        fn n_outputs(&self) -> usize {
            self.outputs
        }

        fn compute(&self, batch: &LossBatch<'_>) -> Result<Tensor> {
            let first = batch.y_hat.narrow(2, 0, 1)?.squeeze(2)?;
            let error = first.sub(batch.y)?.sqr()?;
            Ok((weighted_mean(&error, batch.weight)? * self.factor)?)
        }
    }

    /// Two outputs under one suffix.
    struct Clashing;

    impl CustomLoss for Clashing {
        fn n_outputs(&self) -> usize {
            2
        }

        fn suffixes(&self) -> Vec<String> {
            vec!["-a".into(), "-a".into()]
        }

        fn compute(&self, batch: &LossBatch<'_>) -> Result<Tensor> {
            weighted_mean(batch.y, batch.weight)
        }
    }

    fn scaled(arg: Option<&str>) -> Result<Arc<dyn CustomLoss>> {
        let factor = match arg {
            Some(text) => text
                .parse()
                .map_err(|_| Error::Config(format!("scaled_mse: '{text}' is not a number")))?,
            None => 1.0,
        };
        Ok(Arc::new(Scaled { factor, outputs: 1 }))
    }

    fn pair(_arg: Option<&str>) -> Result<Arc<dyn CustomLoss>> {
        Ok(Arc::new(Scaled {
            factor: 1.0,
            outputs: 2,
        }))
    }

    #[test]
    fn registered_losses_are_text_like_the_built_in_ones() {
        register_loss("scaled_mse", scaled).unwrap();
        register_loss("scaled_mse", scaled).unwrap();
        register_loss("pair_test", pair).unwrap();
        let loss = Loss::parse("Scaled_MSE:2.5").unwrap();
        assert_eq!(loss.to_string(), "scaled_mse:2.5");
        assert_eq!(loss.n_outputs(), 1);
        assert_eq!(loss.suffixes(), [""]);
        assert!(loss.makes_point_forecasts());
        let json = serde_json::to_string(&loss).unwrap();
        assert_eq!(serde_json::from_str::<Loss>(&json).unwrap(), loss);
        assert_ne!(Loss::parse("scaled_mse").unwrap(), loss);
        let two = Loss::parse("pair_test").unwrap();
        assert_eq!(two.suffixes(), ["-0", "-1"]);
        assert!(!two.makes_point_forecasts());
        // A point loss and a one-output registered loss score each other; two outputs need
        // the same loss.
        let mae = Loss::parse("mae").unwrap();
        assert!(loss.check_valid_loss(&mae).is_ok() && mae.check_valid_loss(&loss).is_ok());
        assert!(two.check_valid_loss(&mae).is_err());
        assert!(two.check_valid_loss(&two).is_ok());

        let device = Device::Cpu;
        let y = Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0]], &device).unwrap();
        let y_hat = Tensor::new(&[[1.5f32, 2.0], [3.0, 2.0]], &device)
            .unwrap()
            .unsqueeze(2)
            .unwrap();
        let weight = Tensor::new(&[[1.0f32, 1.0], [1.0, 0.0]], &device).unwrap();
        let window = WindowScale {
            shift: Tensor::zeros(2, candle_core::DType::F32, &device).unwrap(),
            scale: Tensor::ones(2, candle_core::DType::F32, &device).unwrap(),
        };
        let value = loss
            .compute(&y, &y_hat, &weight, &y, &weight, &window)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        // (0.25 + 0 + 0) / 3 points, times 2.5.
        assert!((value - 2.5 * 0.25 / 3.0).abs() < 1e-6, "{value}");
    }

    #[test]
    fn bad_names_and_arguments_are_refused() {
        register_loss("scaled_mse", scaled).unwrap();
        let argument = Loss::parse("scaled_mse:x").unwrap_err().to_string();
        assert!(argument.contains("'x' is not a number"), "{argument}");
        let unknown = Loss::parse("nonesuch").unwrap_err().to_string();
        assert!(unknown.contains("unknown loss 'nonesuch'"), "{unknown}");
        assert!(unknown.contains("or a registered loss: "), "{unknown}");
        assert!(unknown.contains("scaled_mse"), "{unknown}");
        for (name, expected) in [
            ("mae", "is a built-in loss"),
            ("mqloss", "is a built-in loss"),
            ("studentt", "is a built-in loss"),
            ("MyLoss", "lower-case letters"),
            ("a:b", "lower-case letters"),
            ("_", "start with a lower-case letter"),
        ] {
            let message = register_loss(name, scaled).unwrap_err().to_string();
            assert!(message.contains(expected), "{name}: {message}");
        }
        let other = register_loss("scaled_mse", pair).unwrap_err().to_string();
        assert!(other.contains("already registered"), "{other}");
        register_loss("clashing_test", |_: Option<&str>| {
            Ok(Arc::new(Clashing) as Arc<dyn CustomLoss>)
        })
        .unwrap();
        let clash = Loss::parse("clashing_test").unwrap_err().to_string();
        assert!(clash.contains("distinct, non-empty suffixes"), "{clash}");
    }
}
