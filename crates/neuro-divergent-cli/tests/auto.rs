//! The `auto_*` models from the command line: a search before the fit, its trials table, its
//! history in the checkpoint, and the options refused by name.

mod support;

use support::{assert_user_error, data, run, text};

/// `command` on AirPassengers with a quick MLP search and `extra`.
fn search(command: &str, extra: &[&str]) -> std::process::Output {
    let data = data();
    let mut args = vec![
        command,
        "--data",
        &data,
        "--model",
        "auto_mlp",
        "--horizon",
        "12",
        "--max-steps",
        "10",
        "--num-samples",
        "3",
        "--threads",
        "2",
        "--param",
        "hidden_size=32",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn a_search_forecasts_under_the_auto_name_and_keeps_its_trials() {
    let dir = tempfile::tempdir().unwrap();
    let trials = dir.path().join("trials.json");
    let table = dir.path().join("trials.csv");
    let save = dir.path().join("model");
    let out = search(
        "forecast",
        &[
            "--search",
            "tpe",
            "--trials",
            trials.to_str().unwrap(),
            "--save",
            save.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let forecasts = text(&out.stdout);
    assert!(
        forecasts.starts_with("unique_id,ds,AutoMLP\n"),
        "{forecasts}"
    );
    assert_eq!(forecasts.lines().count(), 13);
    assert!(text(&out.stderr).contains("AutoMLP: best of 3 trials is trial"));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trials).unwrap()).unwrap();
    let history = &json["AutoMLP"];
    assert_eq!(history["trials"].as_array().unwrap().len(), 3);
    assert_eq!(history["algorithm"], "tpe");
    assert_eq!(history["val_size"], 12);
    // --max-steps and hidden_size were given: the search leaves them alone.
    let space = history["space"].as_object().unwrap();
    assert!(!space.contains_key("max_steps") && !space.contains_key("hidden_size"));
    assert!(space.contains_key("learning_rate"));
    let best = history["best"].as_u64().unwrap() as usize;
    let chosen = &history["trials"][best]["config"];

    // The checkpoint keeps the history and the chosen configuration.
    let manifest = std::fs::read_to_string(save.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"searches\""), "{manifest}");
    let predicted = run(&["predict", "--model-dir", save.to_str().unwrap()]);
    assert_eq!(text(&predicted.stdout), forecasts);
    let envelope: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let model = &envelope["body"]["models"][0];
    assert_eq!(model["alias"], "AutoMLP");
    assert_eq!(model["train"]["learning_rate"], chosen["learning_rate"]);
    assert_eq!(
        model["input_size"],
        12 * chosen["input_size_multiplier"].as_u64().unwrap()
    );

    // The same search as CSV: a row per trial, one marked best.
    let again = search(
        "forecast",
        &["--search", "tpe", "--trials", table.to_str().unwrap()],
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout), forecasts, "a seeded search repeats");
    let csv = std::fs::read_to_string(&table).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("model,trial,best,state,loss,steps,seconds,message,"));
    assert_eq!(lines.len(), 4);
    assert_eq!(lines.iter().filter(|l| l.contains(",true,")).count(), 1);
}

