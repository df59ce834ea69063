//! What the serving tests share: a store holding fitted AirPassengers models, a node started on
//! a loopback port in its own runtime, and a small HTTP client.
#![allow(dead_code)] // each test crate compiles this module; not all of them use every helper

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use neuro_divergent::data::{read_csv, DsStyle, TimeSeriesFrame};
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use neuro_divergent_serve::{ServeConfig, Server};
use neuro_divergent_store::{ModelStore, PublishOptions};

/// The bundled AirPassengers data.
pub fn air() -> TimeSeriesFrame {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv");
    read_csv(&path, None).expect("bundled data loads")
}

/// A small NHITS fitted on AirPassengers in a few steps.
pub fn fitted(seed: u64) -> NeuralForecast {
    fitted_with(seed, FitOptions::default())
}

/// [`fitted`] with conformal intervals calibrated by default.
pub fn fitted_with_intervals(seed: u64) -> NeuralForecast {
    let options = FitOptions {
        prediction_intervals: Some(Default::default()),
        ..FitOptions::default()
    };
    fitted_with(seed, options)
}

fn fitted_with(seed: u64, options: FitOptions) -> NeuralForecast {
    let mut spec = ModelSpec::new("NHITS", 12, 24).unwrap();
    spec.train.max_steps = 3;
    spec.train.random_seed = seed;
    spec.set_param("mlp_units", "[[32,32]]").unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&air(), options, None).unwrap();
    nf
}

/// A SQLite store in a temporary directory.
pub struct TestStore {
    /// `sqlite:PATH`.
    pub url: String,
    /// The database file.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

/// A new SQLite store.
pub fn sqlite_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.db");
    TestStore {
        url: format!("sqlite:{}", path.display()),
        path,
        _dir: dir,
    }
}

/// The test cluster's database (`ND_TEST_POSTGRES_URL`, set by `scripts/test.sh`), shared by
/// the tests that use it (they name their models apart), or None with a message when there is
/// none; with `ND_REQUIRE_POSTGRES=1` its absence fails the test instead.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("ND_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var("ND_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "ND_REQUIRE_POSTGRES=1 but ND_TEST_POSTGRES_URL is not set"
        );
        eprintln!(
            "SKIPPED a PostgreSQL case: ND_TEST_POSTGRES_URL is not set \
             (bash scripts/test.sh starts a cluster and sets it)"
        );
    }
    url
}

/// A runtime for the test's own store calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Publishes `nf` as the next version of `name` with `aliases`.
pub fn publish(url: &str, nf: &NeuralForecast, name: &str, aliases: &[&str]) -> i64 {
    runtime().block_on(async {
        let store = ModelStore::open(url).await.unwrap();
        let options = PublishOptions {
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        };
        let info = store.publish(nf, name, &options).await.unwrap();
        store.close().await;
        info.version
    })
}

/// Points `alias` of `name` at `version`.
pub fn set_alias(url: &str, name: &str, alias: &str, version: i64) {
    runtime().block_on(async {
        let store = ModelStore::open(url).await.unwrap();
        store.set_alias(name, alias, version).await.unwrap();
        store.close().await;
    });
}

/// A node serving in a runtime of its own, stopped when dropped.
pub struct Node {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    server: Option<Server>,
    runtime: tokio::runtime::Runtime,
}

impl Node {
    /// Starts a node on a free loopback port with `configure` applied to the defaults.
    pub fn start(store: &str, configure: impl FnOnce(&mut ServeConfig)) -> Node {
        let mut config = ServeConfig::new(store, "127.0.0.1:0".parse().unwrap());
        config.workers = 2;
        configure(&mut config);
        let runtime = runtime();
        let server = runtime
            .block_on(Server::start(config))
            .expect("the node starts");
        Node {
            base: format!("http://{}", server.local_addr()),
            server: Some(server),
            runtime,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.shutdown());
        }
    }
}

/// A response: status, headers of interest and body text.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// `x-model-version`, if sent.
    pub version: Option<String>,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// Every `x-forecast-warning`.
    pub warnings: Vec<String>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error message of an error response.
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the node answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (version, retry_after, content_type) = (
        header("x-model-version"),
        header("retry-after"),
        header("content-type"),
    );
    let warnings = response
        .headers()
        .get_all("x-forecast-warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap_or_default();
    Reply {
        status: response.status().as_u16(),
        version,
        retry_after,
        content_type,
        warnings,
        body,
    }
}

/// `POST base + path` with `body` and `accept`.
pub fn post(base: &str, path: &str, body: &str, accept: &str) -> Reply {
    reply(
        agent()
            .post(&format!("{base}{path}"))
            .header("content-type", "application/json")
            .header("accept", accept)
            .send(body),
    )
}

/// `POST base/v1/models/{name}/forecast` with a JSON body, JSON answer.
pub fn forecast(base: &str, name: &str, body: &str) -> Reply {
    post(
        base,
        &format!("/v1/models/{name}/forecast"),
        body,
        "application/json",
    )
}

/// `GET base + path`.
pub fn get(base: &str, path: &str) -> Reply {
    reply(agent().get(&format!("{base}{path}")).call())
}

/// The forecast column `column` of a JSON forecast response in records shape.
pub fn column(reply: &Reply, column: &str) -> Vec<f64> {
    reply.json()["forecasts"]
        .as_array()
        .expect("records")
        .iter()
        .map(|row| row[column].as_f64().expect("a number"))
        .collect()
}

/// The series of `frame` as JSON records (unique_id, ds, y), the last `n` rows of each.
pub fn records(frame: &TimeSeriesFrame, n: usize, id: &str) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = frame
        .series()
        .iter()
        .flat_map(|s| {
            let start = s.len().saturating_sub(n);
            (start..s.len()).map(move |i| {
                serde_json::json!({ "unique_id": id, "ds": s.ds.at(i).format(DsStyle::dates(true)), "y": s.y[i] })
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}

/// `METHOD base + path` (GET, POST or PUT) with `headers` and, but for GET, a JSON `body`.
pub fn send(method: &str, base: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let url = format!("{base}{path}");
    let agent = agent();
    let response = match method {
        "GET" => {
            let request = headers
                .iter()
                .fold(agent.get(&url), |r, (k, v)| r.header(*k, *v));
            request.call()
        }
        "POST" | "PUT" => {
            let request = if method == "POST" {
                agent.post(&url)
            } else {
                agent.put(&url)
            };
            let request = request.header("content-type", "application/json");
            let request = headers.iter().fold(request, |r, (k, v)| r.header(*k, *v));
            request.send(body)
        }
        other => panic!("unsupported method {other}"),
    };
    reply(response)
}

/// Calls `attempt` every 20 ms until it returns `Some`, and fails naming `what` when 5 s pass
/// first (`attempt` may assert on what it sees meanwhile).
pub fn poll_until<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        assert!(Instant::now() < deadline, "{what} within 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}
