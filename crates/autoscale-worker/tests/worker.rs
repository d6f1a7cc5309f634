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
    worker: std::thread::JoinHandle<i32>,
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

    /// Stop it (as SIGTERM would, between ticks): its log and exit code.
    fn stop(self) -> (String, i32) {
        self.stop.store(true, Ordering::SeqCst);
        let code = self.worker.join().unwrap();
        let log = String::from_utf8_lossy(&self.log.0.lock().unwrap()).into_owned();
        record(log.as_bytes());
        (log, code)
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
        let code = run(&mut config, &pause, &mut out);
        drop(config); // the lease's connection goes with it
        code
    });
    Running { stop, worker, log }
}

/// Run a worker through `during` (which waits on what it logs), then stop it.
fn run_while(
    dir: &std::path::Path,
    env: &HashMap<&'static str, String>,
    dry_run: bool,
    during: impl FnOnce(&Running),
) -> (String, i32) {
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
) -> (String, i32) {
    run_while(dir, env, dry_run, |w| w.until_ticks(n))
}

/// The lease tests need the local PostgreSQL: absent, they fail saying how to start it.
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

/// Run the worker while `during` runs, changing nothing else; its log and exit code.
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

#[test]
fn slow_heartbeats_scale_web_up_fast_ones_down_and_queued_messages_scale_the_matching_worker_type_but_never_beat(
) {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 25);
    publish(&gq, 0);
    let api = small_api();
    let target = heartbeat_target(150);
    let dir = app(&pq, &gq);
    let mut web_after_slow = None;
    // The seed's streaks, which this test counts (the capacity policy has the engine's tests).
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_WEB_POLICY", "seed".into());
    let (log, code) = run_while(dir.path(), &env, false, |w| {
        // Three slow beats scale web up on the third; a fourth is logged after it.
        w.until_ticks(4);
        web_after_slow = api.quantity("web");
        target.delay_ms.store(0, Ordering::SeqCst);
        // Then five fast ones in a row scale it down.
        w.until("web back to 1 dyno", |_| api.quantity("web") == Some(1));
    });
    delete(&[&pq, &gq]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        api.quantity("worker_priority"),
        Some(3),
        "ceil(25 ready / 10 per dyno): {log}"
    );
    assert_eq!(web_after_slow, Some(2), "three slow heartbeats: +1: {log}");
    assert_eq!(
        api.quantity("web"),
        Some(1),
        "then five fast ones: -1: {log}"
    );
    assert_eq!(
        api.quantity("worker_general"),
        Some(1),
        "its queue is empty and its min is 1"
    );
    assert_eq!(
        (api.quantity("beat"), api.quantity("autoscale")),
        (Some(1), Some(1))
    );
    let requests = api.requests();
    assert!(
        requests.iter().filter(|r| r.method == "GET").count() >= 3,
        "the formation is read every tick"
    );
    for r in requests.iter().filter(|r| r.method == "PATCH") {
        assert!(
            !r.body.contains("beat") && !r.body.contains("autoscale"),
            "{}",
            r.body
        );
        assert_eq!(
            r.header("Accept"),
            Some("application/vnd.heroku+json; version=3")
        );
    }
    assert!(
        log.contains("\"event\":\"tick\"") && log.contains("\"call\":\"PATCH worker_priority=3\""),
        "{log}"
    );
    assert!(
        log.contains("25 waiting in"),
        "the rule that fired is logged: {log}"
    );
    assert!(!log.contains(TOKEN), "the token never reaches the log");
}

#[test]
fn dry_run_decides_and_logs_but_never_patches() {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 12);
    publish(&gq, 0);
    let api = small_api();
    let target = heartbeat_target(0);
    let (log, _) = run_ticks(app(&pq, &gq).path(), &env(&api, &target, AMQP), true, 2);
    delete(&[&pq, &gq]);
    assert!(
        log.contains("dry-run: would PATCH worker_priority=2"),
        "{log}"
    );
    assert!(api.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(api.quantity("worker_priority"), Some(0));
}

#[test]
fn a_stopped_broker_holds_the_workers_and_a_dead_heartbeat_never_scales_web_up() {
    let api = FakeApi::start(
        "refapp",
        TOKEN,
        &[
            ("web", 2),
            ("beat", 1),
            ("worker_priority", 3),
            ("worker_general", 2),
        ],
    );
    let target = heartbeat_target(0);
    // The heartbeat target refuses connections, the broker is unreachable.
    let mut e = env(&api, &target, "amqp://guest:guest@127.0.0.1:1/%2f");
    e.insert(
        "AUTOSCALE_HEARTBEAT_URL",
        "http://127.0.0.1:1/heroku-autoscale/heartbeat/v1".into(),
    );
    let (log, _) = run_ticks(app("q1", "q2").path(), &e, false, 4);
    assert!(
        api.requests().iter().all(|r| r.method == "GET"),
        "nothing scaled: {log}"
    );
    assert_eq!(
        (
            api.quantity("web"),
            api.quantity("worker_priority"),
            api.quantity("worker_general")
        ),
        (Some(2), Some(3), Some(2))
    );
    assert!(log.contains("measurement_unknown"), "{log}");
    assert!(log.contains("holding: queue"), "{log}");
}

#[test]
fn a_refused_token_stops_the_worker_with_a_configuration_error() {
    let api = FakeApi::start("refapp", "another-token", &[("web", 1)]);
    let target = heartbeat_target(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Procfile"), "web: gunicorn app.wsgi\n").unwrap();
    let w = spawn_worker(dir.path(), &env(&api, &target, AMQP), false);
    // It stops by itself on the refusal.
    let code = w.worker.join().unwrap();
    let log = String::from_utf8_lossy(&w.log.0.lock().unwrap()).into_owned();
    record(log.as_bytes());
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains("\"event\":\"fatal\"") && log.contains("AUTOSCALE_HEROKU_API_KEY"),
        "{log}"
    );
    assert!(!log.contains(TOKEN));
}

