//! One acting autoscaler: a lease, held while the worker acts. Two
//! `autoscale` dynos (a scale to 2 by mistake, or the overlap of a restart)
//! would otherwise fight over the formation; the second waits and says so.
//!
//! - With `DATABASE_URL`: a PostgreSQL session-level advisory lock on a
//!   connection of the worker's own. The server drops it with the
//!   connection, so a killed worker never leaves it held.
//! - Else, with a Redis broker: a key set with `NX` and an expiry of three
//!   heartbeat intervals, renewed every tick by its holder.
//! - Else: no lease (nothing shared to hold one in); the start line says so.

use crate::WorkerError;
use std::time::Duration;

#[allow(clippy::large_enum_variant)] // one per process: boxing buys nothing
pub(crate) enum Lease {
    Postgres {
        config: Box<postgres::Config>,
        key: i64,
        /// Each query bounded by [`QUERY_DEADLINE`]: a database that keeps
        /// the connection and stops answering never holds up a tick.
        client: Option<buildkit::pg::Bounded>,
    },
    Redis(RedisLease),
    None,
}

/// A lease held as a Redis key that names its holder, with an expiry.
pub(crate) struct RedisLease {
    client: redis::Client,
    /// Kept across ticks (one connection, not one per command).
    conn: Option<redis::Connection>,
    key: String,
    id: String,
    ttl: Duration,
}

/// Reading or saving the state failed (the worker logs it and goes on).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] buildkit::pg::BoundedError),
    #[error("Redis: {}", redis_error(.0))]
    Redis(#[from] redis::RedisError),
    #[error("the saved state does not read: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the lease is not held")]
    NoLease,
}

/// Whether this worker may act this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Held {
    Yes,
    /// Another worker holds it, or it could not be checked: why.
    No(String),
}

/// A Redis error as a user reads it: a read or write that ran out of time
/// (the socket's EAGAIN, "Resource temporarily unavailable") is a timeout.
fn redis_error(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        format!(
            "Redis did not answer within {}s (timed out)",
            REDIS_DEADLINE.as_secs()
        )
    } else {
        e.to_string()
    }
}

/// How long one Redis command may take (connect, read, write).
const REDIS_DEADLINE: Duration = Duration::from_secs(3);

/// Run `f` on the kept connection (made on first use, and again after a
/// failure: a broken connection is dropped, the next tick reconnects).
fn with_redis<T>(
    client: &redis::Client,
    conn: &mut Option<redis::Connection>,
    f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
) -> redis::RedisResult<T> {
    if conn.is_none() {
        let c = client.get_connection_with_timeout(REDIS_DEADLINE)?;
        c.set_read_timeout(Some(REDIS_DEADLINE))?;
        c.set_write_timeout(Some(REDIS_DEADLINE))?;
        *conn = Some(c);
    }
    let result = f(conn.as_mut().expect("made above"));
    if result.is_err() {
        *conn = None;
    }
    result
}

/// Take the lease if free; else renew it if it is ours (1: held).
const TAKE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end \
     if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end \
     return 0";
/// Renew the lease only if it is still ours (1: held).
const CONFIRM: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end \
     return 0";
/// Delete the lease only if it is still ours (1: given up).
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

impl RedisLease {
    /// Run a lease script (KEYS[1] the lease key, ARGV[1] our id, ARGV[2]
    /// the expiry in ms) on the kept connection; 1 means it did.
    fn script(&mut self, script: &str) -> redis::RedisResult<i32> {
        let ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let script = redis::Script::new(script);
        let (key, id) = (self.key.as_str(), self.id.as_str());
        with_redis(&self.client, &mut self.conn, |c| {
            script.key(key).arg(id).arg(ms).invoke::<i32>(c)
        })
    }

    /// Run a lease script and say what it means.
    fn held(&mut self, script: &str, not_ours: &str, failed: &str) -> Held {
        match self.script(script) {
            Ok(1) => Held::Yes,
            Ok(_) => Held::No(not_ours.to_string()),
            Err(e) => Held::No(format!("{failed}: {}", redis_error(&e))),
        }
    }

    /// The state's key, beside the lease's.
    fn state_key(&self) -> String {
        format!("{}:state", self.key)
    }
}

/// How long a lease or state query may take (a tick waits no longer).
pub(crate) const QUERY_DEADLINE: Duration = Duration::from_secs(5);

/// How long one formation PATCH may take, as a whole (the Platform API
/// client's deadline). A lease confirmed right before a PATCH outlives it
/// (Redis: the expiry is renewed to at least twice this), and a worker that
/// has just taken the lease over holds its first PATCH this long, so a PATCH
/// its predecessor sent just before losing the lease has landed first.
pub(crate) const PATCH_DEADLINE: Duration = Duration::from_secs(10);

/// Where the state survives restarts (created if missing; the app's
/// migrations never see it).
const STATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS slipway_autoscale_state (app text PRIMARY KEY, state text NOT NULL, saved_at timestamptz NOT NULL DEFAULT now())";

/// The advisory lock's key for an app: its own namespace, apart from the release lock's.
pub(crate) fn lock_key(app: &str) -> i64 {
    buildkit::pg::advisory_key("slipway-autoscale", app)
}

