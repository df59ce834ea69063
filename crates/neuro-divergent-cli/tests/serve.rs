//! `neuro-divergent serve` as a process: it answers the forecasts `predict` gives for the same
//! version, stops cleanly on SIGTERM, and refuses bad settings with exit code 2.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A `serve` process, killed if a test fails before stopping it.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    /// Starts `serve` with `extra` arguments on a free loopback port and reads the address it
    /// prints.
    fn start(store: &str, extra: &[&str]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_neuro-divergent"))
            .args([
                "serve",
                "--store",
                store,
                "--bind",
                "127.0.0.1:0",
                "--workers",
                "1",
                "--refresh",
                "0.2",
            ])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        // Keep reading, so that the node never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in '{line}'"))
            .to_string();
        Node { child, base }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    fn stop(mut self) {
        // SAFETY: kill only sends a signal to the child this test started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post_csv(base: &str, path: &str, body: &str) -> (u16, Option<String>, String) {
    post_csv_with_key(base, path, body, "")
}

fn post_csv_with_key(
    base: &str,
    path: &str,
    body: &str,
    key: &str,
) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(&format!("{base}{path}"))
        .header("accept", "text/csv")
        .header("content-type", "application/json")
        .header("x-api-key", key)
        .send(body)
        .expect("the node answers");
    let version = response
        .headers()
        .get("x-model-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (
        response.status().as_u16(),
        version,
        response.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn serve_answers_what_predict_gives_for_the_same_version() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("air_serve_{}", std::process::id());
    for store in stores(dir.path()) {
        let fit = train(
            "fit",
            &["--store", &store, "--name", &name, "--alias", "production"],
        );
        assert!(fit.status.success(), "{}", text(&fit.stderr));
        let node = Node::start(&store, &[]);
        let reference = format!("{name}@production");
        let predicted = run(&["predict", "--store", &store, "--model", &reference]);
        assert!(predicted.status.success(), "{}", text(&predicted.stderr));
        let path = format!("/v1/models/{name}/forecast");
        let (status, version, body) = post_csv(&node.base, &path, r#"{"alias":"production"}"#);
        assert_eq!(status, 200, "{body}");
        assert_eq!(version, Some(format!("{name}@1")));
        assert_eq!(body, text(&predicted.stdout));

        // A second version under the alias is served within the refresh interval.
        let fit = train(
            "fit",
            &[
                "--store",
                &store,
                "--name",
                &name,
                "--alias",
                "production",
                "--seed",
                "7",
            ],
        );
        assert!(fit.status.success(), "{}", text(&fit.stderr));
        let predicted = run(&["predict", "--store", &store, "--model", &reference]);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (status, version, body) = post_csv(&node.base, &path, r#"{"alias":"production"}"#);
            assert_eq!(status, 200, "{body}");
            if version == Some(format!("{name}@2")) {
                assert_eq!(body, text(&predicted.stdout));
                break;
            }
            assert!(Instant::now() < deadline, "version 2 not served within 5 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        node.stop();
    }
}

#[test]
fn serve_refuses_bad_settings_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("models.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for (args, expected) in [
        (
            vec!["serve", "--store", "mysql://u@h/db"],
            "invalid store address 'mysql://u@h/db'",
        ),
        (
            vec!["serve", "--store", &store, "--timeout", "0"],
            "--timeout must be a positive number of seconds",
        ),
        (
            vec!["serve", "--store", &store, "--workers", "0"],
            "--workers must be at least 1",
        ),
        (
            vec!["serve", "--store", &store, "--bind", &taken],
            "cannot listen on",
        ),
    ] {
        assert_user_error(&run(&args), &format!("{args:?}"), expected);
    }
}

#[test]
fn keys_from_the_command_line_guard_serve_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("models.db").display());
    let fit = train("fit", &["--store", &store, "--name", "air"]);
    assert!(fit.status.success(), "{}", text(&fit.stderr));
    let created = run(&[
        "keys",
        "create",
        "--scope",
        "forecast",
        "--label",
        "dashboard",
        "--store",
        &store,
    ]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stderr).contains("it is shown once"));
    let key = text(&created.stdout).trim().to_string();
    assert!(key.starts_with("nd_"), "{key}");

    let listed = run(&["keys", "list", "--json", "--store", &store]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["label"], "dashboard");
    assert_eq!(listed[0]["scopes"], serde_json::json!(["forecast"]));
    assert!(listed[0]["revoked_at"].is_null());
    assert!(
        !listed.to_string().contains(key.rsplit('_').next().unwrap()),
        "the secret is listed"
    );
    let id = listed[0]["id"].as_str().unwrap().to_string();

    let node = Node::start(&store, &["--auth"]);
    let path = "/v1/models/air/forecast";
    assert_eq!(post_csv(&node.base, path, "{}").0, 401);
    let (status, _, body) = post_csv_with_key(&node.base, path, "{}", &key);
    assert_eq!(status, 200, "{body}");
    let revoked = run(&["keys", "revoke", &id, "--store", &store]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let deadline = Instant::now() + Duration::from_secs(5);
    while post_csv_with_key(&node.base, path, "{}", &key).0 != 401 {
        assert!(
            Instant::now() < deadline,
            "the revoked key still works after 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    node.stop();

    for (args, expected) in [
        (
            vec!["keys", "create", "--scope", "admin", "--store", &store],
            "unknown key scope 'admin'",
        ),
        (
            vec!["keys", "revoke", "000000000000", "--store", &store],
            "has no API key '000000000000'",
        ),
    ] {
        assert_user_error(&run(&args), &format!("{args:?}"), expected);
    }
}