#[test]
fn missing_settings_and_unknown_types_are_configuration_errors() {
    let dir = app("a", "b");
    let e = Config::load(dir.path(), &|_| None, false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("AUTOSCALE_HEROKU_APP_NAME is not set"), "{e}");
    std::fs::write(
        dir.path().join("project.toml"),
        "[_.metadata.slipway.autoscale.types.worker_nope]\njobs-per-dyno = 5\n",
    )
    .unwrap();
    let env = |k: &str| match k {
        "AUTOSCALE_HEROKU_APP_NAME" => Some("refapp".to_string()),
        "AUTOSCALE_HEROKU_API_KEY" => Some(TOKEN.to_string()),
        "CELERY_BROKER_URL" => Some(AMQP.to_string()),
        _ => None,
    };
    let e = Config::load(dir.path(), &env, false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no process type `worker_nope`"), "{e}");
    std::fs::write(
        dir.path().join("project.toml"),
        "[_.metadata.slipway.autoscale]\njobs_per_dyno = 5\n",
    )
    .unwrap();
    let e = Config::load(dir.path(), &env, false)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("project.toml:2") && e.contains("unknown field `jobs_per_dyno`"),
        "{e}"
    );
}

#[test]
fn an_account_limit_clamps_the_type_and_notifies_once_and_a_429_only_holds_that_tick() {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 50);
    publish(&gq, 0);
    let api = small_api();
    api.set_limit("worker_priority", 2);
    api.push_fault(fake_platform_api::Fault::Status(429, "rate_limit"));
    let target = heartbeat_target(50);
    let (log, code) = run_ticks(app(&pq, &gq).path(), &env(&api, &target, AMQP), false, 5);
    delete(&[&pq, &gq]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("rate limit is spent"),
        "the 429 tick held: {log}"
    );
    assert!(log.contains("refused, account limit 2"), "{log}");
    assert_eq!(
        api.quantity("worker_priority"),
        Some(2),
        "clamped to the account's limit: {log}"
    );
    assert_eq!(
        log.matches("clamping its max to 2").count(),
        1,
        "notified once: {log}"
    );
}

/// A 422 for one type refuses the whole batch: only the type raised past
/// the limit is clamped; the other type raised in the same batch still
/// reaches its need on the next tick.
#[test]
fn an_account_limit_clamps_only_the_type_above_it_not_every_type_in_the_batch() {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 50);
    publish(&gq, 25);
    let api = small_api();
    api.set_limit("worker_priority", 2);
    let target = heartbeat_target(50);
    let (log, code) = run_ticks(app(&pq, &gq).path(), &env(&api, &target, AMQP), false, 5);
    delete(&[&pq, &gq]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("refused, account limit 2"), "{log}");
    assert_eq!(api.quantity("worker_priority"), Some(2), "{log}");
    assert_eq!(
        api.quantity("worker_general"),
        Some(3),
        "worker_general (25 jobs, 10 per dyno) is not clamped to worker_priority's limit: {log}"
    );
    assert!(
        !log.contains("worker_general\",\"to\":3,\"error\""),
        "{log}"
    );
}

/// A queue nothing was ever published to does not exist on the broker: it
/// counts as 0 waiting (not "unknown", which would hold the type forever),
/// with one warning naming it and its consumers.
#[test]
fn a_queue_that_does_not_exist_on_the_broker_counts_as_empty_with_one_warning() {
    let (pq, missing) = (unique("bulk_priority"), unique("never-published"));
    publish(&pq, 25);
    let api = small_api();
    let target = heartbeat_target(50);
    let (log, code) = run_ticks(
        app(&pq, &missing).path(),
        &env(&api, &target, AMQP),
        false,
        4,
    );
    delete(&[&pq]);
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        log.matches(&format!(
            "queue {missing} does not exist on the broker: counted as 0 waiting"
        ))
        .count(),
        1,
        "one warning: {log}"
    );
    assert!(
        log.contains("a typo in the -Q list of worker_general?"),
        "{log}"
    );
    let ticks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"event\":\"tick\""))
        .collect();
    assert!(ticks.len() >= 2, "{log}");
    for tick in ticks {
        assert!(
            tick.contains(&format!("\"{missing}\":0")),
            "measured as 0: {tick}"
        );
    }
    assert_eq!(api.quantity("worker_priority"), Some(3), "{log}");
}

/// A webhook on loopback answering each POST with the next status of
/// `statuses` (the last one repeated): what it received.
fn webhook(statuses: &'static [u16]) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
    let received = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let r = received.clone();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let n = {
                let mut got = r.lock().unwrap();
                got.push(body);
                got.len()
            };
            let status = statuses[(n - 1).min(statuses.len() - 1)];
            let _ = req.respond(tiny_http::Response::empty(status));
        }
    });
    (hook, received)
}

/// Slow heartbeats at web's max of 1: "needs exceed max", once per episode.
fn at_the_max_with_a_webhook(hook: String) -> String {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1), ("beat", 1)]);
    let target = heartbeat_target(150);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        "web: gunicorn app.wsgi\nbeat: celery -A app beat\n",
    )
    .unwrap();
    let mut e = env(&api, &target, AMQP);
    e.insert("AUTOSCALE_MAX_DYNOS", "1".into());
    e.insert("AUTOSCALE_WEBHOOK_URL", hook);
    run_while(dir.path(), &e, false, |w| {
        w.until("the notification's line", |log| {
            log.contains("\"event\":\"notify\"")
        });
        w.until_ticks(ticks(&w.log()) + 1);
    })
    .0
}

