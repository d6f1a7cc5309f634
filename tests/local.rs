//! `slipway local`: a formation of a built image's processes, as `heroku local`
//! runs it, with the platform's shutdown contract (SIGTERM to every process
//! when one exits or on Ctrl-C, SIGKILL after the grace period).

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROCFILE: &str = r#"web: python3 -m http.server $PORT --bind 127.0.0.1
worker: bash -c 'trap "echo worker got SIGTERM; exit 0" TERM; echo "worker up as $DYNO, greeting=$GREETING"; while true; do sleep 0.1; done'
stubborn: bash -c 'trap "echo stubborn ignores SIGTERM" TERM; echo stubborn up; while true; do sleep 0.1; done'
oneshot: bash -c 'echo oneshot done; exit 3'
release: echo migrating
"#;

/// A small app built with slipway/process-table, once per test.
fn image() -> (tempfile::TempDir, tempfile::TempDir) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("Procfile"), PROCFILE).unwrap();
    std::fs::write(app.path().join(".env"), "GREETING=hello-from-dotenv\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    build_ok(app.path(), &[packaged("process-table")], out.path(), &[]);
    (app, out)
}

fn local(image: &std::path::Path, args: &[&str]) -> Child {
    Command::new(slipway())
        .arg("local")
        .args(args)
        .arg("--image")
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slipway local")
}

fn output_of(mut child: Child) -> String {
    let mut s = String::new();
    child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

/// What a process printed itself, as `slipway local` shows it: the text right
/// after its `name.N |` prefix. Our own echo of its command line
/// (`| started with pid ...: bash -c '...; echo stubborn up; ...'`) carries the
/// same words before the trap is set, so readiness never matches on it.
fn printed_by_the_process(text: &str) -> String {
    format!("| {text}")
}

/// A base port with the next one free too.
fn two_free_ports() -> u16 {
    loop {
        let p = free_port();
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

#[test]
fn each_web_process_gets_its_own_port_env_comes_from_dotenv_and_ctrl_c_stops_everything() {
    let (_app, out) = image();
    let base = two_free_ports();
    let mut child = local(out.path(), &["web=2,worker=1", "--port", &base.to_string()]);
    for port in [base, base + 1] {
        wait_for_http(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_secs(20),
            &mut child,
        );
    }
    // Once the worker says it is up (its trap is set), as Ctrl-C would come.
    let (status, ran, _) = sigterm_once_printed(
        child,
        &printed_by_the_process("worker up as"),
        Duration::from_secs(20),
        Duration::from_secs(15),
    );
    let log = ran.all();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("web.1 ") && log.contains(&format!("(PORT={base})")),
        "{log}"
    );
    assert!(log.contains(&format!("(PORT={})", base + 1)), "{log}");
    assert!(
        log.contains("worker up as worker.1, greeting=hello-from-dotenv"),
        "{log}"
    );
    assert!(
        log.contains("worker got SIGTERM"),
        "SIGTERM reached the worker: {log}"
    );
    assert!(
        log.lines().all(|l| l.contains(" | ")),
        "every line carries its process's prefix: {log}"
    );
    for port in [base, base + 1] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "web on {port} is gone"
        );
    }
}

#[test]
fn when_one_process_exits_every_other_gets_sigterm_and_its_code_is_the_result() {
    let (_app, out) = image();
    let started = Instant::now();
    let mut child = local(out.path(), &["worker=1,oneshot=1", "--port", "0"]);
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let log = output_of(child);
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(log.contains("oneshot done"), "{log}");
    assert!(
        log.contains("oneshot.1") && log.contains("exited with code 3"),
        "{log}"
    );
    assert!(log.contains("worker got SIGTERM"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_process_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let (_app, out) = image();
    let child = local(out.path(), &["stubborn=1,worker=1", "--grace", "2"]);
    // Both up (their traps set), then Ctrl-C.
    let (status, ran, waited) = signal_once_printed(
        child,
        nix::sys::signal::Signal::SIGINT,
        &[
            &printed_by_the_process("stubborn up"),
            &printed_by_the_process("worker up as"),
        ],
        Duration::from_secs(20),
        Duration::from_secs(15),
    );
    let log = ran.all();
    assert!(status.success(), "{log}");
    assert!(log.contains("stubborn ignores SIGTERM"), "{log}");
    assert!(
        log.contains("still running 2s after SIGTERM: SIGKILL"),
        "{log}"
    );
    assert!(
        waited >= Duration::from_secs(2),
        "SIGKILL only after the grace period ({waited:?})"
    );
}

#[test]
fn the_default_formation_is_one_of_each_type_but_the_one_off_release() {
    let (_app, out) = image();
    // `oneshot` exits at once, which stops the rest: the run ends by itself.
    let mut child = local(out.path(), &["--port", "0", "--grace", "5"]);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let log = output_of(child);
    assert_eq!(status.code(), Some(3), "{log}");
    for t in ["web.1", "worker.1", "stubborn.1", "oneshot.1"] {
        assert!(log.contains(&format!("{t} ")), "{t} started: {log}");
    }
    assert!(log.contains("not starting release"), "{log}");
    assert!(!log.contains("migrating"), "{log}");
}

#[test]
fn an_unknown_type_is_refused_naming_the_types_there_are() {
    let (_app, out) = image();
    let child = local(out.path(), &["wrker=1"]);
    let log = output_of(child);
    assert!(
        log.contains("no process type `wrker`") && log.contains("worker"),
        "{log}"
    );
}
