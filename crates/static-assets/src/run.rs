//! Running the app's tools: output streamed to the build log (indented,
//! redacted) as it comes, the last lines kept for the error message.

use crate::error::{io_at, AssetsError, StepFailure};
use buildkit::redact::Redactor;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How many lines of output are kept for diagnosis.
const KEEP: usize = 400;

/// The environment the tools run in: exactly this map (nothing inherited).
pub type Env = BTreeMap<String, String>;

/// A program found on `$PATH` as `env` sets it.
pub(crate) fn which(program: &str, env: &Env) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

pub(crate) struct Ran {
    pub(crate) success: bool,
    pub(crate) status: String,
    /// The last lines of stdout and stderr, interleaved as they came.
    pub(crate) lines: Vec<String>,
}

/// Run `program args` in `dir` with exactly `env`, streaming its output.
pub(crate) fn run(
    program: &Path,
    args: &[String],
    dir: &Path,
    env: &Env,
    redactor: &Redactor,
) -> Result<Ran, AssetsError> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_at(program))?;
    let (lines, readers) = buildkit::process::lines(&mut child);
    let mut kept = VecDeque::with_capacity(KEEP);
    for line in lines {
        let line = redactor.redact(line.text().trim_end()).into_owned();
        buildkit::output::command_line(&line);
        if kept.len() == KEEP {
            kept.pop_front();
        }
        kept.push_back(strip_ansi(&line));
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(io_at(program))?;
    Ok(Ran {
        success: status.success(),
        status: buildkit::process::describe(status),
        lines: kept.into(),
    })
}

/// A build step as the log shows it.
pub(crate) struct Step<'a> {
    /// As the user would type it (`npm run build`).
    pub(crate) display: &'a str,
    pub(crate) program: &'a Path,
    pub(crate) args: &'a [String],
    /// How many lines of output a failure quotes.
    pub(crate) tail: usize,
}

/// Run a step: "Running `x`", its output streamed, "Done (1.23s)"; a failure
/// carries the end of its output and `diagnose`'s cause and hint.
pub(crate) fn run_step(
    step: &Step<'_>,
    dir: &Path,
    env: &Env,
    redactor: &Redactor,
    diagnose: impl FnOnce(&[String]) -> (String, String),
) -> Result<(), AssetsError> {
    buildkit::output::bullet(&format!("Running `{}`", step.display));
    let timer = std::time::Instant::now();
    let ran = run(step.program, step.args, dir, env, redactor)?;
    if ran.success {
        buildkit::output::sub_bullet(&format!("Done ({:.2}s)", timer.elapsed().as_secs_f64()));
        return Ok(());
    }
    let (cause, hint) = diagnose(&ran.lines);
    Err(AssetsError::StepFailed(StepFailure {
        command: step.display.to_string(),
        status: ran.status,
        tail: tail(&ran.lines, step.tail),
        cause,
        hint,
    }))
}

/// Without terminal colour codes: for diagnosis and the error block.
pub(crate) use buildkit::output::strip_ansi;

/// The last `n` non-empty lines.
pub(crate) fn tail(lines: &[String], n: usize) -> Vec<String> {
    let non_empty: Vec<_> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
    non_empty[non_empty.len().saturating_sub(n)..]
        .iter()
        .map(|s| (*s).clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_of_both_streams_is_kept_redacted_and_the_status_described() {
        let env = Env::from([
            ("PATH".into(), std::env::var("PATH").unwrap()),
            ("API_TOKEN".into(), "tok-123456".into()),
        ]);
        let redactor = Redactor::from_env(env.clone());
        let bash = which("bash", &env).unwrap();
        let ran = run(
            &bash,
            &[
                "-c".into(),
                "echo out $API_TOKEN; echo err >&2; exit 3".into(),
            ],
            Path::new("/"),
            &env,
            &redactor,
        )
        .unwrap();
        assert!(!ran.success);
        assert_eq!(ran.status, "exit status 3");
        assert!(
            ran.lines.contains(&"out [REDACTED]".to_string()),
            "{:?}",
            ran.lines
        );
        assert!(ran.lines.contains(&"err".to_string()));
    }

    #[test]
    fn colour_codes_are_stripped_from_kept_lines() {
        assert_eq!(
            strip_ansi("\u{1b}[31mError\u{1b}[39m in plugin \u{1b}[36mgulp-sass\u{1b}[39m"),
            "Error in plugin gulp-sass"
        );
    }

    #[test]
    fn which_only_finds_executables_on_the_given_path() {
        let env = Env::from([("PATH".into(), "/nonexistent".into())]);
        assert!(which("sh", &env).is_none());
        assert!(which("sh", &Env::new()).is_none());
    }
}