/// A query's result; a stalled connection is dropped (the next tick reconnects).
fn forget_if_stalled<T>(
    client: &mut Option<buildkit::pg::Bounded>,
    result: Result<T, buildkit::pg::BoundedError>,
) -> Result<T, StateError> {
    if client.as_ref().is_some_and(buildkit::pg::Bounded::is_gone) {
        *client = None;
    }
    result.map_err(StateError::from)
}

impl Lease {
    pub(crate) fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        app: &str,
        redis_broker: Option<&str>,
        interval: Duration,
    ) -> Result<Self, WorkerError> {
        if let Some(url) = env("DATABASE_URL").filter(|v| !v.trim().is_empty()) {
            let config = buildkit::pg::config(&url, "release-phase autoscale").map_err(|e| {
                WorkerError::Config(format!("DATABASE_URL is not a PostgreSQL URL ({e}): the autoscaler holds its lease there"))
            })?;
            return Ok(Self::Postgres {
                config: Box::new(config),
                key: lock_key(app),
                client: None,
            });
        }
        if let Some(url) = redis_broker {
            let client = redis::Client::open(url).map_err(|e| {
                WorkerError::Config(format!("the Redis broker URL does not hold a lease: {e}"))
            })?;
            return Ok(Self::Redis(RedisLease {
                client,
                conn: None,
                key: format!("slipway:autoscale:{app}:lease"),
                id: format!(
                    "{}:{}:{}",
                    env("DYNO").unwrap_or_else(|| "autoscale".into()),
                    std::process::id(),
                    chrono::Utc::now().timestamp_micros()
                ),
                // Renewed by every tick and right before every PATCH: it
                // must outlive a PATCH sent just after a renewal.
                ttl: (interval * 3).max(PATCH_DEADLINE * 2 + QUERY_DEADLINE),
            }));
        }
        Ok(Self::None)
    }

    /// Where the lease is held, for the start line.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::Postgres { .. } => "postgres advisory lock (DATABASE_URL)",
            Self::Redis(_) => "redis key with expiry (the broker)",
            Self::None => "none: no DATABASE_URL or Redis to hold one in",
        }
    }

    /// The state the last acting worker saved (PostgreSQL: a table of ours,
    /// `slipway_autoscale_state`; Redis: a key beside the lease), with when.
    pub(crate) fn load(
        &mut self,
        app: &str,
    ) -> Result<Option<(autoscale::Snapshot, String)>, StateError> {
        let text: Option<(String, String)> = match self {
            Self::None => None,
            Self::Postgres { client, .. } => {
                let c = client.as_mut().ok_or(StateError::NoLease)?;
                let app = app.to_string();
                let row = c.run(&|| false, move |c| {
                    c.batch_execute(STATE_TABLE)?;
                    c.query_opt(
                        "SELECT state, saved_at::text FROM slipway_autoscale_state WHERE app = $1",
                        &[&app],
                    )
                });
                forget_if_stalled(client, row)?.map(|row| (row.get(0), row.get(1)))
            }
            Self::Redis(r) => {
                let key = r.state_key();
                let saved: Option<String> = with_redis(&r.client, &mut r.conn, |c| {
                    redis::cmd("GET").arg(key).query(c)
                })?;
                saved.and_then(|s| {
                    let (at, state) = s.split_once('\n')?;
                    Some((state.to_string(), at.to_string()))
                })
            }
        };
        match text {
            None => Ok(None),
            Some((state, at)) => Ok(Some((serde_json::from_str(&state)?, at))),
        }
    }

    /// Save the state (after each tick the worker acted on).
    pub(crate) fn save(&mut self, app: &str, snap: &autoscale::Snapshot) -> Result<(), StateError> {
        let state = serde_json::to_string(snap)?;
        match self {
            Self::None => Ok(()),
            Self::Postgres { client, .. } => {
                let c = client.as_mut().ok_or(StateError::NoLease)?;
                let app = app.to_string();
                let saved = c.run(&|| false, move |c| {
                    c.execute(
                        "INSERT INTO slipway_autoscale_state (app, state, saved_at) VALUES ($1, $2, now()) \
                         ON CONFLICT (app) DO UPDATE SET state = EXCLUDED.state, saved_at = EXCLUDED.saved_at",
                        &[&app, &state],
                    )
                });
                forget_if_stalled(client, saved).map(|_| ())
            }
            Self::Redis(r) => {
                let value = format!("{}\n{state}", chrono::Utc::now().to_rfc3339());
                let key = r.state_key();
                with_redis(&r.client, &mut r.conn, |c| {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(&value)
                        .arg("EX")
                        .arg(7 * 24 * 3600)
                        .query::<()>(c)
                })
                .map_err(StateError::from)
            }
        }
    }

    /// Right before a PATCH: whether the lease is still ours (PostgreSQL:
    /// this session still holds the advisory lock in `pg_locks`; Redis: the
    /// key still names us, its expiry renewed). Anything else, the lease is
    /// given up (the next tick takes it again, or waits) and nothing is sent.
    pub(crate) fn confirm(&mut self) -> Held {
        match self {
            Self::None => Held::Yes,
            Self::Postgres { key, client, .. } => {
                let Some(c) = client.as_mut() else {
                    return Held::No("the lease's database connection is gone".into());
                };
                #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
                let (classid, objid) = ((*key >> 32) as u32, *key as u32);
                let held = c.run(&|| false, move |c| {
                    c.query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                         AND pid = pg_backend_pid() AND classid = $1 AND objid = $2 AND objsubid = 1)",
                        &[&classid, &objid],
                    )
                    .map(|row| row.get::<_, bool>(0))
                });
                match held {
                    Ok(true) => Held::Yes,
                    Ok(false) => {
                        *client = None;
                        Held::No("this session no longer holds the lease".into())
                    }
                    Err(e) => {
                        *client = None;
                        Held::No(format!("the lease's database connection was lost ({e})"))
                    }
                }
            }
            Self::Redis(r) => r.held(
                CONFIRM,
                "the lease's Redis key no longer names this worker (it expired and another took it)",
                "cannot confirm the lease in Redis",
            ),
        }
    }

    /// Give the lease up on a clean stop (SIGTERM: every release restarts
    /// the autoscale dyno), so the next process takes it at once instead of
    /// after the key's expiry: the Redis key is deleted if it still names
    /// this worker; the advisory lock ends with its session. True if a held
    /// lease was given up.
    pub(crate) fn release(&mut self) -> bool {
        match self {
            Self::None => false,
            Self::Postgres { client, .. } => client.take().is_some(),
            Self::Redis(r) => matches!(r.script(RELEASE), Ok(1)),
        }
    }

    /// Take the lease, or keep it: call every tick before acting.
    pub(crate) fn hold(&mut self) -> Held {
        match self {
            Self::None => Held::Yes,
            Self::Postgres {
                config,
                key,
                client,
            } => {
                if let Some(c) = client.as_mut() {
                    // The lock lives with this connection: check it still does.
                    match c.run(&|| false, |c| c.simple_query("SELECT 1").map(|_| ())) {
                        Ok(()) => return Held::Yes,
                        Err(e) => {
                            *client = None;
                            return Held::No(format!("the lease's database connection was lost ({e}): reconnecting (another autoscaler may act meanwhile)"));
                        }
                    }
                }
                let connected =
                    buildkit::pg::Bounded::connect(config, QUERY_DEADLINE, QUERY_DEADLINE, &|| {
                        false
                    });
                let mut c = match connected {
                    Ok(c) => c,
                    Err(e) => {
                        return Held::No(format!("cannot reach the database for the lease: {e}"))
                    }
                };
                let key = *key;
                let taken = c.run(&|| false, move |c| {
                    c.query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                        .map(|row| row.get::<_, bool>(0))
                });
                match taken {
                    Ok(true) => {
                        *client = Some(c);
                        Held::Yes
                    }
                    Ok(_) => Held::No("another autoscale process holds the lease (a PostgreSQL advisory lock): waiting; scale the autoscale type to 1".into()),
                    Err(e) => Held::No(format!("cannot take the lease: {e}")),
                }
            }
            Self::Redis(r) => r.held(
                TAKE,
                "another autoscale process holds the lease (a Redis key): waiting; scale the autoscale type to 1",
                "cannot take the lease in Redis",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_read_that_runs_out_of_time_is_said_as_a_timeout() {
        let eagain = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::WouldBlock));
        assert_eq!(
            redis_error(&eagain),
            "Redis did not answer within 3s (timed out)"
        );
        let refused =
            redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(!redis_error(&refused).contains("timed out"));
    }

    /// A Redis lease that expired while its holder was busy (a tick longer than
    /// the expiry) and was taken by another worker: the old holder's
    /// confirmation right before its PATCH finds the key naming someone else,
    /// so it sends nothing.
    #[test]
    fn a_redis_lease_taken_over_after_it_expired_is_not_confirmed_to_its_old_holder() {
        let url = "redis://127.0.0.1:6379/0";
        let app_name = format!("redis-lease-{}", std::process::id());
        let mut lease =
            Lease::from_env(&|_| None, &app_name, Some(url), Duration::from_secs(1)).unwrap();
        assert_eq!(lease.hold(), Held::Yes);
        assert_eq!(lease.confirm(), Held::Yes, "still ours");
        // It expires; another worker takes it.
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let key = format!("slipway:autoscale:{app_name}:lease");
        redis::cmd("SET")
            .arg(&key)
            .arg("autoscale.2:999:0")
            .arg("PX")
            .arg(30_000)
            .query::<()>(&mut c)
            .unwrap();
        let Held::No(why) = lease.confirm() else {
            panic!("the old holder must not be told the lease is still its own")
        };
        assert!(why.contains("no longer names this worker"), "{why}");
        assert_eq!(
            redis::cmd("GET").arg(&key).query::<String>(&mut c).unwrap(),
            "autoscale.2:999:0",
            "the new holder's lease is left alone"
        );
        redis::cmd("DEL").arg(&key).query::<()>(&mut c).unwrap();
    }
}
