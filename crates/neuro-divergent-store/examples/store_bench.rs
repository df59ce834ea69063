//! Benchmark (not a test): publish and load times of the model store on SQLite and, given a URL,
//! PostgreSQL, next to saving and loading the same checkpoints as files.
//!
//! ```sh
//! cargo run --release -p neuro-divergent-store --example store_bench -- [postgres://…] [SMALL_MODELS]
//! ```
//!
//! Prints, per backend: the median time to publish and to load an NHITS of NeuralForecast's
//! default size (fitted one step on AirPassengers), and the time to load SMALL_MODELS (default
//! 1,000) small models one after another; then the same for checkpoint directories.

use std::path::Path;
use std::time::{Duration, Instant};

use neuro_divergent::data::read_csv;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use neuro_divergent_store::{ModelStore, PublishOptions};

const REPEATS: usize = 7;

fn fitted(mlp_units: Option<&str>) -> NeuralForecast {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv");
    let frame = read_csv(&path, None).expect("bundled data");
    let mut spec = ModelSpec::new("NHITS", 12, 24).unwrap();
    spec.train.max_steps = 1;
    if let Some(units) = mlp_units {
        spec.set_param("mlp_units", units).unwrap();
    }
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    nf
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn bench_store(
    url: &str,
    label: &str,
    big: &NeuralForecast,
    small: &NeuralForecast,
    n_small: usize,
) {
    let store = ModelStore::open(url).await.unwrap();
    let mut publish = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        store
            .publish(big, "nhits", &PublishOptions::default())
            .await
            .unwrap();
        publish.push(t.elapsed());
    }
    let mut load = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        store.load("nhits").await.unwrap();
        load.push(t.elapsed());
    }
    for i in 0..n_small {
        store
            .publish(small, &format!("small{i}"), &PublishOptions::default())
            .await
            .unwrap();
    }
    let t = Instant::now();
    for i in 0..n_small {
        store.load(&format!("small{i}")).await.unwrap();
    }
    let all = t.elapsed();
    println!(
        "{label:<10} publish NHITS {:>10}   load NHITS {:>10}   load {n_small} small {:>10}",
        ms(median(publish)),
        ms(median(load)),
        ms(all)
    );
    store.close().await;
}

fn bench_files(dir: &Path, big: &NeuralForecast, small: &NeuralForecast, n_small: usize) {
    let mut save = Vec::new();
    for i in 0..REPEATS {
        let t = Instant::now();
        big.save(&dir.join(format!("nhits{i}"))).unwrap();
        save.push(t.elapsed());
    }
    let mut load = Vec::new();
    for i in 0..REPEATS {
        let t = Instant::now();
        NeuralForecast::load(&dir.join(format!("nhits{i}"))).unwrap();
        load.push(t.elapsed());
    }
    for i in 0..n_small {
        small.save(&dir.join(format!("small{i}"))).unwrap();
    }
    let t = Instant::now();
    for i in 0..n_small {
        NeuralForecast::load(&dir.join(format!("small{i}"))).unwrap();
    }
    let all = t.elapsed();
    println!(
        "{:<10} save    NHITS {:>10}   load NHITS {:>10}   load {n_small} small {:>10}",
        "files",
        ms(median(save)),
        ms(median(load)),
        ms(all)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let postgres = args.iter().find(|a| a.starts_with("postgres")).cloned();
    let n_small: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1000);
    neuro_divergent::threads::configure_threads(Some(1));
    let big = fitted(None);
    let small = fitted(Some("[[16,16]]"));
    println!(
        "NHITS default size: {} parameters, {} bytes of weights; small: {} bytes",
        big.parameter_counts()[0],
        big.to_checkpoint_bytes().unwrap().weights.len(),
        small.to_checkpoint_bytes().unwrap().weights.len()
    );
    println!("CPU: {}", neuro_divergent::cpu::cpu_model());
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("models.db").display());
    runtime.block_on(bench_store(&sqlite, "sqlite", &big, &small, n_small));
    match postgres {
        Some(url) => runtime.block_on(bench_store(&url, "postgres", &big, &small, n_small)),
        None => println!("postgres   (skipped: pass a postgres:// URL)"),
    }
    let files = dir.path().join("checkpoints");
    bench_files(&files, &big, &small, n_small);
}
