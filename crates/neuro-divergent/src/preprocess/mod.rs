//! Preprocessing: temporal scalers applied to each training or inference window.

mod scaler;

pub use scaler::{ScalerType, WindowStats};
