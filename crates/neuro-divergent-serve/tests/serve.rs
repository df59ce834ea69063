//! A node over a real store on a loopback port: forecasts equal the library's for the same
//! version, alias moves are picked up, limits answer as documented, and the metrics count it.

mod support;

use std::time::Duration;

use neuro_divergent::data::TimeSeriesFrame;
use neuro_divergent::forecast::PredictOptions;
use support::*;

fn tail_frame(n: usize, id: &str) -> TimeSeriesFrame {
    let rows = records(&air(), n, id);
    let ids: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unique_id"].as_str().unwrap().to_string())
        .collect();
    let ds: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| neuro_divergent::data::Timestamp::parse(r["ds"].as_str().unwrap()).unwrap())
        .collect();
    let y: Vec<f64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["y"].as_f64().unwrap())
        .collect();
    TimeSeriesFrame::from_columns("tail", &ids, &ds, &y, None).unwrap()
}

#[test]
fn forecasts_equal_the_library_for_the_same_version() {
    let store = sqlite_store();
    let nf = fitted(1);
    assert_eq!(publish(&store.url, &nf, "air", &["production"]), 1);
    let node = Node::start(&store.url, |_| {});

    // The stored series, by name, alias and number.
    let expected = nf.predict(None).unwrap();
    for body in ["{}", r#"{"alias":"production"}"#, r#"{"version":1}"#, ""] {
        let reply = forecast(&node.base, "air", body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.version.as_deref(), Some("air@1"));
        assert_eq!(reply.json()["version"], 1);
        assert_eq!(
            column(&reply, "NHITS"),
            expected.column("NHITS").unwrap(),
            "body {body}"
        );
    }

    // New data as records and as columns, under another id.
    let frame = tail_frame(36, "other");
    let expected = nf.predict(Some(&frame)).unwrap();
    let rows = records(&air(), 36, "other");
    let records_body = serde_json::json!({ "data": rows }).to_string();
    let reply = forecast(&node.base, "air", &records_body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        forecast(&node.base, "air", &records_body).body,
        reply.body,
        "answered from the cache"
    );
    assert_eq!(column(&reply, "NHITS"), expected.column("NHITS").unwrap());
    assert_eq!(reply.json()["forecasts"][0]["unique_id"], "other");
    assert_eq!(reply.json()["forecasts"][0]["ds"], "1961-01-01");
    let columns = serde_json::json!({
        "data": {
            "unique_id": rows.as_array().unwrap().iter().map(|r| r["unique_id"].clone()).collect::<Vec<_>>(),
            "ds": rows.as_array().unwrap().iter().map(|r| r["ds"].clone()).collect::<Vec<_>>(),
            "y": rows.as_array().unwrap().iter().map(|r| r["y"].clone()).collect::<Vec<_>>(),
        },
        "format": "columns",
    });
    let reply = forecast(&node.base, "air", &columns.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    let values: Vec<f64> = reply.json()["forecasts"]["NHITS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values, expected.column("NHITS").unwrap());

    // CSV, byte for byte what `predict` writes.
    let reply = post(&node.base, "/v1/models/air/forecast", "{}", "text/csv");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type.as_deref(), Some("text/csv"));
    let mut csv = Vec::new();
    nf.predict(None).unwrap().write_csv(&mut csv).unwrap();
    assert_eq!(reply.body, String::from_utf8(csv).unwrap());

    // The listing names the version and its alias.
    let listing = get(&node.base, "/v1/models/air").json();
    assert_eq!(listing["versions"][0]["version"], 1);
    assert_eq!(listing["versions"][0]["aliases"][0], "production");
    assert_eq!(
        get(&node.base, "/v1/models").json()["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Repeated requests hit the caches, and the metrics say so.
    let metrics = get(&node.base, "/metrics").body;
    assert!(
        metrics.contains(r#"nd_cache_lookups_total{cache="response",result="hit"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"nd_cache_lookups_total{cache="stored",result="hit"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"nd_requests_total{route="/v1/models/{name}/forecast",status="200"} 8"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("nd_model_loads_total{outcome=\"ok\"} 1"),
        "{metrics}"
    );
}

#[test]
fn an_alias_move_is_served_within_the_refresh_interval() {
    let store = sqlite_store();
    publish(&store.url, &fitted(1), "air", &["production"]);
    let node = Node::start(&store.url, |c| c.refresh = Duration::from_millis(100));
    assert_eq!(
        forecast(&node.base, "air", r#"{"alias":"production"}"#)
            .version
            .as_deref(),
        Some("air@1")
    );
    let second = fitted(2);
    assert_eq!(publish(&store.url, &second, "air", &[]), 2);
    set_alias(&store.url, "air", "production", 2);
    let reply = poll_until("the alias move served", || {
        let reply = forecast(&node.base, "air", r#"{"alias":"production"}"#);
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.version.as_deref() == Some("air@2") {
            return Some(reply);
        }
        assert_eq!(reply.version.as_deref(), Some("air@1"));
        None
    });
    assert_eq!(
        column(&reply, "NHITS"),
        second.predict(None).unwrap().column("NHITS").unwrap()
    );
    // The plain name follows the newest version too.
    poll_until("the newest version served", || {
        (forecast(&node.base, "air", "{}").version.as_deref() == Some("air@2")).then_some(())
    });
}

/// On PostgreSQL an alias move reaches the node through the store's change notification, long
/// before its next poll.
#[test]
fn an_alias_move_on_postgres_is_served_without_waiting_for_the_poll() {
    let Some(url) = postgres_url() else {
        return;
    };
    let name = format!("notified{}", std::process::id());
    publish(&url, &fitted(1), &name, &["production"]);
    let node = Node::start(&url, |c| c.refresh = Duration::from_secs(600));
    let body = r#"{"alias":"production"}"#;
    let served = |version: i64| {
        forecast(&node.base, &name, body).version == Some(format!("{name}@{version}"))
    };
    assert!(served(1));
    assert_eq!(publish(&url, &fitted(2), &name, &[]), 2);
    set_alias(&url, &name, "production", 2);
    poll_until("the alias move served", || served(2).then_some(()));
}

#[test]
fn batched_requests_get_their_own_forecasts_and_intervals() {
    let store = sqlite_store();
    let nf = fitted_with_intervals(1);
    publish(&store.url, &nf, "air", &[]);
    let node = Node::start(&store.url, |c| {
        c.batch_window = Duration::from_millis(500);
        c.cache_bytes = 0;
    });
    let cases: Vec<(usize, String)> = (0..6)
        .map(|k| (30 + 2 * k, format!("s{}", k % 3)))
        .collect();
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(n, id)| {
                let data = records(&air(), *n, id);
                let body = serde_json::json!({ "data": data, "level": [80, 99.9] }).to_string();
                let base = node.base.clone();
                scope.spawn(move || forecast(&base, "air", &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((n, id), reply) in cases.iter().zip(&replies) {
        assert_eq!(reply.status, 200, "{}", reply.body);
        // Each request's intervals scale by its own history, as when predicted alone.
        let expected = nf
            .predict_with_levels(Some(&tail_frame(*n, id)), &[80.0, 99.9])
            .unwrap();
        for name in ["NHITS", "NHITS-lo-80", "NHITS-hi-99.9"] {
            let got = column(reply, name);
            let want = expected.column(name).unwrap();
            assert_eq!(got.len(), want.len(), "{name}");
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "{name}, {n} rows of {id}: {g} vs {w}"
                );
            }
        }
        let warnings = &reply.json()["warnings"];
        assert_eq!(warnings.as_array().map(Vec::len), Some(1), "{}", reply.body);
        assert!(
            warnings[0]
                .as_str()
                .unwrap()
                .starts_with("NHITS: 99.9% intervals need at least 999"),
            "{warnings}"
        );
        assert!(reply.json()["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["unique_id"] == id.as_str()));
        assert_eq!(reply.warnings, [warnings[0].as_str().unwrap()]);
    }
    let metrics = get(&node.base, "/metrics").body;
    let count: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("nd_batch_size_count "))
        .expect("batch sizes recorded")
        .parse()
        .unwrap();
    assert!(
        count < 6.0,
        "6 concurrent requests ran in {count} passes, not batched: {metrics}"
    );
    assert!(metrics.contains("nd_batch_size_sum 6.0"), "{metrics}");
    assert!(
        metrics.contains("nd_batch_fallbacks_total 0"),
        "joined passes failed: {metrics}"
    );
    // A CSV body cannot hold the warning: the header carries it.
    let data = records(&air(), 30, "s0");
    let body = serde_json::json!({ "data": data, "level": [80, 99.9] }).to_string();
    let csv = post(&node.base, "/v1/models/air/forecast", &body, "text/csv");
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.warnings, replies[0].warnings);
}

#[test]
fn a_full_node_answers_503_and_a_slow_request_times_out() {
    let store = sqlite_store();
    publish(&store.url, &fitted(1), "air", &[]);
    // A long batching window holds a request for a second: the only slot is taken meanwhile.
    let node = Node::start(&store.url, |c| {
        c.batch_window = Duration::from_millis(1500);
        c.max_in_flight = 1;
    });
    let body = serde_json::json!({ "data": records(&air(), 36, "a") }).to_string();
    std::thread::scope(|scope| {
        let base = node.base.clone();
        let first = scope.spawn(move || forecast(&base, "air", &body));
        std::thread::sleep(Duration::from_millis(500));
        let busy = forecast(&node.base, "air", "{}");
        assert_eq!(busy.status, 503, "{}", busy.body);
        assert_eq!(busy.retry_after.as_deref(), Some("1"));
        assert!(
            busy.message().contains("retry shortly"),
            "{}",
            busy.message()
        );
        assert_eq!(first.join().unwrap().status, 200);
    });
    drop(node);
    let node = Node::start(&store.url, |c| {
        c.batch_window = Duration::from_millis(1500);
        c.request_timeout = Duration::from_millis(300);
    });
    let body = serde_json::json!({ "data": records(&air(), 36, "a") }).to_string();
    let slow = forecast(&node.base, "air", &body);
    assert_eq!(slow.status, 503, "{}", slow.body);
    assert_eq!(slow.retry_after.as_deref(), Some("1"));
    assert!(
        slow.message()
            .contains("longer than this server's limit of 0.3 s"),
        "{}",
        slow.message()
    );
    assert_eq!(
        forecast(&node.base, "air", "{}").status,
        200,
        "the node still serves"
    );
}

#[test]
fn readiness_waits_for_the_preloaded_models() {
    let store = sqlite_store();
    let node = Node::start(&store.url, |c| {
        c.preload = vec!["air@production".into()];
        c.refresh = Duration::from_millis(100);
    });
    assert_eq!(get(&node.base, "/healthz").status, 200);
    // Not ready, and once the first preload attempt has run, saying why.
    let error = poll_until("a preload error reported", || {
        let waiting = get(&node.base, "/readyz");
        assert_eq!(waiting.status, 503, "{}", waiting.body);
        waiting.json()["preload_error"].as_str().map(str::to_string)
    });
    assert!(error.contains("no model named 'air'"), "{error}");
    publish(&store.url, &fitted(1), "air", &["production"]);
    let ready = poll_until("ready after the publish", || {
        let ready = get(&node.base, "/readyz");
        (ready.status == 200).then_some(ready)
    });
    assert_eq!(ready.json()["models_loaded"], 1);
}

#[test]
fn a_corrupt_version_is_refused_while_others_serve() {
    let store = sqlite_store();
    publish(&store.url, &fitted(1), "air", &[]);
    publish(&store.url, &fitted(2), "air", &[]);
    runtime().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&store.url).await.unwrap();
        sqlx::query("UPDATE nd_versions SET weights = zeroblob(length(weights)) WHERE version = 1")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let node = Node::start(&store.url, |_| {});
    let corrupt = forecast(&node.base, "air", r#"{"version":1}"#);
    assert_eq!(corrupt.status, 500, "{}", corrupt.body);
    assert!(
        corrupt
            .message()
            .contains("version 1 of model 'air' is corrupt"),
        "{}",
        corrupt.message()
    );
    assert_eq!(forecast(&node.base, "air", r#"{"version":2}"#).status, 200);
    assert_eq!(forecast(&node.base, "air", "{}").status, 200);
}

#[test]
fn futr_and_static_tables_reach_the_models() {
    let store = sqlite_store();
    let nf = fitted(1);
    publish(&store.url, &nf, "air", &[]);
    let node = Node::start(&store.url, |_| {});
    // A model without exogenous inputs ignores them; they still have to be well-formed.
    let bad = forecast(&node.base, "air", r#"{"static_data":[{"x":1}]}"#);
    assert_eq!(bad.status, 400);
    assert!(
        bad.message()
            .contains("static_data: row 1 has no 'unique_id'"),
        "{}",
        bad.message()
    );
    let frame = tail_frame(36, "a");
    let expected = nf
        .predict_with(PredictOptions {
            data: Some(&frame),
            ..PredictOptions::default()
        })
        .unwrap();
    let body = serde_json::json!({
        "data": records(&air(), 36, "a"),
        "static_data": [{ "unique_id": "a", "size": 3 }],
    });
    let reply = forecast(&node.base, "air", &body.to_string());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(column(&reply, "NHITS"), expected.column("NHITS").unwrap());
}

#[test]
fn api_keys_guard_the_model_routes_when_auth_is_on() {
    use neuro_divergent_store::{ModelStore, Scope};

    let store = sqlite_store();
    publish(&store.url, &fitted(1), "air", &["production"]);
    publish(&store.url, &fitted(2), "air", &[]);
    let (reader, deployer, reader_id) = runtime().block_on(async {
        let s = ModelStore::open(&store.url).await.unwrap();
        let reader = s.create_key("reader", &[Scope::Forecast]).await.unwrap();
        let deployer = s
            .create_key("deployer", &[Scope::Forecast, Scope::Publish])
            .await
            .unwrap();
        s.close().await;
        (reader.key, deployer.key, reader.info.id)
    });
    let open = Node::start(&store.url, |_| {});
    let refused = send(
        "PUT",
        &open.base,
        "/v1/models/air/aliases/production",
        r#"{"version":2}"#,
        &[],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused
        .message()
        .contains("needs API keys: start the node with --auth"));
    drop(open);

    let node = Node::start(&store.url, |c| {
        c.auth = true;
        c.refresh = Duration::from_millis(100);
    });
    let forecast_path = "/v1/models/air/forecast";
    let bearer = |key: &str| format!("Bearer {key}");
    let none = send("POST", &node.base, forecast_path, "{}", &[]);
    assert_eq!(none.status, 401);
    assert!(
        none.message().contains("needs an API key"),
        "{}",
        none.message()
    );
    let wrong = send(
        "POST",
        &node.base,
        forecast_path,
        "{}",
        &[("authorization", "Bearer nd_123_456")],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.message().contains("not valid"));
    let ok = send(
        "POST",
        &node.base,
        forecast_path,
        "{}",
        &[("authorization", &bearer(&reader))],
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        send(
            "POST",
            &node.base,
            forecast_path,
            "{}",
            &[("x-api-key", &reader)]
        )
        .status,
        200
    );
    assert_eq!(send("GET", &node.base, "/v1/models", "", &[]).status, 401);
    assert_eq!(
        send(
            "GET",
            &node.base,
            "/v1/models/air",
            "",
            &[("x-api-key", &reader)]
        )
        .status,
        200
    );
    assert_eq!(get(&node.base, "/healthz").status, 200);
    assert_eq!(get(&node.base, "/metrics").status, 200);

    // Moving an alias needs the publish scope; the move is then served.
    let alias_path = "/v1/models/air/aliases/production";
    let forbidden = send(
        "PUT",
        &node.base,
        alias_path,
        r#"{"version":2}"#,
        &[("x-api-key", &reader)],
    );
    assert_eq!(forbidden.status, 403);
    assert!(
        forbidden
            .message()
            .contains("does not have the 'publish' scope"),
        "{}",
        forbidden.message()
    );
    let bad = send(
        "PUT",
        &node.base,
        alias_path,
        r#"{"version":"two"}"#,
        &[("x-api-key", &deployer)],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let moved = send(
        "PUT",
        &node.base,
        alias_path,
        r#"{"version":2}"#,
        &[("x-api-key", &deployer)],
    );
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["previous"], 1);
    let body = r#"{"alias":"production"}"#;
    poll_until("the moved alias served", || {
        let reply = send(
            "POST",
            &node.base,
            forecast_path,
            body,
            &[("x-api-key", &deployer)],
        );
        (reply.version.as_deref() == Some("air@2")).then_some(())
    });

    // A revoked key is refused within the refresh interval.
    runtime().block_on(async {
        let s = ModelStore::open(&store.url).await.unwrap();
        s.revoke_key(&reader_id).await.unwrap();
        s.close().await;
    });
    let refused = poll_until("the revoked key refused", || {
        let reply = send(
            "POST",
            &node.base,
            forecast_path,
            "{}",
            &[("x-api-key", &reader)],
        );
        if reply.status == 401 {
            return Some(reply);
        }
        assert_eq!(reply.status, 200);
        None
    });
    assert!(
        refused.message().contains("was revoked"),
        "{}",
        refused.message()
    );
}
