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
    /// Starts `serve` on a free loopback port and reads the address it prints.
    fn start(store: &str) -> Node {
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(&format!("{base}{path}"))
        .header("accept", "text/csv")
        .header("content-type", "application/json")
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
        let node = Node::start(&store);
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
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