#[test]
fn notifications_reach_slack_and_discord_webhooks_as_they_are_and_a_failed_post_is_retried() {
    // The first POST fails (a 503 from a busy webhook), the retry is taken.
    let (hook, received) = webhook(&[503, 204]);
    let log = at_the_max_with_a_webhook(hook);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one notification, tried twice: {got:?} {log}");
    assert_eq!(got[0], got[1], "the same body again");
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["app"], "refapp");
    assert_eq!(v["kind"], "needs_exceed_max");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("web needs 2 dynos but its max is 1"),
        "{v}"
    );
    // What Slack (`text`) and Discord (`content`) post as the message.
    assert_eq!(
        v["text"].as_str().unwrap(),
        format!("[autoscale] refapp: {}", v["message"].as_str().unwrap())
    );
    assert_eq!(v["content"], v["text"]);
    let line = log
        .lines()
        .find(|l| l.contains("\"event\":\"notify\""))
        .unwrap();
    assert!(
        line.contains("\"webhook\":true") && line.contains("\"webhook_attempts\":2"),
        "{line}"
    );
}

#[test]
fn a_webhook_that_keeps_failing_is_tried_a_bounded_number_of_times_and_the_failure_logged() {
    let (hook, received) = webhook(&[500]);
    let log = at_the_max_with_a_webhook(hook.clone());
    assert_eq!(
        received.lock().unwrap().len(),
        autoscale_worker::ATTEMPTS as usize,
        "{log}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("\"event\":\"notify\""))
        .unwrap();
    assert!(
        line.contains("\"webhook\":false")
            && line.contains("\"webhook_error\":\"HTTP 500 (gave up after 3 tries)\""),
        "{line}"
    );
    assert!(
        !log.contains(&hook),
        "the URL (a secret for Slack) is never logged: {log}"
    );
    // A refusal (4xx: a revoked Slack URL) is not retried.
    let (hook, received) = webhook(&[404]);
    let log = at_the_max_with_a_webhook(hook);
    assert_eq!(received.lock().unwrap().len(), 1, "{log}");
    assert!(log.contains("HTTP 404 (not retried"), "{log}");
}

#[test]
fn with_a_redis_broker_celerys_lists_drive_the_worker_types() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:6379").is_ok(),
        "Redis is not listening on 127.0.0.1:6379: scripts/services starts it"
    );
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = client.get_connection().unwrap();
    for i in 0..30 {
        let _: u64 = redis::cmd("RPUSH")
            .arg(&pq)
            .arg(i)
            .query(&mut conn)
            .unwrap();
    }
    let api = small_api();
    let target = heartbeat_target(50);
    let (log, _) = run_ticks(
        app(&pq, &gq).path(),
        &env(&api, &target, "redis://127.0.0.1:6379/0"),
        false,
        2,
    );
    let _: u64 = redis::cmd("DEL").arg(&pq).query(&mut conn).unwrap();
    assert_eq!(
        api.quantity("worker_priority"),
        Some(3),
        "ceil(30 / 10): {log}"
    );
}

/// The age signal end to end: Celery publishes two jobs with the shipped
/// `heroku_autoscale` app's stamp (its clock 125 s behind: jobs that have
/// waited that long), and with `AUTOSCALE_WORKER_MAX_WAIT_SECONDS=60` the
/// worker type grows to ceil(1 x age / 60) = 3 dynos, where their count alone
/// (2 jobs, 10 a dyno) asks for 1; the tick says how old the oldest is. Any
/// age from 121 to 180 s gives 3: a machine 55 s slow to start the worker
/// still passes.
#[test]
fn with_a_redis_broker_a_max_wait_grows_a_worker_type_whose_oldest_job_waited_too_long() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:6379").is_ok(),
        "Redis is not listening on 127.0.0.1:6379: scripts/services starts it"
    );
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    let publisher = r#"
import sys, time, types, celery
import heroku_autoscale.stamp as stamp
stamp.time = types.SimpleNamespace(time=lambda: time.time() - 125)
app = celery.Celery("refapp", broker=sys.argv[2])
assert stamp.connect()
for n in (1, 2):
    app.send_task("refapp.tasks.rebuild", args=[n], queue=sys.argv[1])
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", publisher, &pq, "redis://127.0.0.1:6379/0"])
        .env(
            "PYTHONPATH",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../buildpacks/release-phase/python"
            ),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Celery for Python (scripts/bootstrap installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An app of its own: the lease is a Redis key per app, and the other
    // Redis-broker test runs beside this one.
    let name = unique("aged");
    let api = small_api_named(&name);
    let target = heartbeat_target(50);
    let mut env = env(&api, &target, "redis://127.0.0.1:6379/0");
    env.insert("AUTOSCALE_HEROKU_APP_NAME", name.clone());
    env.insert("AUTOSCALE_WORKER_MAX_WAIT_SECONDS", "60".into());
    let (log, code) = run_while(app(&pq, &gq).path(), &env, false, |w| {
        w.until("worker_priority at 3 dynos", |_| {
            api.quantity("worker_priority") == Some(3)
        });
    });
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0")
        .unwrap()
        .get_connection()
        .unwrap();
    let _: u64 = redis::cmd("DEL").arg(&pq).query(&mut conn).unwrap();
    assert_eq!(code, 0, "{log}");
    let tick: serde_json::Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["oldest_job_seconds"].get(&pq).is_some())
        .unwrap_or_else(|| panic!("a tick with the queue's age: {log}"));
    let age = tick["oldest_job_seconds"][&pq].as_f64().unwrap();
    assert!((125.0..=180.0).contains(&age), "{tick}");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let said = format!("the oldest waited {}s in {pq} (max wait 60s)", age as u64);
    assert!(log.contains(&said), "{said}: {log}");
}

