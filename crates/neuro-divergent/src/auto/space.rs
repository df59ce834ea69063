//! Search spaces: which hyperparameters a search varies, over which values, written as Ray
//! Tune's domains are (`choice`, `uniform`, `quniform`, `loguniform`, `qloguniform`, `randint`).
//!
//! In JSON a space is an object from hyperparameter names to domains:
//! `{"learning_rate": {"loguniform": [1e-4, 1e-1]}, "batch_size": {"choice": [32, 64]},
//! "max_steps": {"quniform": [500, 1500, 100]}, "random_seed": {"randint": [1, 20]},
//! "dropout_prob_theta": 0.1}`. Any other JSON value fixes the parameter at that value.
//! NeuralForecast's conventions apply to the keys: `input_size_multiplier` and
//! `inference_input_size_multiplier` are multiples of the horizon (`-1`: `input_size=-1`, and
//! the model's default inference window), `h` is the model's horizon,
//! and `null` for `loss`, `valid_loss` or `scaler_type` means the model's own (no scaler).

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, RngCore};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::ModelSpec;

/// One sampled point of a space: a value per hyperparameter name.
pub type TrialConfig = BTreeMap<String, Value>;

/// The values one hyperparameter takes in a search.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// One of these values, each equally likely a priori.
    Choice(Vec<Value>),
    /// A real number between the bounds, uniform on its scale (`log` for `loguniform`),
    /// rounded to a multiple of `step` when one is given.
    Real {
        /// Smallest value.
        lower: f64,
        /// Largest value.
        upper: f64,
        /// Drawn uniformly in `ln` space.
        log: bool,
        /// Rounding step (`quniform`, `qloguniform`).
        step: Option<f64>,
    },
    /// An integer in `lower..upper` (Ray Tune's `randint`: the upper bound excluded).
    Integer {
        /// Smallest value.
        lower: i64,
        /// One past the largest value.
        upper: i64,
    },
    /// Always this value.
    Fixed(Value),
}

/// Where a domain places a value on the line a sampler works on: the index of a choice, the
/// value or its logarithm, or the integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coordinate {
    /// A choice's index.
    Category(usize),
    /// A position on a numeric domain's sampling scale.
    Number(f64),
}

impl Domain {
    /// Reads a domain from its JSON form (see the module documentation).
    pub fn from_json(key: &str, value: &Value) -> Result<Domain> {
        let Some((kind, args)) = value
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
            .filter(|(k, _)| DOMAIN_NAMES.contains(&k.as_str()))
        else {
            return Ok(Domain::Fixed(value.clone()));
        };
        let bad = |why: &str| {
            Error::Config(format!(
                "search space '{key}': {{\"{kind}\": {args}}} {why}"
            ))
        };
        let numbers = || -> Result<Vec<f64>> {
            args.as_array()
                .ok_or_else(|| bad("needs a list of numbers"))?
                .iter()
                .map(|v| v.as_f64().ok_or_else(|| bad("needs a list of numbers")))
                .collect()
        };
        let domain = match kind.as_str() {
            "choice" => {
                let values = args
                    .as_array()
                    .ok_or_else(|| bad("needs a list of values"))?;
                if values.is_empty() {
                    return Err(bad("needs at least one value"));
                }
                Domain::Choice(values.clone())
            }
            "randint" => match numbers()?[..] {
                [lower, upper] if lower.fract() == 0.0 && upper.fract() == 0.0 => {
                    if upper <= lower {
                        return Err(bad("needs lower < upper (the upper bound is excluded)"));
                    }
                    Domain::Integer {
                        lower: lower as i64,
                        upper: upper as i64,
                    }
                }
                _ => return Err(bad("needs [lower, upper] as integers")),
            },
            _ => {
                let log = kind.contains("log");
                let quantized = kind.starts_with('q');
                let (lower, upper, step) = match (&numbers()?[..], quantized) {
                    (&[lower, upper], false) => (lower, upper, None),
                    (&[lower, upper, step], true) if step > 0.0 => (lower, upper, Some(step)),
                    _ if quantized => return Err(bad("needs [lower, upper, step], step > 0")),
                    _ => return Err(bad("needs [lower, upper]")),
                };
                if !(lower.is_finite() && upper.is_finite() && lower <= upper) {
                    return Err(bad("needs finite bounds with lower <= upper"));
                }
                if log && lower <= 0.0 {
                    return Err(bad("needs a positive lower bound"));
                }
                Domain::Real {
                    lower,
                    upper,
                    log,
                    step,
                }
            }
        };
        Ok(domain)
    }

