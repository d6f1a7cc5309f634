//! PostgreSQL connections as Heroku gives them: `DATABASE_URL`, and TLS the
//! way libpq's `sslmode=prefer`/`require` does it (encrypted, the certificate
//! not verified: Heroku Postgres relies on it); `sslmode=disable` is plain.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use std::time::Duration;

/// `url` (a `DATABASE_URL`) as a connection configuration named `application`,
/// with a 5 s connect timeout and keepalives that notice a silently dropped
/// connection in about 15 s (a session-level advisory lock lives only as long
/// as its connection).
pub fn config(url: &str, application: &str) -> Result<Config, postgres::Error> {
    let mut config: Config = url.parse()?;
    config.application_name(application);
    config.connect_timeout(Duration::from_secs(5));
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(5));
    config.keepalives_interval(Duration::from_secs(2));
    config.keepalives_retries(3);
    Ok(config)
}

/// libpq's `prefer`/`require` encrypt without verifying the certificate
/// (Heroku Postgres relies on this), so the connector does the same.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    tokio_postgres_rustls::MakeRustlsConnect::new(crate::tls::client_config(false))
}

/// Connect (blocking; bound the wait with `Config::connect_timeout` and a
/// thread when the server may stall).
pub(crate) fn connect(config: &Config) -> Result<Client, postgres::Error> {
    if config.get_ssl_mode() == SslMode::Disable {
        config.connect(NoTls)
    } else {
        config.connect(tls())
    }
}

/// A query run through [`Bounded`] did not come back.
#[derive(Debug, thiserror::Error)]
pub enum BoundedError {
    #[error("{0}")]
    Query(#[from] postgres::Error),
    /// The server kept the connection open and did not answer in time (a
    /// stalled server or proxy: keepalives see nothing wrong).
    #[error("the database did not answer within {}s", .0.as_secs())]
    Stalled(Duration),
    #[error("interrupted while waiting for the database")]
    Interrupted,
    /// An earlier query stalled: the connection was given up.
    #[error("the database connection was given up after a query stalled")]
    Gone,
}

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// A connection whose every query has a deadline and can be interrupted.
///
/// The blocking `postgres` client bounds only the TCP connect: a query sent
/// to a server that keeps the connection and never answers would wait
/// forever (keepalives are answered by the server's kernel). So the
/// connection lives on a thread of its own, each query is sent there, and
/// the caller waits at most the deadline, polling `interrupted` (a signal)
/// meanwhile. A query that stalls gives the connection up: later calls fail
/// at once with [`BoundedError::Gone`], and the thread ends when the server
/// answers or the process exits. Dropping a `Bounded` closes the connection
/// (with it any session-level advisory lock) once its last query is done.
pub struct Bounded {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    deadline: Duration,
}

impl Bounded {
    /// Connect on the connection's own thread, waiting at most
    /// `connect_deadline` (the TCP connect, TLS and startup: a server that
    /// accepts and never answers is given up on) and polling `interrupted`;
    /// each later query has `query_deadline`.
    pub fn connect(
        config: &Config,
        connect_deadline: Duration,
        query_deadline: Duration,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Self, BoundedError> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let (ready, connected) = std::sync::mpsc::channel();
        let config = config.clone();
        std::thread::spawn(move || match connect(&config) {
            Ok(mut client) => {
                if ready.send(Ok(())).is_ok() {
                    for job in rx {
                        job(&mut client);
                    }
                }
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        });
        wait(&connected, connect_deadline, interrupted)?;
        Ok(Self {
            jobs: Some(jobs),
            deadline: query_deadline,
        })
    }

    /// Whether an earlier query stalled and the connection was given up.
    pub fn is_gone(&self) -> bool {
        self.jobs.is_none()
    }

    /// Run `query` on the connection within the deadline; `interrupted` is
    /// polled every 50 ms while waiting.
    pub fn run<R: Send + 'static>(
        &mut self,
        interrupted: &dyn Fn() -> bool,
        query: impl FnOnce(&mut Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, BoundedError> {
        let jobs = self.jobs.as_ref().ok_or(BoundedError::Gone)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let job: Job = Box::new(move |client| {
            let _ = tx.send(query(client));
        });
        if jobs.send(job).is_err() {
            self.jobs = None;
            return Err(BoundedError::Gone);
        }
        let result = wait(&rx, self.deadline, interrupted);
        if matches!(result, Err(ref e) if !matches!(e, BoundedError::Query(_))) {
            self.jobs = None;
        }
        result
    }
}

/// Wait for a result from the connection's thread, at most `deadline`,
/// polling `interrupted` every 50 ms.
fn wait<R>(
    rx: &std::sync::mpsc::Receiver<Result<R, postgres::Error>>,
    deadline: Duration,
    interrupted: &dyn Fn() -> bool,
) -> Result<R, BoundedError> {
    use std::sync::mpsc::RecvTimeoutError;
    let until = std::time::Instant::now().checked_add(deadline);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(result) => return result.map_err(BoundedError::Query),
            Err(RecvTimeoutError::Disconnected) => return Err(BoundedError::Gone),
            Err(RecvTimeoutError::Timeout) => {
                if interrupted() {
                    return Err(BoundedError::Interrupted);
                }
                if until.is_some_and(|u| std::time::Instant::now() >= u) {
                    return Err(BoundedError::Stalled(deadline));
                }
            }
        }
    }
}

/// The advisory-lock key of `name` in one of Slipway's `namespace`s (the
/// release lock, the autoscaler's lease): the first 8 bytes of
/// SHA-256(`namespace:name`), so keys are stable across releases and
/// versions, and two namespaces never share a key by construction.
pub fn advisory_key(namespace: &str, name: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{namespace}:{name}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}