#[test]
fn two_searches_of_one_model_and_parameters_aimed_at_the_auto_name() {
    let dir = tempfile::tempdir().unwrap();
    let trials = dir.path().join("trials.json");
    let data = data();
    let out = run(&[
        "forecast",
        "--data",
        &data,
        "--model",
        "auto_mlp,auto_mlp",
        "--horizon",
        "12",
        "--max-steps",
        "5",
        "--num-samples",
        "2",
        "--threads",
        "2",
        "--param",
        "hidden_size=16",
        "--param",
        "auto_mlp.learning_rate=0.01",
        "--trials",
        trials.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("unique_id,ds,AutoMLP,AutoMLP1\n"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trials).unwrap()).unwrap();
    for name in ["AutoMLP", "AutoMLP1"] {
        let history = &json[name];
        assert_eq!(history["trials"].as_array().unwrap().len(), 2, "{name}");
        // The learning rate was set for the auto model: the search leaves it alone.
        assert!(history["space"].get("learning_rate").is_none(), "{name}");
    }
}

#[test]
fn cross_validation_searches_before_its_test_windows() {
    let out = search("cv", &["--n-windows", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("unique_id,ds,cutoff,y,AutoMLP\n"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 25);
}

#[test]
fn bad_search_options_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("space.json");
    std::fs::write(&space, r#"{"hiden_size": {"choice": [8, 16]}}"#).unwrap();
    let out = search("forecast", &["--space", space.to_str().unwrap()]);
    assert_user_error(
        &out,
        "unknown key",
        "search space key 'hiden_size': MLP has no parameter",
    );

    std::fs::write(&space, r#"{"learning_rate": {"loguniform": [0, 1]}}"#).unwrap();
    let out = search("forecast", &["--space", space.to_str().unwrap()]);
    assert_user_error(&out, "bad bounds", "needs a positive lower bound");

    std::fs::write(&space, "{not json").unwrap();
    let out = search("forecast", &["--space", space.to_str().unwrap()]);
    assert_user_error(&out, "bad JSON", "not a JSON search space");

    let out = search("forecast", &["--search", "grid"]);
    assert_user_error(
        &out,
        "unknown search",
        "unknown search 'grid': available searches are random, tpe",
    );

    let out = search("forecast", &["--trials", "trials.txt"]);
    assert_user_error(&out, "table format", "written to a .csv or .json file");

    let out = search("forecast", &["--halving-grace", "5"]);
    assert_user_error(
        &out,
        "grace without halving",
        "--halving-grace applies to successive halving",
    );

    let out = search("forecast", &["--trials", "-"]);
    assert_user_error(&out, "trials to stdout", "written to a .csv or .json file");

    let data = data();
    let out = run(&[
        "longhorizon",
        "--data",
        &data,
        "--horizon",
        "12",
        "--model",
        "auto_nhits",
    ]);
    assert_user_error(
        &out,
        "longhorizon",
        "auto models (--model auto_…) is not used by longhorizon",
    );

    let plain = [
        "forecast",
        "--data",
        &data,
        "--model",
        "mlp",
        "--horizon",
        "12",
    ];
    let out = run(&[&plain[..], &["--space", space.to_str().unwrap()]].concat());
    assert_user_error(&out, "no auto model", "--space applies to auto models");

    let out = run(&[
        "forecast",
        "--data",
        &data,
        "--model",
        "auto_chronosbolt",
        "--horizon",
        "12",
    ]);
    assert_user_error(
        &out,
        "no default space",
        "ChronosBolt has no default search space",
    );
}

/// `forecast` on AirPassengers with small fast models `models` and `extra`.
fn ensemble(models: &str, extra: &[&str]) -> std::process::Output {
    let data = data();
    let mut args = vec![
        "forecast",
        "--data",
        &data,
        "--model",
        models,
        "--horizon",
        "12",
        "--input-size",
        "24",
        "--max-steps",
        "10",
        "--threads",
        "1",
        "--param",
        "hidden_size=32",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The values of column `name` of a CSV table.
fn column(table: &str, name: &str) -> Vec<f64> {
    let mut lines = table.lines();
    let index = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {table}"));
    lines
        .map(|l| l.split(',').nth(index).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn an_ensemble_forecasts_its_members_combination() {
    let out = ensemble(
        "mlp,nhits",
        &[
            "--ensemble",
            "mean",
            "--ensemble-members",
            "--param",
            "nhits.mlp_units=[[32,32]]",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("unique_id,ds,MLP,NHITS,Ensemble\n"),
        "{table}"
    );
    let (a, b, mean) = (
        column(&table, "MLP"),
        column(&table, "NHITS"),
        column(&table, "Ensemble"),
    );
    for i in 0..12 {
        // The CSV's shortest round-trip text of each value.
        assert!((mean[i] - (a[i] + b[i]) / 2.0).abs() < 1e-9 * mean[i].abs());
    }
    assert_ne!(a, b);

    // N-BEATS-style: one model over look-backs and seeds, combined by the median.
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("model");
    let out = ensemble(
        "mlp",
        &[
            "--ensemble-lookbacks",
            "1,2",
            "--ensemble-seeds",
            "1,2",
            "--save",
            save.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("unique_id,ds,Ensemble\n"), "{table}");
    let predicted = run(&["predict", "--model-dir", save.to_str().unwrap()]);
    assert_eq!(text(&predicted.stdout), table);
    let manifest = std::fs::read_to_string(save.join("manifest.json")).unwrap();
    for member in [
        "MLP-in1h-s1",
        "MLP-in1h-s2",
        "MLP-in2h-s1",
        "MLP-in2h-s2",
        "\"median\"",
    ] {
        assert!(manifest.contains(member), "{member}");
    }
}

#[test]
fn bad_ensembles_are_refused_by_name() {
    for (models, extra, expected) in [
        (
            "mlp,nhits",
            &["--ensemble", "avg"][..],
            "unknown ensemble 'avg': available ensembles are mean, median",
        ),
        (
            "mlp",
            &["--ensemble", "mean"][..],
            "an ensemble needs at least two models",
        ),
        (
            "mlp,nhits",
            &["--ensemble-members"][..],
            "--ensemble-members needs an ensemble",
        ),
        ("mlp", &["--ensemble-losses", "smape,nope"][..], "nope"),
        ("mlp", &["--ensemble-lookbacks", "0,2"][..], "at least 1"),
        (
            "auto_mlp",
            &["--ensemble-seeds", "1,2"][..],
            "not auto models",
        ),
        (
            "mlp,nhits",
            &["--ensemble", "mean", "--param", "mlp.loss=mqloss:80"][..],
            "MLP is trained with",
        ),
    ] {
        let out = ensemble(models, extra);
        assert_user_error(&out, &format!("{models} {extra:?}"), expected);
    }
}

/// `--static` is read once, before the search, and its values reach the trials and the final
/// fit: a table naming the series forecasts; one that misses it, or whose value is empty, is
/// refused before any trial.
#[test]
fn static_values_reach_the_search_and_the_fit() {
    let dir = tempfile::tempdir().unwrap();
    let statics = dir.path().join("static.csv");
    std::fs::write(&statics, "unique_id,size\nAirPassengers,3\n").unwrap();
    let with_static = ["--stat-exog", "size", "--static", statics.to_str().unwrap()];
    let out = search("forecast", &with_static);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 13);
    assert!(text(&out.stderr).contains("AutoMLP: best of 3 trials is trial"));

    std::fs::write(&statics, "unique_id,size\nAirPassenger,3\n").unwrap();
    let out = search("forecast", &with_static);
    assert_user_error(
        &out,
        "a static table without the series",
        "no static values for series 'AirPassengers'",
    );
    // Refused before the search, not by each of its trials.
    assert!(
        !text(&out.stderr).contains("trial"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&statics, "unique_id,size\nAirPassengers,\n").unwrap();
    let out = search("forecast", &with_static);
    assert_user_error(
        &out,
        "an empty static value",
        "line 2: series 'AirPassengers': column 'size' is empty; expected a number",
    );
}
