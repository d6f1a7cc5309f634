//! Slipway's release phase: the release plan run safely on every release.
//!
//! `release-phase run` waits for the database, takes a PostgreSQL advisory
//! lock (so two releases, or a release and a one-off, never migrate at once),
//! runs each step with a timeout and signal forwarding, streams redacted
//! output, and exits non-zero when anything fails, which makes the platform
//! refuse the release. Formats and exit codes: `SPEC.md` beside this crate.

pub mod config;
pub mod db;
pub mod error;
pub use buildkit::redact;
pub mod runner;

use buildkit::process::Stop;
use buildkit::redact::Redactor;
use config::Plan;
use error::{exit, ReleaseError};
use runner::{Limits, Outcome};
use std::path::Path;
use std::time::Instant;

/// Printed lines, Heroku style, every one through the redactor.
pub struct Log<'a> {
    pub redactor: &'a Redactor,
}

impl Log<'_> {
    pub fn header(&self, text: &str) {
        println!("-----> {}", self.redactor.redact(text));
    }
    pub fn info(&self, text: &str) {
        for line in text.lines() {
            println!("       {}", self.redactor.redact(line));
        }
    }
    pub fn warn(&self, text: &str) {
        for line in text.lines() {
            eprintln!(" !     {}", self.redactor.redact(line));
        }
    }
}

fn seconds(d: std::time::Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// `release-phase check`: load and print the plan. Ok(0) when valid.
pub fn check(app_dir: &Path) -> Result<i32, ReleaseError> {
    let redactor = Redactor::from_process_env();
    let log = Log {
        redactor: &redactor,
    };
    let plan = config::load(app_dir, &|k| std::env::var(k).ok())?;
    log.header(&format!(
        "Release plan ({} step{})",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    ));
    log.info(&config::describe(&plan));
    for w in &plan.warnings {
        log.warn(w);
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) if is_postgres(&url) => log.info(&format!(
            "database: {} (release lock on)",
            db::parse_url(&url)?.1
        )),
        Ok(_) => log.info("database: not PostgreSQL (no release lock)"),
        Err(_) => log.info("database: DATABASE_URL not set (no wait, no release lock)"),
    }
    Ok(0)
}

/// `release-phase check --json`: the plan as one JSON object.
pub fn check_json(app_dir: &Path) -> Result<serde_json::Value, ReleaseError> {
    let plan = config::load(app_dir, &|k| std::env::var(k).ok())?;
    let s = &plan.settings;
    let database = match std::env::var("DATABASE_URL") {
        Ok(url) if is_postgres(&url) => {
            serde_json::json!({"kind": "postgres", "at": db::parse_url(&url)?.1, "lock": true})
        }
        Ok(_) => serde_json::json!({"kind": "other", "lock": false}),
        Err(_) => serde_json::json!(null),
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
        "warnings": plan.warnings,
        "database": database,
    }))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `release-phase run`: the exit code to leave with.
pub fn run(app_dir: &Path) -> i32 {
    let redactor = Redactor::from_process_env();
    let log = Log {
        redactor: &redactor,
    };
    match run_inner(app_dir, &log) {
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

fn run_inner(app_dir: &Path, log: &Log<'_>) -> Result<i32, ReleaseError> {
    let started = Instant::now();
    let stop = Stop::install().map_err(|e| ReleaseError::Io {
        what: "installing signal handlers".into(),
        source: e,
    })?;
    let plan: Plan = config::load(app_dir, &|k| std::env::var(k).ok())?;
    log.header(&format!(
        "Release phase: {} step{}",
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" }
    ));
    log.info(&config::describe(&plan));
    for w in &plan.warnings {
        log.warn(w);
    }
    if plan.steps.is_empty() {
        log.header("Nothing to run");
        return Ok(0);
    }

    let mut lock = None;
    match std::env::var("DATABASE_URL") {
        Ok(url) if is_postgres(&url) => {
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
            lock = Some(client);
        }
        Ok(_) => log.info("DATABASE_URL is not PostgreSQL: running without the release lock"),
        Err(_) => log.info("DATABASE_URL is not set: running without the release lock"),
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
        result = match outcome {
            Outcome::Exited(0) => {
                log.info(&format!("done in {took}"));
                continue;
            }
            Outcome::Exited(code) => {
                log.warn(&format!("step {} failed with exit code {code} after {took}; the release is not deployed", i + 1));
                code
            }
            Outcome::TimedOut => {
                log.warn(&format!("step {} ran longer than its {}s timeout and was stopped; the release is not deployed", i + 1, limits.timeout.as_secs()));
                exit::TIMEOUT
            }
            Outcome::LockLost => {
                log.warn(&format!("the release lock's database connection was lost or stopped answering during step {} (the lock cannot be vouched for): the step was stopped so it never runs beside another release; the release is not deployed", i + 1));
                exit::LOCK_LOST
            }
            Outcome::Interrupted(sig) => {
                log.warn(&format!(
                    "release-phase received signal {sig} during step {}; the step was stopped",
                    i + 1
                ));
                if sig == nix::libc::SIGINT {
                    exit::INTERRUPTED
                } else {
                    exit::TERMINATED
                }
            }
        };
        break;
    }
    let lock = watcher.and_then(db::LockWatcher::stop);
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
