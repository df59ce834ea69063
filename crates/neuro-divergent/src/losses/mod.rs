//! Training losses. Point losses compare one forecast per step with the target; every loss is a
//! weighted mean over the outsample points, the weight being the observation mask times the
//! window's draw count.

mod point;

pub use point::PointLoss;
