//! The classic buildpack API (Heroku's `bin/detect`, `bin/compile`,
//! `bin/release`), driven the two ways Heroku drives a list of buildpacks:
//!
//! - [`Flavor::Native`]: Heroku's own multiple buildpacks (`heroku
//!   buildpacks:add`, app.json `buildpacks`): every buildpack must detect
//!   ("App not compatible with buildpack"), each compiles in order, a
//!   buildpack's `export` file is sourced for the next, and the release takes
//!   the *last* buildpack's `bin/release` `default_process_types`.
//! - [`Flavor::Multi`]: heroku-buildpack-multi (`.buildpacks`; its
//!   `bin/compile`): the same, except that it prints its own lines, runs
//!   `bin/release` after each compile into `BUILD_DIR/last_pack_release.out`
//!   (overwritten each time, so the last buildpack's survives, in the slug),
//!   and fails with "Couldn't detect any framework for this buildpack. Exiting.".
//!
//! In both, the slug's Procfile overrides the default process types, type by type.

use crate::env::{self, Env};
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::{Api, Image, ImageBuildpack, ImageMetadata, ImageProcess};
use crate::options::BuildOptions;
use crate::platform;
use crate::process;
use buildkit::fs::remove;
use serde::Deserialize;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a list of classic buildpacks is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Flavor {
    /// Heroku's native multiple buildpacks (`heroku buildpacks:add`).
    #[default]
    Native,
    /// heroku-buildpack-multi (`.buildpacks`).
    Multi,
}

