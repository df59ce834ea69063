//! Losses defined outside the crate: a [`CustomLoss`] registered by name with
//! [`register_loss`] is then written as text like the built-in losses (`NAME` or `NAME:ARG`),
//! in `loss` and `valid_loss`, on the CLI of a program that registers it, and in checkpoints.

use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use candle_core::Tensor;

use super::WindowScale;
use crate::error::{Error, Result};

/// A training loss on scaled model outputs. Forecast columns are the outputs mapped back
/// through each window's scaler (`y · scale + shift`), one column per output, so a custom loss
/// trains outputs that live in the windows' scale, as the point and quantile losses do.
pub trait CustomLoss: Send + Sync {
    /// Model outputs per forecast step (1: a point forecast).
    fn n_outputs(&self) -> usize {
        1
    }

    /// The forecast column suffix of each output: `""` for a single output, else e.g. `-lo-80`;
    /// by default `""` for one output and `-0`, `-1`, … for several.
    fn suffixes(&self) -> Vec<String> {
        match self.n_outputs() {
            1 => vec![String::new()],
            n => (0..n).map(|i| format!("-{i}")).collect(),
        }
    }

    /// The loss of outputs `y_hat` (`[B, H, n_outputs]`) against targets `y` (`[B, H]`), both in
    /// the windows' scale, as a scalar: usually the mean over the points weighted by `weight`
    /// (`[B, H]`: the observation mask times each window's draw count; see
    /// [`super::weighted_mean`]). `window` holds each window's scaler, for a loss that scores
    /// the data in its own units.
    fn compute(
        &self,
        y: &Tensor,
        y_hat: &Tensor,
        weight: &Tensor,
        window: &WindowScale,
    ) -> Result<Tensor>;
}

/// Makes a registered loss from the text after its name's `:` (`None` when there is none).
pub type LossFactory = fn(Option<&str>) -> Result<Arc<dyn CustomLoss>>;

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

fn registry() -> &'static RwLock<Vec<(&'static str, LossFactory)>> {
    static REGISTRY: OnceLock<RwLock<Vec<(&'static str, LossFactory)>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a loss under `name` (lower case, a word without `:` or `,`) for this process: from
/// then on `loss=NAME` and `loss=NAME:ARG` make it with `factory`. Built-in loss names are
/// refused, and so is a name registered with another factory.
pub fn register_loss(name: &'static str, factory: LossFactory) -> Result<()> {
    let is_word = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_word {
        return Err(Error::Config(format!(
            "loss name '{name}' must be lower-case letters, digits and '_'"
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
    match losses.iter().find(|(taken, _)| *taken == name) {
        Some((_, existing)) if std::ptr::fn_addr_eq(*existing, factory) => Ok(()),
        Some(_) => Err(Error::Config(format!(
            "loss name '{name}' is already registered"
        ))),
        None => {
            losses.push((name, factory));
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
        .map(|(name, _)| *name)
        .collect()
}

/// The registered loss `name` made from `arg`; `None` when no loss has that name.
pub(super) fn make(name: &str, arg: Option<&str>) -> Option<Result<RegisteredLoss>> {
    let (name, factory) = *registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .find(|(taken, _)| *taken == name)?;
    Some(factory(arg).and_then(|loss| {
        let loss = RegisteredLoss {
            name,
            arg: arg.map(str::to_string),
            loss,
        };
        let outputs = loss.loss.n_outputs();
        if outputs == 0 || loss.loss.suffixes().len() != outputs {
            return Err(Error::Config(format!(
                "loss '{loss}' gives {} column suffixes for {outputs} outputs",
                loss.loss.suffixes().len()
            )));
        }
        Ok(loss)
    }))
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

        fn compute(
            &self,
            y: &Tensor,
            y_hat: &Tensor,
            weight: &Tensor,
            _window: &WindowScale,
        ) -> Result<Tensor> {
            let error = y_hat.narrow(2, 0, 1)?.squeeze(2)?.sub(y)?.sqr()?;
            Ok((weighted_mean(&error, weight)? * self.factor)?)
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
        ] {
            let message = register_loss(name, scaled).unwrap_err().to_string();
            assert!(message.contains(expected), "{name}: {message}");
        }
        let other = register_loss("scaled_mse", pair).unwrap_err().to_string();
        assert!(other.contains("already registered"), "{other}");
    }
}
