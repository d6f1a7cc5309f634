//! The classic buildpack API (Heroku's `bin/detect`, `bin/compile`,
//! `bin/release`), driven the way heroku-buildpack-multi drives the
//! buildpacks listed in `.buildpacks`: every buildpack must detect, each
//! compiles in order, a buildpack's `export` file is sourced for the next,
//! only the last `bin/release` counts, and a Procfile overrides its defaults.

use crate::build::{BuildOptions, BuildReport};
use crate::env::{self, Env};
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::{Api, ImageBuildpack, ImageMetadata, ImageProcess};
use crate::platform;
use crate::process;
use serde::Deserialize;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Deserialize, Default)]
struct Release {
    #[serde(default)]
    default_process_types: serde_yaml_ng::Mapping,
}

struct Classic {
    dir: PathBuf,
    name: String,
}

fn open(dir: &Path) -> Result<Classic> {
    let dir = std::fs::canonicalize(dir).map_err(|e| LifecycleError::NotABuildpack {
        path: dir.to_path_buf(),
        why: e.to_string(),
    })?;
    for bin in ["detect", "compile"] {
        if !dir.join("bin").join(bin).is_file() {
            return Err(LifecycleError::NotABuildpack {
                path: dir.clone(),
                why: format!("a classic buildpack needs bin/{bin}"),
            });
        }
    }
    let name = dir.file_name().map_or_else(
        || "buildpack".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Classic { dir, name })
}

pub fn build_classic(opts: &BuildOptions) -> Result<BuildReport> {
    let buildpacks = opts
        .buildpacks
        .iter()
        .map(|b| open(b))
        .collect::<Result<Vec<_>>>()?;
    let (image, _app_dir) = platform::prepare_image(opts)?;
    let build_dir = image.workspace();
    let env_dir = image.platform().join("env");

    let mut env = env::host_env();
    for (i, bp) in buildpacks.iter().enumerate() {
        let out = process::output(process::phase(
            &bp.dir.join("bin/detect"),
            &[build_dir.as_os_str()],
            &build_dir,
            &env,
        ))?;
        if !out.status.success() {
            return Err(LifecycleError::NoGroupPassed {
                report: format!(
                    "fail: {} (buildpack #{} in the list): bin/detect exited {}\n{}{}",
                    bp.name,
                    i + 1,
                    crate::exit_code(out.status),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }
        let detected = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("=====> Downloaded app package: {}", bp.name);
        println!(
            "-----> {} app detected",
            if detected.is_empty() {
                &bp.name
            } else {
                &detected
            }
        );
        let cache = image.cache().join("classic").join(&bp.name);
        std::fs::create_dir_all(&cache).at(&cache)?;
        let status = process::status(process::phase(
            &bp.dir.join("bin/compile"),
            &[
                build_dir.as_os_str(),
                cache.as_os_str(),
                env_dir.as_os_str(),
            ],
            &build_dir,
            &env,
        ))?;
        if !status.success() {
            return Err(LifecycleError::CompileFailed {
                buildpack: bp.name.clone(),
                code: crate::exit_code(status),
            });
        }
        if bp.dir.join("export").is_file() {
            env = source_export(&bp.dir.join("export"), &env, &build_dir)?;
        }
    }

    let mut defaults = serde_yaml_ng::Mapping::new();
    if let Some(last) = buildpacks.last() {
        if last.dir.join("bin/release").is_file() {
            let out = process::output(process::phase(
                &last.dir.join("bin/release"),
                &[build_dir.as_os_str()],
                &build_dir,
                &env,
            ))?;
            if !out.status.success() {
                return Err(LifecycleError::BadRelease {
                    buildpack: last.name.clone(),
                    message: format!(
                        "exit code {}: {}",
                        crate::exit_code(out.status),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                });
            }
            let release: Release = serde_yaml_ng::from_slice::<Option<Release>>(&out.stdout)
                .map_err(|e| LifecycleError::BadRelease {
                    buildpack: last.name.clone(),
                    message: e.to_string(),
                })?
                .unwrap_or_default();
            defaults = release.default_process_types;
        }
    }
    // The Procfile overrides bin/release's defaults, type by type.
    let mut types: Vec<(String, String)> = defaults
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect();
    if let Ok(bytes) = std::fs::read(build_dir.join("Procfile")) {
        let parsed = procfile::parse::parse("Procfile", &bytes);
        if parsed.has_errors() {
            return Err(LifecycleError::Procfile(procfile::diagnostic::render_all(
                &parsed.diagnostics,
            )));
        }
        for e in parsed.entries {
            types.retain(|(n, _)| *n != e.name);
            types.push((e.name, e.command));
        }
    }
    let default = if types.iter().any(|(n, _)| n == "web") {
        Some("web".to_string())
    } else if types.len() == 1 {
        Some(types[0].0.clone())
    } else {
        None
    };
    let processes = types
        .into_iter()
        .map(|(kind, command)| ImageProcess {
            default: Some(&kind) == default.as_ref(),
            kind,
            command: vec!["bash".into(), "-c".into(), command],
            args: Vec::new(),
            buildpack_id: String::new(),
            working_dir: None,
        })
        .collect();
    let metadata = ImageMetadata {
        default_process_type: None,
        api: Api::Classic,
        buildpacks: buildpacks
            .iter()
            .map(|b| ImageBuildpack {
                id: b.name.clone(),
                version: String::new(),
                layers: b.name.clone(),
            })
            .collect(),
        processes,
    };
    image.write_metadata(&metadata)?;
    let names: Vec<_> = metadata.processes.iter().map(|p| p.kind.as_str()).collect();
    println!(
        "-----> Discovering process types\n       Procfile declares types -> {}",
        names.join(", ")
    );
    Ok(BuildReport {
        image: image.root.clone(),
        metadata,
        restored: Vec::new(),
    })
}

/// heroku-buildpack-multi sources `<buildpack>/export` after each compile.
fn source_export(export: &Path, env: &Env, cwd: &Path) -> Result<Env> {
    let out = Command::new("bash")
        .args(["-c", r#". "$0" >&2 && env -0"#])
        .arg(export)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| LifecycleError::Spawn {
            program: format!("bash (sourcing {})", export.display()),
            source,
        })?;
    if !out.status.success() {
        return Err(LifecycleError::Spawn {
            program: export.display().to_string(),
            source: std::io::Error::other("sourcing the export file failed"),
        });
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let pos = kv.iter().position(|b| *b == b'=')?;
            Some((
                OsString::from_vec(kv[..pos].to_vec()),
                OsString::from_vec(kv[pos + 1..].to_vec()),
            ))
        })
        .filter(|(k, _)| k != "_" && k != "SHLVL" && k != "PWD")
        .collect())
}