#[derive(Debug, Deserialize, Default)]
struct Release {
    #[serde(default)]
    default_process_types: yaml_serde::Mapping,
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

/// `bin/release BUILD_DIR`'s output, checked.
fn release_output(bp: &Classic, build_dir: &Path, env: &Env) -> Result<Vec<u8>> {
    let out = process::output(process::phase(
        &bp.dir.join("bin/release"),
        &[build_dir.as_os_str()],
        build_dir,
        env,
    ))?;
    if !out.status.success() {
        return Err(LifecycleError::BadRelease {
            buildpack: bp.name.clone(),
            message: format!(
                "exit code {}: {}",
                crate::exit_code(out.status),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(out.stdout)
}

pub(crate) fn build_classic(opts: &BuildOptions, flavor: Flavor) -> Result<PathBuf> {
    // Heroku fetches every buildpack afresh for each build, into a directory
    // of its own: what a compile writes beside itself (`export`) lasts one
    // build and is never seen by another. So the build runs copies, made
    // here and dropped after it; the directories given are never written.
    let fresh = tempfile::Builder::new()
        .prefix("slipway-classic-buildpacks-")
        .tempdir()
        .at(std::env::temp_dir())?;
    let buildpacks = opts
        .buildpacks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let given = open(b)?;
            let dir = fresh.path().join(format!("{i}-{}", given.name));
            buildkit::fs::copy_tree(&given.dir, &dir, None)?;
            Ok(Classic {
                dir,
                name: given.name,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // The lock is held until `conclude` has put the right image in place.
    let (image, _app_dir, _lock) = platform::prepare_image(opts)?;
    let result = compile_all(&image, &buildpacks, flavor);
    platform::conclude(&image, result)
}

/// Detect and compile every buildpack in order over a prepared image.
fn compile_all(image: &Image, buildpacks: &[Classic], flavor: Flavor) -> Result<PathBuf> {
    let build_dir = image.workspace();
    let env_dir = image.platform().join("env");

    if flavor == Flavor::Native {
        println!("{}", buildkit::style::step("Using buildpacks:"));
        for (i, bp) in buildpacks.iter().enumerate() {
            println!("       {}. {}", i + 1, bp.name);
        }
    }
    let mut env = env::host_env();
    let mut last_release: Option<(Vec<u8>, String)> = None;
    for (i, bp) in buildpacks.iter().enumerate() {
        if flavor == Flavor::Multi {
            println!("=====> Downloading Buildpack: {}", bp.name);
        }
        let detected = detect(bp, i, flavor, &build_dir, &env)?;
        match flavor {
            Flavor::Native => println!(
                "{}",
                buildkit::style::step(&format!("{detected} app detected"))
            ),
            Flavor::Multi => println!("=====> Detected Framework: {detected}"),
        }
        let cache = image.cache().join("classic").join(&bp.name);
        let print_file = image
            .cache()
            .join("classic")
            .join(format!("{}.fingerprint", bp.name));
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
            // CACHE_DIR is the buildpack's own, changed in place (copying it
            // before every compile to keep it would cost every build). As
            // Heroku keeps the last good cache: kept if the failed compile
            // left it exactly as the last good one did (its fingerprint),
            // else it goes, never read half-changed.
            let unchanged = matches!(
                (std::fs::read_to_string(&print_file), buildkit::fs::tree_fingerprint(&cache)),
                (Ok(before), Ok(now)) if before == now
            );
            if unchanged {
                println!(
                    "       Keeping the build cache of {}: the failed compile left it unchanged",
                    bp.name
                );
            } else {
                println!(
                    "       Dropping the build cache of {}: the failed compile changed it",
                    bp.name
                );
                remove(&cache)?;
                remove(&print_file)?;
            }
            return Err(LifecycleError::CompileFailed {
                buildpack: bp.name.clone(),
                code: crate::exit_code(status),
            });
        }
        std::fs::write(&print_file, buildkit::fs::tree_fingerprint(&cache)?).at(&print_file)?;
        if bp.dir.join("export").is_file() {
            env = source_export(&bp.dir.join("export"), &env, &build_dir)?;
        }
        if flavor == Flavor::Multi && bp.dir.join("bin/release").is_file() {
            let out = release_output(bp, &build_dir, &env)?;
            let file = build_dir.join("last_pack_release.out");
            std::fs::write(&file, &out).at(&file)?;
            last_release = Some((out, bp.name.clone()));
        }
    }
    if flavor == Flavor::Multi && last_release.is_some() {
        if let Some(last) = buildpacks.last() {
            println!(
                "Using release configuration from last framework ({}).",
                last.name
            );
        }
    }
    if flavor == Flavor::Native {
        if let Some(last) = buildpacks.last() {
            if last.dir.join("bin/release").is_file() {
                last_release = Some((release_output(last, &build_dir, &env)?, last.name.clone()));
            }
        }
    }

    let processes = process_types(last_release, &build_dir)?;
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
        "{}\n{}",
        buildkit::style::step("Discovering process types"),
        buildkit::style::detail(&format!("Procfile declares types -> {}", names.join(", ")))
    );
    Ok(image.root.clone())
}

/// Run `bin/detect`: the name it prints (the buildpack's when it prints none),
/// or why the build stops here.
fn detect(bp: &Classic, i: usize, flavor: Flavor, build_dir: &Path, env: &Env) -> Result<String> {
    let out = process::output(process::phase(
        &bp.dir.join("bin/detect"),
        &[build_dir.as_os_str()],
        build_dir,
        env,
    ))?;
    if !out.status.success() {
        let why = match flavor {
            Flavor::Native => format!("App not compatible with buildpack: {}", bp.name),
            Flavor::Multi => {
                "Couldn't detect any framework for this buildpack. Exiting.".to_string()
            }
        };
        return Err(LifecycleError::NoGroupPassed {
            report: format!(
                "{why}\nfail: {} (buildpack #{} in the list): bin/detect exited {}\n{}{}",
                bp.name,
                i + 1,
                crate::exit_code(out.status),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    let detected = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(if detected.is_empty() {
        bp.name.clone()
    } else {
        detected
    })
}

/// The slug's process types: the last `bin/release`'s `default_process_types`,
/// overridden type by type by the Procfile; `web` (or a lone type) is the default.
fn process_types(
    last_release: Option<(Vec<u8>, String)>,
    build_dir: &Path,
) -> Result<Vec<ImageProcess>> {
    let mut defaults = yaml_serde::Mapping::new();
    if let Some((out, name)) = last_release {
        let release: Release = yaml_serde::from_slice::<Option<Release>>(&out)
            .map_err(|e| LifecycleError::BadRelease {
                buildpack: name,
                message: e.to_string(),
            })?
            .unwrap_or_default();
        defaults = release.default_process_types;
    }
    // The Procfile overrides bin/release's defaults, type by type.
    let mut types: Vec<(String, String)> = defaults
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect();
    if let Ok(bytes) = std::fs::read(build_dir.join("Procfile")) {
        let parsed = procfile::parse("Procfile", &bytes);
        if parsed.has_errors() {
            return Err(LifecycleError::Procfile(slipway_data::render_all(
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
    Ok(types
        .into_iter()
        .map(|(kind, command)| ImageProcess {
            default: Some(&kind) == default.as_ref(),
            kind,
            command: vec!["bash".into(), "-c".into(), command],
            args: Vec::new(),
            buildpack_id: String::new(),
            working_dir: None,
        })
        .collect())
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
