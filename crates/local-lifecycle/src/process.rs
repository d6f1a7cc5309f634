//! Running a child the way a dyno's init does: in its own process group,
//! with SIGTERM/SIGINT/SIGHUP/SIGQUIT forwarded to the whole group.

use crate::env::Env;
use crate::error::{LifecycleError, Result};
use buildkit::process::Group;
use nix::sys::signal::Signal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

pub use buildkit::process::exit_code;

/// Spawn `cmd` in a new process group and wait, forwarding termination signals.
pub fn run_forwarding_signals(mut cmd: Command, program: &str) -> Result<i32> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT]).map_err(|source| {
        LifecycleError::Spawn {
            program: program.to_string(),
            source,
        }
    })?;
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| LifecycleError::Spawn {
        program: program.to_string(),
        source,
    })?;
    let group = Group::of(&child);
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Ok(signal) = Signal::try_from(sig) {
                group.signal(signal);
            }
        }
    });
    let status = child.wait().map_err(|source| LifecycleError::Spawn {
        program: program.to_string(),
        source,
    })?;
    handle.close();
    let _ = forwarder.join();
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

/// Run with output streamed to ours.
pub(crate) fn status(mut cmd: Command) -> Result<ExitStatus> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.status()
        .map_err(|source| LifecycleError::Spawn { program, source })
}

/// Run with output captured.
pub(crate) fn output(mut cmd: Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.output()
        .map_err(|source| LifecycleError::Spawn { program, source })
}
