//! What the CLI's store and serve tests share: the binary, the bundled data, a small fast fit
//! and the stores to run on.
#![allow(dead_code)] // each test crate compiles this module; not all of them use every helper

use std::path::Path;
use std::process::{Command, Output};

/// Runs the CLI with `args` and waits for it.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neuro-divergent"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Bytes as text, for messages and comparisons.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bundled AirPassengers CSV.
pub fn data() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/air_passengers.csv")
        .display()
        .to_string()
}

/// `command` on AirPassengers with a small, fast NHITS and `extra`.
pub fn train(command: &str, extra: &[&str]) -> Output {
    let data = data();
    let mut args = vec![
        command,
        "--data",
        &data,
        "--model",
        "nhits",
        "--horizon",
        "12",
        "--input-size",
        "24",
        "--max-steps",
        "20",
        "--threads",
        "1",
        "--param",
        "mlp_units=[[32,32]]",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The stores to run on: a SQLite file in `dir`, and the PostgreSQL test cluster if it is up.
pub fn stores(dir: &Path) -> Vec<String> {
    let mut stores = vec![format!("sqlite:{}", dir.join("models.db").display())];
    match std::env::var("ND_TEST_POSTGRES_URL") {
        Ok(url) => stores.push(url),
        Err(_) if std::env::var("ND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("ND_REQUIRE_POSTGRES=1 but ND_TEST_POSTGRES_URL is not set")
        }
        Err(_) => eprintln!("SKIPPED the PostgreSQL store: ND_TEST_POSTGRES_URL is not set"),
    }
    stores
}

/// Asserts that `out` (of the command described by `what`) exited with code 2 and said
/// `expected` on standard error.
pub fn assert_user_error(out: &Output, what: &str, expected: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{what}: expected '{expected}' in: {stderr}"
    );
}