/// Every release restarts the autoscale dyno (SIGTERM, then a new process):
/// a worker stopped cleanly gives its Redis lease up, so the next one takes
/// it at once instead of waiting out the key's expiry; the saved state stays.
#[test]
fn a_worker_stopped_cleanly_gives_its_redis_lease_up_for_the_next_one() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:6379").is_ok(),
        "Redis is not listening on 127.0.0.1:6379: scripts/services starts it"
    );
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    let name = unique("restarted");
    let api = small_api_named(&name);
    let target = heartbeat_target(50);
    let mut env = env(&api, &target, "redis://127.0.0.1:6379/0");
    env.insert("AUTOSCALE_HEROKU_APP_NAME", name.clone());
    let dir = app(&pq, &gq);
    let key = format!("slipway:autoscale:{name}:lease");
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0")
        .unwrap()
        .get_connection()
        .unwrap();
    let (first, code) = run_ticks(dir.path(), &env, false, 1);
    assert_eq!(code, autoscale_worker::EXIT_STOPPED, "{first}");
    assert!(first.contains("\"lease_released\":true"), "{first}");
    let exists: u64 = redis::cmd("EXISTS").arg(&key).query(&mut conn).unwrap();
    assert_eq!(exists, 0, "the lease key is gone: {first}");
    let state: u64 = redis::cmd("EXISTS")
        .arg(format!("{key}:state"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(state, 1, "the saved state stays for the next one");
    // The next process acts from its first tick: no wait for the key.
    let (second, _) = run_ticks(dir.path(), &env, false, 1);
    let _: u64 = redis::cmd("DEL")
        .arg(&key)
        .arg(format!("{key}:state"))
        .query(&mut conn)
        .unwrap();
    assert!(!second.contains("\"event\":\"waiting\""), "{second}");
    assert!(second.contains("\"restored\""), "{second}");
}

/// RabbitMQ does not show how long its oldest message waited (reading it
/// consumes it): a max wait there is kept, said once at start, and the
/// count of jobs decides.
#[test]
fn a_max_wait_on_rabbitmq_is_said_to_have_no_effect_there() {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 0);
    let name = unique("rabbit-wait");
    let api = small_api_named(&name);
    let target = heartbeat_target(50);
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_HEROKU_APP_NAME", name);
    env.insert("AUTOSCALE_WORKER_MAX_WAIT_SECONDS", "60".into());
    let (log, code) = run_ticks(app(&pq, &gq).path(), &env, true, 1);
    delete(&[&pq, &gq]);
    assert_eq!(code, autoscale_worker::EXIT_STOPPED, "{log}");
    let warning = log
        .lines()
        .find(|l| l.contains("\"event\":\"warning\"") && l.contains("max wait"))
        .unwrap_or_else(|| panic!("a warning about the max wait: {log}"));
    assert!(
        warning.contains("worker_general, worker_priority")
            && warning.contains("only a Redis broker"),
        "{warning}"
    );
}

#[test]
fn with_the_management_api_jobs_held_by_busy_workers_keep_their_dynos() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:15672").is_ok(),
        "RabbitMQ's management API is not listening on 127.0.0.1:15672: `rabbitmq-plugins enable rabbitmq_management` (scripts/services does)"
    );
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 15);
    // A busy Celery worker (prefetch 8) holds 8 of the 15 jobs, unacked: 7 stay Ready.
    let held = futures_lite::future::block_on(async {
        use futures_lite::StreamExt as _;
        let conn = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.basic_qos(8, lapin::options::BasicQosOptions::default())
            .await
            .unwrap();
        let mut deliveries = ch
            .basic_consume(
                gq.as_str().into(),
                "busy-worker".into(),
                lapin::options::BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut held = Vec::new();
        while held.len() < 8 {
            held.push(deliveries.next().await.unwrap().unwrap());
        }
        (conn, ch, held)
    });
    let api = small_api();
    let target = heartbeat_target(50);
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    env.insert(
        "AUTOSCALE_RABBITMQ_MANAGEMENT_URL",
        "http://guest:guest@127.0.0.1:15672".into(),
    );
    // The management API refreshes its counts every 5 s.
    let (log, code) = run_while(dir.path(), &env, false, |w| {
        w.until("worker_general at 2 dynos", |_| {
            api.quantity("worker_general") == Some(2)
        });
    });
    drop(held);
    delete(&[&pq, &gq]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("ready + unacked"), "{log}");
    assert_eq!(
        api.quantity("worker_general"),
        Some(2),
        "ceil((7 ready + 8 unacked) / 10 per dyno); Ready alone would say 1: {log}"
    );
}

#[test]
fn a_management_url_with_a_redis_broker_is_a_configuration_error() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1)]);
    let target = heartbeat_target(50);
    let dir = app("a", "b");
    let mut env = env(&api, &target, "redis://127.0.0.1:6379/0");
    env.insert(
        "AUTOSCALE_RABBITMQ_MANAGEMENT_URL",
        "http://guest:guest@127.0.0.1:15672".into(),
    );
    let err = Config::load(dir.path(), &|k| env.get(k).cloned(), true)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("AUTOSCALE_RABBITMQ_MANAGEMENT_URL") && err.contains("Redis"),
        "{err}"
    );
}

