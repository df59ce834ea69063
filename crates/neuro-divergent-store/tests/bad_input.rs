//! Bad input gives a clear error naming what is wrong: unknown models, versions and aliases,
//! malformed addresses, files that are not stores, stores of a newer schema, refused deletes.

mod support;

use std::time::Duration;

use neuro_divergent_store::{ModelStore, OpenOptions, PublishOptions, StoreError};
use support::{fitted, raw_execute, stores};

fn message<T>(result: Result<T, StoreError>) -> String {
    match result {
        Ok(_) => panic!("bad input accepted"),
        Err(e) => {
            assert!(e.is_user_error(), "{e:?}");
            e.to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_versions_and_aliases_are_named() {
    let nf = fitted(1, 16, 2);
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        let at = store.address().to_string();
        assert_eq!(
            message(store.load("sales").await),
            format!("model store {at} has no model named 'sales'")
        );
        assert_eq!(
            message(store.load("air@7").await),
            format!("model store {at} has no version 7 of model 'air'")
        );
        assert_eq!(
            message(store.load("air@production").await),
            format!("model store {at}: model 'air' has no alias 'production'")
        );
        assert!(message(store.list(Some("sales")).await).contains("no model named 'sales'"));
        assert!(message(store.set_alias("air", "production", 3).await).contains("no version 3"));
        assert!(message(store.remove_alias("air", "staging").await).contains("no alias 'staging'"));
        assert!(message(store.delete("air", 9, false).await).contains("no version 9"));
        assert!(message(store.load("air@").await).contains("ends with '@'"));
        assert!(message(
            store
                .publish(&nf, "no spaces", &PublishOptions::default())
                .await
        )
        .contains("invalid model name 'no spaces'"));
        let bad_alias = PublishOptions {
            aliases: vec!["latest".into()],
            ..Default::default()
        };
        assert!(message(store.publish(&nf, "air", &bad_alias).await).contains("'latest'"));
        // Nothing was published by the refused calls.
        assert_eq!(store.list(None).await.unwrap().len(), 1, "{}", t.backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_an_alias_points_to_is_deleted_only_when_forced() {
    let nf = fitted(1, 16, 2);
    for t in stores().await {
        let store = ModelStore::open(&t.url).await.unwrap();
        let options = PublishOptions {
            aliases: vec!["production".into(), "staging".into()],
            ..Default::default()
        };
        store.publish(&nf, "air", &options).await.unwrap();
        store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        let err = message(store.delete("air", 1, false).await);
        assert!(
            err.contains("version 1 of model 'air' is what alias(es) production, staging point to"),
            "{err}"
        );
        assert_eq!(store.load("air@production").await.unwrap().info.version, 1);
        store.delete("air", 1, true).await.unwrap();
        assert!(message(store.load("air@production").await).contains("no alias 'production'"));
        assert!(message(store.load("air@1").await).contains("no version 1"));
        store.delete("air", 2, false).await.unwrap();
        // Numbers are never reused.
        let next = store
            .publish(&nf, "air", &PublishOptions::default())
            .await
            .unwrap();
        assert_eq!(next.version, 3, "{}", t.backend);
    }
}

#[tokio::test]
async fn malformed_addresses_are_refused() {
    for (url, expected) in [
        ("models.db", "expected sqlite:PATH"),
        ("mysql://u@h/db", "expected sqlite:PATH"),
        ("sqlite:", "file name is missing"),
        ("postgres://nd@127.0.0.1:99999/db", "invalid store address"),
    ] {
        let err = message(ModelStore::open(url).await);
        assert!(err.contains(expected), "{url}: {err}");
    }
}

#[tokio::test]
async fn files_that_are_not_stores_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "unique_id,ds,y\nair,1949-01-01,112\n").unwrap();
    let err = message(ModelStore::open(&format!("sqlite:{}", text.display())).await);
    assert!(
        err.ends_with("is not a neuro-divergent model store: the file is not an SQLite database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "unique_id,ds,y\nair,1949-01-01,112\n"
    );

    let other = dir.path().join("app.db");
    let url = format!("sqlite:{}", other.display());
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE customers (id INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let err = message(ModelStore::open(&url).await);
    assert!(
        err.contains("holds other tables (customers) and none of a model store"),
        "{err}"
    );

    let err = message(ModelStore::open(&format!("sqlite:{}", dir.path().display())).await);
    assert!(err.contains("it is a directory"), "{err}");

    let missing = dir.path().join("missing.db");
    let options = OpenOptions {
        create: false,
        timeout: Duration::from_secs(1),
    };
    let err =
        message(ModelStore::open_with(&format!("sqlite:{}", missing.display()), options).await);
    assert!(err.contains("no such file"), "{err}");
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_a_newer_schema_is_refused() {
    for t in stores().await {
        ModelStore::open(&t.url).await.unwrap().close().await;
        raw_execute(
            &t.url,
            "UPDATE nd_store SET value = '99' WHERE key = 'schema_version'",
            vec![],
        )
        .await;
        let err = message(ModelStore::open(&t.url).await);
        assert!(
            err.contains("has schema version 99; this library")
                && err.contains("reads versions up to 2: upgrade neuro-divergent"),
            "{}: {err}",
            t.backend
        );
    }
}
