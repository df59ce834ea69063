//! Helpers shared by the integration tests.

use std::path::Path;

use neuro_divergent::data::{read_csv, read_csv_from, TimeSeriesFrame};
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

/// Three series on the same monthly dates, the first `len` points of each: AirPassengers, a
/// mirrored copy and a halved one, each with a small pattern of its own.
#[allow(dead_code)] // each test crate compiles this module; not all of them use every helper
pub fn three_aligned_series(len: usize) -> TimeSeriesFrame {
    let air = air_passengers().series()[0].y.clone();
    let mut csv = String::from("unique_id,ds,y\n");
    for id in ["a", "b", "c"] {
        for (t, &v) in air[..len].iter().enumerate() {
            let y = match id {
                "a" => v,
                "b" => 600.0 - v + (t % 5) as f64 * 3.0,
                _ => v * 0.5 + (t % 7) as f64,
            };
            let (year, month) = (1949 + t / 12, t % 12 + 1);
            csv += &format!("{id},{year}-{month:02}-01,{y}\n");
        }
    }
    read_csv_from(csv.as_bytes(), "three series", None).unwrap()
}
