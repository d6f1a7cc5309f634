//! The heartbeat endpoint slipway/release-phase ships: a Django app that a
//! user of django-heroku-autoscale switches to without code changes (app
//! label `heroku_autoscale`, URL `/heroku-autoscale/heartbeat/v1`, included
//! with `include("heroku_autoscale.urls")`), on the app's PYTHONPATH after a
//! build, served by real gunicorn and Django.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn serve(image: &std::path::Path, db: &std::path::Path) -> (std::process::Child, u16) {
    require_python_modules(&["django", "gunicorn"]);
    let port = free_port();
    let child = Command::new(slipway())
        .args(["run", "web", "--image", &image.display().to_string()])
        .args(["--port", &port.to_string()])
        .args(["-e", &format!("HBAPP_DB={}", db.display())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

#[test]
fn the_seeds_app_label_and_url_serve_a_heartbeat_that_touches_cache_database_and_disk_and_reports_its_own_time(
) {
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("heartbeat-app"), app.path());
    assert!(
        !app.path().join("heroku_autoscale").exists(),
        "the app does not ship the endpoint"
    );
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[packaged("release-phase"), packaged("process-table")],
        out.path(),
        &[],
    );
    assert!(r.stdout.contains("Heartbeat endpoint"), "{}", r.all());

    let db = tempfile::tempdir().unwrap();
    let (mut child, port) = serve(out.path(), &db.path().join("db.sqlite3"));
    let url = format!("http://127.0.0.1:{port}/heroku-autoscale/heartbeat/v1");
    wait_for_http(&url, Duration::from_secs(30), &mut child);
    // As Heroku's router sends it: when it received the request, in ms.
    let sent = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        - 250;
    let mut resp = ureq::get(&url)
        .header("X-Request-Start", &sent.to_string())
        .call()
        .unwrap();
    let header: f64 = resp
        .headers()
        .get("X-Slipway-Service-Ms")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: serde_json::Value = resp.body_mut().read_json().unwrap();
    sigterm(&child);
    wait_exit(&mut child, Duration::from_secs(20));

    assert_eq!(body["status"], "ok", "{body}");
    for check in ["cache", "database", "disk"] {
        assert_eq!(body["checks"][check], true, "{check}: {body}");
    }
    let service = body["service_ms"].as_f64().unwrap();
    assert!(service > 0.0 && (service - header).abs() < 1e-9, "{body}");
    assert!(
        body["queue_ms"].as_f64().unwrap() >= 250.0,
        "the router's share, from X-Request-Start: {body}"
    );
    assert_eq!(body["dyno"], "web.1", "{body}");
}