/// A real SMTP server on loopback (aiosmtpd, storing what it receives in a
/// Maildir), stopped when dropped.
struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .spawn()
            .expect("python3 -m aiosmtpd (scripts/bootstrap installs it)");
        // Dropped (and so stopped) on every path, the panic's included.
        let smtp = Self {
            child,
            port,
            maildir,
        };
        // Until the port answers (Python's start is slow on a loaded machine).
        let mut smtp = smtp;
        let deadline = std::time::Instant::now() + WITHIN;
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return smtp;
            }
            if let Ok(Some(status)) = smtp.child.try_wait() {
                panic!("aiosmtpd exited ({status}): install it with `python3 -m pip install aiosmtpd` (scripts/bootstrap does)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on {port} within {WITHIN:?}");
    }

    fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("mail/new");
        std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_wanted_notification_is_mailed_to_the_admins_over_smtp_as_the_seed_sends_it() {
    let smtp = Smtp::start();
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 0);
    let api = small_api();
    // Slow beats at web's max of 1: "needs exceed max", which the seed's
    // settings send by default.
    let target = heartbeat_target(150);
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_MAX_DYNOS", "1".into());
    env.insert(
        "AUTOSCALE_NOTIFY_EMAILS",
        "ops@example.com, Dev <dev@example.com>".into(),
    );
    env.insert("EMAIL_URL", format!("smtp://127.0.0.1:{}", smtp.port));
    env.insert("SERVER_EMAIL", "autoscale@refapp.example.com".into());
    let (log, code) = run_ticks(dir.path(), &env, false, 3);
    delete(&[&pq, &gq]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("\"kind\":\"needs_exceed_max\"") && log.contains("\"email\":true"),
        "{log}"
    );
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "one mail per episode, not per tick: {log}");
    let m = &mail[0];
    assert!(
        m.contains("Subject: [autoscale] refapp: needs_exceed_max"),
        "{m}"
    );
    assert!(m.contains("From: autoscale@refapp.example.com"), "{m}");
    assert!(
        m.contains("ops@example.com") && m.contains("dev@example.com"),
        "{m}"
    );
    assert!(m.contains("web"), "{m}");
}

/// The mail server through a fault proxy: a stalled one fails the send
/// within the transport's timeout (the tick goes on), and once it answers
/// again mail goes out (lettre's pool drops the stalled connection).
#[test]
fn a_mail_server_that_stops_answering_fails_the_send_in_time_and_mail_resumes_after() {
    let smtp = Smtp::start();
    let proxy = fault_proxy::FaultProxy::start(format!("127.0.0.1:{}", smtp.port).parse().unwrap());
    let env = HashMap::from([
        ("AUTOSCALE_NOTIFY_EMAILS", "ops@example.com".to_string()),
        ("EMAIL_URL", format!("smtp://127.0.0.1:{}", proxy.port())),
    ]);
    let mail = autoscale_worker::Mail::from_env(&|k| env.get(k).cloned(), "refapp")
        .unwrap()
        .unwrap();
    mail.send("[autoscale] one", "first").unwrap();

    proxy.stall();
    let t = std::time::Instant::now();
    let stalled = mail.send("[autoscale] two", "stalled");
    let took = t.elapsed();
    assert!(stalled.is_err(), "a stalled server fails the send");
    assert!(
        took < Duration::from_secs(12),
        "within the 10 s timeout: {took:?}"
    );

    proxy.pass();
    proxy.cut();
    let resumed = mail
        .send("[autoscale] three", "after")
        .or_else(|_| mail.send("[autoscale] three", "after"));
    assert!(resumed.is_ok(), "{resumed:?}");
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Subject:"))
                .map(str::to_string)
        })
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("one")) && subjects.iter().any(|s| s.contains("three")),
        "{subjects:?}"
    );
}

#[test]
fn recipients_without_a_mail_server_are_a_configuration_error_naming_what_to_set() {
    let api = small_api();
    let target = heartbeat_target(10);
    let dir = app("q1", "q2");
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_NOTIFY_EMAILS", "ops@example.com".into());
    let e = Config::load(dir.path(), &|k| env.get(k).cloned(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("EMAIL_URL") && e.contains("mail add-on"), "{e}");
    env.insert("AUTOSCALE_NOTIFY_EMAILS", "not an address".into());
    env.insert("EMAIL_URL", "smtp://127.0.0.1:2525".into());
    let e = Config::load(dir.path(), &|k| env.get(k).cloned(), true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("AUTOSCALE_NOTIFY_EMAILS") && e.contains("not an e-mail address"),
        "{e}"
    );
}

#[test]
fn a_worker_restarted_after_a_release_keeps_the_releases_freeze_from_the_dyno_metadata() {
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 0);
    let target = heartbeat_target(10);
    let dir = app(&pq, &gq);
    // Nothing to wait for but the freeze: worker_general (1, its queue empty, min 0) may go down at once.
    std::fs::write(
        dir.path().join("project.toml"),
        "[_.metadata.slipway.autoscale]\nscale-down-delay-seconds = 0\n[_.metadata.slipway.formation.worker_general]\nmin = 0\nmax = 3\n",
    )
    .unwrap();
    let run = |released: Option<String>| {
        let api = small_api();
        let mut env = env(&api, &target, AMQP);
        if let Some(r) = released {
            env.insert("HEROKU_RELEASE_CREATED_AT", r);
        }
        let (log, code) = run_ticks(dir.path(), &env, false, 3);
        assert_eq!(code, 0, "{log}");
        (api.quantity("worker_general"), log)
    };
    let now = chrono::Utc::now().to_rfc3339();
    let (frozen, log) = run(Some(now));
    assert_eq!(
        frozen,
        Some(1),
        "a release a moment ago: no scale-down inside the freeze: {log}"
    );
    assert!(log.contains("frozen"), "{log}");
    let (free, log) = run(Some("2020-01-01T00:00:00Z".into()));
    assert_eq!(free, Some(0), "an old release freezes nothing: {log}");
    delete(&[&pq, &gq]);
}

