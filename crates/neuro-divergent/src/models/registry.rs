//! The model registry: every model type by name, the built-in ones and those a user registers
//! from another crate with [`register_model`]. A type is its hyperparameter struct
//! ([`ModelConfig`]); an [`Architecture`] is one such struct behind the common interface, and
//! it is read and written as `{"model": NAME, "params": {...}}` inside a spec, so checkpoints
//! name their model type and refuse, by name, one that is not registered.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::ArchitectureConfig;
use crate::error::{Error, Result};

/// What a model's hyperparameter struct must be to be registered: the common interface
/// ([`ArchitectureConfig`], which builds the model) and serde (the spec's `params`, with
/// NeuralForecast's defaults from `Default`; give the struct `#[serde(default)]` so that any
/// subset of its fields can be set). Implemented for every such type.
pub trait ModelConfig:
    ArchitectureConfig
    + Serialize
    + DeserializeOwned
    + Default
    + Clone
    + fmt::Debug
    + PartialEq
    + Send
    + Sync
    + 'static
{
}

impl<T> ModelConfig for T where
    T: ArchitectureConfig
        + Serialize
        + DeserializeOwned
        + Default
        + Clone
        + fmt::Debug
        + PartialEq
        + Send
        + Sync
        + 'static
{
}

/// A [`ModelConfig`] behind a pointer: what [`Architecture`] holds.
trait DynConfig: Send + Sync {
    fn config(&self) -> &dyn ArchitectureConfig;
    fn config_mut(&mut self) -> &mut dyn ArchitectureConfig;
    fn to_json(&self) -> serde_json::Result<Value>;
    fn clone_box(&self) -> Box<dyn DynConfig>;
    fn equals(&self, other: &dyn DynConfig) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: ModelConfig> DynConfig for T {
    fn config(&self) -> &dyn ArchitectureConfig {
        self
    }

    fn config_mut(&mut self) -> &mut dyn ArchitectureConfig {
        self
    }

    fn to_json(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }

    fn clone_box(&self) -> Box<dyn DynConfig> {
        Box::new(self.clone())
    }

    fn equals(&self, other: &dyn DynConfig) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One registered model type: its name and how to make its hyperparameters.
#[derive(Clone, Copy)]
pub(crate) struct ModelType {
    pub(crate) name: &'static str,
    config_type: TypeId,
    default: fn() -> Box<dyn DynConfig>,
    from_json: fn(Value) -> serde_json::Result<Box<dyn DynConfig>>,
}

impl ModelType {
    /// The type whose hyperparameters are `T`, called `name`.
    pub(crate) fn of<T: ModelConfig>(name: &'static str) -> ModelType {
        ModelType {
            name,
            config_type: TypeId::of::<T>(),
            default: || Box::new(T::default()),
            from_json: |value| Ok(Box::new(serde_json::from_value::<T>(value)?)),
        }
    }
}

/// A model name as the registry compares it: without case, `_` and `-` (`dilated_rnn` is
/// `DilatedRNN`).
fn normalised(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn registry() -> &'static RwLock<Vec<ModelType>> {
    static REGISTRY: OnceLock<RwLock<Vec<ModelType>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(super::builtin_models()))
}

fn registered() -> std::sync::RwLockReadGuard<'static, Vec<ModelType>> {
    registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registered type called `name` (ignoring case, `_` and `-`).
fn find(name: &str) -> Option<ModelType> {
    let wanted = normalised(name);
    registered()
        .iter()
        .find(|t| normalised(t.name) == wanted)
        .copied()
}

/// Registers the model type whose hyperparameters are `T` under `name`, for this process:
/// from then on `ModelSpec::new(name, …)`, `set_param`, training, forecasting, checkpoints,
/// cross-validation and intervals treat it as they treat the built-in models (which are
/// registered the same way). A name already taken (ignoring case, `_` and `-`) is refused;
/// registering the same type under its name again is allowed, so that set-up code can run
/// more than once.
pub fn register_model<T: ModelConfig>(name: &'static str) -> Result<()> {
    let is_word = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !is_word {
        return Err(Error::Config(format!(
            "model name '{name}' must be a word: a letter, then letters, digits, '_' and '-'"
        )));
    }
    let mut types = registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let wanted = normalised(name);
    if let Some(taken) = types.iter().find(|t| normalised(t.name) == wanted) {
        if taken.config_type == TypeId::of::<T>() && taken.name == name {
            return Ok(());
        }
        return Err(Error::Config(format!(
            "model name '{name}' is taken by the registered model {}",
            taken.name
        )));
    }
    types.push(ModelType::of::<T>(name));
    Ok(())
}

/// Every registered model name: the built-in models in NeuralForecast's spelling, then the
/// ones registered with [`register_model`], in order.
pub fn model_names() -> Vec<&'static str> {
    registered().iter().map(|t| t.name).collect()
}

/// The architecture of a model: its registered type and its hyperparameters.
pub struct Architecture {
    kind: ModelType,
    config: Box<dyn DynConfig>,
}

