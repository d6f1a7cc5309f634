//! The worker end to end: the fake Platform API on loopback (real HTTP), a
//! real heartbeat target with controllable latency, and real RabbitMQ.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale_worker::{run, Config};
use fake_platform_api::FakeApi;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::{types::FieldTable, BasicProperties};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "hrku-test-0f1e2d3c4b5a-secret";
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

struct Target {
    url: String,
    delay_ms: Arc<AtomicU64>,
}

fn heartbeat_target(delay_ms: u64) -> Target {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/heroku-autoscale/heartbeat/v1",
        server.server_addr().to_ip().unwrap()
    );
    let delay = Arc::new(AtomicU64::new(delay_ms));
    let d = delay.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            std::thread::sleep(Duration::from_millis(d.load(Ordering::SeqCst)));
            let _ = req.respond(tiny_http::Response::from_string("{\"status\": \"ok\"}"));
        }
    });
    Target {
        url,
        delay_ms: delay,
    }
}

fn unique(name: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("slipway-worker-{}-{n}-{name}", std::process::id())
}

fn publish(queue: &str, n: usize) {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:5672").is_ok(),
        "RabbitMQ is not listening on 127.0.0.1:5672: start it with `rabbitmq-server -detached` (scripts/services does)"
    );
    futures_lite::future::block_on(async {
        let conn = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        // Publisher confirms: each publish returns once the broker has the message.
        ch.confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await
            .unwrap();
        ch.queue_declare(
            queue.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        for i in 0..n {
            ch.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                format!("job {i}").as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
    });
}

fn delete(queues: &[&str]) {
    futures_lite::future::block_on(async {
        let conn = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        for q in queues {
            let _ = ch
                .queue_delete((*q).into(), QueueDeleteOptions::default())
                .await;
        }
    });
}

/// The reference layout in small: web, beat, two worker types on their own queues, autoscale.
fn app(priority_q: &str, general_q: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        format!(
            "web: gunicorn refapp.wsgi\nbeat: celery -A refapp beat\nworker_priority: celery -A refapp worker -Q {priority_q}\nworker_general: celery -A refapp worker -Q {general_q}\nautoscale: release-phase autoscale\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("project.toml"),
        "[_.metadata.slipway.formation.worker_priority]\nmax = 4\n[_.metadata.slipway.formation.worker_general]\nmin = 1\nmax = 3\n[_.metadata.slipway.autoscale]\njobs-per-dyno = 10\n",
    )
    .unwrap();
    dir
}

/// The Platform API with the small app's formation: web 1, beat 1, worker_priority 0, worker_general 1, autoscale 1.
fn small_api() -> FakeApi {
    small_api_named("refapp")
}

/// The same for an app of its own name (a Redis lease is a key per app:
/// tests that run beside each other on one Redis do not share one).
fn small_api_named(name: &str) -> FakeApi {
    FakeApi::start(
        name,
        TOKEN,
        &[
            ("web", 1),
            ("beat", 1),
            ("worker_priority", 0),
            ("worker_general", 1),
            ("autoscale", 1),
        ],
    )
}

/// The worker's log as it writes it, readable while it runs.
#[derive(Clone, Default)]
struct SharedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A worker running in a thread of its own. Tests wait for what its log
/// says (a number of ticks, a line), never for a length of time: under load
/// a tick takes longer, and the wait with it.
struct Running {
    stop: Arc<AtomicBool>,
    worker: std::thread::JoinHandle<Result<(), platform_api::ApiError>>,
    log: SharedLog,
}

/// How long a condition the worker reports may take before the test fails
/// (far above what any of them needs: a bound, not a pace).
const WITHIN: Duration = Duration::from_mins(2);

impl Running {
    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.0.lock().unwrap()).into_owned()
    }

    /// Until `holds` is true of the log so far (checked as the log grows).
    fn until(&self, what: &str, holds: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + WITHIN;
        loop {
            let log = self.log();
            if holds(&log) {
                return;
            }
            assert!(
                !self.worker.is_finished(),
                "the worker stopped before {what}:\n{log}"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "not within {WITHIN:?}: {what}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Until the worker has logged `n` ticks in all.
    fn until_ticks(&self, n: usize) {
        self.until(&format!("{n} ticks"), |log| ticks(log) >= n);
    }

    /// Stop it (as SIGTERM would, between ticks): its log and how it ended.
    fn stop(self) -> (String, Result<(), platform_api::ApiError>) {
        self.stop.store(true, Ordering::SeqCst);
        let ended = self.worker.join().unwrap();
        let log = String::from_utf8_lossy(&self.log.0.lock().unwrap()).into_owned();
        record(log.as_bytes());
        (log, ended)
    }
}

fn ticks(log: &str) -> usize {
    log.matches("\"event\":\"tick\"").count()
}

/// Start a worker for `dir` with `env`.
fn spawn_worker(
    dir: &std::path::Path,
    env: &HashMap<&'static str, String>,
    dry_run: bool,
) -> Running {
    let mut config =
        Config::load(dir, &|k| env.get(k).cloned(), dry_run).unwrap_or_else(|e| panic!("{e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let log = SharedLog::default();
    let mut out = log.clone();
    let worker = std::thread::spawn(move || {
        let pause = |d: Duration| {
            let until = std::time::Instant::now() + d;
            while std::time::Instant::now() < until && !s.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20).min(d));
            }
            s.load(Ordering::SeqCst)
        };
        let ended = run(&mut config, &pause, &mut out);
        drop(config); // the lease's connection goes with it
        ended
    });
    Running { stop, worker, log }
}

/// Run a worker through `during` (which waits on what it logs), then stop it.
fn run_while(
    dir: &std::path::Path,
    env: &HashMap<&'static str, String>,
    dry_run: bool,
    during: impl FnOnce(&Running),
) -> (String, Result<(), platform_api::ApiError>) {
    let running = spawn_worker(dir, env, dry_run);
    during(&running);
    running.stop()
}

/// Run a worker for `n` ticks (the heartbeat interval is 1 s in these tests).
fn run_ticks(
    dir: &std::path::Path,
    env: &HashMap<&'static str, String>,
    dry_run: bool,
    n: usize,
) -> (String, Result<(), platform_api::ApiError>) {
    run_while(dir, env, dry_run, |w| w.until_ticks(n))
}

/// The lease tests need the local PostgreSQL: absent, they fail saying how to start it.
/// The lease's PostgreSQL advisory-lock key for an app, computed as
/// crates/autoscale/SPEC.md gives it (first 8 bytes of
/// SHA-256("slipway-autoscale:" + app), big-endian), not read from the worker.
fn lease_key(app: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("slipway-autoscale:{app}"));
    i64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 8 bytes and more"),
    )
}

