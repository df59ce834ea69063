//! `completions` and `man`: shell completion scripts and man pages, generated from the argument
//! definitions so that they never drift from the parser.

use std::path::Path;

use clap_complete::Shell;
use neuro_divergent::{output, Error, Result};

/// The program name that completion scripts and man pages refer to.
const PROGRAM: &str = "neuro-divergent";

/// Prints the completion script for `shell` to standard output.
pub fn completions(shell: Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::args::command(), PROGRAM, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_state_names(&String::from_utf8_lossy(&script)).into_bytes();
    }
    output::write_bytes(Path::new("-"), &script)
}

/// clap_complete 4.6's bash script names the state after a subcommand two ways when the program
/// name has a hyphen (clap issue 6421): the loop that reads the words sets
/// `neuro__divergent__subcmd__forecast`, the arms that complete options match
/// `neuro__subcmd__divergent__subcmd__forecast`, so nothing after a subcommand completed. The
/// arms are renamed to the loop's spelling.
fn fix_bash_state_names(script: &str) -> String {
    script.replace(
        &PROGRAM.replace('-', "__subcmd__"),
        &PROGRAM.replace('-', "__"),
    )
}

/// Writes every page into `out_dir` (created if missing; each file written atomically), or
/// the main page to standard output. Prints the paths written to standard error.
pub fn man(out_dir: Option<&Path>) -> Result<()> {
    let stdout = Path::new("-");
    let pages = pages(crate::args::command()).map_err(|source| io_error(stdout, source))?;
    let Some(dir) = out_dir else {
        return output::write_bytes(stdout, &pages[0].1);
    };
    std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    for (name, page) in &pages {
        let path = dir.join(format!("{name}.1"));
        output::write_bytes(&path, page)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The page of `command`, then those of its subcommands (named `parent-sub`, as `man` looks
/// them up), depth first.
fn pages(mut command: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    let mut all = vec![(command.get_name().to_string(), page)];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{}-{}", command.get_name(), sub.get_name());
        all.extend(pages(sub.clone().name(name))?);
    }
    Ok(all)
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
