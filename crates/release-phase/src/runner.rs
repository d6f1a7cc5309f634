//! Running one step: its own process group, output streamed line by line
//! through the redactor, a timeout, and SIGTERM/SIGINT forwarded to the
//! group with a grace period before SIGKILL.

use crate::config::Step;
use crate::error::ReleaseError;
use buildkit::process::Stop;
use buildkit::process::{self, Group, Line};
use buildkit::redact::{Redactor, StreamRedactor};
use nix::sys::signal::Signal;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The step exited by itself with this code (128+N if a signal N killed it).
    Exited(i32),
    /// Stopped after running longer than the timeout.
    TimedOut,
    /// Stopped because release-phase received this signal.
    Interrupted(i32),
    /// Stopped because the release lock's database connection was lost: the
    /// lock is gone with it, so the step must not go on (another release may
    /// take the lock and run).
    LockLost,
}

pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) grace: Duration,
}

/// Copy the step's output to ours as it comes, stdout to stdout and stderr
/// to stderr, through the redactor (one per stream, so a secret across two
/// pieces of a long line is masked whole); `done` when both streams end.
/// The channel is bounded (`process::lines`): while our reader stalls, the
/// step blocks on its full pipe instead of our memory growing.
fn pump(lines: mpsc::Receiver<Line>, redactor: Redactor, done: mpsc::Sender<()>) {
    std::thread::spawn(move || {
        let mut out = StreamRedactor::new(redactor.clone());
        let mut err = StreamRedactor::new(redactor);
        let write = |stderr: bool, text: &str| {
            if text.is_empty() {
                return;
            }
            if stderr {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(text.as_bytes());
                let _ = e.flush();
            } else {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(text.as_bytes());
                let _ = o.flush();
            }
        };
        for line in lines {
            let stream = if line.stderr { &mut err } else { &mut out };
            write(line.stderr, &stream.piece(&line.bytes));
        }
        write(false, &out.finish());
        write(true, &err.finish());
        let _ = done.send(());
    });
}

pub(crate) fn run_step(
    to_run: &Step,
    cwd: &Path,
    limits: &Limits,
    stop: &Stop,
    redactor: &Redactor,
    lock_lost: &dyn Fn() -> bool,
) -> Result<Outcome, ReleaseError> {
    // Through the step guard (this binary), so the step dies with us even if
    // we are SIGKILLed; directly if our own executable cannot be found.
    let mut command = if let Ok(me) = std::env::current_exe() {
        let mut c = Command::new(me);
        c.arg("__step-guard")
            .arg("--parent")
            .arg(std::process::id().to_string())
            .arg("--grace-ms")
            .arg(
                u64::try_from(limits.grace.as_millis())
                    .unwrap_or(u64::MAX)
                    .to_string(),
            )
            .arg("--")
            .args(&to_run.argv);
        c
    } else {
        let mut c = Command::new(&to_run.argv[0]);
        c.args(&to_run.argv[1..]);
        c
    };
    let mut child = command
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| ReleaseError::Spawn {
            step: redactor.redact(&to_run.display()).into_owned(),
            source,
        })?;
    let group = Group::of(&child);
    let (pumped_tx, pumped_rx) = mpsc::channel();
    pump(process::lines(&mut child).0, redactor.clone(), pumped_tx);

    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = exit_tx.send(child.wait().map(process::exit_code));
    });
    let wait = |within: Duration| -> Option<i32> {
        match exit_rx.recv_timeout(within) {
            Ok(Ok(c)) => Some(c),
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => Some(-1),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        }
    };
    // A timeout past what the clock can represent is no deadline at all (never a panic).
    let deadline = Instant::now().checked_add(limits.timeout);
    let outcome = loop {
        if let Some(c) = wait(deadline.map_or(Duration::from_millis(20), |d| {
            Duration::from_millis(20).min(d.saturating_duration_since(Instant::now()))
        })) {
            break Outcome::Exited(c);
        }
        let (signal, outcome) = if stop.stopped() {
            let sig = stop.signal();
            (
                Signal::try_from(sig).unwrap_or(Signal::SIGTERM),
                Outcome::Interrupted(sig),
            )
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            (Signal::SIGTERM, Outcome::TimedOut)
        } else if lock_lost() {
            (Signal::SIGTERM, Outcome::LockLost)
        } else {
            continue;
        };
        group.stop(signal, limits.grace, &mut |d| wait(d).is_some());
        break outcome;
    };
    // Whatever ended it, no process of the step outlives it: one whose guard
    // was killed, or a grandchild that ignored SIGTERM, is still in the
    // step's process group (reparented to us: release-phase is a subreaper).
    // The lock is only let go once the group is empty.
    if clear_group(group.pid(), limits.grace) {
        eprintln!(" !     processes of the step outlived it (its guard killed, or a child ignoring SIGTERM): they were stopped before the release lock is let go");
    }
    // Let the output thread drain what the step wrote (bounded: a daemonised
    // grandchild may keep a pipe open).
    let _ = pumped_rx.recv_timeout(Duration::from_secs(4));
    Ok(outcome)
}

