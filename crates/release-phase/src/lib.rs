//! Slipway's release phase: the release plan run safely on every release.
//!
//! `release-phase run` waits for the database, takes a PostgreSQL advisory
//! lock (so two releases, or a release and a one-off, never migrate at once),
//! runs each step with a timeout and signal forwarding, streams redacted
//! output, and exits non-zero when anything fails, which makes the platform
//! refuse the release. Formats and exit codes: `SPEC.md` beside this crate.

mod config;
mod db;
mod error;
mod runner;
pub use config::{describe, detect_migration, load, Plan, Step};

pub use error::{exit, ReleaseError};
pub use runner::step_guard;

use buildkit::process::Stop;
use buildkit::redact::Redactor;
use runner::{Limits, Outcome};
use std::path::Path;
use std::time::Instant;

/// Printed lines, Heroku style, every one through the redactor.
pub(crate) struct Log<'a> {
    pub(crate) redactor: &'a Redactor,
}

impl Log<'_> {
    pub(crate) fn header(&self, text: &str) {
        println!("{}", buildkit::style::step(&self.redactor.redact(text)));
    }
    pub(crate) fn info(&self, text: &str) {
        for line in text.lines() {
            println!("       {}", self.redactor.redact(line));
        }
    }
    pub(crate) fn warn(&self, text: &str) {
        for line in text.lines() {
            eprintln!(" !     {}", self.redactor.redact(line));
        }
    }
}

/// The environment, read one way: the binary passes the process's
/// (`std::env::var`), tests pass their own. Settings, `skip-when`,
/// `DATABASE_URL` and the dyno's name all come through it.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn seconds(d: std::time::Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// The plan as `check` and `run` print it: `<title>: N steps`, the steps,
/// and its warnings.
fn announce(log: &Log<'_>, title: &str, plan: &Plan) {
    log.header(&format!(
        "{title}: {} step{}",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    ));
    log.info(&config::describe(plan));
    for w in &plan.warnings {
        log.warn(w);
    }
}

/// `release-phase check`: load and print the plan. Ok(0) when valid.
pub fn check(app_dir: &Path, env: Env<'_>) -> Result<i32, ReleaseError> {
    let redactor = Redactor::from_process_env();
    let log = Log {
        redactor: &redactor,
    };
    let plan = config::load(app_dir, env)?;
    announce(&log, "Release plan", &plan);
    if let Some(why) = config::skipped_by(&plan, env) {
        log.info(&format!("here it would be skipped: {why}"));
    }
    match env("DATABASE_URL") {
        Some(url) if is_postgres(&url) => log.info(&format!(
            "database: {} (release lock on)",
            db::parse_url(&url)?.1
        )),
        Some(_) => log.info("database: not PostgreSQL (no release lock)"),
        None => log.info("database: DATABASE_URL not set (no wait, no release lock)"),
    }
    Ok(0)
}