fn require_postgres() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:5432").is_ok(),
        "PostgreSQL is not listening on 127.0.0.1:5432: scripts/services starts it"
    );
}

/// Keep the worker's log for `scripts/secrets-sweep` (as tests/support's
/// `record` keeps every end-to-end output) when `SLIPWAY_TEST_OUTPUT` is set.
fn record(log: &[u8]) {
    use std::io::Write as _;
    if let Some(dir) = std::env::var_os("SLIPWAY_TEST_OUTPUT") {
        let file = std::path::Path::new(&dir).join(format!("worker-{}.log", std::process::id()));
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = f.write_all(log);
        }
    }
}

/// Run the worker while `during` runs, changing nothing else; its log and how it ended.
fn env(api: &FakeApi, target: &Target, broker: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("AUTOSCALE_HEROKU_APP_NAME", "refapp".to_string()),
        ("AUTOSCALE_HEROKU_API_KEY", TOKEN.to_string()),
        ("AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS", "1".to_string()),
        ("AUTOSCALE_HEARTBEAT_URL", target.url.clone()),
        ("AUTOSCALE_MAX_RESPONSE_TIME_IN_MS", "100".to_string()),
        ("AUTOSCALE_MIN_RESPONSE_TIME_IN_MS", "20".to_string()),
        ("AUTOSCALE_MAX_DYNOS", "4".to_string()),
        ("HEROKU_API_URL", api.url().to_string()),
        ("CELERY_BROKER_URL", broker.to_string()),
    ])
}

mod brokers;
mod leases;
mod mail;
mod scaling;
mod webhooks;
