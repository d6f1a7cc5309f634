//! PostgreSQL: wait for the database, hold a session-level advisory lock for
//! the release. The lock is the server's: it is released when we unlock, and
//! also when our connection ends for any reason (crash, SIGKILL), so a killed
//! release can never leave it held.

use crate::error::ReleaseError;
use buildkit::pg::{Bounded, BoundedError};
use buildkit::process::Stop;
use postgres::config::Host;
use postgres::Config;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Parse DATABASE_URL; returns the config and a printable target with no password.
pub(crate) fn parse_url(url: &str) -> Result<(Config, String), ReleaseError> {
    // Keepalives notice a dropped connection: the lock lives only as long as
    // it does (see LockWatcher).
    let config = buildkit::pg::config(url, "release-phase")
        .map_err(|e| ReleaseError::BadDatabaseUrl(e.to_string()))?;
    let host = config.get_hosts().first().map_or_else(
        || "localhost".to_string(),
        |h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        },
    );
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let target = format!(
        "{host}:{port}/{} as {}",
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default user)")
    );
    Ok((config, target))
}

/// Why one connection attempt failed.
enum Attempt {
    Failed(postgres::Error),
    /// The server took the TCP connection and did not answer the startup in time.
    Silent(Duration),
    Signalled(i32),
}

/// One connection attempt with a deadline, interruptible by a signal. The
/// postgres client bounds only the TCP connect (`connect_timeout`): a server
/// that accepts and never answers would hold the startup forever, so the
/// attempt is bounded by `buildkit::pg::Bounded::connect` (its thread ends
/// with the process, or when the server finally answers).
fn connect_within(config: &Config, within: Duration, stop: &Stop) -> Result<Bounded, Attempt> {
    Bounded::connect(config, within, QUERY_DEADLINE, &|| stop.stopped()).map_err(|e| match e {
        BoundedError::Query(e) => Attempt::Failed(e),
        BoundedError::Interrupted => Attempt::Signalled(stop.signal()),
        BoundedError::Stalled(_) | BoundedError::Gone => Attempt::Silent(within),
    })
}

/// How long a query on the lock's connection may take once connected: these
/// are `pg_try_advisory_lock`, a `pg_locks` lookup and `SELECT 1`, answered
/// in milliseconds by a live server. Past it the server (or a proxy between)
/// is taken as stalled: the release fails rather than wait without end.
pub(crate) const QUERY_DEADLINE: Duration = Duration::from_secs(10);

