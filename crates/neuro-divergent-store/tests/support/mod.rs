//! What the store's tests share: fitted models and one fresh store per backend.
//!
//! PostgreSQL comes from the cluster `scripts/test-postgres.sh` starts (the README's test
//! command does): its URL in `ND_TEST_POSTGRES_URL`. Each store gets a database of its own.
//! Without the variable the PostgreSQL cases are skipped with a message, unless
//! `ND_REQUIRE_POSTGRES=1` (set by the test command), which makes them fail instead.
#![allow(dead_code)] // each test crate compiles this module; not all of them use every helper

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use neuro_divergent::data::read_csv;
use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
use sqlx::Connection;

/// A fresh, empty store.
pub struct TestStore {
    /// The store's address.
    pub url: String,
    /// Which backend, for messages.
    pub backend: &'static str,
    /// Keeps a SQLite store's directory alive.
    _dir: Option<tempfile::TempDir>,
}

/// An NHITS fitted on AirPassengers in a few steps; `width` sets its layers' size.
pub fn fitted(seed: u64, width: usize, steps: usize) -> NeuralForecast {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv");
    let frame = read_csv(&path, None).expect("bundled data loads");
    let mut spec = ModelSpec::new("NHITS", 12, 24).unwrap();
    spec.train.max_steps = steps;
    spec.train.random_seed = seed;
    spec.set_param("mlp_units", &format!("[[{width},{width}]]"))
        .unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    nf.fit(&frame, FitOptions::default(), None).unwrap();
    nf
}

/// One fresh store on each backend available.
pub async fn stores() -> Vec<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![TestStore {
        url: format!("sqlite:{}", dir.path().join("models.db").display()),
        backend: "sqlite",
        _dir: Some(dir),
    }];
    if let Some(url) = postgres_database().await {
        stores.push(TestStore {
            url,
            backend: "postgres",
            _dir: None,
        });
    }
    stores
}

/// A new database on the test cluster, or None (with a message) when there is none.
pub async fn postgres_database() -> Option<String> {
    let Ok(admin) = std::env::var("ND_TEST_POSTGRES_URL") else {
        if std::env::var("ND_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("ND_REQUIRE_POSTGRES=1 but ND_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "SKIPPED the PostgreSQL cases: ND_TEST_POSTGRES_URL is not set \
             (bash scripts/test.sh starts a cluster and sets it)"
        );
        return None;
    };
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "nd_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("the test cluster answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').expect("URL with a database").0;
    Some(format!("{base}/{name}"))
}

/// Runs `sql` with `bind` arguments directly against the store's database (bypassing the
/// store), to damage or inspect it as a failing disk or another program would.
pub async fn raw_execute(url: &str, sql: &str, binds: Vec<Vec<u8>>) {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(b);
        }
        query.execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(b);
        }
        query.execute(&mut conn).await.unwrap();
    }
}

/// The weights of one version as stored, read directly.
pub async fn raw_weights(url: &str, name: &str, version: i64) -> Vec<u8> {
    let sql = "SELECT weights FROM nd_versions WHERE name = $1 AND version = $2";
    if let Some(path) = url.strip_prefix("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        let (w,): (Vec<u8>,) = sqlx::query_as(sql)
            .bind(name)
            .bind(version)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        w
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let (w,): (Vec<u8>,) = sqlx::query_as(sql)
            .bind(name)
            .bind(version)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        w
    }
}

/// The text values of the first column of `sql`'s rows, one per line, read directly.
pub async fn raw_text(url: &str, sql: &str) -> String {
    let rows: Vec<(String,)> = if let Some(path) = url.strip_prefix("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut conn).await.unwrap()
    };
    let texts: Vec<String> = rows.into_iter().map(|(t,)| t).collect();
    texts.join("\n")
}
