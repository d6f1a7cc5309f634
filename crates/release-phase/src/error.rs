use std::time::Duration;

/// Exit codes of `release-phase run`, besides a failing step's own code.
pub mod exit {
    /// Configuration, database or lock problem: nothing ran (or the lock was not taken).
    pub const ERROR: i32 = 1;
    /// A step ran longer than its timeout (as `timeout(1)` reports it).
    pub(crate) const TIMEOUT: i32 = 124;
    /// Interrupted (SIGINT).
    pub(crate) const INTERRUPTED: i32 = 130;
    /// Terminated (SIGTERM): the platform stopping the release dyno.
    pub(crate) const TERMINATED: i32 = 143;
    /// The release lock's connection was lost mid-step: the step was stopped.
    pub(crate) const LOCK_LOST: i32 = 75;
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{location}: {message}\nhelp: {help}")]
    Config {
        location: String,
        message: String,
        help: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("DATABASE_URL is not a PostgreSQL URL release-phase understands: {0}\nhelp: use postgres://user:password@host:5432/dbname (Heroku Postgres sets this for you)")]
    BadDatabaseUrl(String),
    #[error("the database at {target} did not accept a connection within {}s: {last_error}\nhelp: check that the database is running and that DATABASE_URL points at it; raise [_.metadata.slipway.release] database-wait if it starts slowly", waited.as_secs())]
    DatabaseUnreachable {
        target: String,
        waited: Duration,
        last_error: String,
    },
    #[error("the database at {target} refused the connection: {message}\nhelp: waiting does not change this answer, so release-phase did not retry: check the user, password and database name in DATABASE_URL (heroku config:get DATABASE_URL; heroku pg:credentials:url)")]
    DatabaseRefused { target: String, message: String },
    #[error("another release holds the release lock \"{name}\" (held by {holder}); gave up after {}s\nhelp: wait for that release (heroku releases:output) and retry (heroku releases:retry), or raise [_.metadata.slipway.release] lock-timeout", waited.as_secs())]
    LockTimeout {
        name: String,
        holder: String,
        waited: Duration,
    },
    #[error("database error while {doing}: {message}")]
    Database { doing: String, message: String },
    #[error("could not start step `{step}`: {source}\nhelp: check that the program exists in the app image and is executable")]
    Spawn {
        step: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stopped by a signal before the steps ran")]
    Signalled(i32),
}