/// Connect, retrying with exponential backoff (0.25s doubling to 5s) until `wait` has passed.
/// Each attempt has a deadline (the time left, at most 10 s, at least 1 s);
/// each query on the connection then has [`QUERY_DEADLINE`].
pub(crate) fn wait_for(
    config: &Config,
    target: &str,
    wait: Duration,
    stop: &Stop,
    log: &mut dyn FnMut(&str),
) -> Result<Bounded, ReleaseError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let within = wait
            .saturating_sub(started.elapsed())
            .clamp(Duration::from_secs(1), Duration::from_secs(10));
        let error = match connect_within(config, within, stop) {
            Ok(client) => return Ok(client),
            Err(Attempt::Signalled(sig)) => return Err(ReleaseError::Signalled(sig)),
            // A wrong password, user or database name is an answer, not an
            // absence: it is the same in a minute, so say it at once.
            Err(Attempt::Failed(e)) if refused(&e) => {
                return Err(ReleaseError::DatabaseRefused {
                    target: target.to_string(),
                    message: describe_pg_error(&e),
                })
            }
            Err(Attempt::Failed(e)) => describe_pg_error(&e),
            Err(Attempt::Silent(d)) => format!(
                "the server accepted the connection but did not answer within {}s",
                d.as_secs()
            ),
        };
        // The whole wait is used: the last pause is cut to what is left, and
        // one more attempt made at the deadline (giving up when the next
        // pause would pass it gave up early: 3.8 s of a 5 s wait).
        let waited = started.elapsed();
        if waited >= wait {
            return Err(ReleaseError::DatabaseUnreachable {
                target: target.to_string(),
                waited,
                last_error: error,
            });
        }
        if attempts == 1 || attempts % 5 == 0 {
            log(&format!(
                "database not ready ({error}); retrying for up to {}s",
                wait.saturating_sub(waited).as_secs()
            ));
        }
        if stop.sleep(delay.min(wait.saturating_sub(waited))) {
            return Err(ReleaseError::Signalled(stop.signal()));
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Whether the server answered the login with a refusal that waiting
/// cannot change: bad password or user (class 28), no such database (3D000).
/// "The database system is starting up" (57P03) and the like are retried.
fn refused(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code()
        .is_some_and(|c| c.code().starts_with("28") || *c == SqlState::INVALID_CATALOG_NAME)
}

/// The full cause chain of a postgres error in one line (its Display alone says only "error connecting to server").
pub(crate) fn describe_pg_error(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The release lock's advisory key for a lock name (namespace `slipway-release`).
pub(crate) fn lock_key(name: &str) -> i64 {
    buildkit::pg::advisory_key("slipway-release", name)
}

/// A bounded query's failure as the release reports it.
fn query_error(doing: &str, e: BoundedError, stop: &Stop) -> ReleaseError {
    match e {
        BoundedError::Interrupted => ReleaseError::Signalled(stop.signal()),
        BoundedError::Query(e) => ReleaseError::Database {
            doing: doing.into(),
            message: describe_pg_error(&e),
        },
        other => ReleaseError::Database {
            doing: doing.into(),
            message: other.to_string(),
        },
    }
}

/// Take the lock, polling `pg_try_advisory_lock` so the wait is bounded and interruptible.
pub(crate) fn acquire(
    client: &mut Bounded,
    name: &str,
    timeout: Duration,
    stop: &Stop,
    log: &mut dyn FnMut(&str),
) -> Result<(), ReleaseError> {
    let key = lock_key(name);
    let started = Instant::now();
    let mut told = false;
    let interrupted = || stop.stopped();
    loop {
        let taken = client
            .run(&interrupted, move |c| {
                c.query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .map(|row| row.get::<_, bool>(0))
            })
            .map_err(|e| query_error("taking the release lock", e, stop))?;
        if taken {
            return Ok(());
        }
        let holder = holder(client, key, &interrupted)
            .map_err(|e| query_error("looking up who holds the release lock", e, stop))?;
        if started.elapsed() >= timeout {
            return Err(ReleaseError::LockTimeout {
                name: name.to_string(),
                holder,
                waited: started.elapsed(),
            });
        }
        if !told {
            log(&format!(
                "waiting for the release lock \"{name}\", held by {holder}"
            ));
            told = true;
        }
        if stop.sleep(Duration::from_millis(200)) {
            return Err(ReleaseError::Signalled(stop.signal()));
        }
    }
}

/// Who holds the lock: backend pid, application name, since when. A query
/// error (the holder gone meanwhile, no right to see it) says "another
/// session"; a stall or an interruption is the caller's to report, never
/// swallowed (the connection is given up after a stall).
fn holder(
    client: &mut Bounded,
    key: i64,
    interrupted: &dyn Fn() -> bool,
) -> Result<String, BoundedError> {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let (classid, objid) = ((key >> 32) as u32, key as u32);
    let row = match client.run(interrupted, move |c| {
        c.query_opt(
            "SELECT a.pid, a.application_name, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1",
            &[&classid, &objid],
        )
    }) {
        Ok(row) => row,
        Err(BoundedError::Query(_)) => None,
        Err(e) => return Err(e),
    };
    let Some(r) = row else {
        return Ok("another session".to_string());
    };
    // Another role's session shows NULLs in pg_stat_activity: never a panic.
    let text = |i: usize| {
        r.try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .unwrap_or_else(|| "unknown".into())
    };
    let pid = r
        .try_get::<_, Option<i32>>(0)
        .ok()
        .flatten()
        .map_or_else(|| "unknown".into(), |p| p.to_string());
    Ok(format!(
        "backend pid {pid} ({}), connected since {}",
        text(1),
        text(2)
    ))
}

/// Watches the connection that holds the release lock while steps run: a
/// `SELECT 1` every second on its own thread; an error, or no answer within
/// [`QUERY_DEADLINE`], means the connection, and with it the lock, is gone
/// or can no longer be vouched for.
pub(crate) struct LockWatcher {
    lost: Arc<std::sync::atomic::AtomicBool>,
    /// Dropped (or sent on) to stop the watch: the thread's wait between
    /// checks ends at once, so stopping costs no part of a second.
    done: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Option<Bounded>>,
}

impl LockWatcher {
    pub(crate) fn start(mut client: Bounded) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::mpsc::RecvTimeoutError;
        let lost = Arc::new(AtomicBool::new(false));
        let (done, stopped) = std::sync::mpsc::channel::<()>();
        let l = lost.clone();
        let thread = std::thread::spawn(move || loop {
            let alive = client.run(&|| false, |c| c.simple_query("SELECT 1").map(|_| ()));
            if alive.is_err() {
                l.store(true, Ordering::SeqCst);
                return None;
            }
            match stopped.recv_timeout(Duration::from_secs(1)) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return Some(client),
            }
        });
        Self { lost, done, thread }
    }

    pub(crate) fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stop watching; the connection back, unless it was lost.
    pub(crate) fn stop(self) -> Option<Bounded> {
        let _ = self.done.send(());
        self.thread.join().ok().flatten()
    }
}