    /// The domain's JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Domain::Choice(values) => serde_json::json!({ "choice": values }),
            Domain::Integer { lower, upper } => serde_json::json!({ "randint": [lower, upper] }),
            Domain::Real {
                lower,
                upper,
                log,
                step,
            } => {
                let name = match (log, step.is_some()) {
                    (false, false) => "uniform",
                    (false, true) => "quniform",
                    (true, false) => "loguniform",
                    (true, true) => "qloguniform",
                };
                let mut bounds = vec![*lower, *upper];
                bounds.extend(*step);
                serde_json::json!({ name: bounds })
            }
            Domain::Fixed(value) => value.clone(),
        }
    }

    /// The sampling interval of a numeric domain (`None` for choices and fixed values): the
    /// bounds, their logarithms, or the integers widened by half a step each side.
    pub fn interval(&self) -> Option<(f64, f64)> {
        match *self {
            Domain::Real {
                lower, upper, log, ..
            } if log => Some((lower.ln(), upper.ln())),
            Domain::Real { lower, upper, .. } => Some((lower, upper)),
            Domain::Integer { lower, upper } => Some((lower as f64 - 0.5, upper as f64 - 0.5)),
            _ => None,
        }
    }

    /// A value drawn uniformly (on the domain's scale).
    pub fn sample(&self, rng: &mut dyn RngCore) -> Value {
        match self {
            Domain::Choice(values) => values[rng.random_range(0..values.len())].clone(),
            Domain::Fixed(value) => value.clone(),
            _ => {
                let (a, b) = self.interval().expect("numeric domain");
                self.value_at(a + (b - a) * rng.random::<f64>())
            }
        }
    }

    /// The value at `coordinate` on a numeric domain's sampling scale, rounded as the domain
    /// rounds. Whole numbers come out as JSON integers.
    pub fn value_at(&self, coordinate: f64) -> Value {
        match *self {
            Domain::Integer { lower, upper } => {
                Value::from((coordinate.round() as i64).clamp(lower, upper - 1))
            }
            Domain::Real {
                lower,
                upper,
                log,
                step,
            } => {
                let x = if log { coordinate.exp() } else { coordinate };
                let x = match step {
                    // Ray Tune's bounds of a quantized domain: the multiples of q inside.
                    Some(q) => {
                        let (low, high) = ((lower / q).ceil() * q, (upper / q).floor() * q);
                        ((x / q).round() * q).clamp(low, high.max(low))
                    }
                    None => x.clamp(lower, upper),
                };
                let whole = step.is_some_and(|q| q.fract() == 0.0) && lower.fract() == 0.0;
                if whole {
                    Value::from(x.round() as i64)
                } else {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }
            }
            Domain::Choice(_) | Domain::Fixed(_) => Value::Null,
        }
    }

    /// Where `value` lies on this domain (`None` for fixed values and values outside it).
    pub fn coordinate(&self, value: &Value) -> Option<Coordinate> {
        match self {
            Domain::Choice(values) => values
                .iter()
                .position(|v| v == value)
                .map(Coordinate::Category),
            Domain::Real { log, .. } => {
                let x = value.as_f64()?;
                Some(Coordinate::Number(if *log { x.ln() } else { x }))
            }
            Domain::Integer { .. } => value.as_f64().map(Coordinate::Number),
            Domain::Fixed(_) => None,
        }
    }
}

/// Ray Tune's domain names this module reads.
const DOMAIN_NAMES: [&str; 6] = [
    "choice",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "randint",
];

/// Keys a space may hold beside the model's hyperparameters.
const CONVENTION_KEYS: [&str; 3] = [
    "h",
    "input_size_multiplier",
    "inference_input_size_multiplier",
];

/// A search space: a domain per hyperparameter, in name order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    domains: BTreeMap<String, Domain>,
}

impl SearchSpace {
    /// Reads a space from its JSON form (an object; see the module documentation).
    pub fn from_json(value: &Value) -> Result<SearchSpace> {
        let object = value.as_object().ok_or_else(|| {
            Error::Config("a search space must be a JSON object of hyperparameters".into())
        })?;
        Ok(SearchSpace {
            domains: object
                .iter()
                .map(|(k, v)| Ok((k.clone(), Domain::from_json(k, v)?)))
                .collect::<Result<_>>()?,
        })
    }

