//! The model store from the command line: fit and publish, list, predict from an alias, and
//! clear errors with exit code 2. Runs on SQLite, and on PostgreSQL when the test cluster is
//! up (`ND_TEST_POSTGRES_URL`, set by `scripts/test.sh`).

mod support;

use support::*;

#[test]
fn fit_publish_list_and_predict_from_an_alias() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("air_cli_{}", std::process::id());
    for store in stores(dir.path()) {
        let model_dir = dir.path().join("model");
        let forecast = train(
            "forecast",
            &[
                "--save",
                model_dir.to_str().unwrap(),
                "--store",
                &store,
                "--name",
                &name,
                "--alias",
                "production",
                "--tag",
                "owner=forecasting",
            ],
        );
        assert!(forecast.status.success(), "{}", text(&forecast.stderr));
        assert!(text(&forecast.stderr).contains(&format!("published {name}@1 (production)")));

        let reference = format!("{name}@production");
        let from_store = run(&["predict", "--store", &store, "--model", &reference]);
        assert!(from_store.status.success(), "{}", text(&from_store.stderr));
        assert_eq!(text(&from_store.stdout), text(&forecast.stdout));
        let from_dir = run(&["predict", "--model-dir", model_dir.to_str().unwrap()]);
        assert_eq!(text(&from_dir.stdout), text(&forecast.stdout));

        // Cross-validation publishes the next version with its scores.
        let cv = train(
            "cv",
            &["--n-windows", "2", "--store", &store, "--name", &name],
        );
        assert!(cv.status.success(), "{}", text(&cv.stderr));
        let shown = run(&[
            "models",
            "show",
            &format!("{name}@2"),
            "--json",
            "--store",
            &store,
        ]);
        let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert!(
            shown["scores"]["cv/NHITS/mae"].as_f64().unwrap() > 0.0,
            "{shown}"
        );
        assert_eq!(shown["data"]["rows"], 144);

        let listed = run(&["models", "list", &name, "--json", "--store", &store]);
        let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let versions: Vec<i64> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect();
        assert_eq!(versions, [1, 2]);
        assert_eq!(listed[0]["aliases"][0], "production");
        assert_eq!(listed[0]["tags"]["owner"], "forecasting");
        let table = text(&run(&["models", "list", &name, "--store", &store]).stdout);
        let mut lines = table.lines();
        assert!(lines.next().unwrap().starts_with("NAME"));
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with(&format!("{name}  1        production  NHITS")),
            "{table}"
        );

        // Move the alias, delete the old version, predict from the alias again.
        let moved = run(&[
            "models",
            "alias",
            &format!("{name}@2"),
            "production",
            "--store",
            &store,
        ]);
        assert!(
            text(&moved.stderr).contains("-> version 2 (was version 1)"),
            "{}",
            text(&moved.stderr)
        );
        let deleted = run(&["models", "delete", &format!("{name}@1"), "--store", &store]);
        assert!(deleted.status.success(), "{}", text(&deleted.stderr));
        let again = run(&["predict", "--store", &store, "--model", &reference]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        let _ = std::fs::remove_dir_all(&model_dir);
    }
}

#[test]
fn store_errors_exit_with_code_2_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("models.db").display());
    let fit = train(
        "fit",
        &["--store", &store, "--name", "air", "--alias", "production"],
    );
    assert!(fit.status.success(), "{}", text(&fit.stderr));
    let csv_store = format!("sqlite:{}", data());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["predict", "--store", &store, "--model", "sales"],
            "has no model named 'sales'".into(),
        ),
        (
            vec!["models", "show", "air@9", "--store", &store],
            "has no version 9 of model 'air'".into(),
        ),
        (
            vec!["models", "show", "air@staging", "--store", &store],
            "model 'air' has no alias 'staging'".into(),
        ),
        (
            vec!["models", "list", "--store", "mysql://u@h/db"],
            "invalid store address 'mysql://u@h/db'".into(),
        ),
        (
            vec!["models", "list", "--store", &csv_store],
            "is not a neuro-divergent model store: the file is not an SQLite database".into(),
        ),
        (
            vec!["models", "delete", "air@1", "--store", &store],
            "is what alias(es) production point to".into(),
        ),
        (
            vec!["models", "delete", "air@production", "--store", &store],
            "delete takes NAME@VERSION".into(),
        ),
        (
            vec!["models", "tag", "air", "owner", "--store", &store],
            "tag 'owner' is not KEY=VALUE".into(),
        ),
    ];
    for (args, expected) in cases {
        assert_user_error(&run(&args), &format!("{args:?}"), &expected);
    }
    // Refused before any training.
    for (extra, expected) in [
        (
            vec!["--alias", "production"],
            "--alias publishes to a model store and needs --name NAME",
        ),
        (vec!["--name", "bad name"], "invalid model name 'bad name'"),
        (
            vec!["--name", "air", "--store", "sqlite:"],
            "the file name is missing",
        ),
        (vec![], "fit needs --save DIR or --name NAME"),
    ] {
        let out = train("fit", &extra);
        assert_user_error(&out, &format!("fit {extra:?}"), expected);
        assert!(!text(&out.stderr).contains("published"));
    }
}