#[test]
fn a_second_autoscaler_waits_for_the_lease_and_takes_over_when_the_first_stops() {
    require_postgres();
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 25);
    publish(&gq, 0);
    let api = small_api();
    let target = heartbeat_target(10);
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    env.insert(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into(),
    );
    let a = spawn_worker(dir.path(), &env, false);
    a.until("the first acts", |log| {
        log.contains("PATCH worker_priority=3")
    });
    let b = spawn_worker(dir.path(), &env, false);
    b.until("the second waits", |log| {
        log.contains("\"event\":\"waiting\"")
    });
    a.until_ticks(ticks(&a.log()) + 1);
    let (log_a, _) = a.stop();
    b.until("the second takes over and ticks", |log| {
        log.split_once("\"event\":\"lease\"")
            .is_some_and(|(_, after)| ticks(after) >= 1)
    });
    let (log_b, _) = b.stop();
    delete(&[&pq, &gq]);

    assert!(
        log_a.contains("\"lease\":\"postgres advisory lock (DATABASE_URL)\""),
        "{log_a}"
    );
    assert!(
        log_a.contains("PATCH worker_priority=3"),
        "the first acts: {log_a}"
    );
    assert!(!log_a.contains("\"event\":\"waiting\""), "{log_a}");
    let (before, after) = log_b
        .split_once("\"event\":\"lease\"")
        .unwrap_or_else(|| panic!("the second took over once the first stopped: {log_b}"));
    assert!(
        before.contains("\"event\":\"waiting\"")
            && before.contains("another autoscale process holds the lease"),
        "the second says why it waits: {log_b}"
    );
    assert!(
        !before.contains("\"event\":\"tick\""),
        "no tick while waiting: {log_b}"
    );
    assert!(
        after.contains("\"event\":\"tick\""),
        "then it acts: {log_b}"
    );
}

/// The lease's database keeps the connection and stops answering (a hung
/// server or proxy: keepalives see nothing): the lease check gives up at
/// its deadline, the worker stops acting and says why, and it still stops
/// when asked, never stuck in a query.
#[test]
fn a_lease_database_that_stops_answering_never_holds_up_the_worker() {
    require_postgres();
    let proxy = fault_proxy::FaultProxy::start("127.0.0.1:5432".parse().unwrap());
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 0);
    publish(&gq, 0);
    // An app of its own: its lease (held by the stalled session until the
    // proxy is cut) is no other test's.
    let app_name = format!("stall-{}", std::process::id());
    let api = FakeApi::start(&app_name, TOKEN, &[("web", 1), ("worker_general", 1)]);
    let target = heartbeat_target(10);
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    let app_name_saved = app_name.clone();
    env.insert("AUTOSCALE_HEROKU_APP_NAME", app_name);
    env.insert(
        "DATABASE_URL",
        format!(
            "postgres://postgres@127.0.0.1:{}/test?sslmode=disable",
            proxy.port()
        ),
    );
    let worker = spawn_worker(dir.path(), &env, false);
    // It has acted once its first tick's state is saved (read past the proxy).
    let mut db = postgres::Client::connect(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        postgres::NoTls,
    )
    .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    while db
        .query_opt(
            "SELECT 1 FROM pg_tables WHERE tablename = 'slipway_autoscale_state'",
            &[],
        )
        .unwrap()
        .is_none()
        || db
            .query_opt(
                "SELECT 1 FROM slipway_autoscale_state WHERE app = $1",
                &[&app_name_saved],
            )
            .unwrap()
            .is_none()
    {
        assert!(std::time::Instant::now() < until, "the worker never acted");
        std::thread::sleep(Duration::from_millis(100));
    }
    proxy.stall();
    worker.until("the stalled lease check is named", |log| {
        log.contains("did not answer within 5s")
    });
    let asked = std::time::Instant::now();
    let (log, _) = worker.stop();
    let took = asked.elapsed();
    proxy.cut();
    delete(&[&pq, &gq]);
    assert!(log.contains("\"event\":\"tick\""), "it acted first: {log}");
    assert!(
        log.contains("did not answer within 5s"),
        "the stalled lease check is named: {log}"
    );
    assert!(
        took < autoscale_worker::QUERY_DEADLINE + Duration::from_secs(2),
        "stopped within a query deadline, not stuck ({took:?}): {log}"
    );
}

#[test]
fn a_restarted_autoscaler_takes_back_what_it_knew_so_a_change_made_meanwhile_still_freezes() {
    require_postgres();
    let app_name = format!("restart-{}", std::process::id());
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 25);
    publish(&gq, 0);
    let api = FakeApi::start(
        &app_name,
        TOKEN,
        &[
            ("web", 1),
            ("beat", 1),
            ("worker_priority", 0),
            ("worker_general", 1),
            ("autoscale", 1),
        ],
    );
    let target = heartbeat_target(10);
    let dir = app(&pq, &gq);
    std::fs::write(
        dir.path().join("project.toml"),
        "[_.metadata.slipway.autoscale]\nscale-down-delay-seconds = 0\n",
    )
    .unwrap();
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_HEROKU_APP_NAME", app_name.clone());
    env.insert(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into(),
    );
    let (first, _) = run_while(dir.path(), &env, false, |w| {
        w.until("the first acts", |log| log.contains("worker_priority=3"));
    });
    assert!(
        first.contains("\"call\":\"PATCH") && first.contains("worker_priority=3"),
        "{first}"
    );
    // While it is down, someone scales the type by hand; the queue empties.
    api.set_quantity("worker_priority", 5);
    let drained = unique("bulk_priority");
    publish(&drained, 0);
    let dir2 = app(&drained, &gq);
    std::fs::copy(
        dir.path().join("project.toml"),
        dir2.path().join("project.toml"),
    )
    .unwrap();
    let (second, _) = run_ticks(dir2.path(), &env, false, 2);
    delete(&[&pq, &gq, &drained]);
    assert!(
        second.contains("\"event\":\"restored\"") && second.contains("\"used\":true"),
        "{second}"
    );
    assert_eq!(
        api.quantity("worker_priority"),
        Some(5),
        "it knew it had set 3: 5 is someone else's change, which freezes scale-down: {second}"
    );
    assert!(second.contains("frozen"), "{second}");
}

