//! The reference app, all the way, as a user runs it: build with the packaged
//! `slipway/suite` (heroku/nodejs and heroku/python as contract doubles) → the slug report → `slipway run
//! release` migrates real PostgreSQL under the lock → `slipway local` starts
//! web, a Celery worker and the autoscaler → the autoscaler, against the
//! Platform API (the fake on loopback), scales web on slow heartbeats and the
//! worker type of a queue with messages waiting in RabbitMQ, and never beat.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]
// One end-to-end story, read top to bottom as a user lives it.
#![allow(clippy::too_many_lines)]

use fake_platform_api::FakeApi;
use slipway_e2e::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-platform-token-0123456789";

/// The README's recipe: the packaged suite, its Heroku members mapped to the doubles.
fn suite_args() -> Vec<String> {
    let mut v = doubles();
    v.push("--buildpack".into());
    v.push(packaged("suite").display().to_string());
    v
}

#[test]
fn the_reference_app_from_build_to_a_release_that_scales_web_and_the_busy_worker_but_never_beat() {
    require_python_modules(&["django", "celery", "gunicorn", "psycopg", "whitenoise"]);
    let started = Instant::now();
    let app = refapp_copy();
    let image = tempfile::tempdir().unwrap();
    let db = TestDb::new("refapp_e2e");
    let vhost = Vhost::new();

    // 1. Build with the suite: the slug report comes last.
    let extra = suite_args();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let r = build_ok(app.path(), &[], image.path(), &extra);
    let build_log = r.all();
    for step in [
        "Slipway .slugignore",
        "Slipway static assets",
        "Slipway process table",
        "Slipway slug size",
    ] {
        assert!(
            build_log.to_lowercase().contains(&step.to_lowercase()),
            "{step}: {build_log}"
        );
    }
    let ws = image.path().join("workspace");
    assert!(
        !ws.join("design/logo.psd").exists() && !ws.join("docs").exists(),
        ".slugignore applied"
    );
    assert!(
        ws.join("staticfiles/staticfiles.json").is_file(),
        "collectstatic ran"
    );
    let built = started.elapsed();

    // 2. The release phase migrates PostgreSQL, under the lock.
    let release = slipway_cmd(&[
        "run",
        "release",
        "--image",
        image.path().to_str().unwrap(),
        "-e",
        &format!("DATABASE_URL={}", db.url()),
    ]);
    assert_eq!(release.code, 0, "{}", release.all());
    assert!(
        !release.all().contains(SECRET_PASSWORD),
        "{}",
        release.all()
    );
    let migrated: i64 = db
        .client()
        .query_one("SELECT count(*) FROM django_migrations", &[])
        .unwrap()
        .get(0);
    assert!(migrated > 0, "{}", release.all());

    // 3. 25 bulk e-mails queued by the app's own Celery producer.
    let enqueue = Command::new("python3")
        .args([
            "manage.py",
            "shell",
            "-c",
            "from refapp.tasks import send_bulk_email\nfor i in range(25): send_bulk_email.delay(i)",
        ])
        .current_dir(&ws)
        .env("BROKER_URL", vhost.amqp_url())
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(
        enqueue.status.success(),
        "{}",
        String::from_utf8_lossy(&enqueue.stderr)
    );

    // 4. slipway local: web, the user-import worker and the autoscaler, against the Platform API.
    let api = FakeApi::start("refapp", TOKEN, REFAPP_FORMATION);
    let port = free_port();
    let env = [
        format!("DATABASE_URL={}", db.url()),
        format!("BROKER_URL={}", vhost.amqp_url()),
        "AUTOSCALE_HEROKU_APP_NAME=refapp".to_string(),
        format!("AUTOSCALE_HEROKU_API_KEY={TOKEN}"),
        format!("HEROKU_API_URL={}", api.url()),
        // The seed's relative heartbeat URL, joined to the app's URL.
        format!("AUTOSCALE_APP_URL=http://127.0.0.1:{port}"),
        "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS=1".to_string(),
        // Every real heartbeat (Django, Postgres, disk) takes more than 1 ms: slow.
        "AUTOSCALE_MAX_RESPONSE_TIME_IN_MS=1".to_string(),
        "AUTOSCALE_MIN_RESPONSE_TIME_IN_MS=0".to_string(),
        "AUTOSCALE_MAX_DYNOS=3".to_string(),
    ];
    let mut args = vec![
        "local".to_string(),
        "web=1,worker_import=1,autoscale=1".to_string(),
        "--image".to_string(),
        image.path().display().to_string(),
        "--port".to_string(),
        port.to_string(),
    ];
    for e in &env {
        args.push("-e".into());
        args.push(e.clone());
    }
    let mut local = Command::new(slipway())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let body = wait_for_http(
        &format!("http://127.0.0.1:{port}/heroku-autoscale/heartbeat/v1"),
        Duration::from_mins(1),
        &mut local,
    );
    assert!(
        body.contains("\"dyno\": \"web.1\"") || body.contains("\"dyno\":\"web.1\""),
        "{body}"
    );
    let deadline = Instant::now() + Duration::from_mins(1);
    while (api.quantity("web") < Some(2) || api.quantity("worker_priority") != Some(3))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(250));
    }
    let scaled = started.elapsed();
    sigterm(&local);
    let status = wait_exit(&mut local, Duration::from_secs(45));
    let mut log = String::new();
    local
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    local
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(status.success(), "{log}");

    assert!(
        api.quantity("web") >= Some(2),
        "slow heartbeats scaled web up: {log}"
    );
    assert_eq!(
        api.quantity("worker_priority"),
        Some(3),
        "ceil(25 waiting in bulk_priority / 10 per dyno): {log}"
    );
    assert_eq!(
        api.quantity("worker_general"),
        Some(0),
        "bulk_priority drives worker_priority (its most specific consumer); worker_general's own queues are empty or not there yet (0 waiting): {log}"
    );
    assert_eq!(api.quantity("beat"), Some(1));
    assert_eq!(api.quantity("autoscale"), Some(1));
    for req in api.requests().iter().filter(|r| r.method == "PATCH") {
        assert!(
            !req.body.contains("\"beat\"") && !req.body.contains("\"autoscale\""),
            "{}",
            req.body
        );
    }
    assert!(
        log.contains("autoscale.1") && log.contains("PATCH"),
        "{log}"
    );
    assert!(log.contains("worker_import.1"), "{log}");
    assert!(
        !log.contains(TOKEN),
        "the Platform API token never reaches the output"
    );
    assert!(
        !log.contains(SECRET_PASSWORD),
        "the database password never reaches the output"
    );
    eprintln!(
        "reference app end to end: built in {:.1}s, scaled by {:.1}s, stopped by {:.1}s",
        built.as_secs_f64(),
        scaled.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
