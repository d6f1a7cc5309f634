//! One artifact, two buildpack APIs. A packaged Slipway buildpack has
//! `bin/build` (the binary) with `bin/detect`, `bin/compile` and
//! `bin/release` linking to it (scripts/package adds the last two). The
//! binary tells the phases apart by the name it was called by:
//!
//! | called as | arguments | API |
//! |---|---|---|
//! | `compile` | `BUILD_DIR CACHE_DIR ENV_DIR` | classic |
//! | `release` | `BUILD_DIR` | classic |
//! | `detect` | `BUILD_DIR`, no `CNB_*` env | classic |
//! | `detect` | `PLATFORM_DIR PLAN_PATH` with `CNB_*` env | CNB (libcnb) |
//! | `build` | `LAYERS PLATFORM PLAN` | CNB (libcnb) |
//!
//! heroku-buildpack-multi (`.buildpacks`) runs only classic buildpacks.
//!
//! Classic `bin/detect` always passes: heroku-buildpack-multi (`bin/compile`:
//! "Couldn't detect any framework for this buildpack. Exiting.") and Heroku's
//! native multiple buildpacks ("App not compatible with buildpack") fail the
//! whole build when a listed buildpack does not detect, and a Slipway
//! buildpack may be listed for an app it has nothing to do for. `bin/compile`
//! then says so plainly and exits 0. Classic phases print in Heroku's
//! classic style (`-----> `, 7-space indents).

use std::path::{Path, PathBuf};

/// A buildpack's classic phases.
pub struct Classic<'a> {
    /// What `bin/detect` prints (heroku shows "-----> <name> app detected").
    pub name: &'a str,
    /// Whether the buildpack has work for the app in BUILD_DIR; when not,
    /// `bin/compile` prints `nothing_to_do` and exits 0.
    pub detect: &'a dyn Fn(&Path) -> bool,
    /// Why there is nothing to do, e.g. "the app has no .slugignore".
    pub nothing_to_do: &'a str,
    /// `(build_dir, cache_dir, env_dir)`. An error is printed under `name`
    /// and fails the build.
    pub compile: &'a dyn Fn(&Path, &Path, &Path) -> anyhow::Result<()>,
    /// The release YAML (`default_process_types`), e.g. [`no_release`].
    pub release: &'a dyn Fn(&Path) -> anyhow::Result<String>,
}

/// A buildpack that declares no process types on release.
pub fn no_release(_build_dir: &Path) -> anyhow::Result<String> {
    Ok("---\n{}\n".to_string())
}

/// A Slipway buildpack's `main`: the classic phase this binary was called
/// as, else libcnb's runtime (the CNB API).
pub fn main<B: libcnb::Buildpack>(classic: &Classic<'_>, buildpack: &B)
where
    B::Error: std::fmt::Debug,
{
    match dispatch(classic) {
        Some(code) => std::process::exit(code),
        None => libcnb::libcnb_runtime(buildpack),
    }
}

/// A Slipway buildpack's `on_error`: its own error under its title, anything
/// libcnb reports as internal, with where to report it.
pub fn on_error<E: std::fmt::Display + std::fmt::Debug>(title: &str, error: libcnb::Error<E>) {
    match error {
        libcnb::Error::BuildpackError(e) => crate::output::error(title, &e.to_string()),
        other => crate::output::error(
            &format!("{title} (internal)"),
            &format!("{other}\nPlease report this with the build log."),
        ),
    }
}

/// The classic buildpack's own directory (`<dir>/bin/compile` is argv[0],
/// as Heroku and heroku-buildpack-multi call it), where `export` goes.
pub fn buildpack_dir() -> Option<PathBuf> {
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    let bin = argv0
        .parent()
        .filter(|p| p.file_name() == Some("bin".as_ref()))?;
    std::path::absolute(bin.parent()?).ok()
}

/// Run the classic phase this process was called as, or None for the CNB API.
pub(crate) fn dispatch(classic: &Classic<'_>) -> Option<i32> {
    let args: Vec<PathBuf> = std::env::args_os().map(PathBuf::from).collect();
    let cnb = std::env::var_os("CNB_PLATFORM_DIR").is_some()
        || std::env::var_os("CNB_BUILDPACK_DIR").is_some();
    route(&args, cnb, classic)
}

fn route(args: &[PathBuf], cnb: bool, classic: &Classic<'_>) -> Option<i32> {
    let phase = args.first()?.file_name()?.to_str()?;
    if matches!(phase, "compile" | "release") || (phase == "detect" && !cnb) {
        crate::output::use_classic_style();
    }
    match (phase, args.len()) {
        ("compile", 4) => Some(if (classic.detect)(&args[1]) {
            match (classic.compile)(&args[1], &args[2], &args[3]) {
                Ok(()) => 0,
                Err(e) => {
                    // Our errors carry their sources in their text: the top level is the report.
                    crate::output::error(classic.name, &e.to_string());
                    1
                }
            }
        } else {
            crate::output::header(classic.name);
            crate::output::bullet(&format!("Nothing to do: {}", classic.nothing_to_do));
            0
        }),
        ("release", 2) => Some(match (classic.release)(&args[1]) {
            Ok(yaml) => {
                print!("{yaml}");
                0
            }
            Err(e) => {
                eprintln!("{e}");
                1
            }
        }),
        ("detect", 2) if !cnb => {
            println!("{}", classic.name);
            Some(0)
        }
        ("compile" | "release", _) => {
            eprintln!("usage: bin/compile BUILD_DIR CACHE_DIR ENV_DIR | bin/release BUILD_DIR");
            Some(2)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(v: &[&str]) -> Vec<PathBuf> {
        v.iter().map(PathBuf::from).collect()
    }

    const C: Classic<'static> = Classic {
        name: "Test",
        detect: &|p| p.ends_with("yes"),
        nothing_to_do: "no",
        compile: &|_, _, _| Err(anyhow::anyhow!("failed")),
        release: &|_| Ok("---\n".into()),
    };

    #[test]
    fn classic_phases_are_routed_by_name_and_arity() {
        assert_eq!(
            route(
                &paths(&["/bp/bin/compile", "/app/yes", "c", "e"]),
                false,
                &C
            ),
            Some(1)
        );
        assert_eq!(route(&paths(&["bin/release", "b"]), false, &C), Some(0));
        assert_eq!(
            route(&paths(&["bin/detect", "/app/yes"]), false, &C),
            Some(0)
        );
        assert_eq!(
            route(&paths(&["bin/detect", "/app/no"]), false, &C),
            Some(0),
            "a classic detect that fails would fail the whole multi-buildpack build"
        );
        assert_eq!(
            route(&paths(&["bin/compile", "/app/no", "c", "e"]), false, &C),
            Some(0),
            "nothing to do is not a failure"
        );
        assert_eq!(route(&paths(&["bin/compile", "b"]), false, &C), Some(2));
    }

    #[test]
    fn cnb_calls_are_left_to_libcnb() {
        assert_eq!(
            route(&paths(&["bin/detect", "/platform", "/plan"]), true, &C),
            None
        );
        assert_eq!(
            route(&paths(&["bin/detect", "/app"]), true, &C),
            None,
            "CNB env wins over arity"
        );
        assert_eq!(
            route(&paths(&["bin/build", "l", "p", "b"]), false, &C),
            None
        );
    }
}
