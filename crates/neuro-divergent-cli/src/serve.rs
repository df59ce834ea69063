//! `serve`: one forecasting node over a model store, until SIGINT or SIGTERM.

use std::io::Write;
use std::time::Duration;

use neuro_divergent::Error;
use neuro_divergent_serve::{ServeConfig, Server};

use crate::args::ServeArgs;
use crate::error::CliResult;

/// A positive, finite number of seconds.
fn seconds(option: &str, value: f64) -> CliResult<Duration> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Config(format!(
            "--{option} must be a positive number of seconds, got {value}"
        ))
        .into())
    }
}

/// The node's settings from the command line.
fn config(args: &ServeArgs) -> CliResult<ServeConfig> {
    let mut config = ServeConfig::new(&args.store, args.bind);
    if let Some(workers) = args.workers {
        if workers == 0 {
            return Err(Error::Config("--workers must be at least 1".into()).into());
        }
        config.workers = workers;
        config.max_in_flight = 64 * workers;
    }
    if let Some(max) = args.max_in_flight {
        config.max_in_flight = max.max(1);
    }
    config.max_body_bytes = args.max_body_mb.max(1) << 20;
    config.max_series = args.max_series.max(1);
    config.request_timeout = seconds("timeout", args.timeout)?;
    config.refresh = seconds("refresh", args.refresh)?;
    config.cache_bytes = args.cache_mb << 20;
    config.max_models = args.max_models.max(1);
    config.preload = args.preload.clone();
    config.batch_window = Duration::from_millis(args.batch_window_ms);
    config.max_batch = args.max_batch.max(1);
    config.auth = args.auth;
    Ok(config)
}

/// Runs the node until the process is asked to stop, then lets requests in flight finish.
pub fn run(args: &ServeArgs) -> CliResult<()> {
    let config = config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Train(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(async {
        let workers = config.workers;
        let server = Server::start(config).await?;
        say(&format!(
            "serving {} on http://{} with {workers} forecast workers",
            server.store_address(),
            server.local_addr()
        ));
        stop_requested().await;
        say("stopping: finishing the requests in flight");
        server.shutdown().await?;
        Ok(())
    })
}

/// A line on standard error; a closed standard error (a supervisor gone) never stops the node.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
async fn stop_requested() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