/// How long after losing the lock a holder's step may still run, at most:
/// the watcher's interval and its query's deadline (to notice), the grace
/// and the SIGKILL wait of `Group::stop` (to stop the whole group), and a
/// second of margin. `release-phase`'s guard, if release-phase itself dies,
/// stops the group within the grace too.
pub(crate) fn stop_within(grace: Duration) -> Duration {
    Duration::from_secs(1)
        + QUERY_DEADLINE
        + grace
        + Duration::from_secs(5)
        + Duration::from_secs(1)
}

/// The fence: a row per lock that says "a step of the holder's release may be
/// running" (from before its first step until its last step's processes are
/// all gone). It outlives the holder's session, where the advisory lock does
/// not: a new holder that finds it open took the lock from a session that
/// was lost mid-step (terminated, cut, killed), whose step may run on until
/// that holder's `stop_within`, so it waits that long before its own first
/// step. A role that cannot create the table runs without a fence (said).
const FENCE_TABLE: &str = "CREATE TABLE IF NOT EXISTS slipway_release_fence (\
    lock_key bigint PRIMARY KEY, holder text NOT NULL, started_at timestamptz NOT NULL, \
    stop_within_ms bigint NOT NULL, ended_at timestamptz)";

/// An open fence left by a lost holder: who, and how long its step may run on.
pub(crate) struct OpenFence {
    pub(crate) holder: String,
    pub(crate) stop_within: Duration,
}

/// Read the fence (creating its table); then open it for this holder.
pub(crate) fn fence_open(
    client: &mut Bounded,
    name: &str,
    holder: &str,
    stop_within: Duration,
    stop: &Stop,
) -> Result<Option<OpenFence>, ReleaseError> {
    let key = lock_key(name);
    let holder = holder.to_string();
    let ms = i64::try_from(stop_within.as_millis()).unwrap_or(i64::MAX);
    client
        .run(&|| stop.stopped(), move |c| {
            c.batch_execute(FENCE_TABLE)?;
            let left = c.query_opt(
                "SELECT holder, stop_within_ms FROM slipway_release_fence WHERE lock_key = $1 AND ended_at IS NULL",
                &[&key],
            )?;
            c.execute(
                "INSERT INTO slipway_release_fence (lock_key, holder, started_at, stop_within_ms) VALUES ($1, $2, now(), $3) \
                 ON CONFLICT (lock_key) DO UPDATE SET holder = $2, started_at = now(), stop_within_ms = $3, ended_at = NULL",
                &[&key, &holder, &ms],
            )?;
            Ok(left.map(|r| OpenFence {
                holder: r.get(0),
                stop_within: Duration::from_millis(u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)),
            }))
        })
        .map_err(|e| query_error("opening the release fence", e, stop))
}

/// Close the fence: every process of every step is gone.
pub(crate) fn fence_close(
    client: &mut Bounded,
    name: &str,
    stop: &Stop,
) -> Result<(), ReleaseError> {
    let key = lock_key(name);
    client
        .run(&|| false, move |c| {
            c.execute(
                "UPDATE slipway_release_fence SET ended_at = now() WHERE lock_key = $1",
                &[&key],
            )
            .map(|_| ())
        })
        .map_err(|e| query_error("closing the release fence", e, stop))
}

pub(crate) fn release(client: &mut Bounded, name: &str, stop: &Stop) -> Result<(), ReleaseError> {
    let key = lock_key(name);
    client
        .run(&|| false, move |c| {
            c.query_one("SELECT pg_advisory_unlock($1)", &[&key])
                .map(|_| ())
        })
        .map_err(|e| query_error("releasing the release lock", e, stop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ_by_name() {
        assert_eq!(lock_key("refapp"), lock_key("refapp"));
        assert_ne!(lock_key("refapp"), lock_key("other"));
    }

    #[test]
    fn the_printable_target_has_no_password() {
        let (_, target) =
            parse_url("postgres://alice:s3cret@db.example.com:6543/app?sslmode=require").unwrap();
        assert_eq!(target, "db.example.com:6543/app as alice");
    }

    #[test]
    fn a_bad_url_error_does_not_echo_the_url() {
        let e = parse_url("postgres://alice:s3cret@db:notaport/app")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
