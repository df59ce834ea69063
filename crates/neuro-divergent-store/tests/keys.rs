//! API keys in the store, on SQLite and PostgreSQL: a key is shown once and only its hash is
//! kept, checks accept exactly the key created, revocation sticks, and a store of schema
//! version 1 gains the keys table when opened.

mod support;

use neuro_divergent_store::{ModelStore, Scope};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_checked_listed_and_revoked() {
    for test in stores().await {
        let store = ModelStore::open(&test.url).await.unwrap();
        let created = store
            .create_key("dashboard", &[Scope::Forecast])
            .await
            .unwrap();
        let both = store
            .create_key("ci", &[Scope::Publish, Scope::Forecast, Scope::Publish])
            .await
            .unwrap();
        assert!(
            created.key.starts_with(&format!("nd_{}_", created.info.id)),
            "{}",
            test.backend
        );
        assert_eq!(created.key.len(), 3 + 12 + 1 + 64);
        assert_eq!(both.info.scopes, [Scope::Forecast, Scope::Publish]);

        let checked = store
            .check_key(&created.key)
            .await
            .unwrap()
            .expect("the key is valid");
        assert_eq!(checked, created.info);
        assert!(checked.allows(Scope::Forecast) && !checked.allows(Scope::Publish));
        // The same id with another secret, a malformed key, another store's key: not keys.
        let mut forged = created.key.clone();
        forged.replace_range(
            forged.len() - 1..,
            if forged.ends_with('0') { "1" } else { "0" },
        );
        assert_eq!(store.check_key(&forged).await.unwrap(), None);
        assert_eq!(store.check_key("nd_x_y").await.unwrap(), None);
        assert_eq!(store.check_key("").await.unwrap(), None);

        // Only the hash is stored.
        let listed = store.list_keys().await.unwrap();
        assert_eq!(listed.len(), 2);
        // Oldest first; both keys may share a creation millisecond, so order by time only.
        assert!(listed[0].created_at <= listed[1].created_at, "{listed:?}");
        let dashboard = listed.iter().find(|k| k.label == "dashboard").unwrap();
        assert_eq!(dashboard, &created.info);
        let secret = created.key.rsplit('_').next().unwrap();
        let dump = raw_text(&test.url, "SELECT secret_sha256 FROM nd_api_keys").await;
        assert!(
            !dump.contains(secret),
            "{}: the secret is stored",
            test.backend
        );

        store.revoke_key(&created.info.id).await.unwrap();
        store.revoke_key(&created.info.id).await.unwrap();
        let revoked = store.check_key(&created.key).await.unwrap().unwrap();
        assert!(revoked.revoked_at.is_some() && !revoked.allows(Scope::Forecast));
        assert!(store
            .check_key(&both.key)
            .await
            .unwrap()
            .unwrap()
            .allows(Scope::Publish));

        let unknown = store
            .revoke_key("000000000000")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("has no API key '000000000000'"),
            "{unknown}"
        );
        let none = store.create_key("x", &[]).await.err().unwrap().to_string();
        assert!(none.contains("a key needs at least one scope"), "{none}");
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_schema_1_gains_the_keys_table_on_open() {
    for test in stores().await {
        let store = ModelStore::open(&test.url).await.unwrap();
        store.close().await;
        raw_execute(&test.url, "DROP TABLE nd_api_keys", vec![]).await;
        raw_execute(
            &test.url,
            "UPDATE nd_store SET value = '1' WHERE key = 'schema_version'",
            vec![],
        )
        .await;
        let store = ModelStore::open(&test.url).await.unwrap();
        let created = store
            .create_key("after migration", &[Scope::Forecast])
            .await
            .unwrap();
        assert!(
            store.check_key(&created.key).await.unwrap().is_some(),
            "{}",
            test.backend
        );
        assert_eq!(
            raw_text(
                &test.url,
                "SELECT value FROM nd_store WHERE key = 'schema_version'"
            )
            .await,
            "2"
        );
        store.close().await;
    }
}
