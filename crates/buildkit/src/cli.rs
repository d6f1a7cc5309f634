//! What every Slipway command line shares: shell completions and man pages
//! generated from its clap definition (so they never drift from `--help`),
//! the exit-code table `--help` ends with, and errors as one JSON object
//! when `--json` is on.

use std::io::Write;
use std::path::Path;

/// The shells `completions` writes for.
pub use clap_complete::Shell;

/// Write `cmd`'s completion script for `shell` to `out`.
pub fn completions(mut cmd: clap::Command, shell: Shell, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Write `cmd`'s man pages into `dir` (created): `NAME.1` and one page per
/// visible subcommand (`NAME-SUB.1`, as git's are). The written paths.
pub fn man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write_pages(cmd, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: clap::Command,
    dir: &Path,
    written: &mut Vec<std::path::PathBuf>,
) -> std::io::Result<()> {
    let cmd = cmd.disable_help_subcommand(true);
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub = sub
            .clone()
            .display_name(format!("{name}-{}", sub.get_name()));
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// The text `--help` ends with: each exit code (or a range, `N`) and what it means.
pub fn exit_codes(codes: &[(&str, &str)]) -> String {
    let mut text = String::from("Exit codes:\n");
    for (code, meaning) in codes {
        text.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    text
}

/// An error as `--json` prints it, on stdout where the JSON goes:
/// `{"error": {"message": "...", "exit_code": 2}}`.
pub fn json_error(message: &str, exit_code: i32) -> String {
    serde_json::json!({"error": {"message": message, "exit_code": exit_code}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn tool() -> Command {
        Command::new("tool")
            .about("A tool")
            .arg(
                Arg::new("json")
                    .long("json")
                    .action(clap::ArgAction::SetTrue),
            )
            .subcommand(Command::new("measure").about("Measure a thing"))
            .subcommand(Command::new("__internal").hide(true))
    }

    #[test]
    fn man_pages_cover_the_command_and_each_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let written = man_pages(tool(), dir.path()).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["tool.1", "tool-measure.1"]);
        let page = std::fs::read_to_string(dir.path().join("tool-measure.1")).unwrap();
        assert!(page.contains(".TH tool-measure"), "{page}");
        assert!(page.contains("Measure a thing"), "{page}");
    }

    #[test]
    fn completions_name_the_subcommands_and_options() {
        let mut out = Vec::new();
        completions(tool(), Shell::Bash, &mut out);
        let script = String::from_utf8(out).unwrap();
        assert!(
            script.contains("measure") && script.contains("--json"),
            "{script}"
        );
    }

    #[test]
    fn a_json_error_is_one_object_with_the_message_and_code() {
        let v: serde_json::Value =
            serde_json::from_str(&json_error("no \"Procfile\" here", 2)).unwrap();
        assert_eq!(v["error"]["message"], "no \"Procfile\" here");
        assert_eq!(v["error"]["exit_code"], 2);
    }
}
