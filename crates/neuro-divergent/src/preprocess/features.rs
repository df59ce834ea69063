//! Which exogenous columns are generated from the data: calendar features of `ds` and features
//! of `y`, each named so that models can list it in their exogenous lists.

use serde::{Deserialize, Serialize};

use super::{CalendarFeature, DerivedFeature};

/// Exogenous columns generated from the data instead of read from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Calendar features of `ds` (future columns).
    pub calendar: Vec<CalendarFeature>,
    /// Features of `y` (historic columns).
    pub derived: Vec<DerivedFeature>,
}

impl FeatureConfig {
    /// The calendar feature called `name`, when requested.
    pub(crate) fn calendar_named(&self, name: &str) -> Option<CalendarFeature> {
        self.calendar.iter().copied().find(|f| f.name() == name)
    }

    /// The derived feature called `name`, when requested.
    pub(crate) fn derived_named(&self, name: &str) -> Option<DerivedFeature> {
        self.derived.iter().copied().find(|f| f.name() == name)
    }

    /// Names of the generated columns: calendar features, then derived ones.
    pub fn names(&self) -> Vec<String> {
        self.calendar
            .iter()
            .map(|f| f.name().to_string())
            .chain(self.derived.iter().map(DerivedFeature::name))
            .collect()
    }
}
