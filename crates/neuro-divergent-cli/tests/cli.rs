//! End-to-end tests of the `neuro-divergent` binary: outputs, exit codes and error messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neuro-divergent"))
}

fn air_passengers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/air_passengers.csv")
}

/// Small, fast training options (the thread count is set next to them).
const FAST: &[&str] = &["--horizon", "12", "--input-size", "24", "--max-steps", "30"];

/// `--param`s that shrink the given models.
fn small(models: &[&str]) -> Vec<&'static str> {
    let mut params = Vec::new();
    if models.iter().any(|m| *m == "nhits" || *m == "nbeats") {
        params.extend(["--param", "mlp_units=[[32,32]]"]);
    }
    if models.contains(&"mlp") {
        params.extend(["--param", "hidden_size=32"]);
    }
    params
}

/// `command --data AirPassengers --model MODELS` with the fast options, shrunk models and `extra`.
fn run_small(command: &str, models: &[&str], extra: &[&str]) -> Output {
    run_small_on("1", command, models, extra)
}

/// [`run_small`] on `threads` threads.
fn run_small_on(threads: &str, command: &str, models: &[&str], extra: &[&str]) -> Output {
    let data = air_passengers();
    let model_list = models.join(",");
    let mut args = vec![
        command,
        "--data",
        data.to_str().unwrap(),
        "--model",
        &model_list,
    ];
    args.extend_from_slice(FAST);
    args.extend(["--threads", threads]);
    args.extend(small(models));
    args.extend_from_slice(extra);
    run(&args)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// [`run`], failing the test when the command is still running after `deadline`.
fn run_within(args: &[&str], deadline: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let started = std::time::Instant::now();
    while child.try_wait().expect("child status").is_none() {
        if started.elapsed() > deadline {
            child.kill().expect("child stops");
            child.wait().expect("child stops");
            panic!("{args:?} still ran after {deadline:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("child output")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn forecast_writes_one_row_per_step_with_model_columns() {
    let data = air_passengers();
    let mut args = vec![
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "nhits,nbeats,mlp,nhits",
    ];
    args.extend_from_slice(FAST);
    args.extend(["--threads", "1"]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "unique_id,ds,NHITS,NBEATS,MLP,NHITS1");
    assert_eq!(lines.len(), 13);
    assert!(
        lines[1].starts_with("AirPassengers,1961-01-01,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[12].starts_with("AirPassengers,1961-12-01,"),
        "{}",
        lines[12]
    );
    for line in &lines[1..] {
        for value in line.split(',').skip(2) {
            let v: f64 = value.parse().unwrap();
            assert!(v.is_finite() && v > 0.0 && v < 2000.0, "{line}");
        }
    }
}

#[test]
fn same_seed_same_forecasts_other_seed_other_forecasts() {
    let first = stdout(&run_small("forecast", &["nhits"], &["--seed", "7"]));
    let second = stdout(&run_small("forecast", &["nhits"], &["--seed", "7"]));
    assert_eq!(first, second);
    assert_ne!(
        first,
        stdout(&run_small("forecast", &["nhits"], &["--seed", "8"]))
    );
}

/// The forecast values of `forecast` on AirPassengers with a small `model` on `threads` threads.
fn small_forecast(model: &str, threads: &str) -> Vec<f64> {
    let out = run_small_on(threads, "forecast", &[model], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn two_threads_split_each_batch_and_stay_reproducible() {
    // About 110 distinct windows per step: two chunks of rows, one per thread. BiTCN draws
    // dropout masks (rate 0.5) several times per forward pass: each window's masks are the
    // same in either chunking.
    for model in ["nhits", "bitcn"] {
        let two = small_forecast(model, "2");
        assert_eq!(two, small_forecast(model, "2"), "{model}");
        let one = small_forecast(model, "1");
        assert_eq!(one.len(), 12);
        // Summing the gradient in two parts rounds differently, and only that.
        assert_ne!(one, two, "{model}");
        for (a, b) in one.iter().zip(&two) {
            assert!(
                (a - b).abs() < 0.05,
                "{model}, 1 thread: {one:?}\n2 threads: {two:?}"
            );
        }
    }
}

#[test]
fn fit_then_predict_matches_forecast_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("model");
    let data = air_passengers();
    let forecast = run_small(
        "forecast",
        &["nhits", "mlp"],
        &["--save", model_dir.to_str().unwrap()],
    );
    assert!(forecast.status.success(), "{}", stderr(&forecast));
    let out_file = dir.path().join("p.csv");
    let predicted = run(&[
        "predict",
        "--model-dir",
        model_dir.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        stdout(&forecast)
    );
    // Forecasting other data with the saved models.
    let with_data = run(&[
        "predict",
        "--model-dir",
        model_dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&with_data), stdout(&forecast));
}

#[test]
fn quantile_loss_adds_median_and_interval_columns() {
    let out = run_small("forecast", &["nhits"], &["--param", "loss=mqloss:80"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().next().unwrap(),
        "unique_id,ds,NHITS-median,NHITS-lo-80,NHITS-hi-80"
    );
    let bad = run_small("forecast", &["nhits"], &["--param", "loss=mqloss:120"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("level 120 is out of range"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn levels_add_conformal_intervals_that_predict_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("model");
    let save = ["--levels", "80,95", "--save", model_dir.to_str().unwrap()];
    let out = run_small("forecast", &["nhits"], &save);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.lines().next().unwrap(),
        "unique_id,ds,NHITS,NHITS-lo-95,NHITS-lo-80,NHITS-hi-80,NHITS-hi-95"
    );
    let dir_arg = model_dir.to_str().unwrap();
    let again = run(&["predict", "--model-dir", dir_arg, "--levels", "80,95"]);
    assert_eq!(stdout(&again), text);
    assert!(
        stderr(&out)
            .contains("intervals: conformal_pooled calibrated on 25 windows 1 step(s) apart"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cross_validation_with_levels_calibrates_before_its_windows_and_warns_when_thin() {
    let cv = run_small(
        "cv",
        &["nhits"],
        &["--n-windows", "2", "--levels", "80,99.9"],
    );
    assert!(cv.status.success(), "{}", stderr(&cv));
    let text = stdout(&cv);
    assert_eq!(
        text.lines().next().unwrap(),
        "unique_id,ds,cutoff,y,NHITS,NHITS-lo-99.9,NHITS-lo-80,NHITS-hi-80,NHITS-hi-99.9"
    );
    let err = stderr(&cv);
    assert!(
        err.contains("calibrated on 19 windows 1 step(s) apart"),
        "{err}"
    );
    assert!(
        err.contains("warning: NHITS: 99.9% intervals need at least 999 calibration scores")
            && err.contains("has 228, which supports 99.6% at most"),
        "{err}"
    );
    let nf_method = [
        "--n-windows",
        "2",
        "--levels",
        "80",
        "--conformal-method",
        "conformal_error",
    ];
    let nf = run_small("cv", &["nhits"], &nf_method);
    assert!(nf.status.success(), "{}", stderr(&nf));
    assert!(
        stderr(&nf).contains("conformal_error calibrated on 2 windows 1 step(s) apart"),
        "{}",
        stderr(&nf)
    );
    let bad = run_small(
        "cv",
        &["nhits"],
        &[
            "--n-windows",
            "2",
            "--levels",
            "80",
            "--conformal-method",
            "pooled",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown conformal method 'pooled'"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn fit_requires_save() {
    let out = run_small("fit", &["nhits"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("fit needs --save DIR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cross_validation_reports_cutoffs_and_actuals() {
    let out = run_small("cv", &["mlp"], &["--n-windows", "2", "--step-size", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "unique_id,ds,cutoff,y,MLP");
    assert_eq!(lines.len(), 1 + 2 * 12);
    // First window: cutoff is 18 months before the end (test size 12 + 6).
    assert!(
        lines[1].starts_with("AirPassengers,1959-07-01,1959-06-01,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[13].starts_with("AirPassengers,1960-01-01,1959-12-01,417,"),
        "{}",
        lines[13]
    );
}

#[test]
fn evaluate_scores_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let fc = write("f.csv", "unique_id,ds,M\na,3,2\na,4,6\n");
    let ac = write("a.csv", "unique_id,ds,y\na,3,4\na,4,4\n");
    let tr = write("t.csv", "unique_id,ds,y\na,1,1\na,2,3\n");
    let out = run(&[
        "evaluate",
        "--forecasts",
        fc.to_str().unwrap(),
        "--actuals",
        ac.to_str().unwrap(),
        "--train",
        tr.to_str().unwrap(),
        "--metrics",
        "mae,rmse,mase",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "metric,M\nmae,2.000000\nrmse,2.000000\nmase,1.000000\n"
    );
    let bands = write(
        "b.csv",
        "unique_id,ds,M,M-lo-90,M-hi-90\na,3,2,1,5\na,4,6,5,9\n",
    );
    let out = run(&[
        "evaluate",
        "--forecasts",
        bands.to_str().unwrap(),
        "--actuals",
        ac.to_str().unwrap(),
        "--metrics",
        "mae,coverage,width",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "metric,M\nmae,2.000000\ncoverage-90,50.000000\nwidth-90,4.000000\n"
    );
}

/// Each bad input: exit code 2, the expected message, and no output file.
#[test]
fn bad_input_is_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"unique_id,ds,y\n", "header but no data rows"),
        (
            "misnamed.csv",
            b"id,ds,y\na,1,2\n",
            "missing required column(s) 'unique_id'",
        ),
        (
            "semi.csv",
            b"unique_id;ds;y\na;1;2\n",
            "looks delimited by ';'",
        ),
        (
            "text.csv",
            b"unique_id,ds,y\na,1,2\na,2,abc\n",
            "line 3: series 'a': column 'y' holds 'abc', which is not a number",
        ),
        (
            "nan.csv",
            b"unique_id,ds,y\na,1,2\na,2,NaN\n",
            "column 'y' holds 'NaN'; NaN and infinite values are not allowed",
        ),
        (
            "inf.csv",
            b"unique_id,ds,y\na,1,2\na,2,-inf\n",
            "holds '-inf'",
        ),
        (
            "blank.csv",
            b"unique_id,ds,y\na,1,2\na,2,\n",
            "line 3: series 'a': column 'y' is empty",
        ),
        (
            "ds.csv",
            b"unique_id,ds,y\na,2020-01-01,2\na,2020-13-45,3\n",
            "column 'ds' holds '2020-13-45'",
        ),
        (
            "mixed.csv",
            b"unique_id,ds,y\na,1,2\na,2020-01-02,3\n",
            "mixes integer and date values",
        ),
        (
            "dup.csv",
            b"unique_id,ds,y\na,1,2\na,1,3\n",
            "series 'a' has two rows with ds 1: lines 2 and 3",
        ),
        (
            "gap.csv",
            b"unique_id,ds,y\na,1,2\na,2,3\na,4,3\n",
            "ds jumps from 2 (line 3) to 4 (line 4)",
        ),
        (
            "fields.csv",
            b"unique_id,ds,y\na,1,2\na,2,3,4\n",
            "line 3: expected 3 fields",
        ),
        (
            "utf8.csv",
            b"unique_id,ds,y\na,1,2\n\xff,2,3\n",
            "line 3: column 'unique_id' is not valid UTF-8",
        ),
    ];
    let out_file = dir.path().join("out.csv");
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = run(&[
            "forecast",
            "--data",
            path.to_str().unwrap(),
            "--horizon",
            "2",
            "--max-steps",
            "1",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{name}: {err}");
        assert!(err.contains(name), "{name} is not named: {err}");
        assert!(!out_file.exists(), "{name}: output written");
    }
}

#[test]
fn bad_arguments_exit_with_2() {
    let data = air_passengers();
    let d = data.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["forecast", "--data", "missing.csv", "--horizon", "2"],
            "missing.csv",
        ),
        (
            &["forecast", "--data", d, "--horizon", "0"],
            "--horizon must be at least 1",
        ),
        (
            &["forecast", "--data", d, "--horizon", "2", "--device", "tpu"],
            "unknown device 'tpu': use cpu, cuda or cuda:N",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--input-size",
                "0",
            ],
            "--input-size must be at least 1",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--input-size",
                "-2",
            ],
            "--input-size must be at least 1 or -1, got -2",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--model",
                "prophet",
            ],
            "unknown model 'prophet'",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--model",
                "itransformer",
            ],
            "iTransformer forecasts its series together: set n_series",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--model",
                "itransformer",
                "--param",
                "n_series=2",
            ],
            "n_series=2 series together, but the data has 1: set n_series to 1",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--param",
                "n_blocks",
            ],
            "must look like KEY=VALUE",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--model",
                "mlp",
                "--param",
                "n_blocks=[1]",
            ],
            "MLP has no parameter 'n_blocks'",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--scaler",
                "zscore",
            ],
            "unknown scaler_type 'zscore'",
        ),
        (
            &[
                "forecast",
                "--data",
                d,
                "--horizon",
                "2",
                "--freq",
                "fortnight",
            ],
            "fortnight",
        ),
        (
            &["forecast", "--data", d, "--horizon", "2", "--freq", "D"],
            "frequency",
        ),
        (
            &["predict", "--model-dir", "/nonexistent/model"],
            "no such checkpoint directory",
        ),
        (
            &[
                "cv",
                "--data",
                d,
                "--horizon",
                "2",
                "--n-windows",
                "3",
                "--step-size",
                "18446744073709551615",
            ],
            "too large",
        ),
        (&["forecast", "--horizon", "2"], "--data"),
    ];
    for (args, expected) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn forecast_draws_a_plot_with_interval_bands() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["plot.svg", "plot.png"] {
        let path = dir.path().join(name);
        let out = run_small(
            "forecast",
            &["nhits"],
            &["--levels", "80,95", "--plot", path.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            std::fs::metadata(&path).unwrap().len() > 1000,
            "{name} is too small"
        );
        if name.ends_with(".svg") {
            let svg = std::fs::read_to_string(&path).unwrap();
            for text in ["AirPassengers", "NHITS 80%", "NHITS 95%", "history"] {
                assert!(svg.contains(text), "{text} not in the SVG");
            }
        }
    }
    let bad = dir.path().join("plot.jpg");
    let out = run_small("forecast", &["nhits"], &["--plot", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must end in .svg or .png"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn exogenous_options_reach_the_models() {
    let dir = tempfile::tempdir().unwrap();
    // Calendar and lag features need no extra files.
    let out = run_small(
        "forecast",
        &["nhits", "mlp"],
        &["--calendar", "month", "--features", "lag:12,rolling_mean:3"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1 + 12);

    // A data column as future exogenous needs its future values before any training.
    let data = dir.path().join("data.csv");
    let mut text = String::from("unique_id,ds,y,promo\n");
    for t in 0..60 {
        text.push_str(&format!("s,{},{},{}\n", t + 1, 10 + t % 7, t % 2));
    }
    std::fs::write(&data, text).unwrap();
    let base = [
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--horizon",
        "3",
        "--input-size",
        "6",
        "--model",
        "mlp",
        "--param",
        "hidden_size=16",
        "--max-steps",
        "20",
        "--threads",
        "1",
        "--futr-exog",
        "promo",
    ];
    let out = run(&base);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("CLI --futr FILE.csv"),
        "{}",
        stderr(&out)
    );
    let futr = dir.path().join("futr.csv");
    std::fs::write(&futr, "unique_id,ds,promo\ns,61,0\ns,62,1\n").unwrap();
    let mut short = base.to_vec();
    short.extend(["--futr", futr.to_str().unwrap()]);
    let out = run(&short);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("series 's' has no future value of 'promo' at ds 63"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&futr, "unique_id,ds,promo\ns,61,0\ns,62,1\ns,63,0\n").unwrap();
    let out = run(&short);
    assert!(out.status.success(), "{}", stderr(&out));

    // Static values: a mistyped id leaves the series without its values.
    let statics = dir.path().join("static.csv");
    std::fs::write(&statics, "unique_id,size\nS,1\nt,2\n").unwrap();
    let mut with_static = short.clone();
    with_static.extend(["--stat-exog", "size", "--static", statics.to_str().unwrap()]);
    let out = run(&with_static);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("no static values for series 's' (the static table has 2 series: S, t)"),
        "{}",
        stderr(&out)
    );

    // NBEATS reads no exogenous columns.
    let out = run_small("forecast", &["nbeats"], &["--hist-exog", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "none of the models reads them; models that do: MLP, NBEATSx, NHITS, RNN, LSTM, GRU, TCN, BiTCN, DilatedRNN, DeepAR, TiDE, VanillaTransformer, Informer, Autoformer, FEDformer, TimesNet, iTransformer, TSMixerx, TFT, Chronos2"
        ),
        "{}",
        stderr(&out)
    );
    // VanillaTransformer reads future columns only.
    let out = run_small("forecast", &["vanilla_transformer"], &["--hist-exog", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("historic exogenous columns were given but none of the models reads them"),
        "{}",
        stderr(&out)
    );
}

/// `predict` from a model fitted once, with `extra` arguments.
fn predict_from(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["predict", "--model-dir", model.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

/// A small NHITS fitted and saved into `dir/model`.
fn saved_model(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    let fit = run_small("fit", &["nhits"], &["--save", model.to_str().unwrap()]);
    assert!(fit.status.success(), "{}", stderr(&fit));
    model
}

#[test]
fn out_dash_and_a_link_to_stdout_print_what_no_out_prints() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    // What /dev/stdout is on Linux, made here so that a regression cannot replace the real one.
    let stdout_link = dir.path().join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout_link).unwrap();
    let plain = predict_from(&model, &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(stdout(&plain).starts_with("unique_id,ds,NHITS\n"));
    for target in ["-", stdout_link.to_str().unwrap()] {
        let out = predict_from(&model, &["--out", target]);
        assert!(out.status.success(), "{target}: {}", stderr(&out));
        assert_eq!(out.stdout, plain.stdout, "--out {target}");
    }
    let link = std::fs::symlink_metadata(&stdout_link).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
}

#[test]
fn out_to_a_device_or_a_fifo_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let expected = predict_from(&model, &[]).stdout;

    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(reader_path).unwrap());
    let out = predict_from(&model, &["--out", fifo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        reader.join().unwrap(),
        expected,
        "the FIFO's reader got other bytes"
    );
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    let null = dir.path().join("null");
    let made = Command::new("mknod")
        .args([null.to_str().unwrap(), "c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success())
        && std::fs::OpenOptions::new().write(true).open(&null).is_ok();
    if !made {
        // Written to the real standard error, which the test harness does not capture.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: --out to a device node: mknod needs root here"
        );
        return;
    }
    let out = predict_from(&model, &["--out", null.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(meta.file_type().is_char_device(), "the device was replaced");
}

#[test]
fn unwritable_outputs_exit_with_2_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("results");
    std::fs::create_dir(&folder).unwrap();
    let missing = dir.path().join("missing").join("out.csv");
    let missing_plot = dir.path().join("missing").join("plot.svg");
    let blocker = dir.path().join("plain-file");
    std::fs::write(&blocker, "x").unwrap();
    let f = folder.to_str().unwrap();
    let m = missing.to_str().unwrap();
    let b = blocker.to_str().unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("fit", &["--save", b], "exists and is not a directory"),
        ("forecast", &["--out", f], "is a directory, not a file"),
        ("forecast", &["--out", m], "does not exist"),
        (
            "forecast",
            &["--plot", missing_plot.to_str().unwrap()],
            "does not exist",
        ),
        ("cv", &["--n-windows", "1", "--out", f], "is a directory"),
    ];
    let data = air_passengers();
    for (command, extra, expected) in cases {
        // A fit of a million steps cannot end within the deadline: only a check made before
        // training can.
        let mut args = vec![*command, "--data", data.to_str().unwrap(), "--model", "mlp"];
        args.extend([
            "--horizon",
            "12",
            "--input-size",
            "24",
            "--max-steps",
            "1000000",
        ]);
        args.extend_from_slice(extra);
        let out = run_within(&args, std::time::Duration::from_secs(60));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command} {extra:?}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(err.contains(expected), "{command} {extra:?}: {err}");
        assert!(
            err.contains(extra[extra.len() - 1]),
            "the path is not named: {err}"
        );
    }
    let model = saved_model(dir.path());
    let out = predict_from(&model, &["--out", f]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(std::fs::metadata(&folder).unwrap().is_dir());
    assert!(std::fs::read_dir(&folder).unwrap().next().is_none());
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn out_through_a_link_writes_its_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.csv");
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = run_small(
        "cv",
        &["mlp"],
        &["--n-windows", "1", "--out", link.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.starts_with("unique_id,ds,cutoff,y,MLP\n"), "{text}");
}

#[test]
fn info_names_the_cpu_and_the_kernels_chosen_for_it() {
    let out = run(&["info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .to_string()
    };
    let simd = field("simd");
    let features: Vec<&str> = simd.split_whitespace().collect();
    // The AVX-512 kernels are built in by default and used wherever the CPU has AVX-512F.
    let built = cfg!(feature = "avx512");
    assert_eq!(field("avx512_build"), built.to_string());
    let expected = if built && features.contains(&"avx512f") {
        "avx512"
    } else if features.contains(&"fma") {
        "avx2-fma"
    } else if features.contains(&"neon") {
        "neon"
    } else {
        "scalar"
    };
    assert_eq!(field("kernel_path"), expected);
    assert!(!field("cpu").is_empty());
    assert_eq!(field("cuda_build"), cfg!(feature = "cuda").to_string());
}

/// `--device cuda` on a build without the cuda feature stops before reading or training, with
/// exit code 2 and what to do.
#[test]
#[cfg_attr(feature = "cuda", ignore = "this build has CUDA")]
fn cuda_device_on_a_cpu_build_says_how_to_get_one() {
    let data = air_passengers();
    let out = run(&[
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--horizon",
        "2",
        "--device",
        "cuda:1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("device cuda:1: this build has no CUDA support"),
        "{err}"
    );
    assert!(err.contains("--features cuda"), "{err}");
    assert!(stdout(&out).is_empty());
}

/// A wide table of `rows` hourly rows: a daily sine and a ramp.
fn wide_file(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join("wide.csv");
    let mut text = String::from("date,sine,ramp\n");
    for t in 0..rows {
        let date = format!("2020-01-{:02} {:02}:00:00", 1 + t / 24, t % 24);
        let sine = (t as f64 * std::f64::consts::PI / 12.0).sin();
        text += &format!("{date},{sine},{}\n", t as f64 * 0.5);
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn longhorizon_scores_every_model_on_the_test_windows() {
    let dir = tempfile::tempdir().unwrap();
    let data = wide_file(dir.path(), 200);
    let out = dir.path().join("results.csv");
    let args = [
        "longhorizon",
        "--data",
        data.to_str().unwrap(),
        "--split",
        "60/20/20",
        "--horizon",
        "4",
        "--input-size",
        "12",
        "--model",
        "dlinear,nlinear",
        "--max-steps",
        "200",
        "--learning-rate",
        "0.01",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let run_ok = run(&args);
    assert!(run_ok.status.success(), "{}", stderr(&run_ok));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "model,horizon,mse,mae,windows");
    assert_eq!(lines.len(), 3, "{text}");
    // 40 test rows give 37 windows of 4 steps: one whole batch of 32 is scored.
    for (line, model) in lines[1..].iter().zip(["DLinear", "NLinear"]) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (fields[0], fields[1], fields[4]),
            (model, "4", "32"),
            "{line}"
        );
        let (mse, mae): (f64, f64) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
        // Scaled on the train rows, a sine and a ramp are easy: far below the variance (1).
        assert!(
            mse > 0.0 && mse < 0.5 && mae > 0.0 && mae < mse.sqrt() + 1e-9,
            "{line}"
        );
    }
    let mut all = args.to_vec();
    all.push("--all-windows");
    let every = run(&all);
    assert!(every.status.success(), "{}", stderr(&every));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().nth(1).unwrap().ends_with(",37"), "{text}");
}

#[test]
fn longhorizon_refuses_what_the_protocol_decides() {
    let dir = tempfile::tempdir().unwrap();
    let data = wide_file(dir.path(), 200);
    let base = [
        "longhorizon",
        "--data",
        data.to_str().unwrap(),
        "--input-size",
        "12",
        "--model",
        "nlinear",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(&args)
    };
    let levels = with(&["--horizon", "4", "--split", "60/20/20", "--levels", "80"]);
    assert_eq!(levels.status.code(), Some(2));
    assert!(
        stderr(&levels).contains("--levels is not used by longhorizon"),
        "{}",
        stderr(&levels)
    );
    let short = with(&["--horizon", "4", "--split", "etth"]);
    assert_eq!(short.status.code(), Some(2));
    assert!(
        stderr(&short).contains("needs 8640 train, 2880 validation and 2880 test rows")
            && stderr(&short).contains("the table has 200"),
        "{}",
        stderr(&short)
    );
    let quantiles = with(&[
        "--horizon",
        "4",
        "--split",
        "60/20/20",
        "--param",
        "loss=mqloss:80",
    ]);
    assert_eq!(quantiles.status.code(), Some(2));
    assert!(
        stderr(&quantiles).contains("scores point forecasts, and NLinear-median is not one"),
        "{}",
        stderr(&quantiles)
    );
    let split = with(&["--horizon", "4", "--split", "80/10"]);
    assert_eq!(split.status.code(), Some(2));
    assert!(
        stderr(&split).contains("unknown split '80/10'"),
        "{}",
        stderr(&split)
    );
    let horizon = with(&["--split", "60/20/20", "--horizon", "41"]);
    assert_eq!(horizon.status.code(), Some(2));
    assert!(
        stderr(&horizon).contains("between 1 and the 40 test rows, got 41"),
        "{}",
        stderr(&horizon)
    );
}

#[test]
fn bench_counts_a_multivariate_window_as_one_row_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("three.csv");
    let mut csv = String::from("unique_id,ds,y\n");
    for id in ["a", "b", "c"] {
        for t in 0..60 {
            csv += &format!(
                "{id},{}-{:02}-01,{}\n",
                2000 + t / 12,
                t % 12 + 1,
                (t * 7) % 13
            );
        }
    }
    std::fs::write(&data, csv).unwrap();
    let out = run(&[
        "bench",
        "--data",
        data.to_str().unwrap(),
        "--horizon",
        "6",
        "--input-size",
        "12",
        "--model",
        "itransformer",
        "--steps",
        "2",
        "--windows-batch-size",
        "8",
        "--threads",
        "1",
        "--param",
        "n_series=3",
        "--param",
        "hidden_size=16",
        "--param",
        "d_ff=16",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "windows_per_step: 8",
        "rows_per_step: 24",
        "predict_all_series: 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }
    // A multivariate model forecasts no series alone.
    assert!(!text.contains("predict_one_series_ms"), "{text}");
}

#[test]
fn explain_writes_tfts_weights_and_predict_reproduces_them() {
    let dir = tempfile::tempdir().unwrap();
    let (model_dir, explained) = (dir.path().join("model"), dir.path().join("e.json"));
    let tft = ["--param", "hidden_size=8", "--param", "n_head=2"];
    let mut extra = vec![
        "--explain",
        explained.to_str().unwrap(),
        "--save",
        model_dir.to_str().unwrap(),
    ];
    extra.extend(tft);
    let forecast = run_small("forecast", &["tft", "mlp"], &extra);
    assert!(forecast.status.success(), "{}", stderr(&forecast));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&explained).unwrap()).unwrap();
    let models = json.as_array().unwrap();
    assert_eq!(models.len(), 1, "only TFT explains: {json}");
    assert_eq!(models[0]["model"], "TFT");
    let series = &models[0]["series"][0];
    assert_eq!(series["unique_id"], "AirPassengers");
    let attention = series["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 36);
    let past = series["past_importance"].as_array().unwrap();
    assert_eq!(past.len(), 24);
    let row_sum: f64 = past[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((row_sum - 1.0).abs() < 1e-5, "{row_sum}");

    let again = dir.path().join("again.json");
    let predicted = run(&[
        "predict",
        "--model-dir",
        model_dir.to_str().unwrap(),
        "--explain",
        again.to_str().unwrap(),
    ]);
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&explained).unwrap()
    );
}

#[test]
fn explain_without_an_explaining_model_or_outside_forecasting_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let explained = dir.path().join("e.json");
    let path = explained.to_str().unwrap();
    let out = run_small("forecast", &["mlp"], &["--explain", path]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("none of the models (MLP) explains its forecasts; models that do: TFT"),
        "{}",
        stderr(&out)
    );
    assert!(!explained.exists());
    let out = run_small("forecast", &["tft"], &["--explain", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--explain and the forecasts would both be written to standard output"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    let out = run_small("cv", &["tft"], &["--n-windows", "1", "--explain", path]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--explain is used by forecast and predict, not by cv"),
        "{}",
        stderr(&out)
    );
    assert!(!explained.exists());
}

/// The small Chronos-Bolt with random weights that the library's tests compare with the
/// reference implementation, copied to `to` (so that a test can delete it).
fn chronos_fixture_copy(to: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../neuro-divergent/tests/fixtures/chronos_bolt_small_random");
    std::fs::create_dir_all(to).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture.join(file), to.join(file)).unwrap();
    }
    to.to_path_buf()
}

/// `command` on AirPassengers with Chronos-Bolt reading the weights in `weights`, h=12, a
/// context of 96, and `extra`.
fn run_chronos(command: &str, weights: &Path, extra: &[&str]) -> Output {
    let data = air_passengers();
    let path_param = format!("model_path={}", weights.display());
    let mut args = vec![
        command,
        "--data",
        data.to_str().unwrap(),
        "--model",
        "chronos_bolt",
        "--horizon",
        "12",
        "--input-size",
        "96",
        "--param",
        &path_param,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn chronos_bolt_forecasts_untrained_and_its_checkpoint_no_longer_needs_the_weights_directory() {
    let dir = tempfile::tempdir().unwrap();
    let weights = chronos_fixture_copy(&dir.path().join("chronos"));
    let model_dir = dir.path().join("saved");
    let forecast = run_chronos(
        "forecast",
        &weights,
        &["--save", model_dir.to_str().unwrap()],
    );
    assert!(forecast.status.success(), "{}", stderr(&forecast));
    let csv = stdout(&forecast);
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "unique_id,ds,ChronosBolt-median,ChronosBolt-lo-80,ChronosBolt-lo-60,ChronosBolt-lo-40,\
         ChronosBolt-lo-20,ChronosBolt-hi-20,ChronosBolt-hi-40,ChronosBolt-hi-60,ChronosBolt-hi-80"
    );
    assert_eq!(csv.lines().count(), 13);
    // The checkpoint holds the weights: predicting from it needs no model directory.
    std::fs::remove_dir_all(&weights).unwrap();
    let predicted = run(&["predict", "--model-dir", model_dir.to_str().unwrap()]);
    assert!(predicted.status.success(), "{}", stderr(&predicted));
    assert_eq!(stdout(&predicted), csv);
    // Refitting does need it, and says where it looked.
    let again = run_chronos("forecast", &weights, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("is not a directory with config.json"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn chronos_bolt_cross_validates_without_training() {
    let dir = tempfile::tempdir().unwrap();
    let weights = chronos_fixture_copy(&dir.path().join("chronos"));
    let out = run_chronos("cv", &weights, &["--n-windows", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(csv.lines().next().unwrap().contains("cutoff"));
    assert!(csv.lines().next().unwrap().contains("ChronosBolt-hi-80"));
    assert_eq!(csv.lines().count(), 1 + 2 * 12);
}

#[test]
fn model_path_applies_before_the_parameters_that_adjust_it() {
    let dir = tempfile::tempdir().unwrap();
    let weights = chronos_fixture_copy(&dir.path().join("chronos"));
    // Given before model_path, context_length is still set after config.json's 96: 50 is
    // too short for the context of 96.
    let data = air_passengers();
    let path_param = format!("model_path={}", weights.display());
    let out = run(&[
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "chronos_bolt",
        "--horizon",
        "12",
        "--input-size",
        "96",
        "--param",
        "context_length=50",
        "--param",
        &path_param,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("input_size 96 exceeds the model's context_length 50"),
        "{}",
        stderr(&out)
    );
}

fn format_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../neuro-divergent/tests/fixtures/formats")
        .join(name)
}

/// The `MLP` column of a Parquet forecast file.
fn parquet_column(path: &Path, name: &str) -> Vec<f64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let bytes = bytes::Bytes::from(std::fs::read(path).expect("parquet output"));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .expect("a parquet file")
        .build()
        .expect("a reader");
    reader
        .flat_map(|batch| {
            let batch = batch.expect("a batch");
            let column = batch.column_by_name(name).expect("the column").clone();
            column.as_primitive::<Float64Type>().values().to_vec()
        })
        .collect()
}

/// A forecast CSV's `MLP` column.
fn csv_column(text: &str) -> Vec<f64> {
    text.lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn parquet_in_parquet_out_equals_the_csv_path() {
    let dir = tempfile::tempdir().unwrap();
    let csv_out = dir.path().join("f.csv");
    let out = run_small("forecast", &["mlp"], &["--out", csv_out.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let parquet_out = dir.path().join("f.parquet");
    let data = format_fixture("air_polars.parquet");
    let mut args = vec![
        "forecast",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "mlp",
        "--threads",
        "1",
        "--out",
        parquet_out.to_str().unwrap(),
    ];
    args.extend_from_slice(FAST);
    args.extend(small(&["mlp"]));
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = csv_column(&std::fs::read_to_string(&csv_out).unwrap());
    assert_eq!(expected.len(), 12);
    assert_eq!(parquet_column(&parquet_out, "MLP"), expected);
}

#[test]
fn standard_input_and_output_take_named_formats() {
    use std::process::Stdio;
    let data = std::fs::read(format_fixture("air_pandas.json")).unwrap();
    let mut args = vec![
        "forecast",
        "--data",
        "-",
        "--data-format",
        "json",
        "--format",
        "jsonl",
        "--model",
        "mlp",
        "--threads",
        "1",
    ];
    args.extend_from_slice(FAST);
    args.extend(small(&["mlp"]));
    let mut child = bin()
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    // pandas wrote "1949-01-01T00:00:00.000": the forecasts come back in that style.
    assert_eq!(lines[0]["ds"], "1961-01-01T00:00:00.000");
    assert!(lines[0]["MLP"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_formats_and_bad_columnar_data_exit_2() {
    let out = run_small("forecast", &["mlp"], &["--format", "xlsx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown format 'xlsx'"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("step"), "refused before training");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, "unique_id,ds,y\na,1,2\n").unwrap();
    let out = run(&[
        "forecast",
        "--data",
        bad.to_str().unwrap(),
        "--horizon",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a readable Parquet file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_summarises_a_panel_the_same_in_every_format() {
    let summary = |path: &Path| -> serde_json::Value {
        let out = run(&["check", "--data", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        // Validation is part of the read.
        let read = summary["read_seconds"].as_f64().unwrap();
        let validate = summary["validate_seconds"].as_f64().unwrap();
        assert!(validate > 0.0 && validate <= read, "{summary}");
        summary
    };
    let csv = summary(&air_passengers());
    assert_eq!(
        (csv["series"].as_u64(), csv["rows"].as_u64()),
        (Some(1), Some(144))
    );
    assert_eq!(csv["freq"], "M");
    assert_eq!(csv["first_ds"], "1949-01-01");
    for name in [
        "air_polars.parquet",
        "air_polars.jsonl",
        "air_pandas.parquet",
    ] {
        let other = summary(&format_fixture(name));
        assert_eq!(other["sha256"], csv["sha256"], "{name}");
    }
    let bad = run(&["check", "--data", "-", "--data-format", "xml"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown format 'xml'"),
        "{}",
        stderr(&bad)
    );
}

/// The optimizer and schedule are chosen with NeuralForecast's parameter names; misspelt ones
/// exit 2 naming what is accepted, before any training.
#[test]
fn optimizers_and_schedules_are_parameters() {
    let chosen = run_small(
        "forecast",
        &["mlp"],
        &[
            "--param",
            "optimizer=adamw",
            "--param",
            r#"optimizer_kwargs={"weight_decay":0.05}"#,
            "--param",
            "lr_scheduler=onecycle",
        ],
    );
    assert!(chosen.status.success(), "{}", stderr(&chosen));
    let default = run_small("forecast", &["mlp"], &[]);
    assert_ne!(stdout(&chosen), stdout(&default));
    let cases: [(&[&str], &str); 3] = [
        (
            &["--param", "optimizer=lion"],
            "available optimizers are adam, adamw, sgd, rmsprop",
        ),
        (
            &[
                "--param",
                "lr_scheduler=cosine",
                "--param",
                r#"lr_scheduler_kwargs={"T_max":0}"#,
            ],
            "T_max must be at least 1",
        ),
        (
            &["--param", r#"optimizer_kwargs={"lr":0.1}"#],
            "set the learning rate with learning_rate",
        ),
    ];
    for (extra, expected) in cases {
        let out = run_small("forecast", &["mlp"], extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
}
