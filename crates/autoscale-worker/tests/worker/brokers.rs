//! Other brokers and measures: Redis lists, job ages, the RabbitMQ management API.

use super::*;

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
    let (log, ended) = run_while(app(&pq, &gq).path(), &env, false, |w| {
        w.until("worker_priority at 3 dynos", |_| {
            api.quantity("worker_priority") == Some(3)
        });
    });
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0")
        .unwrap()
        .get_connection()
        .unwrap();
    let _: u64 = redis::cmd("DEL").arg(&pq).query(&mut conn).unwrap();
    assert!(ended.is_ok(), "{log}");
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
    let (first, ended) = run_ticks(dir.path(), &env, false, 1);
    assert!(ended.is_ok(), "{first}");
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
    let (log, ended) = run_ticks(app(&pq, &gq).path(), &env, true, 1);
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
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
    let (log, ended) = run_while(dir.path(), &env, false, |w| {
        w.until("worker_general at 2 dynos", |_| {
            api.quantity("worker_general") == Some(2)
        });
    });
    drop(held);
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
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
