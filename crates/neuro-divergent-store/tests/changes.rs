//! Change notifications: on PostgreSQL each write that can change what a reference resolves to
//! announces the model's name once it commits; SQLite stores have no listener.

mod support;

use std::time::Duration;

use neuro_divergent_store::{ChangeListener, ModelStore, PublishOptions};
use support::*;

/// The next announced name, failing after a few seconds.
async fn next(listener: &mut ChangeListener) -> String {
    tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .expect("a change is announced within 5 s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_move_references_are_announced() {
    let nf = fitted(1, 8, 2);
    for test in stores().await {
        let store = ModelStore::open(&test.url).await.unwrap();
        let Some(mut listener) = store.listen().await.unwrap() else {
            assert_eq!(test.backend, "sqlite", "only SQLite has no notifications");
            continue;
        };
        let aliased = PublishOptions {
            aliases: vec!["production".into()],
            ..Default::default()
        };
        store.publish(&nf, "air", &aliased).await.unwrap();
        assert_eq!(next(&mut listener).await, "air");
        store
            .publish(&nf, "other", &PublishOptions::default())
            .await
            .unwrap();
        assert_eq!(next(&mut listener).await, "other");
        store
            .publish(&nf, "air", &Default::default())
            .await
            .unwrap();
        assert_eq!(next(&mut listener).await, "air");
        store.set_alias("air", "production", 2).await.unwrap();
        assert_eq!(next(&mut listener).await, "air");
        store.remove_alias("air", "production").await.unwrap();
        assert_eq!(next(&mut listener).await, "air");
        store.delete("air", 1, false).await.unwrap();
        assert_eq!(next(&mut listener).await, "air");
        // A refused write announces nothing: the next announcement is the next real change.
        assert!(store.set_alias("air", "production", 9).await.is_err());
        store.set_alias("other", "staging", 1).await.unwrap();
        assert_eq!(next(&mut listener).await, "other");
    }
}