    /// Reads a space from a JSON file.
    pub fn read(path: &Path) -> Result<SearchSpace> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::Config(format!("{}: not a JSON search space: {e}", path.display()))
        })?;
        SearchSpace::from_json(&value).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The space's JSON form.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.domains
                .iter()
                .map(|(k, d)| (k.clone(), d.to_json()))
                .collect(),
        )
    }

    /// The domains, in name order.
    pub fn domains(&self) -> impl Iterator<Item = (&str, &Domain)> {
        self.domains.iter().map(|(k, d)| (k.as_str(), d))
    }

    /// The space without the hyperparameters in `pinned` (those the user set), and without
    /// `input_size_multiplier` when `input_size` is pinned.
    pub fn without(&self, pinned: &[String]) -> SearchSpace {
        let is_pinned = |key: &str| {
            pinned.iter().any(|p| {
                p == key
                    || key
                        .strip_suffix("_multiplier")
                        .is_some_and(|base| p == base)
            })
        };
        SearchSpace {
            domains: self
                .domains
                .iter()
                .filter(|(k, _)| !is_pinned(k))
                .map(|(k, d)| (k.clone(), d.clone()))
                .collect(),
        }
    }

    /// A configuration drawn uniformly from every domain.
    pub fn sample(&self, rng: &mut dyn RngCore) -> TrialConfig {
        self.domains
            .iter()
            .map(|(k, d)| (k.clone(), d.sample(rng)))
            .collect()
    }

    /// Checks that every key is a hyperparameter of `spec` (or one of NeuralForecast's
    /// conventions); values are checked per trial, where a refused one fails that trial.
    pub fn check_against(&self, spec: &ModelSpec) -> Result<()> {
        for key in self.domains.keys() {
            if !CONVENTION_KEYS.contains(&key.as_str()) && !spec.has_param(key) {
                return Err(Error::Config(format!(
                    "search space key '{key}': {}",
                    spec.unknown_param_message(key)
                )));
            }
        }
        Ok(())
    }
}

