//! The platform side of a build: the platform dir (`env/` from `.env` and
//! `--env`), target variables, output directory preparation.

use crate::env::Env;
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::Image;
use crate::options::BuildOptions;
use buildkit::fs::{copy_tree, remove};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// User-provided build env: the app's `.env` (foreman format), then `--env`
/// arguments (which win). `--env KEY` with no `=` passes KEY from this
/// process's environment, as `pack build --env` does.
pub fn user_env(app_dir: &Path, args: &[String]) -> Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let dotenv = app_dir.join(".env");
    // Read as every app file is: never through a link out of the app, bounded.
    let text = app_files::read(app_dir, ".env").map_err(|e| LifecycleError::DotEnv {
        file: dotenv.clone(),
        message: e.to_string(),
    })?;
    if let Some(text) = text {
        let iter = dotenvy::from_read_iter(std::io::Cursor::new(&text));
        for item in iter {
            let (k, v) = item.map_err(|e| dotenv_error(&dotenv, &e))?;
            check_passable(&dotenv, &text, &k, &v)?;
            vars.push((k, v));
        }
    }
    for arg in args {
        let (k, v) = match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (
                arg.clone(),
                std::env::var(arg).map_err(|_| LifecycleError::BadEnvArg(arg.clone()))?,
            ),
        };
        if k.is_empty() || k.contains('/') {
            return Err(LifecycleError::BadEnvArg(arg.clone()));
        }
        vars.retain(|(existing, _)| *existing != k);
        vars.push((k, v));
    }
    Ok(vars)
}

/// Linux refuses one environment string (`KEY=VALUE`) longer than this
/// (`MAX_ARG_STRLEN`): no program could be started with it.
const MAX_ENV_STRING: usize = 131_072;

/// A variable every program can be given: no NUL byte, not over
/// [`MAX_ENV_STRING`]. Else an error naming `.env` and the line (found by
/// its key: the value is never shown).
fn check_passable(file: &Path, text: &[u8], key: &str, value: &str) -> Result<()> {
    let problem = if value.contains('\0') {
        format!(
            "the value of {key} has a NUL byte, which no program can be given in its environment"
        )
    } else if key.len() + 1 + value.len() > MAX_ENV_STRING {
        format!(
            "{key}={} bytes is longer than Linux passes to a program ({MAX_ENV_STRING} bytes per variable)",
            value.len()
        )
    } else {
        return Ok(());
    };
    let number = String::from_utf8_lossy(text)
        .lines()
        .position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").map_or(l, str::trim_start);
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or_else(|| "a line".to_string(), |i| format!("line {}", i + 1));
    Err(LifecycleError::DotEnv {
        file: file.to_path_buf(),
        message: format!("{number}: {problem}"),
    })
}

/// A `.env` problem, located by line. dotenvy's own message quotes the whole
/// line, which may hold a secret: it is never shown.
fn dotenv_error(file: &Path, e: &dotenvy::Error) -> LifecycleError {
    let message = match e {
        dotenvy::Error::LineParse(line, index) => {
            let first = line.lines().next().unwrap_or_default();
            let number = std::fs::read_to_string(file)
                .ok()
                .and_then(|text| text.lines().position(|l| l == first))
                .map_or_else(|| "a line".to_string(), |i| format!("line {}", i + 1));
            format!("{number} is not KEY=VALUE (the parser stopped at column {}; the line is not shown, as it may hold a secret)", index + 1)
        }
        other => other.to_string(),
    };
    LifecycleError::DotEnv {
        file: file.to_path_buf(),
        message,
    }
}

/// Write `<platform>/env/<KEY>` files.
pub(crate) fn write_platform_dir(platform: &Path, vars: &[(String, String)]) -> Result<()> {
    let env_dir = platform.join("env");
    std::fs::create_dir_all(&env_dir).at(&env_dir)?;
    for (k, v) in vars {
        std::fs::write(env_dir.join(k), v).at(env_dir.join(k))?;
    }
    Ok(())
}

/// `CNB_TARGET_*` for this machine: what libcnb needs to know where it runs.
pub(crate) fn target_env() -> Env {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |name: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut env = Env::new();
    env.insert("CNB_TARGET_OS".into(), "linux".into());
    env.insert("CNB_TARGET_ARCH".into(), arch.into());
    env.insert(
        "CNB_TARGET_DISTRO_NAME".into(),
        OsString::from(field("ID").unwrap_or_else(|| "ubuntu".into())),
    );
    env.insert(
        "CNB_TARGET_DISTRO_VERSION".into(),
        OsString::from(field("VERSION_ID").unwrap_or_else(|| "24.04".into())),
    );
    env
}

