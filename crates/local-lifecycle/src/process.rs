//! Running a child the way a dyno's init does: in its own process group,
//! with SIGTERM/SIGINT/SIGHUP/SIGQUIT forwarded to the whole group.

use crate::env::Env;
use crate::error::{LifecycleError, Result};
use buildkit::process::{Forward, Group};
use nix::sys::signal::Signal;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

pub(crate) use buildkit::process::exit_code;

/// Spawn `cmd` in a new process group and wait, forwarding termination signals.
pub(crate) fn run_forwarding_signals(mut cmd: Command, program: &str) -> Result<i32> {
    let mut forward = Forward::catch().map_err(|source| LifecycleError::Spawn {
        program: program.to_string(),
        source,
    })?;
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| LifecycleError::Spawn {
        program: program.to_string(),
        source,
    })?;
    forward.to(Group::of(&child));
    let status = child.wait().map_err(|source| LifecycleError::Spawn {
        program: program.to_string(),
        source,
    })?;
    drop(forward);
    Ok(exit_code(status))
}

/// A buildpack phase executable: exactly `env`, in `cwd`, stdin closed.
pub(crate) fn phase(program: &Path, args: &[&OsStr], cwd: &Path, env: &Env) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null());
    cmd
}

/// How long a build phase has to end after SIGTERM before SIGKILL.
pub(crate) const BUILD_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGTERM and SIGINT for the whole build, caught from its start
/// ([`catch_build_signals`]): a phase running then is stopped, group and all.
static BUILD_STOP: std::sync::OnceLock<buildkit::process::Stop> = std::sync::OnceLock::new();

/// Catch SIGTERM/SIGINT for the rest of this build (once per process).
pub(crate) fn catch_build_signals() -> Result<()> {
    if BUILD_STOP.get().is_none() {
        let stop = buildkit::process::Stop::install().map_err(|source| LifecycleError::Spawn {
            program: "(signal handlers)".into(),
            source,
        })?;
        let _ = BUILD_STOP.set(stop);
    }
    Ok(())
}

/// A signal caught during the build, as an error (before the next phase).
pub(crate) fn interrupted() -> Result<()> {
    match BUILD_STOP.get().map(buildkit::process::Stop::signal) {
        Some(signal) if signal != 0 => Err(LifecycleError::Interrupted {
            signal,
            grace_s: BUILD_GRACE.as_secs(),
        }),
        _ => Ok(()),
    }
}

/// Run with output streamed to ours, in a process group of its own. A
/// SIGTERM or SIGINT to the build (once caught) is passed to the whole
/// group, SIGKILL after [`BUILD_GRACE`]; the phase's processes are gone when
/// this returns, so nothing writes into the image after the build ends.
pub(crate) fn status(mut cmd: Command) -> Result<ExitStatus> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    interrupted()?;
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| LifecycleError::Spawn {
        program: program.clone(),
        source,
    })?;
    let group = Group::of(&child);
    let spawn_err = |source| LifecycleError::Spawn {
        program: program.clone(),
        source,
    };
    loop {
        if let Some(status) = child.try_wait().map_err(spawn_err)? {
            // What the phase started in its group goes with it.
            group.signal(Signal::SIGKILL);
            interrupted()?;
            return Ok(status);
        }
        let Some(stop) = BUILD_STOP.get() else {
            let status = child.wait().map_err(spawn_err)?;
            group.signal(Signal::SIGKILL);
            return Ok(status);
        };
        if stop.sleep(std::time::Duration::from_millis(100)) {
            let first = Signal::try_from(stop.signal()).unwrap_or(Signal::SIGTERM);
            group.stop(first, BUILD_GRACE, &mut |within| {
                let until = std::time::Instant::now() + within;
                loop {
                    if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                        return true;
                    }
                    if std::time::Instant::now() >= until {
                        return false;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20)); // polling the child's exit
                }
            });
            // The group's stragglers (ignoring SIGTERM) go too.
            group.signal(Signal::SIGKILL);
            return Err(LifecycleError::Interrupted {
                signal: stop.signal(),
                grace_s: BUILD_GRACE.as_secs(),
            });
        }
    }
}

/// Run with output captured.
pub(crate) fn output(mut cmd: Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.output()
        .map_err(|source| LifecycleError::Spawn { program, source })
}