/// Make release-phase the subreaper of what it starts: a step's process
/// whose parent (the guard) dies is reparented here, not to init, so it
/// stays in reach (and is reaped) until the group is empty.
pub(crate) fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

/// Stop every process left in process group `pgid` (SIGTERM, SIGKILL after
/// `grace`) and wait until the group is empty, reaping the ones reparented
/// to us. True if any was left.
fn clear_group(pgid: nix::unistd::Pid, grace: Duration) -> bool {
    use nix::sys::signal::killpg;
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let reap = || {
        while let Ok(status) = waitpid(
            nix::unistd::Pid::from_raw(-pgid.as_raw()),
            Some(WaitPidFlag::WNOHANG),
        ) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
    };
    let alive = || {
        reap();
        killpg(pgid, None).is_ok()
    };
    if !alive() {
        return false;
    }
    let wait_empty = |within: Duration| {
        // A grace past what the clock can represent is no deadline.
        let until = Instant::now().checked_add(within);
        while alive() {
            if until.is_some_and(|u| Instant::now() >= u) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20)); // polling the kernel's process table
        }
        true
    };
    process::Group::from_pid(pgid).stop(Signal::SIGTERM, grace, &mut |within| wait_empty(within));
    true
}

/// `release-phase __step-guard --parent PID -- ARGV...`: runs ARGV in this
/// process group (the one `run_step` made) and exits with its code. It asks
/// the kernel for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`); then,
/// its parent gone, it stops the whole group (SIGTERM, SIGKILL after the
/// step's grace: within `db::stop_within`, which a new lock holder waits), so
/// a release step never outlives a `release-phase run` that was SIGKILLed and
/// never runs without the lock. Signals the parent sends to the group reach
/// the step directly; the guard only waits for it.
pub fn step_guard(parent: i32, grace: Duration, argv: &[String]) -> i32 {
    use nix::unistd::{getpgrp, getppid};
    let parent_gone = move || getppid().as_raw() != parent;
    let Ok(mut caught) = process::Forward::catch() else {
        return 1;
    };
    if nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).is_err() || parent_gone() {
        return 143;
    }
    let Some((program, rest)) = argv.split_first() else {
        return 2;
    };
    let mut child = match Command::new(program).args(rest).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("could not start `{program}`: {e}");
            return 127;
        }
    };
    caught.each(move |_| {
        if parent_gone() {
            // The whole group, this guard included: SIGKILL after the grace ends it too.
            process::Group::from_pid(getpgrp()).stop(Signal::SIGTERM, grace, &mut |d| {
                std::thread::sleep(d);
                false
            });
        }
    });
    match child.wait() {
        Ok(status) => process::exit_code(status),
        Err(_) => 1,
    }
}
