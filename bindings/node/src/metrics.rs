//! The library's metrics, for the JavaScript `metrics` helpers.

use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;
use neuro_divergent::metrics;

use crate::errors::Failure;

/// The value of a metric, or the failure that prevented it.
#[napi(object)]
pub struct MetricValue {
    /// The metric, when it could be computed.
    pub value: Option<f64>,
    /// Why it could not.
    pub failure: Option<Failure>,
}

/// Computes `name` (mae, mse, rmse, mape, smape, mase) of `yhat` against `y`; MASE also needs
/// the training values and the season length.
#[napi(js_name = "metric")]
pub fn metric(
    name: String,
    y: Float64Array,
    yhat: Float64Array,
    train: Option<Float64Array>,
    season_length: Option<u32>,
) -> MetricValue {
    let result = match name.as_str() {
        "mae" => metrics::mae(&y, &yhat),
        "mse" => metrics::mse(&y, &yhat),
        "rmse" => metrics::rmse(&y, &yhat),
        "mape" => metrics::mape(&y, &yhat),
        "smape" => metrics::smape(&y, &yhat),
        "mase" => match train {
            Some(train) => metrics::mase(&y, &yhat, &train, season_length.unwrap_or(1) as usize),
            None => Err(neuro_divergent::Error::Config(
                "mase needs the training values (train)".into(),
            )),
        },
        other => Err(neuro_divergent::Error::Config(format!(
            "unknown metric '{other}': expected mae, mse, rmse, mape, smape or mase"
        ))),
    };
    match result {
        Ok(value) => MetricValue {
            value: Some(value),
            failure: None,
        },
        Err(e) => MetricValue {
            value: None,
            failure: Some(Failure::from(e)),
        },
    }
}
