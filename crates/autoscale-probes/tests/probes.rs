//! The probes against real services on this machine: RabbitMQ
//! (127.0.0.1:5672, guest/guest), Redis (127.0.0.1:6379) and an HTTP
//! heartbeat target with controllable latency. A missing broker fails the
//! test with how to start it: never a silent skip.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale::Measure;
use autoscale_probes::{heartbeat, heartbeat_agent, RabbitManagement, RabbitProbe, RedisProbe};
use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::{types::FieldTable, BasicProperties};
use std::time::Duration;

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REDIS: &str = "redis://127.0.0.1:6379/0";

/// One tick's depths from a new probe (the worker keeps its probe across ticks).
fn rabbitmq_depths(amqp_url: &str, queues: &[String]) -> Vec<(String, Measure<u64>)> {
    RabbitProbe::new(amqp_url, true).depths(queues)
}

/// One tick's depths from a new probe.
fn redis_depths(redis_url: &str, queues: &[String]) -> Vec<(String, Measure<u64>)> {
    RedisProbe::new(redis_url).depths(queues)
}

fn unique(name: &str) -> String {
    format!(
        "slipway-test-{}-{}-{name}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

fn require(addr: &str, what: &str, start: &str) {
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok(),
        "{what} is not listening on {addr}: start it with `{start}` (scripts/services does; .ci/run calls it)"
    );
}

#[test]
fn rabbitmq_ready_messages_are_counted_per_queue_and_a_missing_queue_is_unknown() {
    require("127.0.0.1:5672", "RabbitMQ", "rabbitmq-server -detached");
    let (bulk, import) = (unique("bulk_priority"), unique("user_import"));
    declare_with(&bulk, 37);
    declare_with(&import, 0);
    let missing = unique("never_declared");
    let got = rabbitmq_depths(AMQP, &[bulk.clone(), import.clone(), missing.clone()]);
    assert_eq!(got[0], (bulk.clone(), Measure::Value(37)));
    assert_eq!(
        got[1],
        (import.clone(), Measure::Value(0)),
        "an empty queue is a real zero"
    );
    assert!(
        matches!(&got[2].1, Measure::Unknown(why) if why.contains("does not exist")),
        "{got:?}"
    );
    delete(&[&bulk, &import]);
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

fn declare_with(q: &str, n: usize) {
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
            q.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
        for i in 0..n {
            ch.basic_publish(
                "".into(),
                q.into(),
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

#[test]
fn one_connection_serves_every_tick_and_a_queue_that_appears_later_is_counted() {
    require("127.0.0.1:5672", "RabbitMQ", "rabbitmq-server -detached");
    let (a, later) = (unique("default"), unique("user_import"));
    declare_with(&a, 3);
    let mut probe = RabbitProbe::new(AMQP, true);
    // The missing queue first: it closes the channel, and the broker drops
    // the declares after it, which are asked again on a reopened channel.
    let queues = [later.clone(), a.clone()];
    let first = probe.depths(&queues);
    assert!(
        matches!(&first[0].1, Measure::Unknown(why) if why.contains("does not exist")),
        "{first:?}"
    );
    assert_eq!(first[1], (a.clone(), Measure::Value(3)));
    declare_with(&later, 5);
    declare_with(&a, 1);
    for _ in 0..3 {
        let next = probe.depths(&queues);
        assert_eq!(
            next,
            vec![
                (later.clone(), Measure::Value(5)),
                (a.clone(), Measure::Value(4))
            ]
        );
    }
    delete(&[&a, &later]);
}

const MANAGEMENT: &str = "http://guest:guest@127.0.0.1:15672";

#[test]
fn the_management_api_counts_the_messages_busy_workers_hold_which_a_passive_declare_misses() {
    require("127.0.0.1:5672", "RabbitMQ", "rabbitmq-server -detached");
    require(
        "127.0.0.1:15672",
        "RabbitMQ's management API",
        "rabbitmq-plugins enable rabbitmq_management",
    );
    let q = unique("worker_general");
    declare_with(&q, 20);
    futures_lite::future::block_on(async {
        use futures_lite::StreamExt as _;
        let conn = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        // A Celery worker with a prefetch of 8: it holds 8 jobs, unacked, while it works.
        let worker = conn.create_channel().await.unwrap();
        worker
            .basic_qos(8, lapin::options::BasicQosOptions::default())
            .await
            .unwrap();
        let mut deliveries = worker
            .basic_consume(
                q.as_str().into(),
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
        let ready_only = rabbitmq_depths(AMQP, std::slice::from_ref(&q));
        assert_eq!(
            ready_only[0].1,
            Measure::Value(12),
            "a passive declare counts Ready only"
        );

        let management = RabbitManagement::new(MANAGEMENT, "/").unwrap();
        // The management API refreshes its counts every 5 s.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let got = loop {
            let got = management.depths(std::slice::from_ref(&q));
            if got[0].1 == Measure::Value(20) || std::time::Instant::now() > deadline {
                break got;
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        assert_eq!(
            got[0].1,
            Measure::Value(20),
            "ready 12 + unacked 8: {got:?}"
        );
        let missing = unique("never_declared");
        let got = management.depths(std::slice::from_ref(&missing));
        assert!(
            matches!(&got[0].1, Measure::Unknown(why) if why.contains("does not exist")),
            "{got:?}"
        );
        drop(held);
        let _ = ch
            .queue_delete(q.into(), QueueDeleteOptions::default())
            .await;
    });
}

#[test]
fn refused_management_credentials_are_unknown_and_never_show_the_password() {
    require(
        "127.0.0.1:15672",
        "RabbitMQ's management API",
        "rabbitmq-plugins enable rabbitmq_management",
    );
    let m = RabbitManagement::new("http://guest:hunter2-secret@127.0.0.1:15672/", "/").unwrap();
    let got = m.depths(&["default".to_string()]);
    let Measure::Unknown(why) = &got[0].1 else {
        panic!("refused credentials must be unknown, not {got:?}")
    };
    assert!(
        why.contains("401") && !why.contains("hunter2-secret"),
        "{why}"
    );
    assert!(RabbitManagement::new("amqp://guest:guest@127.0.0.1/", "/")
        .err()
        .unwrap()
        .to_string()
        .contains("http"));
}

#[test]
fn an_unreachable_broker_is_unknown_for_every_queue_and_never_shows_the_password() {
    let queues = vec!["default".to_string(), "bulk".to_string()];
    for got in [
        rabbitmq_depths("amqp://guest:hunter2-secret@127.0.0.1:1/%2f", &queues),
        redis_depths("redis://:hunter2-secret@127.0.0.1:1/0", &queues),
    ] {
        assert_eq!(got.len(), 2);
        for (_, m) in &got {
            let Measure::Unknown(why) = m else {
                panic!("unreachable must be unknown, not {m:?}")
            };
            assert!(!why.contains("hunter2-secret"), "{why}");
        }
    }
}

/// A wrong password in the broker URL: RabbitMQ refuses the login, and the
/// reason says to check the credentials (it once said "connection reset"),
/// never showing the password.
#[test]
fn a_wrong_amqp_password_is_said_as_a_refused_login_naming_the_credentials() {
    require("127.0.0.1:5672", "RabbitMQ", "rabbitmq-server -detached");
    let queues = vec!["default".to_string()];
    let got = rabbitmq_depths(
        "amqp://guest:wrong-hunter2-secret@127.0.0.1:5672/%2f",
        &queues,
    );
    let Measure::Unknown(why) = &got[0].1 else {
        panic!("a refused login is unknown, not {:?}", got[0].1)
    };
    assert!(
        why.contains("refused the login") && why.contains("user and password"),
        "{why}"
    );
    assert!(!why.contains("wrong-hunter2-secret"), "{why}");
}

#[test]
fn redis_depth_sums_celerys_priority_lists() {
    require("127.0.0.1:6379", "Redis", "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no");
    let q = unique("default");
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_connection().unwrap();
    for (suffix, n) in [("", 5), ("\x06\x163", 2), ("\x06\x169", 1)] {
        for i in 0..n {
            let _: u64 = redis::cmd("RPUSH")
                .arg(format!("{q}{suffix}"))
                .arg(i)
                .query(&mut conn)
                .unwrap();
        }
    }
    let got = redis_depths(REDIS, std::slice::from_ref(&q));
    assert_eq!(got[0].1, Measure::Value(8));
    for suffix in ["", "\x06\x163", "\x06\x169"] {
        let _: u64 = redis::cmd("DEL")
            .arg(format!("{q}{suffix}"))
            .query(&mut conn)
            .unwrap();
    }
    assert_eq!(
        redis_depths(REDIS, &[unique("empty")])[0].1,
        Measure::Value(0)
    );
}

/// An HTTP target answering after `delay`, or with `status`.
fn target(delay: Duration, status: u16) -> (String, std::thread::JoinHandle<()>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/heroku-autoscale/heartbeat/v1",
        server.server_addr().to_ip().unwrap()
    );
    let handle = std::thread::spawn(move || {
        if let Ok(req) = server.recv() {
            std::thread::sleep(delay);
            let _ = req.respond(
                tiny_http::Response::from_string("{\"status\": \"ok\"}").with_status_code(status),
            );
        }
    });
    (url, handle)
}

#[test]
fn the_heartbeat_latency_is_measured_and_failures_are_unknown_not_slow() {
    let agent = heartbeat_agent(Duration::from_millis(500));
    let (url, h) = target(Duration::from_millis(120), 200);
    let Measure::Value(d) = heartbeat(&agent, &url).latency else {
        panic!("a 200 is a value")
    };
    assert!(
        d >= Duration::from_millis(120) && d < Duration::from_millis(450),
        "{d:?}"
    );
    h.join().unwrap();

    let (url, h) = target(Duration::ZERO, 500);
    assert!(
        matches!(heartbeat(&agent, &url).latency, Measure::Unknown(w) if w == "HTTP 500 from the heartbeat")
    );
    h.join().unwrap();

    let (url, h) = target(Duration::from_millis(900), 200);
    assert!(
        matches!(heartbeat(&agent, &url).latency, Measure::Unknown(_)),
        "a timeout is unknown"
    );
    h.join().unwrap();

    assert!(
        matches!(
            heartbeat(&agent, "http://127.0.0.1:1/hb").latency,
            Measure::Unknown(_)
        ),
        "refused"
    );
}

/// A heartbeat whose headers come at once and whose body trickles in past the
/// timeout is unknown (the SPEC's rule for a timeout), never "slow" (issue 17).
#[test]
fn a_heartbeat_body_trickling_past_the_timeout_is_unknown_not_slow() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/heroku-autoscale/heartbeat/v1",
        listener.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
            for _ in 0..100 {
                if conn.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    });
    let agent = autoscale_probes::heartbeat_agent(std::time::Duration::from_millis(600));
    match autoscale_probes::heartbeat(&agent, &url).latency {
        autoscale::Measure::Unknown(why) => assert!(why.contains("body"), "{why}"),
        autoscale::Measure::Value(d) => panic!("counted as a {d:?} heartbeat"),
    }
}

/// `rediss://` as Heroku gives it: TLS with a self-signed certificate
/// (scripts/services starts one on 127.0.0.1:6380), which the worker reads
/// with `#insecure` as Heroku documents: measured, not unknown; verified, the
/// certificate is refused and the depth unknown.
#[test]
fn a_tls_redis_with_a_self_signed_certificate_is_measured_unverified_and_refused_verified() {
    require(
        "127.0.0.1:6380",
        "Redis with TLS",
        "scripts/services (a TLS Redis on 6380)",
    );
    let url = "rediss://127.0.0.1:6380/0";
    let q = unique("tls");
    let client = redis::Client::open(format!("{url}#insecure")).unwrap();
    let mut conn = client.get_connection().unwrap();
    for i in 0..4 {
        let _: u64 = redis::cmd("RPUSH").arg(&q).arg(i).query(&mut conn).unwrap();
    }
    let unverified = redis_depths(&format!("{url}#insecure"), std::slice::from_ref(&q));
    let verified = redis_depths(url, std::slice::from_ref(&q));
    let _: u64 = redis::cmd("DEL").arg(&q).query(&mut conn).unwrap();
    assert_eq!(unverified[0].1, Measure::Value(4), "{unverified:?}");
    assert!(matches!(verified[0].1, Measure::Unknown(_)), "{verified:?}");
}

const AMQPS: &str = "amqps://guest:guest@127.0.0.1:5671/%2f";

#[test]
fn an_amqps_broker_is_measured_over_tls_and_its_self_signed_certificate_is_refused_unless_told() {
    require(
        "127.0.0.1:5671",
        "RabbitMQ's TLS listener",
        "scripts/services (it configures listeners.ssl.default = 5671)",
    );
    let q = unique("tls_default");
    declare_with(&q, 12);
    let mut probe = autoscale_probes::RabbitProbe::new(AMQPS, false);
    let got = probe.depths(std::slice::from_ref(&q));
    assert_eq!(got[0], (q.clone(), Measure::Value(12)), "{got:?}");
    // Verification on (the default, as CloudAMQP's certificates verify): a
    // self-signed certificate is unknown, never a number, and says why.
    let mut verifying = autoscale_probes::RabbitProbe::new(AMQPS, true);
    let got = verifying.depths(std::slice::from_ref(&q));
    assert!(
        matches!(&got[0].1, Measure::Unknown(why) if why.to_lowercase().contains("certificate")),
        "{got:?}"
    );
    assert!(!format!("{got:?}").contains("guest:guest"), "{got:?}");
    delete(&[&q]);
}

/// Jobs a Celery worker has reserved on a Redis broker sit in kombu's
/// `unacked` hash, not in the queue's list: they count, so busy workers are
/// never scaled away (RabbitMQ's Unacked, as the management API reports it).
/// kombu itself (the version the reference app installs) publishes five jobs
/// and reserves two without acknowledging them, as a worker's prefetch does.
#[test]
fn redis_depth_counts_the_jobs_kombu_holds_unacknowledged() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    require("127.0.0.1:6379", "Redis", "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no");
    let q = unique("reserved");
    let holder = r#"
import sys, kombu
name = sys.argv[1]
with kombu.Connection(sys.argv[2]) as c:
    ch = c.channel()
    queue = kombu.Queue(name, kombu.Exchange(name, "direct"), routing_key=name)
    producer = kombu.Producer(ch)
    for i in range(5):
        producer.publish({"n": i}, exchange=queue.exchange, routing_key=name, declare=[queue])
    held = [ch.basic_get(name, no_ack=False) for _ in range(2)]
    print("reserved", sum(m is not None for m in held), flush=True)
    sys.stdin.read()
"#;
    let mut child = Command::new("python3")
        .args(["-c", holder, &q, REDIS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "reserved 2",
        "kombu and redis-py for Python (scripts/bootstrap installs them)"
    );
    let got = redis_depths(REDIS, &[q.clone(), unique("other")]);
    drop(child.stdin.take());
    let _ = child.wait();
    let mut conn = redis::Client::open(REDIS)
        .unwrap()
        .get_connection()
        .unwrap();
    let _: u64 = redis::cmd("DEL").arg(&q).query(&mut conn).unwrap();
    assert_eq!(got[0].1, Measure::Value(5), "3 waiting + 2 reserved");
    assert_eq!(
        got[1].1,
        Measure::Value(0),
        "another queue's reservations are not its own"
    );
}

/// The age signal, end to end on a Redis broker: Celery itself publishes
/// with the shipped `heroku_autoscale` app's stamp connected (the Django
/// app's `ready` does the same; its clock set), the first job at priority 9
/// (its own list), then two more; the probe reads the oldest waiting job's
/// publish time from the lists' JSON. A queue whose jobs were published without the stamp has
/// a depth and no age.
#[test]
fn redis_reads_the_oldest_waiting_jobs_age_from_the_stamp_celery_published() {
    use autoscale_probes::RedisProbe;
    use std::process::Command;
    use std::time::{Duration, UNIX_EPOCH};
    require("127.0.0.1:6379", "Redis", "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no");
    let (stamped, plain) = (unique("stamped"), unique("plain"));
    let python_dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../buildpacks/release-phase/python"
    );
    let publisher = r#"
import sys, types, celery, kombu
import heroku_autoscale.stamp as stamp
stamped, plain, url = sys.argv[1:4]
# The stamp's clock, set: the jobs were published at 1000, 2000 and 3000 s.
clock = iter([1000.0, 2000.0, 3000.0])
stamp.time = types.SimpleNamespace(time=lambda: next(clock))
app = celery.Celery("refapp", broker=url)
assert stamp.connect()
app.send_task("refapp.tasks.import_users", args=[1], queue=stamped, priority=9)
for n in (2, 3):
    app.send_task("refapp.tasks.import_users", args=[n], queue=stamped)
with kombu.Connection(url) as c:
    q = kombu.Queue(plain, kombu.Exchange(plain, "direct"), routing_key=plain)
    kombu.Producer(c.channel()).publish({"n": 1}, exchange=q.exchange, routing_key=plain, declare=[q])
"#;
    let out = Command::new("python3")
        .args(["-c", publisher, &stamped, &plain, REDIS])
        .env("PYTHONPATH", python_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Celery and redis-py for Python (scripts/bootstrap installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Read at 1100 s: the first job (priority 9, its own list) waited 100 s.
    let now = UNIX_EPOCH + Duration::from_secs(1100);
    let (depths, ages) =
        RedisProbe::new(REDIS).depths_and_ages(&[stamped.clone(), plain.clone()], now);
    let mut conn = redis::Client::open(REDIS)
        .unwrap()
        .get_connection()
        .unwrap();
    for q in [&stamped, &plain] {
        for suffix in ["", "\x06\x163", "\x06\x166", "\x06\x169"] {
            let _: u64 = redis::cmd("DEL")
                .arg(format!("{q}{suffix}"))
                .query(&mut conn)
                .unwrap();
        }
    }
    assert_eq!(depths[0].1, Measure::Value(3), "{depths:?}");
    assert_eq!(depths[1].1, Measure::Value(1), "{depths:?}");
    assert_eq!(ages.len(), 1, "only the stamped queue has an age: {ages:?}");
    assert_eq!(ages[0].0, stamped);
    let age = ages[0].1.as_secs_f64();
    assert!(
        (99.99..=100.01).contains(&age),
        "the first job's age: {age}"
    );
}
