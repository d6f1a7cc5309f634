//! Scaling on RabbitMQ: web by its heartbeat, worker types by their queues; dry runs, account limits, configuration errors.

use super::*;

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
    let (log, ended) = run_while(dir.path(), &env, false, |w| {
        // Three slow beats scale web up on the third; a fourth is logged after it.
        w.until_ticks(4);
        web_after_slow = api.quantity("web");
        target.delay_ms.store(0, Ordering::SeqCst);
        // Then five fast ones in a row scale it down.
        w.until("web back to 1 dyno", |_| api.quantity("web") == Some(1));
    });
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
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
    let ended = w.worker.join().unwrap();
    let log = String::from_utf8_lossy(&w.log.0.lock().unwrap()).into_owned();
    record(log.as_bytes());
    assert!(ended.is_err(), "{log}");
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
    let env = |k: &str| match k {
        "AUTOSCALE_HEROKU_APP_NAME" => Some("refapp".to_string()),
        "AUTOSCALE_HEROKU_API_KEY" => Some(TOKEN.to_string()),
        "CELERY_BROKER_URL" => Some(AMQP.to_string()),
        _ => None,
    };
    // The error Config::load stops with, given this project.toml.
    let refused = |project_toml: &str| {
        std::fs::write(dir.path().join("project.toml"), project_toml).unwrap();
        Config::load(dir.path(), &env, false)
            .err()
            .unwrap()
            .to_string()
    };
    let e = refused("[_.metadata.slipway.autoscale.types.worker_nope]\njobs-per-dyno = 5\n");
    assert!(e.contains("no process type `worker_nope`"), "{e}");
    let e = refused("[_.metadata.slipway.autoscale]\njobs_per_dyno = 5\n");
    assert!(
        e.contains("project.toml:2") && e.contains("unknown field `jobs_per_dyno`"),
        "{e}"
    );
    // A file that is not TOML at all: refused the same way, at its line.
    let e = refused("[_]\nid = \"refapp\"\n[_.metadata.slipway.autoscale\n");
    assert!(e.contains("project.toml:3"), "{e}");
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
    let (log, ended) = run_ticks(app(&pq, &gq).path(), &env(&api, &target, AMQP), false, 5);
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
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
    let (log, ended) = run_ticks(app(&pq, &gq).path(), &env(&api, &target, AMQP), false, 5);
    delete(&[&pq, &gq]);
    assert!(ended.is_ok(), "{log}");
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
    let (log, ended) = run_ticks(
        app(&pq, &missing).path(),
        &env(&api, &target, AMQP),
        false,
        4,
    );
    delete(&[&pq]);
    assert!(ended.is_ok(), "{log}");
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
