//! Helpers shared by the integration tests.

use std::path::Path;

use neuro_divergent::data::{read_csv, TimeSeriesFrame};
use neuro_divergent::ModelSpec;

/// The bundled AirPassengers series.
#[allow(dead_code)] // each test crate compiles this module; not all of them use every helper
pub fn air_passengers() -> TimeSeriesFrame {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv");
    read_csv(&path, None).expect("bundled data loads")
}

/// A small, fast version of a model.
#[allow(dead_code)] // each test crate compiles this module; not all of them use every helper
pub fn small(name: &str, h: usize, input_size: usize, steps: usize) -> ModelSpec {
    let mut spec = ModelSpec::new(name, h, input_size).unwrap();
    spec.train.max_steps = steps;
    for key in ["mlp_units"] {
        if spec.has_param(key) {
            spec.set_param(key, "[[32,32]]").unwrap();
        }
    }
    for key in [
        "hidden_size",
        "encoder_hidden_size",
        "decoder_hidden_size",
        "lstm_hidden_size",
    ] {
        if spec.has_param(key) {
            spec.set_param(key, "32").unwrap();
        }
    }
    spec
}
