//! The store's conformance cases, each run against SQLite and PostgreSQL: exact round trips,
//! concurrent publishers, atomic alias moves, corruption, interrupted publishes, unreachable
//! databases.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use neuro_divergent_store::{ModelStore, OpenOptions, PublishOptions, StoreError};
use support::{fitted, raw_execute, raw_weights, stores};

fn with_alias(alias: &str) -> PublishOptions {
    PublishOptions {
        aliases: vec![alias.to_string()],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_load_round_trip_bit_identical() {
    let nf = fitted(1, 32, 5);
    let bytes = nf.to_checkpoint_bytes().unwrap();
    let forecasts = nf.predict(None).unwrap();
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        let mut options = with_alias("production");
        options.tags.insert("owner".into(), "forecasting".into());
        options.scores.insert("cv/mae".into(), 12.5);
        let first = store.publish(&nf, "air", &options).await.unwrap();
        assert_eq!(first.version, 1, "{}", t.backend);
        assert_eq!(first.models, ["NHITS"]);
        assert_eq!(first.aliases, ["production"]);
        assert_eq!(first.tags["owner"], "forecasting");
        assert_eq!(first.scores["cv/mae"], 12.5);
        assert!(first.scores.contains_key("NHITS/train_loss"));
        assert_eq!(first.data.as_ref(), nf.training_data());
        assert_eq!(first.weights_bytes as usize, bytes.weights.len());
        assert_eq!(first.params[0]["h"], 12);
        assert_eq!(first.library_version, env!("CARGO_PKG_VERSION"));

        let second = store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        assert_eq!(second.version, 2);
        for (reference, version) in [
            ("air", 2),
            ("air@latest", 2),
            ("air@1", 1),
            ("air@production", 1),
        ] {
            let loaded = store.load(reference).await.unwrap();
            assert_eq!(loaded.info.version, version, "{} {reference}", t.backend);
            assert_eq!(loaded.forecaster.to_checkpoint_bytes().unwrap(), bytes);
            assert_eq!(loaded.forecaster.predict(None).unwrap(), forecasts);
        }
        assert_eq!(store.show("air@production").await.unwrap(), first);
        let listed = store.list(None).await.unwrap();
        assert_eq!(listed.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(listed[0], first);

        // Tags change; the version's content does not.
        let mut set = BTreeMap::new();
        set.insert("stage".to_string(), "approved".to_string());
        let tagged = store
            .tag("air@1", &set, &["owner".to_string()])
            .await
            .unwrap();
        assert_eq!(tagged.tags, set);
        assert_eq!(tagged.weights_sha256, first.weights_sha256);
        store.close().await;
    }
}

#[test]
fn concurrent_publishers_get_distinct_versions_and_every_version_loads() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let test_stores = runtime.block_on(stores());
    let nf = fitted(2, 32, 3);
    let bytes = nf.to_checkpoint_bytes().unwrap();
    for t in test_stores {
        // Create the store first so that the publishers race on versions, not on the schema.
        runtime.block_on(async { ModelStore::open(&t.url).await.unwrap().close().await });
        let versions: Vec<i64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (url, nf) = (&t.url, &nf);
                    scope.spawn(move || {
                        // Each publisher has its own runtime and connections, as a process would.
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        rt.block_on(async {
                            let options = OpenOptions {
                                timeout: Duration::from_secs(60),
                                ..Default::default()
                            };
                            let store = ModelStore::open_with(url, options).await.unwrap();
                            let mut publish = PublishOptions::default();
                            publish.tags.insert("publisher".into(), i.to_string());
                            store.publish(nf, "shared", &publish).await.unwrap().version
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let distinct: BTreeSet<i64> = versions.iter().copied().collect();
        assert_eq!(distinct, (1..=8).collect(), "{}: {versions:?}", t.backend);
        runtime.block_on(async {
            let store = ModelStore::open(&t.url).await.unwrap();
            let listed = store.list(Some("shared")).await.unwrap();
            let publishers: BTreeSet<&str> = listed
                .iter()
                .map(|v| v.tags["publisher"].as_str())
                .collect();
            assert_eq!(publishers.len(), 8);
            for version in 1..=8 {
                let loaded = store.load(&format!("shared@{version}")).await.unwrap();
                assert_eq!(loaded.forecaster.to_checkpoint_bytes().unwrap(), bytes);
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alias_moves_are_atomic_under_concurrent_readers() {
    let models = [fitted(3, 32, 3), fitted(4, 32, 3)];
    let weights: Vec<Vec<u8>> = models
        .iter()
        .map(|m| m.to_checkpoint_bytes().unwrap().weights)
        .collect();
    assert_ne!(weights[0], weights[1]);
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        store
            .publish(&models[0], "air", &with_alias("production"))
            .await
            .unwrap();
        store
            .publish(&models[1], "air", &PublishOptions::default())
            .await
            .unwrap();
        let mover = {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..40 {
                    let target = 1 + (i % 2 + 1) % 2; // 2, 1, 2, 1, ...
                    let before = store.set_alias("air", "production", target).await.unwrap();
                    assert_eq!(before, Some(3 - target));
                }
            })
        };
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (store, weights) = (store.clone(), weights.clone());
                tokio::spawn(async move {
                    let mut seen = BTreeSet::new();
                    for _ in 0..25 {
                        let loaded = store.load("air@production").await.unwrap();
                        let version = loaded.info.version;
                        let got = loaded.forecaster.to_checkpoint_bytes().unwrap().weights;
                        assert_eq!(got, weights[version as usize - 1], "version {version}");
                        seen.insert(version);
                    }
                    seen
                })
            })
            .collect();
        mover.await.unwrap();
        for reader in readers {
            let seen = reader.await.unwrap();
            assert!(seen.is_subset(&[1, 2].into()), "{}: {seen:?}", t.backend);
        }
        assert_eq!(store.show("air@production").await.unwrap().version, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_weights_are_refused_naming_model_and_version() {
    let nf = fitted(5, 32, 3);
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        let mut weights = raw_weights(&t.url, "air", 1).await;
        let middle = weights.len() / 2;
        weights[middle] ^= 0x40;
        raw_execute(
            &t.url,
            "UPDATE nd_versions SET weights = $1 WHERE name = 'air' AND version = 1",
            vec![weights],
        )
        .await;
        let err = store
            .load("air@1")
            .await
            .err()
            .expect("corrupt version refused");
        assert!(
            matches!(err, StoreError::Corrupt { version: 1, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("version 1 of model 'air' is corrupt") && message.contains("checksum"),
            "{}: {message}",
            t.backend
        );
        assert_eq!(store.load("air@2").await.unwrap().info.version, 2);
        assert_eq!(store.load("air").await.unwrap().info.version, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_within_the_timeout() {
    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let options = OpenOptions {
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let started = Instant::now();
    let err = ModelStore::open_with(&format!("postgres://nd@127.0.0.1:{port}/models"), options)
        .await
        .err()
        .expect("a silent server is not a store");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    drop(silent);

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = Instant::now();
    let err = ModelStore::open_with(&format!("postgres://nd@127.0.0.1:{port}/models"), options)
        .await
        .err()
        .expect("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{port}/models is unreachable")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_bounds_the_wait_of_a_publisher() {
    let nf = fitted(6, 32, 2);
    for t in stores().await {
        let options = OpenOptions {
            timeout: Duration::from_secs(1),
            ..Default::default()
        };
        let store = ModelStore::open_with(&t.url, options).await.unwrap();
        store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        // Another program holds the write lock of the database (SQLite) or of the model's row
        // (PostgreSQL) and never lets go.
        let holder = tokio::spawn(hold_lock(t.url.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            store.set_alias("air", "production", 1),
        )
        .await;
        holder.abort();
        let err = result.expect("bounded").expect_err("the lock is held");
        assert!(err.to_string().contains("lock"), "{}: {err}", t.backend);
        assert!(started.elapsed() < Duration::from_secs(5), "{}", t.backend);
        assert!(matches!(
            err,
            StoreError::Unreachable { .. } | StoreError::Database { .. }
        ));
    }
}

async fn hold_lock(url: String) {
    use sqlx::Connection;
    if let Some(path) = url.strip_prefix("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    } else {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query("SELECT * FROM nd_models FOR UPDATE")
            .execute(&mut conn)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrained_pretrained_model_publishes_without_training_scores() {
    use neuro_divergent::{FitOptions, ModelSpec, NeuralForecast};
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../neuro-divergent/tests/fixtures/chronos_bolt_small_random");
    let mut spec = ModelSpec::new("chronos_bolt", 12, 96).unwrap();
    spec.set_param("model_path", fixture.to_str().unwrap())
        .unwrap();
    let mut nf = NeuralForecast::new(vec![spec], None).unwrap();
    let data = neuro_divergent::data::read_csv(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv"),
        None,
    )
    .unwrap();
    nf.fit(&data, FitOptions::default(), None).unwrap();
    let forecasts = nf.predict(None).unwrap();
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        let published = store
            .publish(&nf, "chronos", &PublishOptions::default())
            .await
            .unwrap();
        assert!(
            published.scores.is_empty(),
            "{}: {:?}",
            t.backend,
            published.scores
        );
        let loaded = store.load("chronos").await.unwrap();
        assert_eq!(
            loaded.forecaster.predict(None).unwrap(),
            forecasts,
            "{}",
            t.backend
        );
    }
}
