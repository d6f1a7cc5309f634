//! `slipway run`: start one process of a built image with the environment the
//! CNB launcher (or, for classic builds, a Heroku dyno) would give it.

use crate::env::{self, Env, Phase};
use crate::error::{LifecycleError, Result};
use crate::image::{Api, Image, ImageMetadata, ImageProcess};
use crate::layers::layer_types;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub image: PathBuf,
    /// The process type; the image's default when None.
    pub process: Option<String>,
    /// `$PORT` when the environment does not set one.
    pub port: u16,
    /// Runtime config vars (`KEY=VALUE`), on top of the app's `.env`.
    pub env: Vec<String>,
    /// Appended to the process's command (the CNB "user-provided args").
    pub args: Vec<String>,
}

/// A process ready to start.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) process: ImageProcess,
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Env,
    pub(crate) cwd: PathBuf,
}

pub(crate) fn prepare(opts: &RunOptions) -> Result<Prepared> {
    // Absolute, so layer paths put on PATH still resolve from the process's working dir.
    let root = std::fs::canonicalize(&opts.image).map_err(|_| LifecycleError::NoImage {
        image: opts.image.clone(),
    })?;
    let image = Image::new(&crate::platform::runnable_root(&root));
    let metadata = image.read_metadata()?;
    let process = metadata.process(opts.process.as_deref())?.clone();
    let workspace = image.workspace();

    let mut env = env::host_env();
    let config = crate::platform::user_env(&workspace, &opts.env)?;
    env.extend(
        config
            .into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env.entry("PORT".into())
        .or_insert_with(|| opts.port.to_string().into());
    env.entry("DYNO".into())
        .or_insert_with(|| format!("{}.1", process.kind).into());

    let mut command: Vec<String> = process
        .command
        .iter()
        .chain(&process.args)
        .chain(&opts.args)
        .cloned()
        .collect();
    match metadata.api {
        Api::Cnb => {
            apply_launch_layers(&image, &metadata, &process.kind, &mut env)?;
            run_exec_d(&image, &metadata, &process.kind, &mut env, &workspace)?;
        }
        Api::Classic => {
            env.insert("HOME".into(), workspace.clone().into());
            // A dyno sources .profile.d/*.sh before running the command.
            let script = r#"for f in "$HOME"/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; unset f; exec "$@""#;
            let mut wrapped = vec![
                "bash".to_string(),
                "-c".to_string(),
                script.to_string(),
                "slipway-dyno".to_string(),
            ];
            wrapped.append(&mut command);
            command = wrapped;
        }
    }
    let cwd = process
        .working_dir
        .as_ref()
        .map_or_else(|| workspace.clone(), |w| workspace.join(w));
    let (program, args) = command
        .split_first()
        .map(|(p, a)| (p.clone(), a.to_vec()))
        .unwrap_or_default();
    Ok(Prepared {
        process,
        program,
        args,
        env,
        cwd,
    })
}

/// Start the process and wait for it, forwarding termination signals. Returns its exit code.
pub fn run(opts: &RunOptions) -> Result<i32> {
    let p = prepare(opts)?;
    let mut cmd = Command::new(&p.program);
    cmd.args(&p.args)
        .env_clear()
        .envs(&p.env)
        .current_dir(&p.cwd);
    crate::process::run_forwarding_signals(cmd, &p.program)
}

fn launch_layers(image: &Image, metadata: &ImageMetadata) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for bp in &metadata.buildpacks {
        let dir = image.layers().join(&bp.layers);
        for (name, types) in layer_types(&dir)? {
            if types.launch && dir.join(&name).is_dir() {
                out.push(dir.join(name));
            }
        }
    }
    Ok(out)
}

fn apply_launch_layers(
    image: &Image,
    metadata: &ImageMetadata,
    process: &str,
    env: &mut Env,
) -> Result<()> {
    for layer in launch_layers(image, metadata)? {
        env::apply_layer(env, &layer, Phase::Launch { process })?;
    }
    Ok(())
}

/// exec.d: each executable in `<layer>/exec.d/` and `<layer>/exec.d/<process>/`
/// writes TOML `NAME = "value"` to file descriptor 3; those values override.
fn run_exec_d(
    image: &Image,
    metadata: &ImageMetadata,
    process: &str,
    env: &mut Env,
    cwd: &Path,
) -> Result<()> {
    for layer in launch_layers(image, metadata)? {
        for dir in [layer.join("exec.d"), layer.join("exec.d").join(process)] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut programs: Vec<PathBuf> = entries
                .filter_map(std::result::Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            programs.sort();
            for program in programs {
                // bash gives the program fd 3 = our pipe and sends its stdout to stderr.
                let out = Command::new("bash")
                    .args(["-c", r#""$0" 3>&1 1>&2"#])
                    .arg(&program)
                    .env_clear()
                    .envs(env.iter())
                    .current_dir(cwd)
                    .stdin(Stdio::null())
                    .stderr(Stdio::inherit())
                    .output()
                    .map_err(|source| LifecycleError::Spawn {
                        program: program.display().to_string(),
                        source,
                    })?;
                if !out.status.success() {
                    return Err(LifecycleError::Spawn {
                        program: program.display().to_string(),
                        source: std::io::Error::other(format!(
                            "exec.d program exited with {}",
                            crate::exit_code(out.status)
                        )),
                    });
                }
                let text = String::from_utf8_lossy(&out.stdout);
                let table: toml::Table =
                    toml::from_str(&text).map_err(|e| LifecycleError::Toml {
                        file: program.clone(),
                        message: e.message().to_string(),
                    })?;
                for (k, v) in table {
                    if let Some(v) = v.as_str() {
                        env.insert(k.into(), v.into());
                    }
                }
            }
        }
    }
    Ok(())
}