/// `release-phase check --json`: the plan as one JSON object.
pub fn check_json(app_dir: &Path, env: Env<'_>) -> Result<serde_json::Value, ReleaseError> {
    let plan = config::load(app_dir, env)?;
    let s = &plan.settings;
    let database = match env("DATABASE_URL") {
        Some(url) if is_postgres(&url) => {
            serde_json::json!({"kind": "postgres", "at": db::parse_url(&url)?.1, "lock": true})
        }
        Some(_) => serde_json::json!({"kind": "other", "lock": false}),
        None => serde_json::json!(null),
    };
    Ok(serde_json::json!({
        "steps": plan.steps.iter().map(|step| serde_json::json!({
            "argv": step.argv,
            "command": step.display(),
            "source": step.source.to_string(),
        })).collect::<Vec<_>>(),
        "settings": {
            "lock_name": s.lock_name,
            "lock_timeout_s": s.lock_timeout.as_secs(),
            "step_timeout_s": s.step_timeout.as_secs(),
            "database_wait_s": s.database_wait.as_secs(),
            "grace_s": s.grace.as_secs(),
        },
        "skip_when": plan.skip_when.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
        "skipped_here": config::skipped_by(&plan, env),
        "warnings": plan.warnings,
        "database": database,
    }))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `release-phase run`: the exit code to leave with.
pub fn run(app_dir: &Path, env: Env<'_>) -> i32 {
    let redactor = Redactor::from_process_env();
    let log = Log {
        redactor: &redactor,
    };
    match run_inner(app_dir, env, &log) {
        Ok(code) => code,
        Err(e) => {
            log.warn(&format!("Release failed: {e}"));
            match e {
                ReleaseError::Signalled(sig) => 128 + sig,
                _ => exit::ERROR,
            }
        }
    }
}

/// Open the release fence (db::fence_open). A holder lost mid-step left it
/// open: its step may run on for its `stop_within`, so wait that long
/// before the first step (saying so). True if the fence is ours to close.
fn open_fence(
    client: &mut buildkit::pg::Bounded,
    env: Env<'_>,
    plan: &Plan,
    stop: &Stop,
    log: &Log<'_>,
) -> Result<bool, ReleaseError> {
    let holder = format!(
        "release-phase pid {} on {}",
        std::process::id(),
        env("DYNO")
            .or_else(|| env("HOSTNAME"))
            .unwrap_or_else(|| "this host".into())
    );
    let within = db::stop_within(plan.settings.grace);
    match db::fence_open(client, &plan.settings.lock_name, &holder, within, stop) {
        Ok(None) => Ok(true),
        Ok(Some(left)) => {
            log.warn(&format!(
                "the previous holder of the lock ({}) lost it during a step, whose processes may still be stopping: waiting {} (its detection, grace and kill time) before the first step, so no two releases' steps ever overlap",
                left.holder,
                seconds(left.stop_within)
            ));
            if stop.sleep(left.stop_within) {
                return Err(ReleaseError::Signalled(stop.signal()));
            }
            Ok(true)
        }
        Err(ReleaseError::Signalled(sig)) => Err(ReleaseError::Signalled(sig)),
        Err(e) => {
            log.warn(&format!("{e}: running without the release fence (a release that takes the lock from one lost mid-step cannot wait for its step to stop); grant CREATE on the database's schema to fix it"));
            Ok(false)
        }
    }
}

/// Say how step `n` failed; the exit code of the release.
fn failed_step(n: usize, outcome: Outcome, took: &str, limits: &Limits, log: &Log<'_>) -> i32 {
    match outcome {
        Outcome::Exited(code) => {
            log.warn(&format!(
                "step {n} failed with exit code {code} after {took}; the release is not deployed"
            ));
            code
        }
        Outcome::TimedOut => {
            log.warn(&format!("step {} ran longer than its {}s timeout and was stopped; the release is not deployed", n, limits.timeout.as_secs()));
            exit::TIMEOUT
        }
        Outcome::LockLost => {
            log.warn(&format!("the release lock's database connection was lost or stopped answering during step {n} (the lock cannot be vouched for): the step was stopped so it never runs beside another release; the release is not deployed"));
            exit::LOCK_LOST
        }
        Outcome::Interrupted(sig) => {
            log.warn(&format!(
                "release-phase received signal {sig} during step {n}; the step was stopped"
            ));
            if sig == nix::libc::SIGINT {
                exit::INTERRUPTED
            } else {
                exit::TERMINATED
            }
        }
    }
}

fn run_inner(app_dir: &Path, env: Env<'_>, log: &Log<'_>) -> Result<i32, ReleaseError> {
    let started = Instant::now();
    let stop = Stop::install().map_err(|e| ReleaseError::Io {
        what: "installing signal handlers".into(),
        source: e,
    })?;
    let plan: Plan = config::load(app_dir, env)?;
    announce(log, "Release phase", &plan);
    if let Some(why) = config::skipped_by(&plan, env) {
        log.header(&format!(
            "Skipping the release phase: {why} (skip-when in project.toml [_.metadata.slipway.release])"
        ));
        return Ok(0);
    }
    if plan.steps.is_empty() {
        log.header("Nothing to run");
        return Ok(0);
    }

    // A step's processes reparent here if their guard dies: kept in reach
    // until they are gone (runner::run_step).
    if let Err(e) = runner::become_subreaper() {
        log.warn(&format!("could not become the subreaper of the steps ({e}): a step whose guard is killed may outlive the lock"));
    }
    let mut lock = None;
    let mut fenced = false;
    match env("DATABASE_URL") {
        Some(url) if is_postgres(&url) => {
            let (config, target) = db::parse_url(&url)?;
            log.header(&format!("Waiting for the database at {target}"));
            let t = Instant::now();
            let mut client = db::wait_for(
                &config,
                &target,
                plan.settings.database_wait,
                &stop,
                &mut |m| log.info(m),
            )?;
            log.info(&format!("connected in {}", seconds(t.elapsed())));
            let t = Instant::now();
            db::acquire(
                &mut client,
                &plan.settings.lock_name,
                plan.settings.lock_timeout,
                &stop,
                &mut |m| log.info(m),
            )?;
            log.header(&format!(
                "Holding the release lock \"{}\" (acquired in {})",
                plan.settings.lock_name,
                seconds(t.elapsed())
            ));
            fenced = open_fence(&mut client, env, &plan, &stop, log)?;
            lock = Some(client);
        }
        Some(_) => log.info("DATABASE_URL is not PostgreSQL: running without the release lock"),
        None => log.info("DATABASE_URL is not set: running without the release lock"),
    }

    let limits = Limits {
        timeout: plan.settings.step_timeout,
        grace: plan.settings.grace,
    };
    // While steps run, a watcher checks the lock's connection every second
    // (and TCP keepalives catch a silent drop): a lost connection is a lost lock.
    let watcher = lock.map(db::LockWatcher::start);
    let lock_lost = || watcher.as_ref().is_some_and(db::LockWatcher::lost);
    let total = plan.steps.len();
    let mut result = 0;
    for (i, step) in plan.steps.iter().enumerate() {
        log.header(&format!(
            "[{}/{total}] {}  ({})",
            i + 1,
            step.display(),
            step.source
        ));
        let t = Instant::now();
        let outcome = runner::run_step(step, app_dir, &limits, &stop, log.redactor, &lock_lost)?;
        let took = seconds(t.elapsed());
        if outcome == Outcome::Exited(0) {
            log.info(&format!("done in {took}"));
            continue;
        }
        result = failed_step(i + 1, outcome, &took, &limits, log);
        break;
    }
    let lock = watcher.and_then(db::LockWatcher::stop);
    let mut lock = lock;
    if let (Some(client), true) = (lock.as_mut(), fenced) {
        // Every process of every step is gone (run_step waits for that).
        if let Err(e) = db::fence_close(client, &plan.settings.lock_name, &stop) {
            log.warn(&format!(
                "{e}; the next release waits out this one's stop time"
            ));
        }
    }
    if let Some(mut client) = lock {
        match db::release(&mut client, &plan.settings.lock_name, &stop) {
            Ok(()) => log.info("released the release lock"),
            // Closing the connection releases it anyway.
            Err(e) => log.warn(&format!("{e}; closing the connection releases the lock")),
        }
    }
    if result == 0 {
        log.header(&format!(
            "Release phase done in {}",
            seconds(started.elapsed())
        ));
    }
    Ok(result)
}
