//! Preprocessing: temporal scalers applied to each training or inference window, and feature
//! generation (calendar features of `ds`; lags, rolling statistics and moving averages of `y`).

mod calendar;
mod derived;
mod features;
mod scaler;

pub use calendar::CalendarFeature;
pub use derived::DerivedFeature;
pub use features::FeatureConfig;
pub use scaler::{ScalerType, WindowStats};
