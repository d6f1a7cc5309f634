//! Environment handling per Buildpack API 0.10: env directories with
//! suffix rules, layer `bin/` and `lib/`, platform `env/` files.

use crate::error::{IoContext, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// An environment: ordered, byte-exact.
pub(crate) type Env = BTreeMap<OsString, OsString>;

/// The host environment, minus any `CNB_*` variable of an enclosing lifecycle.
pub(crate) fn host_env() -> Env {
    std::env::vars_os()
        .filter(|(k, _)| !k.as_bytes().starts_with(b"CNB_"))
        .collect()
}

/// Apply one env directory (`<layer>/env`, `env.build`, `env.launch`, `env.launch/<proc>`).
///
/// File name `NAME` or `NAME.override` sets; `NAME.default` sets when unset;
/// `NAME.append` / `NAME.prepend` join with the contents of `NAME.delim`
/// (empty when absent). Contents are used verbatim, never shell-evaluated.
/// Files are applied in name order, as the lifecycle reads the directory.
pub(crate) fn apply_env_dir(env: &mut Env, dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut files: Vec<_> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .collect();
    files.sort();
    for file in files {
        let name = file.to_string_lossy().into_owned();
        let (var, action) = match name.rsplit_once('.') {
            Some((var, suffix @ ("override" | "default" | "append" | "prepend" | "delim"))) => {
                (var.to_string(), suffix)
            }
            _ => (name.clone(), "override"),
        };
        if action == "delim" {
            continue;
        }
        let value = std::fs::read(dir.join(&file)).at(dir.join(&file))?;
        let value = OsString::from_vec(value);
        let key = OsString::from(&var);
        match action {
            "override" => {
                env.insert(key, value);
            }
            "default" => {
                env.entry(key).or_insert(value);
            }
            _ => {
                let delim = std::fs::read(dir.join(format!("{var}.delim"))).unwrap_or_default();
                let joined = match env.get(&key) {
                    Some(existing) if !existing.is_empty() => {
                        let (first, second) = if action == "append" {
                            (existing.as_bytes(), value.as_bytes())
                        } else {
                            (value.as_bytes(), existing.as_bytes())
                        };
                        [first, &delim, second].concat()
                    }
                    _ => value.into_vec(),
                };
                env.insert(key, OsString::from_vec(joined));
            }
        }
    }
    Ok(())
}

/// Prepend `dir` to a `:`-separated path variable.
pub(crate) fn prepend_path(env: &mut Env, var: &str, dir: &Path) {
    let key = OsString::from(var);
    let mut value = dir.as_os_str().as_bytes().to_vec();
    if let Some(existing) = env.get(&key).filter(|v| !v.is_empty()) {
        value.push(b':');
        value.extend_from_slice(existing.as_bytes());
    }
    env.insert(key, OsString::from_vec(value));
}

/// What phase a layer's environment is applied for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase<'a> {
    Build,
    Launch { process: &'a str },
}

/// Apply a layer's environment: `bin/` and `lib/`, then `env/`, then the
/// phase directory (`env.build/`, or `env.launch/` and `env.launch/<process>/`).
pub(crate) fn apply_layer(env: &mut Env, layer: &Path, phase: Phase<'_>) -> Result<()> {
    if layer.join("bin").is_dir() {
        prepend_path(env, "PATH", &layer.join("bin"));
    }
    if layer.join("lib").is_dir() {
        prepend_path(env, "LD_LIBRARY_PATH", &layer.join("lib"));
        if phase == Phase::Build {
            prepend_path(env, "LIBRARY_PATH", &layer.join("lib"));
        }
    }
    apply_env_dir(env, &layer.join("env"))?;
    match phase {
        Phase::Build => apply_env_dir(env, &layer.join("env.build"))?,
        Phase::Launch { process } => {
            apply_env_dir(env, &layer.join("env.launch"))?;
            apply_env_dir(env, &layer.join("env.launch").join(process))?;
        }
    }
    Ok(())
}

/// Platform `env/` files: one file per variable, contents are the value.
pub(crate) fn read_platform_env(platform_dir: &Path) -> Result<Env> {
    let mut env = Env::new();
    let dir = platform_dir.join("env");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(env);
    };
    for e in entries.filter_map(std::result::Result::ok) {
        let value = std::fs::read(e.path()).at(e.path())?;
        env.insert(e.file_name(), OsString::from_vec(value));
    }
    Ok(env)
}
