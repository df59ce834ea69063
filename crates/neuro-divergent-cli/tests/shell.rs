//! What the CLI gives a shell and a packager: completion scripts, man pages and `--version`.

mod support;

use std::path::Path;
use std::process::Command;

use support::{assert_user_error, run, text};

/// Completes `line` (the words so far; the last one is being typed) with the bash script the
/// CLI prints, as bash would on Tab.
fn complete_in_bash(script: &Path, line: &[&str]) -> Vec<String> {
    let words = line
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let program = format!(
        "source '{}' && COMP_WORDS=({words}) && COMP_CWORD={} && COMP_LINE='{}' && \
         COMP_POINT=${{#COMP_LINE}} && _neuro__divergent neuro-divergent '{}' '{}' && \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        line.len() - 1,
        line.join(" "),
        line[line.len() - 1],
        line[line.len() - 2],
    );
    let out = Command::new("bash")
        .args(["-c", &program])
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completions_load_and_complete_commands_and_options() {
    let out = run(&["completions", "bash"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("neuro-divergent.bash");
    std::fs::write(&script, &out.stdout).unwrap();

    let registered = Command::new("bash")
        .args([
            "-c",
            &format!(
                "source '{}' && complete -p neuro-divergent",
                script.display()
            ),
        ])
        .output()
        .unwrap();
    assert!(registered.status.success(), "{}", text(&registered.stderr));
    assert!(text(&registered.stdout).contains("-F _neuro__divergent neuro-divergent"));

    let commands = complete_in_bash(&script, &["neuro-divergent", "fo"]);
    assert_eq!(commands, ["forecast"]);
    let options = complete_in_bash(&script, &["neuro-divergent", "forecast", "--hor"]);
    assert_eq!(options, ["--horizon"]);
    let shells = complete_in_bash(&script, &["neuro-divergent", "completions", "z"]);
    assert_eq!(shells, ["zsh"]);
    let nested = complete_in_bash(&script, &["neuro-divergent", "models", "alias", "--rem"]);
    assert_eq!(nested, ["--remove"]);
}

#[test]
fn zsh_and_fish_completions_name_every_command() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        // (fish spells options `-l horizon`.)
        for word in ["forecast", "cv", "serve", "completions", "horizon"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    assert_user_error(
        &run(&["completions", "tcsh"]),
        "completions tcsh",
        "invalid value 'tcsh'",
    );
}

#[test]
fn man_pages_cover_every_command_and_write_atomically() {
    let main = run(&["man"]);
    assert!(main.status.success(), "{}", text(&main.stderr));
    let page = text(&main.stdout);
    assert!(page.contains(".TH neuro-divergent 1"), "{page}");
    assert!(page.contains("neuro\\-divergent\\-forecast(1)"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let out = run(&["man", "--out-dir", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut pages: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for expected in [
        "neuro-divergent.1",
        "neuro-divergent-forecast.1",
        "neuro-divergent-models-list.1",
        "neuro-divergent-completions.1",
    ] {
        assert!(
            pages.iter().any(|p| p == expected),
            "{expected} in {pages:?}"
        );
    }
    assert!(pages.iter().all(|p| p.ends_with(".1")), "{pages:?}");
    let forecast = std::fs::read_to_string(out_dir.join("neuro-divergent-forecast.1")).unwrap();
    assert!(forecast.contains(".TH neuro-divergent-forecast 1"));
    assert!(forecast.contains("\\-\\-horizon"), "{forecast}");

    // A file where the folder should be: refused, naming the path.
    let blocker = dir.path().join("plain-file");
    std::fs::write(&blocker, "x").unwrap();
    assert_user_error(
        &run(&["man", "--out-dir", blocker.to_str().unwrap()]),
        "man --out-dir FILE",
        blocker.to_str().unwrap(),
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
}

#[test]
fn version_names_the_commit_the_features_and_the_kernels() {
    let info = text(&run(&["info"]).stdout);
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .to_string()
    };
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_string(),
            |o| text(&o.stdout).trim().to_string(),
        );

    let long = text(&run(&["--version"]).stdout);
    assert!(
        long.starts_with(&format!("neuro-divergent {}\n", env!("CARGO_PKG_VERSION"))),
        "{long}"
    );
    assert_eq!(field(&long, "commit"), commit);
    assert_eq!(field(&info, "commit"), commit);
    assert_eq!(field(&long, "kernel_path"), field(&info, "kernel_path"));
    assert_eq!(field(&long, "cpu features"), field(&info, "simd"));
    let features = field(&long, "build features");
    assert_eq!(
        features.contains("avx512"),
        cfg!(feature = "avx512"),
        "{features}"
    );
    assert_eq!(
        features.contains("cuda"),
        cfg!(feature = "cuda"),
        "{features}"
    );

    let short = text(&run(&["-V"]).stdout);
    assert_eq!(
        short.trim_end(),
        format!(
            "neuro-divergent {} ({commit}, {} kernels)",
            env!("CARGO_PKG_VERSION"),
            field(&info, "kernel_path")
        )
    );
}
