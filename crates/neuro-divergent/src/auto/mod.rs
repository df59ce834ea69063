//! Automatic hyperparameter search (NeuralForecast's `Auto*` models): a model, a search space
//! (NeuralForecast's default or the user's), a number of trials, random search or TPE,
//! optional successive halving, trials trained side by side. The best configuration is then
//! fitted like any model, under the name `Auto<Model>`, and its search history travels with
//! it in checkpoints.
//!
//! ```
//! use neuro_divergent::auto::{default_space, AutoSearch, SearchAlgorithm, SearchData};
//! use neuro_divergent::{data::read_csv_from, ModelSpec};
//!
//! let csv: String = std::iter::once("unique_id,ds,y".to_string())
//!     .chain((1..=80).map(|t| format!("s1,{t},{}", (t as f64 * 0.5).sin() * 10.0 + 50.0)))
//!     .collect::<Vec<_>>()
//!     .join("\n");
//! let frame = read_csv_from(csv.as_bytes(), "example", None)?;
//! let mut spec = ModelSpec::new("MLP", 6, 12)?;
//! spec.alias = Some("AutoMLP".into());
//! spec.set_param("max_steps", "10")?;
//! let space = default_space("MLP", 6).unwrap().without(&["max_steps".into()]);
//! let search = AutoSearch {
//!     spec,
//!     space,
//!     num_samples: 3,
//!     algorithm: SearchAlgorithm::Random,
//!     seed: 1,
//!     halving: None,
//!     val_size: 0,
//! };
//! let features = Default::default();
//! let data = SearchData {
//!     frame: &frame,
//!     freq: None,
//!     features: &features,
//!     statics: None,
//!     device: Default::default(),
//!     cancel: None,
//! };
//! let (best, history) = search.run(&data, None)?;
//! assert_eq!(history.trials.len(), 3);
//! assert_eq!(best.display_name(), "AutoMLP");
//! # Ok::<(), neuro_divergent::Error>(())
//! ```

mod defaults;
mod halving;
mod options;
mod search;
mod space;
pub mod tpe;

pub use defaults::default_space;
pub use halving::Halving;
pub use options::{refit_val_size, search_models, AutoOptions, SearchProgressFn};
pub use search::{
    write_trials_csv, AutoSearch, SearchAlgorithm, SearchData, SearchHistory, Searches, Trial,
    TrialEvent, TrialProgressFn, TrialState,
};
pub use space::{configured, Coordinate, Domain, SearchSpace, TrialConfig};

use crate::models::Architecture;

/// The model an `Auto` name searches, in its registry spelling: `AutoNHITS`, `auto_nhits` and
/// `autonhits` give `NHITS`, `auto_dilated_rnn` gives `DilatedRNN` (names compare as the
/// registry compares them). `None` for names that are models themselves (`Autoformer`) or name
/// no model.
pub fn searched_model(name: &str) -> Option<&'static str> {
    let name = name.trim();
    if Architecture::default_for(name).is_some() {
        return None;
    }
    let rest = name.to_ascii_lowercase().strip_prefix("auto")?.to_string();
    Architecture::default_for(&rest).map(|a| a.name())
}

/// The forecast column of a search of `model`: `Auto` and the model's name.
pub fn auto_alias(model: &str) -> String {
    format!("Auto{model}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_names_find_their_models() {
        assert_eq!(searched_model("AutoNHITS"), Some("NHITS"));
        assert_eq!(searched_model("auto_nhits"), Some("NHITS"));
        assert_eq!(searched_model("AUTO_Autoformer"), Some("Autoformer"));
        assert_eq!(searched_model("Autoformer"), None);
        assert_eq!(searched_model("auto_nothing"), None);
        assert_eq!(searched_model("NHITS"), None);
        assert_eq!(searched_model("auto_dilated_rnn"), Some("DilatedRNN"));
        assert_eq!(
            searched_model("AutoVanillaTransformer"),
            Some("VanillaTransformer")
        );
        assert_eq!(auto_alias("NHITS"), "AutoNHITS");
    }
}