/// The file that marks a directory as a Slipway image (so a rebuild may
/// replace its `workspace/`, `layers/`, `platform/` and `tmp/`).
pub(crate) const IMAGE_MARKER: &str = ".slipway-image";

/// `path` made absolute and free of `..` and symlinks as far as it exists.
fn resolved(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().at(path)?.join(path)
    };
    let mut existing = abs.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(&existing).at(&existing)?;
    for part in rest.into_iter().rev() {
        out.push(part);
    }
    Ok(out)
}

/// Refuse an output directory a build could damage: the app itself, a
/// directory holding the app, one inside the app (but under its own
/// `.slipway/`), or an existing directory with content that is not a
/// Slipway image. Nothing is deleted before this check passes.
pub(crate) fn check_out_dir(app_dir: &Path, out: &Path) -> Result<()> {
    let app = std::fs::canonicalize(app_dir).at(app_dir)?;
    let dir = resolved(out)?;
    let refuse = |why: String| {
        Err(LifecycleError::BadOutDir {
            out: dir.clone(),
            why,
        })
    };
    if dir == app {
        return refuse("it is the app itself".into());
    }
    if app.starts_with(&dir) {
        return refuse(format!("it contains the app ({})", app.display()));
    }
    if dir.starts_with(&app) && !dir.starts_with(app.join(".slipway")) {
        return refuse(format!(
            "it is inside the app ({}); only the app's own .slipway/ may hold images",
            app.display()
        ));
    }
    let is_image =
        dir.join(IMAGE_MARKER).is_file() || dir.join("layers/config/metadata.toml").is_file();
    // The build lock alone (a build killed as it began) is no content.
    let has_content = std::fs::read_dir(&dir)
        .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.file_name() != BUILD_LOCK)));
    if has_content && !is_image {
        return refuse(format!(
            "it is not empty and is not a Slipway image (no {IMAGE_MARKER}): a build replaces workspace/, layers/, platform/ and tmp/ in it"
        ));
    }
    Ok(())
}

/// Where `prepare_image` keeps the previous image while a build runs.
pub(crate) const PREVIOUS_DIR: &str = "previous";

/// The image directory `slipway run` and `slipway local` run from: the image
/// itself, or, while a build runs or after one was killed before it
/// concluded (its leftovers beside), the last good image it set aside in
/// `previous/` (said on stderr).
pub(crate) fn runnable_root(root: &Path) -> PathBuf {
    let previous = root.join(PREVIOUS_DIR);
    if previous.join("layers/config/metadata.toml").is_file() {
        eprintln!(
            "slipway: running the last good image, kept in {} by a build that is running or did not finish (the next build puts it back or replaces it)",
            previous.display()
        );
        previous
    } else {
        root.to_path_buf()
    }
}

/// End a build begun by `prepare_image`: on success the previous image goes;
/// on failure (detect included) the failed build's directories go and the
/// previous image comes back, so `slipway run` keeps running the last good
/// build. The error is returned as it was.
pub(crate) fn conclude<T>(image: &Image, result: Result<T>) -> Result<T> {
    let previous = image.root.join(PREVIOUS_DIR);
    if result.is_err() && previous.join("layers/config/metadata.toml").is_file() {
        for dir in [image.workspace(), image.platform(), image.layers()] {
            remove(&dir)?;
            let aside = previous.join(dir.file_name().expect("named"));
            if aside.exists() {
                std::fs::rename(&aside, &dir).at(&dir)?;
            }
        }
        remove(&image.tmp())?;
        println!(
            "The build failed: the previous image in {} is unchanged.",
            image.root.display()
        );
    }
    remove(&previous)?;
    result
}

/// The file in an image directory a build holds an exclusive lock on
/// (`flock`) from before it touches anything there until it has concluded.
pub(crate) const BUILD_LOCK: &str = ".slipway-build.lock";