#[test]
fn a_broker_the_autoscaler_cannot_measure_is_a_configuration_error_at_start() {
    let dir = app("q1", "q2");
    for (url, ok) in [
        ("sqs://AKIA:secret@", false),
        ("filesystem://", false),
        ("pyamqp://guest:guest@127.0.0.1:5672//", true),
        ("rediss://:pw@127.0.0.1:6380/0", true),
    ] {
        let env = |k: &str| match k {
            "AUTOSCALE_HEROKU_APP_NAME" => Some("refapp".to_string()),
            "AUTOSCALE_HEROKU_API_KEY" => Some(TOKEN.to_string()),
            "CELERY_BROKER_URL" => Some(url.to_string()),
            "AUTOSCALE_APP_URL" => Some("http://127.0.0.1:1".to_string()),
            _ => None,
        };
        match Config::load(dir.path(), &env, true) {
            Ok(_) => assert!(ok, "{url} was taken"),
            Err(e) => {
                let e = e.to_string();
                assert!(!ok, "{url}: {e}");
                assert!(
                    e.contains("CELERY_BROKER_URL is a") && e.contains("cannot measure"),
                    "{e}"
                );
                assert!(!e.contains("secret"), "{e}");
            }
        }
    }
}

/// A heartbeat endpoint that holds every request until the gate opens, and
/// says (on the channel) when one has arrived: a tick stopped half-way.
/// Open (true) once the test says so; waited on with the condvar.
type Gate = Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>;

fn gated_target() -> (Target, Gate, std::sync::mpsc::Receiver<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/heroku-autoscale/heartbeat/v1",
        server.server_addr().to_ip().unwrap()
    );
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let (arrived, seen) = std::sync::mpsc::channel();
    let g = gate.clone();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let _ = arrived.send(());
            let g = g.clone();
            std::thread::spawn(move || {
                let (open, cv) = &*g;
                let mut is_open = open.lock().unwrap();
                while !*is_open {
                    is_open = cv.wait(is_open).unwrap();
                }
                drop(is_open);
                let _ = req.respond(tiny_http::Response::from_string("{\"status\": \"ok\"}"));
            });
        }
    });
    (
        Target {
            url,
            delay_ms: Arc::new(AtomicU64::new(0)),
        },
        gate,
        seen,
    )
}

