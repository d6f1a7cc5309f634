//! One autoscaler per app: the lease, restarts, handovers, two apps side by side.

use super::*;

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
        let (log, ended) = run_ticks(dir.path(), &env, false, 3);
        assert!(ended.is_ok(), "{log}");
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
    // Stuck is minutes (a stalled connection without a deadline waits for
    // TCP to give up); one 5 s query deadline (SPEC, RELIABILITY) in flight
    // when asked, with as much again for a loaded machine, is not.
    assert!(
        took < Duration::from_secs(2 * 5),
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
    let key = lease_key(&app_name);
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
        Shared::Database => assert_ne!(lease_key(&names[0]), lease_key(&names[1])),
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