/// One build per image directory at a time: held for the whole build, let
/// go when dropped (or when the build's process dies: the kernel drops a
/// dead process's locks, so a killed build never blocks the next).
#[derive(Debug)]
pub(crate) struct BuildLock(#[allow(dead_code)] std::fs::File);

/// Take the image directory's build lock; when another build holds it, say
/// so and wait for it to finish.
fn lock_out_dir(root: &Path) -> Result<BuildLock> {
    let path = root.join(BUILD_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .at(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            println!(
                "Another build into {} is running: waiting for it to finish (one build per image directory)",
                root.display()
            );
            file.lock().at(&path)?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e).at(&path),
    }
    Ok(BuildLock(file))
}

/// Lay out a fresh image directory for a build: the cache is kept (unless
/// `clear_cache`), everything else is replaced; the app is copied into
/// `workspace/` and the user env written to `platform/env/`.
/// Returns the image, the canonical app dir and the directory's build lock,
/// to hold until the build has concluded.
pub(crate) fn prepare_image(opts: &BuildOptions) -> Result<(Image, PathBuf, BuildLock)> {
    // From here on a SIGTERM/SIGINT stops the build's phases and puts the
    // previous image back, never leaving slipway dead with children writing.
    crate::process::catch_build_signals()?;
    check_out_dir(&opts.app_dir, &opts.out)?;
    let app_dir = std::fs::canonicalize(&opts.app_dir).at(&opts.app_dir)?;
    std::fs::create_dir_all(&opts.out).at(&opts.out)?;
    let image = Image::new(&std::fs::canonicalize(&opts.out).at(&opts.out)?);
    let lock = lock_out_dir(&image.root)?;
    let marker = image.root.join(IMAGE_MARKER);
    std::fs::write(
        &marker,
        "A Slipway image directory (slipway build --out): builds replace workspace/, layers/, platform/ and tmp/ here.\n",
    )
    .at(&marker)?;
    // The previous image is kept aside until this build succeeds
    // (`conclude`), as Heroku keeps the running release when a build fails.
    // A complete `previous/` already there means a build was killed before
    // it concluded: it holds the last good image, and the dirs beside it are
    // that build's leftovers. An incomplete one means the kill came while
    // setting aside: what was moved goes back first. `layers/` (which holds
    // the image's metadata) moves last, so "complete" is well defined.
    let previous = image.root.join(PREVIOUS_DIR);
    let dirs = [image.workspace(), image.platform(), image.layers()];
    let complete = |p: &Path| p.join("layers/config/metadata.toml").is_file();
    if previous.is_dir() && !complete(&previous) {
        for dir in &dirs {
            let aside = previous.join(dir.file_name().expect("named"));
            if aside.exists() && !dir.exists() {
                std::fs::rename(&aside, dir).at(dir)?;
            }
        }
        remove(&previous)?;
    }
    if !previous.is_dir() && image.metadata_path().is_file() {
        std::fs::create_dir_all(&previous).at(&previous)?;
        for dir in &dirs {
            if dir.exists() {
                let aside = previous.join(dir.file_name().expect("named"));
                std::fs::rename(dir, &aside).at(&aside)?;
            }
        }
    }
    let laid_out = (|| {
        for dir in dirs {
            remove(&dir)?;
        }
        remove(&image.tmp())?;
        if opts.clear_cache {
            remove(&image.cache())?;
        }
        copy_tree(&app_dir, &image.workspace(), Some(&image.root))?;
        write_platform_dir(&image.platform(), &user_env(&app_dir, &opts.env)?)
    })();
    if let Err(e) = laid_out {
        // A full disk (or any failure) while copying the app: the partial
        // copy goes (it may be what fills the disk) and the previous image
        // comes back, so `slipway run` keeps working.
        remove(&image.workspace())?;
        return Err(conclude(&image, Err::<(), _>(e)).expect_err("an error stays one"));
    }
    Ok((image, app_dir, lock))
}

#[cfg(test)]
mod dotenv_tests {
    use super::*;

    #[test]
    fn a_nul_or_an_oversized_value_in_dot_env_names_the_file_and_the_line_not_the_value() {
        let app = tempfile::tempdir().unwrap();
        let mut text = b"A=1\n".to_vec();
        text.extend_from_slice(b"export HUGE=");
        text.extend(std::iter::repeat_n(b'z', 200_000));
        text.push(b'\n');
        for (content, line, what) in [
            (b"A=1\nB=x\0y\n".to_vec(), "line 2", "NUL byte"),
            (text, "line 2", "longer than Linux passes"),
        ] {
            std::fs::write(app.path().join(".env"), &content).unwrap();
            let e = user_env(app.path(), &[]).unwrap_err().to_string();
            assert!(
                e.contains(".env") && e.contains(line) && e.contains(what),
                "{e}"
            );
            assert!(
                !e.contains("zzzz"),
                "the value is never shown: {}",
                &e[..e.len().min(300)]
            );
        }
    }
}