impl Architecture {
    /// The default hyperparameters of the model called `name` (ignoring case, `_` and `-`:
    /// `dilated_rnn` is `DilatedRNN`); `None` when no such model is registered.
    pub fn default_for(name: &str) -> Option<Architecture> {
        let kind = find(name)?;
        Some(Architecture {
            kind,
            config: (kind.default)(),
        })
    }

    /// The model's name as registered.
    pub fn name(&self) -> &'static str {
        self.kind.name
    }

    /// The model's hyperparameters behind the common interface.
    pub fn config(&self) -> &dyn ArchitectureConfig {
        self.config.config()
    }

    /// The model's hyperparameters behind the common interface, to change.
    pub fn config_mut(&mut self) -> &mut dyn ArchitectureConfig {
        self.config.config_mut()
    }

    /// The hyperparameters as their own type, when they are of type `T`.
    pub fn downcast_ref<T: ModelConfig>(&self) -> Option<&T> {
        self.config.as_any().downcast_ref::<T>()
    }
}

impl Clone for Architecture {
    fn clone(&self) -> Self {
        Architecture {
            kind: self.kind,
            config: self.config.clone_box(),
        }
    }
}

impl PartialEq for Architecture {
    fn eq(&self, other: &Self) -> bool {
        self.kind.name == other.kind.name && self.config.equals(&*other.config)
    }
}

impl fmt::Debug for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.kind.name)?;
        self.config.debug(f)?;
        f.write_str(")")
    }
}

impl Serialize for Architecture {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let params = self.config.to_json().map_err(serde::ser::Error::custom)?;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("model", self.kind.name)?;
        map.serialize_entry("params", &params)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Architecture {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Architecture, D::Error> {
        #[derive(Deserialize)]
        struct Named {
            model: String,
            params: Value,
        }
        let named = Named::deserialize(deserializer)?;
        let kind = find(&named.model).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "model type '{}' is not registered (registered: {}); a model from another \
                 crate must be registered with register_model before its checkpoints load",
                named.model,
                model_names().join(", ")
            ))
        })?;
        let config = (kind.from_json)(named.params)
            .map_err(|e| serde::de::Error::custom(format!("{}: {e}", kind.name)))?;
        Ok(Architecture { kind, config })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{NhitsConfig, NlinearConfig};
    use crate::ModelSpec;

    #[test]
    fn an_architecture_is_written_as_its_name_and_params() {
        let nhits = Architecture::default_for("nhits").unwrap();
        let json = serde_json::to_value(&nhits).unwrap();
        assert_eq!(json["model"], "NHITS");
        assert_eq!(
            json["params"],
            serde_json::to_value(NhitsConfig::default()).unwrap()
        );
        let back: Architecture = serde_json::from_value(json).unwrap();
        assert_eq!(back, nhits);
        assert_ne!(back, Architecture::default_for("MLP").unwrap());
        assert_eq!(format!("{back:?}").split('(').next(), Some("NHITS"));
    }

    #[test]
    fn an_unregistered_model_type_is_refused_by_name() {
        let mut spec = serde_json::to_value(ModelSpec::new("NLinear", 4, 8).unwrap()).unwrap();
        spec["model"] = "ForeignModel".into();
        let message = serde_json::from_value::<ModelSpec>(spec)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("model type 'ForeignModel' is not registered"),
            "{message}"
        );
        assert!(message.contains("register_model"), "{message}");
        let mut bad = serde_json::to_value(ModelSpec::new("NHITS", 4, 8).unwrap()).unwrap();
        bad["params"]["mlp_units"] = "wide".into();
        let message = serde_json::from_value::<ModelSpec>(bad)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("NHITS: invalid type"), "{message}");
    }

    #[test]
    fn names_are_registered_once() {
        register_model::<NlinearConfig>("RegistryTestLinear").unwrap();
        // The same type under the same name again: set-up code may run twice.
        register_model::<NlinearConfig>("RegistryTestLinear").unwrap();
        let other = register_model::<NhitsConfig>("registry_test-linear")
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("taken by the registered model RegistryTestLinear"),
            "{other}"
        );
        let builtin = register_model::<NlinearConfig>("nhits")
            .unwrap_err()
            .to_string();
        assert!(
            builtin.contains("taken by the registered model NHITS"),
            "{builtin}"
        );
        for name in ["a:b", "_", "-x", "two words", ""] {
            let word = register_model::<NlinearConfig>(name)
                .unwrap_err()
                .to_string();
            assert!(word.contains("must be a word"), "{name}: {word}");
        }
        assert!(model_names().contains(&"RegistryTestLinear"));
        assert_eq!(model_names()[0], "MLP");
        let spec = ModelSpec::new("registrytestlinear", 4, 8).unwrap();
        assert_eq!(spec.model_name(), "RegistryTestLinear");
        assert!(spec.architecture.downcast_ref::<NlinearConfig>().is_some());
    }
}
