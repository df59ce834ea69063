//! Keyword arguments of an optimizer or scheduler (NeuralForecast's `optimizer_kwargs` and
//! `lr_scheduler_kwargs`), read into a typed struct with PyTorch's names and defaults.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Keyword arguments as given: a JSON object, empty by default.
pub type Kwargs = Map<String, Value>;

/// Reads `kwargs` (the parameter `param`, for `what`, e.g. `optimizer=sgd`) into `T`, whose
/// unset fields keep their defaults. An unknown key is refused naming the accepted ones; `lr`
/// is refused because the learning rate is `learning_rate`.
pub(crate) fn read<T: DeserializeOwned>(param: &str, what: &str, kwargs: &Kwargs) -> Result<T> {
    if kwargs.contains_key("lr") {
        return Err(Error::Config(format!(
            "{param}: 'lr' is not read here ({what}); set the learning rate with learning_rate"
        )));
    }
    serde_json::from_value(Value::Object(kwargs.clone()))
        .map_err(|e| Error::Config(format!("{param} for {what}: {e}")))
}

/// Fails unless `value` (the keyword `key` of `param`) is finite and within `[low, high]`.
pub(crate) fn check_range(param: &str, key: &str, value: f64, low: f64, high: f64) -> Result<()> {
    if value.is_finite() && (low..=high).contains(&value) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{param}: {key} must be between {low} and {high}, got {value}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Example {
        momentum: f64,
        nesterov: bool,
    }

    impl Default for Example {
        fn default() -> Self {
            Example {
                momentum: 0.5,
                nesterov: false,
            }
        }
    }

    fn kwargs(json: &str) -> Kwargs {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unset_keys_keep_their_defaults() {
        let read: Example =
            read("optimizer_kwargs", "sgd", &kwargs(r#"{"nesterov":true}"#)).unwrap();
        assert_eq!(
            read,
            Example {
                momentum: 0.5,
                nesterov: true
            }
        );
    }

    #[test]
    fn unknown_keys_and_lr_are_refused_by_name() {
        let unknown = read::<Example>("optimizer_kwargs", "sgd", &kwargs(r#"{"momentom":0.9}"#))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("optimizer_kwargs for sgd"), "{unknown}");
        assert!(unknown.contains("unknown field `momentom`"), "{unknown}");
        assert!(unknown.contains("momentum"), "{unknown}");
        let lr = read::<Example>("optimizer_kwargs", "sgd", &kwargs(r#"{"lr":0.1}"#))
            .unwrap_err()
            .to_string();
        assert!(lr.contains("learning_rate"), "{lr}");
        let range = check_range("optimizer_kwargs", "momentum", -0.1, 0.0, 1.0)
            .unwrap_err()
            .to_string();
        assert!(
            range.contains("momentum must be between 0 and 1, got -0.1"),
            "{range}"
        );
        assert!(check_range("optimizer_kwargs", "eps", f64::NAN, 0.0, 1.0).is_err());
    }
}
