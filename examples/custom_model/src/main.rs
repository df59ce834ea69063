//! Runs the custom model and loss on AirPassengers (the path given, or the bundled file) and
//! prints what they measured; the fitted model is saved under the system's temporary folder.

use std::path::PathBuf;
use std::process::ExitCode;

use neuro_divergent_custom_model::air_passengers_demo;

fn main() -> ExitCode {
    let data = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../air_passengers.csv"),
        PathBuf::from,
    );
    let model_dir = std::env::temp_dir().join("neuro-divergent-custom-model");
    match air_passengers_demo(&data, &model_dir) {
        Ok(report) => {
            println!("columns: {}", report.columns.join(", "));
            println!(
                "MAE of 1960: {:.3} (seasonal naive {:.3})",
                report.mae, report.naive_mae
            );
            println!("80% interval coverage: {:.0}%", 100.0 * report.coverage_80);
            println!(
                "reloaded from {}: {}",
                model_dir.display(),
                if report.reloaded_identical {
                    "identical forecasts"
                } else {
                    "DIFFERENT forecasts"
                }
            );
            println!(
                "cross-validation MAE (3 windows of 12): {:.3}",
                report.cv_mae
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