/// The leader's lease connection is terminated in the middle of its tick
/// (after the lease check, before the PATCH), and a second autoscaler takes
/// the lease: the old leader confirms the lease right before its PATCH,
/// finds it gone and sends nothing (it once still PATCHed, 3 of 3); the new
/// one holds its first PATCH for the PATCH deadline.
#[test]
fn a_leader_that_loses_its_lease_mid_tick_sends_no_patch_after_the_handover() {
    require_postgres();
    let app_name = format!("handover-{}", std::process::id());
    let (pq, gq) = (unique("bulk_priority"), unique("default"));
    publish(&pq, 25);
    publish(&gq, 0);
    let api = FakeApi::start(
        &app_name,
        TOKEN,
        &[
            ("web", 1),
            ("beat", 1),
            ("worker_priority", 0),
            ("worker_general", 1),
            ("autoscale", 1),
        ],
    );
    let (target, gate, arrived) = gated_target();
    let dir = app(&pq, &gq);
    let mut env = env(&api, &target, AMQP);
    env.insert("AUTOSCALE_HEROKU_APP_NAME", app_name.clone());
    env.insert(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into(),
    );
    let a = spawn_worker(dir.path(), &env, false);
    arrived
        .recv_timeout(WITHIN)
        .expect("a's first tick reaches the heartbeat");
    // a holds the lease and is inside its tick: cut its lease's session.
    let mut db = postgres::Client::connect(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
        postgres::NoTls,
    )
    .unwrap();
    let key = autoscale_worker::lock_key(&app_name);
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let (classid, objid) = ((key >> 32) as u32, key as u32);
    let cut: i64 = db
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
             AND granted AND classid = $1 AND objid = $2) t",
            &[&classid, &objid],
        )
        .unwrap()
        .get(0);
    assert_eq!(cut, 1, "a's lease session");
    // b takes the lease over (its heartbeat requests wait at the gate too):
    // the database shows the lock granted again, to b's session.
    let b = spawn_worker(dir.path(), &env, false);
    let until = std::time::Instant::now() + WITHIN;
    while db
        .query_opt(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2",
            &[&classid, &objid],
        )
        .unwrap()
        .is_none()
    {
        assert!(std::time::Instant::now() < until, "b never took the lease");
        std::thread::sleep(Duration::from_millis(20)); // polling the database's lock table
    }
    // a goes on to its PATCH.
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    a.until("a's tick ends", |log| ticks(log) >= 1);
    b.until("b's first tick ends", |log| ticks(log) >= 1);
    let (log_a, _) = a.stop();
    let (log_b, _) = b.stop();
    delete(&[&pq, &gq]);
    let patches = api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert!(
        patches <= 1,
        "a PATCHed after losing its lease ({patches} PATCHes)\n{log_a}\n{log_b}"
    );
    assert!(
        log_a.contains("not sent worker_priority=3: the lease was lost before the PATCH"),
        "{log_a}"
    );
    assert!(!log_a.contains("\"call\":\"PATCH"), "{log_a}");
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
        autoscale_worker::Lease::from_env(&|_| None, &app_name, Some(url), Duration::from_secs(1))
            .unwrap();
    assert_eq!(lease.hold(), autoscale_worker::Held::Yes);
    assert_eq!(lease.confirm(), autoscale_worker::Held::Yes, "still ours");
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
    let autoscale_worker::Held::No(why) = lease.confirm() else {
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

/// Where two apps' autoscalers share their leases: one PostgreSQL database
/// (the broker RabbitMQ), or one Redis that is also the broker (no database).
#[derive(Clone, Copy, Debug)]
enum Shared {
    Database,
    Redis,
}

const REDIS: &str = "redis://127.0.0.1:6379/0";

fn redis_conn() -> redis::Connection {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:6379").is_ok(),
        "Redis is not listening on 127.0.0.1:6379: scripts/services starts it"
    );
    redis::Client::open(REDIS)
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Two apps from one repository (the AnyCable shape), each with its own
/// autoscaler, sharing one store: each lease is its app's (the key holds the
/// app name), so both act at once, and each PATCHes only its own app's
/// formation (each fake Platform API serves one app; another's would 404).
fn two_apps_autoscalers_each_hold_their_own_lease_and_scale_only_their_app(shared: Shared) {
    let pid = std::process::id();
    let names = [
        format!("rails-{pid}-{shared:?}"),
        format!("anycable-{pid}-{shared:?}"),
    ];
    let mut running = Vec::new();
    let mut queues = Vec::new();
    let mut apis = Vec::new();
    for name in &names {
        let (pq, gq) = (unique("bulk_priority"), unique("default"));
        let broker = match shared {
            Shared::Database => {
                require_postgres();
                publish(&pq, 25);
                publish(&gq, 0);
                AMQP
            }
            Shared::Redis => {
                let mut c = redis_conn();
                let jobs: Vec<usize> = (0..25).collect();
                redis::cmd("RPUSH")
                    .arg(&pq)
                    .arg(&jobs)
                    .query::<u64>(&mut c)
                    .unwrap();
                REDIS
            }
        };
        let api = FakeApi::start(
            name,
            TOKEN,
            &[
                ("web", 1),
                ("beat", 1),
                ("worker_priority", 0),
                ("worker_general", 1),
                ("autoscale", 1),
            ],
        );
        let target = heartbeat_target(10);
        let dir = app(&pq, &gq);
        let mut env = env(&api, &target, broker);
        env.insert("AUTOSCALE_HEROKU_APP_NAME", name.clone());
        if let Shared::Database = shared {
            env.insert(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into(),
            );
        }
        running.push((spawn_worker(dir.path(), &env, false), dir, target));
        queues.push((pq, gq));
        apis.push(api);
    }
    for (worker, _, _) in &running {
        worker.until("each acts on its own app", |log| {
            log.contains("PATCH worker_priority=3")
        });
    }
    // Both leases are held at once, in keys of their own.
    let holders: Vec<Option<String>> = match shared {
        Shared::Database => Vec::new(),
        Shared::Redis => {
            let mut c = redis_conn();
            names
                .iter()
                .map(|n| {
                    redis::cmd("GET")
                        .arg(format!("slipway:autoscale:{n}:lease"))
                        .query(&mut c)
                        .unwrap()
                })
                .collect()
        }
    };
    let logs: Vec<String> = running.into_iter().map(|(w, _, _)| w.stop().0).collect();
    for (pq, gq) in &queues {
        match shared {
            Shared::Database => delete(&[pq, gq]),
            Shared::Redis => redis::cmd("DEL")
                .arg(pq)
                .arg(gq)
                .query::<u64>(&mut redis_conn())
                .map(|_| ())
                .unwrap(),
        }
    }
    match shared {
        Shared::Database => assert_ne!(
            autoscale_worker::lock_key(&names[0]),
            autoscale_worker::lock_key(&names[1])
        ),
        Shared::Redis => {
            assert!(
                holders.iter().all(Option::is_some),
                "both leases held: {holders:?}"
            );
            assert_ne!(holders[0], holders[1], "each by its own autoscaler");
        }
    }
    for (log, api) in logs.iter().zip(&apis) {
        let lease = match shared {
            Shared::Database => "postgres advisory lock (DATABASE_URL)",
            Shared::Redis => "redis key with expiry (the broker)",
        };
        assert!(log.contains(lease), "{log}");
        assert!(
            !log.contains("\"event\":\"waiting\""),
            "never waited for the other app's lease: {log}"
        );
        assert_eq!(api.quantity("worker_priority"), Some(3), "{log}");
        assert!(
            api.requests().iter().all(|r| r.status < 400),
            "every request was for this app: {log}"
        );
    }
}

#[test]
fn two_apps_autoscalers_on_one_database_each_hold_their_own_lease_and_scale_only_their_app() {
    two_apps_autoscalers_each_hold_their_own_lease_and_scale_only_their_app(Shared::Database);
}

#[test]
fn two_apps_autoscalers_on_one_redis_each_hold_their_own_lease_and_scale_only_their_app() {
    two_apps_autoscalers_each_hold_their_own_lease_and_scale_only_their_app(Shared::Redis);
}