/// `spec` with the values of `config` set, by NeuralForecast's conventions (see the module
/// documentation).
pub fn configured(spec: &ModelSpec, config: &TrialConfig) -> Result<ModelSpec> {
    let mut spec = spec.clone();
    let h = spec.h;
    // A multiple of the horizon, or -1: NeuralForecast's whole-history window.
    let multiple = |key: &str, value: &Value| match value.as_i64() {
        Some(m) if m >= 1 => Ok(Some(h.checked_mul(m as usize).ok_or_else(|| {
            Error::Config(format!(
                "search space '{key}': {value} horizons is too long"
            ))
        })?)),
        Some(-1) => Ok(None),
        _ => Err(Error::Config(format!(
            "search space '{key}': {value} is not a whole number >= 1 or -1"
        ))),
    };
    for (key, value) in config {
        match (key.as_str(), value) {
            ("h", Value::Null) => {}
            ("h", v) if v.as_u64() == Some(h as u64) => {}
            ("h", v) => {
                return Err(Error::Config(format!(
                    "search space 'h': {v} differs from the model's horizon {h}"
                )))
            }
            ("input_size_multiplier", m) => match multiple(key, m)? {
                Some(size) => spec.input_size = size,
                None => spec.set_param("input_size", "-1")?,
            },
            ("inference_input_size_multiplier", m) => {
                if let Some(size) = multiple(key, m)? {
                    spec.set_param("inference_input_size", &size.to_string())?;
                }
            }
            ("loss" | "valid_loss", Value::Null) => {}
            ("scaler_type", Value::Null) => spec.set_param(key, "identity")?,
            (_, Value::String(text)) => spec.set_param(key, text)?,
            (_, v) => spec.set_param(key, &v.to_string())?,
        }
    }
    spec.validate()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn domains_read_and_write_ray_tunes_names() {
        let text = json!({
            "a": {"choice": [1, [2, 3], null]},
            "b": {"loguniform": [0.0001, 0.1]},
            "c": {"quniform": [500.0, 1500.0, 100.0]},
            "d": {"randint": [1, 20]},
            "e": {"uniform": [0.0, 0.5]},
            "f": [512, 512],
        });
        let space = SearchSpace::from_json(&text).unwrap();
        assert_eq!(space.to_json(), text);
        assert_eq!(
            space.domains().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e", "f"]
        );
    }

    #[test]
    fn draws_stay_in_their_domains_and_round_as_ray_tune_does() {
        let space = SearchSpace::from_json(&json!({
            "lr": {"loguniform": [0.0001, 0.1]},
            "steps": {"quniform": [500, 1500, 100]},
            "seed": {"randint": [1, 4]},
            "scaler": {"choice": ["robust", null]},
        }))
        .unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut seeds = std::collections::BTreeSet::new();
        let mut below_0_001 = 0;
        for _ in 0..2000 {
            let c = space.sample(&mut rng);
            let lr = c["lr"].as_f64().unwrap();
            assert!((0.0001..=0.1).contains(&lr));
            below_0_001 += usize::from(lr < 0.001);
            let steps = c["steps"].as_i64().expect("whole steps are integers");
            assert!((500..=1500).contains(&steps) && steps % 100 == 0);
            seeds.insert(c["seed"].as_i64().unwrap());
        }
        // Log-uniform: a third of the draws fall in each decade.
        assert!((550..780).contains(&below_0_001), "{below_0_001}");
        assert_eq!(seeds.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
        // A quantized domain keeps to the multiples of its step inside the bounds.
        let odd = Domain::from_json("x", &json!({"quniform": [450, 1550, 100]})).unwrap();
        let values: std::collections::BTreeSet<i64> = (0..500)
            .map(|_| odd.sample(&mut rng).as_i64().unwrap())
            .collect();
        assert_eq!(values.first(), Some(&500));
        assert_eq!(values.last(), Some(&1500));
    }

    #[test]
    fn bad_domains_are_refused_by_name() {
        for (text, expected) in [
            (json!({"lr": {"loguniform": [0.0, 1.0]}}), "'lr'"),
            (json!({"x": {"choice": []}}), "at least one value"),
            (json!({"x": {"randint": [3, 3]}}), "upper bound is excluded"),
            (json!({"x": {"quniform": [1, 2]}}), "[lower, upper, step]"),
            (json!({"x": {"uniform": [2, 1]}}), "lower <= upper"),
        ] {
            let e = SearchSpace::from_json(&text).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
        }
        let e = SearchSpace::from_json(&json!([1])).unwrap_err().to_string();
        assert!(e.contains("JSON object"), "{e}");
    }

    #[test]
    fn configurations_follow_neuralforecasts_conventions() {
        let spec = ModelSpec::new("NHITS", 12, 24).unwrap();
        let config: TrialConfig = [
            ("input_size_multiplier", json!(3)),
            ("scaler_type", Value::Null),
            ("loss", Value::Null),
            ("h", Value::Null),
            ("learning_rate", json!(0.01)),
            ("n_pool_kernel_size", json!([4, 4, 4])),
            ("max_steps", json!(600)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let set = configured(&spec, &config).unwrap();
        assert_eq!(set.input_size, 36);
        assert_eq!(set.train.learning_rate, 0.01);
        assert_eq!(set.train.max_steps, 600);
        assert_eq!(
            serde_json::to_value(set.train.scaler_type).unwrap(),
            json!("identity")
        );
        assert_eq!(set.train.loss, spec.train.loss);
        let mut wrong_h = config.clone();
        wrong_h.insert("h".into(), json!(24));
        let e = configured(&spec, &wrong_h).unwrap_err().to_string();
        assert!(e.contains("horizon 12"), "{e}");
        let unknown = SearchSpace::from_json(&json!({"hidden": {"choice": [1]}})).unwrap();
        let e = unknown.check_against(&spec).unwrap_err().to_string();
        assert!(
            e.contains("'hidden'") && e.contains("NHITS has no parameter"),
            "{e}"
        );
    }

    #[test]
    fn pinned_parameters_leave_the_space() {
        let space = SearchSpace::from_json(&json!({
            "input_size_multiplier": {"choice": [1, 2]},
            "max_steps": {"choice": [100, 200]},
            "learning_rate": {"choice": [0.1]},
        }))
        .unwrap();
        let left = space.without(&["input_size".into(), "max_steps".into()]);
        assert_eq!(
            left.domains().map(|(k, _)| k).collect::<Vec<_>>(),
            ["learning_rate"]
        );
    }
}
