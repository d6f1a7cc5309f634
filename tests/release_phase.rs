//! `release-phase` on every release: real migrations, real PostgreSQL, real signals.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn app_with(project_toml: &str, extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("project.toml"), project_toml).unwrap();
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn release_phase_in(app: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(release_phase());
    cmd.args(args)
        .arg("--app-dir")
        .arg(app)
        .env_remove("DATABASE_URL")
        .env_remove("HEROKU_APP_NAME")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run_release(app: &Path, env: &[(&str, &str)]) -> Ran {
    ran(&release_phase_in(app, &["run"], env).output().unwrap())
}

fn refapp_image(extra: &[&str]) -> tempfile::TempDir {
    require_python_modules(&["django", "psycopg"]);
    let out = tempfile::tempdir().unwrap();
    build_ok(
        &fixture("refapp"),
        &[packaged("process-table"), packaged("release-phase")],
        out.path(),
        extra,
    );
    out
}

#[test]
fn the_reference_app_migrates_sqlite_through_slipway_build_and_run_release() {
    let image = refapp_image(&[]);
    let r = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &image.path().display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains(
            "[1/1] python manage.py migrate --noinput  (auto-detected Django (manage.py))"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Applying contenttypes.0001_initial... OK"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("DATABASE_URL is not set: running without the release lock"));
    let db = image.path().join("workspace/db.sqlite3");
    let out = ran(&Command::new("python3").args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from django_migrations').fetchone()[0])"]).arg(&db).output().unwrap());
    assert_eq!(out.stdout.trim(), "2", "{}", out.all());
}

#[test]
fn the_release_phase_buildpack_puts_the_binary_on_path_and_the_classic_shims_do_too() {
    let image = refapp_image(&[]);
    let bin = image
        .path()
        .join("layers/slipway_release-phase/release-phase/bin/release-phase");
    assert!(bin.is_file(), "installed into a launch layer");
    let classic = tempfile::tempdir().unwrap();
    let r = build_ok(
        &fixture("refapp"),
        &[packaged("process-table"), packaged("release-phase")],
        classic.path(),
        &["--classic"],
    );
    assert!(
        r.stdout
            .contains("Installed release-phase on PATH (.slipway/bin, via .profile.d)"),
        "{}",
        r.stdout
    );
    let r = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &classic.path().display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("Release phase done"), "{}", r.stdout);
}

#[test]
fn the_reference_app_migrates_real_postgres_under_the_lock() {
    let db = TestDb::new("django");
    let image = refapp_image(&[]);
    let url = db.url();
    let r = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &image.path().display().to_string(),
        "--env",
        &format!("DATABASE_URL={url}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains(&format!(
            "Waiting for the database at 127.0.0.1:5432/{} as postgres",
            db.name
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Holding the release lock \"refapp\""),
        "{}",
        r.stdout
    );
    assert!(
        !r.all().contains(SECRET_PASSWORD),
        "the password never appears:\n{}",
        r.all()
    );
    let n: i64 = db
        .client()
        .query_one("SELECT count(*) FROM django_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

/// A step that records when it held the lock: start, a pause, end.
const RECORD_WINDOW: &str = r#"
import os, sys, time, psycopg
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as c:
    c.execute("CREATE TABLE IF NOT EXISTS windows (run text, started timestamptz, ended timestamptz)")
    c.execute("INSERT INTO windows VALUES (%s, clock_timestamp(), NULL)", (sys.argv[1],))
    time.sleep(float(sys.argv[2]))
    c.execute("UPDATE windows SET ended = clock_timestamp() WHERE run = %s", (sys.argv[1],))
"#;

fn window_app(seconds: &str) -> tempfile::TempDir {
    app_with(
        &format!("[_]\nid = \"lockapp\"\n[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"python3 record.py $RUN {seconds}\"]\n"),
        &[("record.py", RECORD_WINDOW)],
    )
}

#[test]
fn two_concurrent_releases_never_run_their_steps_at_the_same_time() {
    require_python_modules(&["psycopg"]);
    let db = TestDb::new("concurrent");
    let app = window_app("1.5");
    let url = db.url();
    let spawn = |run: &str| {
        release_phase_in(
            app.path(),
            &["run"],
            &[("DATABASE_URL", &url), ("RUN", run)],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let a = spawn("a");
    wait_for_row(&db); // a holds the lock and is inside its step
    let b = spawn("b");
    let (a, b) = (
        ran(&a.wait_with_output().unwrap()),
        ran(&b.wait_with_output().unwrap()),
    );
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.all(), b.all());
    assert!(
        b.stdout
            .contains("waiting for the release lock \"lockapp\", held by backend pid"),
        "b waited for a:\n{}",
        b.stdout
    );
    let rows = db
        .client()
        .query(
            "SELECT run, started, ended FROM windows ORDER BY started",
            &[],
        )
        .unwrap();
    let runs: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(runs, ["a", "b"]);
    let first_end: std::time::SystemTime = rows[0].get(2);
    let second_start: std::time::SystemTime = rows[1].get(1);
    assert!(
        first_end <= second_start,
        "b started its step before a's ended"
    );
}

fn wait_for_row(db: &TestDb) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let started = db
            .client()
            .query_opt(
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'windows'",
                &[],
            )
            .unwrap()
            .is_some()
            && db
                .client()
                .query_one("SELECT count(*) FROM windows", &[])
                .unwrap()
                .get::<_, i64>(0)
                > 0;
        if started {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The long step recorded its start and never its end: it was stopped.
fn assert_step_stopped(db: &TestDb) {
    let ended: Option<std::time::SystemTime> = db
        .client()
        .query_one("SELECT ended FROM windows", &[])
        .unwrap()
        .get(0);
    assert!(
        ended.is_none(),
        "the step was stopped, not allowed to finish"
    );
}

/// A release (under the lock) whose step records its start and then runs for a minute.
fn start_long_release(run: &str) -> (TestDb, tempfile::TempDir, std::process::Child) {
    require_python_modules(&["psycopg"]);
    let db = TestDb::new(run);
    let url = db.url();
    let (app, child) = start_long_release_at(&db, run, &url);
    (db, app, child)
}

/// The same, with `DATABASE_URL` set to `url` (e.g. through a fault proxy).
fn start_long_release_at(
    db: &TestDb,
    run: &str,
    url: &str,
) -> (tempfile::TempDir, std::process::Child) {
    let app = window_app("60");
    let child = release_phase_in(app.path(), &["run"], &[("DATABASE_URL", url), ("RUN", run)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_row(db);
    (app, child)
}

/// The test database's URL through a fault proxy in front of PostgreSQL.
fn through_proxy(db: &TestDb) -> (fault_proxy::FaultProxy, String) {
    let proxy = fault_proxy::FaultProxy::start("127.0.0.1:5432".parse().unwrap());
    let url = db.url().replace(":5432/", &format!(":{}/", proxy.port()));
    (proxy, url)
}

fn step_running(run: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", &format!("record.py {run}")])
        .output()
        .unwrap()
        .status
        .success()
}

/// A server (or a proxy in front of it) that keeps the lock's connection
/// open and stops answering: keepalives see nothing wrong, so the watcher's
/// query deadline is what notices. The step is stopped: the lock can no
/// longer be vouched for.
#[test]
fn a_lock_connection_that_stops_answering_mid_step_stops_the_step_and_fails_the_release() {
    require_python_modules(&["psycopg"]);
    let db = TestDb::new("stalled");
    let (proxy, url) = through_proxy(&db);
    let (_app, mut child) = start_long_release_at(&db, "stalled", &url);
    proxy.stall();
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let out = ran(&child.wait_with_output().unwrap());
    proxy.cut(); // the test's own connections end, so its database can be dropped
    assert_eq!(status.code(), Some(75), "{}", out.all());
    assert!(out.all().contains("stopped answering"), "{}", out.all());
    assert!(!out.all().contains(SECRET_PASSWORD), "{}", out.all());
    assert!(!step_running("stalled"), "the step's process is gone");
}

/// Waiting for the lock held by another release, the database stops
/// answering: the wait ends at the query deadline, naming it, whichever of
/// the wait's two queries stalls (the lock attempt, or the lookup of who
/// holds it: a stall there was once swallowed, and the next attempt failed
/// on a given-up connection instead); and SIGTERM during such a stall ends
/// it at once.
#[test]
fn a_database_that_stalls_while_the_lock_is_awaited_fails_in_time_and_sigterm_ends_it_at_once() {
    let (db, _app, mut holder) = start_long_release("holder");
    // `stall_on`: the stall lands on the chosen query (its text is in the
    // Parse message); `None`: on whatever is on the wire.
    let waiting_release = |run: &str, stall_on: Option<&str>| {
        let (proxy, url) = through_proxy(&db);
        let app = window_app("1");
        let child = release_phase_in(
            app.path(),
            &["run"],
            &[("DATABASE_URL", &url), ("RUN", run)],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // Connected and polling the lock (the holder's connection and this one).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while db
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'release-phase' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
            < 2
        {
            assert!(std::time::Instant::now() < deadline, "the second release never connected");
            std::thread::sleep(Duration::from_millis(50));
        }
        match stall_on {
            Some(query) => proxy.stall_on(query.as_bytes()),
            None => proxy.stall(),
        }
        (proxy, app, child)
    };

    for (run, query, doing) in [
        ("b", "pg_try_advisory_lock", "taking the release lock"),
        ("c", "pg_locks", "looking up who holds the release lock"),
    ] {
        let (p, _a, mut stalled) = waiting_release(run, Some(query));
        let status = wait_exit(&mut stalled, Duration::from_secs(30));
        let out = ran(&stalled.wait_with_output().unwrap());
        // Lock not acquired: 1 (SPEC, exit codes); no step ran.
        assert_eq!(status.code(), Some(1), "{query}: {}", out.all());
        assert!(
            out.all().contains(&format!("while {doing}"))
                && out.all().contains("did not answer within 10s"),
            "a stall in {query} is named, not waited out: {}",
            out.all()
        );
        p.cut();
    }

    let (p, _a, mut interrupted) = waiting_release("d", None);
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&interrupted);
    let status = wait_exit(&mut interrupted, Duration::from_secs(3));
    assert_eq!(status.code(), Some(143));
    p.cut();
    sigterm(&holder);
    wait_exit(&mut holder, Duration::from_secs(20));
}

#[test]
fn a_release_killed_mid_step_leaves_no_lock_and_no_step_behind() {
    let (db, _app, mut victim) = start_long_release("killed");
    let url = db.url();
    victim.kill().unwrap(); // SIGKILL: no chance to unlock; the server must release it.
    victim.wait().unwrap();
    // The step does not outlive it (its guard gets SIGTERM from the kernel
    // when release-phase dies, and stops the step's group): it never runs on
    // without the lock, beside the next release.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while Command::new("pgrep")
        .args(["-f", "record.py killed"])
        .output()
        .unwrap()
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the step outlived the SIGKILLed release-phase"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_step_stopped(&db);

    let quick = app_with("[_]\nid = \"lockapp\"\n[_.metadata.slipway.release]\nlock-timeout = 10\n[[com.heroku.phase.release]]\ncommand = \"true\"\n", &[]);
    let r = run_release(quick.path(), &[("DATABASE_URL", &url)]);
    assert_eq!(r.code, 0, "the next release proceeds:\n{}", r.all());
}

#[test]
fn sigterm_stops_the_step_releases_the_lock_and_exits_143() {
    let (db, _app, mut child) = start_long_release("termed");
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(143));
    let out = ran(&child.wait_with_output().unwrap());
    assert!(
        out.stdout.contains("released the release lock"),
        "{}",
        out.all()
    );
    assert_step_stopped(&db);
    let locks: i64 = db
        .client()
        .query_one(
            // This test's database only: other tests hold locks of their own.
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(locks, 0);
}

#[test]
fn a_database_that_is_down_is_waited_for_then_named_without_its_password() {
    let app = app_with("[_.metadata.slipway.release]\ndatabase-wait = 2\n[[com.heroku.phase.release]]\ncommand = \"true\"\n", &[]);
    let url = format!("postgres://alice:{SECRET_PASSWORD}@127.0.0.1:1/appdb");
    let r = run_release(app.path(), &[("DATABASE_URL", &url)]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr.contains(
            "the database at 127.0.0.1:1/appdb as alice did not accept a connection within"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("database not ready"),
        "it retried: {}",
        r.stdout
    );
    assert!(!r.all().contains(SECRET_PASSWORD), "{}", r.all());
}

/// A refused login (no such database, user or password) is an answer, not
/// an absence: it fails at once, never retried for the whole database-wait.
#[test]
fn a_database_that_refuses_the_login_fails_the_release_at_once_without_retrying() {
    require_postgres();
    let app = app_with("[_.metadata.slipway.release]\ndatabase-wait = 60\n[[com.heroku.phase.release]]\ncommand = \"true\"\n", &[]);
    for (url, says) in [
        (format!("postgres://postgres:{SECRET_PASSWORD}@127.0.0.1:5432/slipway_no_such_db?sslmode=disable"), "does not exist"),
        (format!("postgres://no_such_role:{SECRET_PASSWORD}@127.0.0.1:5432/test?sslmode=disable"), "no_such_role"),
    ] {
        let r = run_release(app.path(), &[("DATABASE_URL", &url)]);
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(r.stderr.contains("refused the connection") && r.stderr.contains(says), "{}", r.all());
        assert!(r.stderr.contains("did not retry"), "{}", r.all());
        assert!(!r.stdout.contains("database not ready"), "no retries: {}", r.all());
        assert!(!r.all().contains(SECRET_PASSWORD), "{}", r.all());
    }
}

#[test]
fn a_failing_migration_exits_with_its_code_and_output_and_stops_the_plan() {
    let app = app_with(
        "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"echo migrating; echo 'django.db.utils.ProgrammingError: boom' >&2; exit 3\"]\n[[com.heroku.phase.release]]\ncommand = \"touch\"\nargs = [\"second-ran\"]\n",
        &[],
    );
    let r = run_release(app.path(), &[]);
    assert_eq!(r.code, 3);
    assert!(
        r.stdout.contains("migrating") && r.stderr.contains("ProgrammingError: boom"),
        "{}",
        r.all()
    );
    assert!(
        r.stderr.contains("step 1 failed with exit code 3"),
        "{}",
        r.stderr
    );
    assert!(!app.path().join("second-ran").exists());
}

#[test]
fn a_step_over_its_timeout_is_stopped_and_exits_124() {
    let app = app_with("[_.metadata.slipway.release]\nstep-timeout = 1\ngrace = 1\n[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"trap '' TERM; sleep 30\"]\n", &[]);
    let r = run_release(app.path(), &[]);
    assert_eq!(r.code, 124, "{}", r.all());
    assert!(
        r.stderr.contains("ran longer than its 1s timeout"),
        "{}",
        r.stderr
    );
}

#[test]
fn secrets_in_step_output_and_messages_are_redacted() {
    let app = app_with("[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"echo key=$STRIPE_API_KEY url=$REDIS_URL; exit 2\"]\n", &[]);
    let r = run_release(
        app.path(),
        &[
            ("STRIPE_API_KEY", "sk_live_abcdef123456"),
            (
                "REDIS_URL",
                &format!("redis://h:{SECRET_PASSWORD}@127.0.0.1:6379"),
            ),
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains("key=[REDACTED] url=redis://h:[REDACTED]@127.0.0.1:6379"),
        "{}",
        r.stdout
    );
    assert!(!r.all().contains("sk_live_abcdef123456") && !r.all().contains(SECRET_PASSWORD));
}

#[test]
fn check_prints_the_plan_and_catches_config_errors_with_their_line() {
    let app = app_with("[_]\nid = \"x\"\n", &[("manage.py", "")]);
    let r = ran(&release_phase_in(app.path(), &["check"], &[])
        .output()
        .unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("1. python manage.py migrate --noinput"),
        "{}",
        r.stdout
    );
    let bad = app_with(
        "[_.metadata.slipway.release]\nstep-timeout = \"soon\"\n",
        &[],
    );
    let r = ran(&release_phase_in(bad.path(), &["check"], &[])
        .output()
        .unwrap());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("project.toml:2"), "{}", r.stderr);
}

#[test]
fn a_broken_release_config_fails_the_build_not_the_release() {
    let app = app_with(
        "[_.metadata.slipway.release]\nmigrate = \"\"\n",
        &[("manage.py", "")],
    );
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &[packaged("release-phase")], out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("ERROR: Slipway release phase")
            && r.all().contains("`migrate` is an empty command"),
        "{}",
        r.stderr
    );
}

#[test]
fn release_commands_requested_through_the_build_plan_run_before_the_migration() {
    let bps = tempfile::tempdir().unwrap();
    let requirer = script_buildpack(
        bps.path(),
        "test/assets-deploy",
        r#"cat > "$CNB_BUILD_PLAN_PATH" <<'T'
[[requires]]
name = "release-phase"
[requires.metadata]
source = "test/assets-deploy"
release = [{ command = "bash", args = ["-c", "echo deploying assets with $ASSET_BUCKET"] }]
T"#,
        "",
    );
    let app = app_with(
        "[_]\nid = \"planapp\"\n",
        &[("manage.py", "print('migrated')\n")],
    );
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[packaged("release-phase"), requirer],
        out.path(),
        &[],
    );
    assert!(
        r.stdout
            .contains("1 release command(s) requested by other buildpacks"),
        "{}",
        r.stdout
    );
    let r = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &out.path().display().to_string(),
        "--env",
        "ASSET_BUCKET=s3://bucket",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains(
            "[1/2] echo deploying assets with $ASSET_BUCKET  (requested by test/assets-deploy)"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("deploying assets with s3://bucket"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("[2/2] python manage.py migrate --noinput"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_release_lock_held_too_long_fails_the_release_naming_the_holder() {
    let db = TestDb::new("held");
    let mut holder = db.client();
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&release_phase::db::lock_key("heldapp")],
        )
        .unwrap();
    let app = app_with("[_]\nid = \"heldapp\"\n[_.metadata.slipway.release]\nlock-timeout = 1\n[[com.heroku.phase.release]]\ncommand = \"touch\"\nargs = [\"ran\"]\n", &[]);
    let r = run_release(app.path(), &[("DATABASE_URL", &db.url())]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stderr
            .contains("another release holds the release lock \"heldapp\" (held by backend pid"),
        "{}",
        r.stderr
    );
    assert!(
        !app.path().join("ran").exists(),
        "no step runs without the lock"
    );
    drop(holder);
}

#[test]
fn the_classic_release_output_adds_release_and_autoscale_to_the_process_table() {
    let bp = packaged("release-phase");
    let app = app_with(
        "",
        &[("manage.py", ""), ("Procfile", "web: gunicorn app.wsgi\n")],
    );
    let r = ran(&Command::new(bp.join("bin/release"))
        .arg(app.path())
        .output()
        .unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout,
        "---\ndefault_process_types:\n  web: gunicorn app.wsgi\n  release: release-phase run\n  autoscale: release-phase autoscale\n"
    );
}

/// Heroku kills a dyno 30 s after SIGTERM. A tick waiting on a stalled
/// heartbeat (its timeout is five times the max response time: 150 s here)
/// does not hold the autoscaler past that: it is cut short at 20 s, saying so.
#[test]
fn sigterm_during_a_tick_stuck_on_a_stalled_peer_stops_the_autoscaler_within_herokus_grace() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let api = fake_platform_api::FakeApi::start("stallapp", "tok-stall-0123", &[("web", 1)]);
    let app = app_with("", &[("Procfile", "web: gunicorn app.wsgi\n")]);
    let heartbeat = format!("http://127.0.0.1:{port}/heroku-autoscale/heartbeat/v1");
    let mut child = release_phase_in(
        app.path(),
        &["autoscale", "--dry-run"],
        &[
            ("AUTOSCALE_HEROKU_APP_NAME", "stallapp"),
            ("AUTOSCALE_HEROKU_API_KEY", "tok-stall-0123"),
            ("HEROKU_API_URL", api.url()),
            ("AUTOSCALE_HEARTBEAT_URL", &heartbeat),
            ("AUTOSCALE_MAX_RESPONSE_TIME_IN_MS", "30000"),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // The first tick is now waiting on the heartbeat, which never answers.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    silent.set_nonblocking(true).unwrap();
    let _held = loop {
        if let Ok((stream, _)) = silent.accept() {
            break stream; // kept open, never answered
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the heartbeat was never asked"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let signalled = std::time::Instant::now();
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(28));
    let took = signalled.elapsed();
    let out = ran(&child.wait_with_output().unwrap());
    assert_eq!(status.code(), Some(0), "{}", out.all());
    assert!(
        took < Duration::from_secs(28),
        "within Heroku's 30 s: {took:?}"
    );
    assert!(
        out.stdout.contains("\"cut_short\""),
        "it says why: {}",
        out.all()
    );
}

#[test]
fn the_autoscale_process_runs_from_the_image_reads_the_reference_queues_and_stops_on_sigterm() {
    const TOKEN: &str = "hrku-e2e-7a6b5c4d-secret";
    let image = refapp_image(&[]);
    let launch = std::fs::read_to_string(
        image
            .path()
            .join("layers/slipway_release-phase/launch.toml"),
    )
    .unwrap();
    assert!(launch.contains("type = \"autoscale\""), "{launch}");
    let api = fake_platform_api::FakeApi::start(
        "refapp",
        TOKEN,
        &[
            ("web", 1),
            ("beat", 1),
            ("worker_general", 1),
            ("worker_priority", 1),
            ("autoscale", 1),
        ],
    );
    let image_dir = image.path().display().to_string();
    let envs = [
        "AUTOSCALE_HEROKU_APP_NAME=refapp".to_string(),
        format!("AUTOSCALE_HEROKU_API_KEY={TOKEN}"),
        format!("HEROKU_API_URL={}", api.url()),
        "AUTOSCALE_HEARTBEAT_URL=http://127.0.0.1:1/heroku-autoscale/heartbeat/v1".to_string(),
        "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS=1".to_string(),
        "CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/%2f".to_string(),
    ];
    let mut args = vec!["run", "autoscale", "--image", &image_dir];
    for e in &envs {
        args.extend(["--env", e.as_str()]);
    }
    args.extend(["--", "--dry-run"]);
    let child = Command::new(slipway())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped once it has ticked (it says so), as the dyno manager would at any time.
    let (status, out, _) = sigterm_once_printed(
        child,
        "\"event\":\"tick\"",
        Duration::from_mins(1),
        Duration::from_secs(15),
    );
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM stops it cleanly: {}",
        out.all()
    );
    assert!(out.stdout.contains("\"event\":\"start\""), "{}", out.all());
    let start: serde_json::Value = serde_json::from_str(
        out.stdout
            .lines()
            .find(|l| l.contains("\"event\":\"start\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        start["workers"]["worker_priority"]["queues"],
        serde_json::json!(["bulk_priority"]),
        "queues inferred from the reference app's -Q lists: {}",
        out.stdout
    );
    assert_eq!(
        start["workers"]["worker_priority"]["max"], 10,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"event\":\"tick\"") && out.stdout.contains("\"event\":\"stop\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"beat\"") && out.stdout.contains("never_scaled"),
        "{}",
        out.stdout
    );
    assert!(api.requests().iter().all(|r| r.method == "GET"), "dry run");
    assert!(!out.all().contains(TOKEN));
}

/// A timeout or wait past what the clock can represent is no deadline, never
/// a panic after the step was started (issue 17).
#[test]
fn a_huge_step_timeout_and_lock_timeout_run_the_step_without_a_panic() {
    let app = app_with(
        "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"echo step-ran\"]\n\n[_.metadata.slipway.release]\nmigrate = false\nstep-timeout = 18446744073709551615\nlock-timeout = 18446744073709551615\ndatabase-wait = 18446744073709551615\ngrace = 18446744073709551615\n",
        &[],
    );
    let r = run_release(app.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("step-ran"), "{}", r.all());
    assert!(!r.all().contains("panicked"), "{}", r.all());
}

/// A server that accepts TCP and never answers the startup (issue 17): the
/// wait stays within `database-wait` plus one attempt, and SIGTERM ends it at once.
#[test]
fn a_database_that_accepts_and_never_answers_is_given_up_on_in_time_and_sigterm_ends_the_wait() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            h.lock().unwrap().push(conn); // accepted, never answered
        }
    });
    let app = app_with(
        "[[com.heroku.phase.release]]\ncommand = \"true\"\n\n[_.metadata.slipway.release]\nmigrate = false\ndatabase-wait = 3\n",
        &[],
    );
    let url = format!("postgres://u:{SECRET_PASSWORD}@127.0.0.1:{port}/db?sslmode=disable");
    release_phase(); // built before the clock starts
    let started = std::time::Instant::now();
    let r = run_release(app.path(), &[("DATABASE_URL", &url)]);
    let took = started.elapsed();
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        took < Duration::from_secs(20),
        "gave up after {took:?}: {}",
        r.all()
    );
    assert!(r.all().contains("did not answer within"), "{}", r.all());
    assert!(!r.all().contains(SECRET_PASSWORD), "{}", r.all());

    let child = release_phase_in(app.path(), &["run"], &[("DATABASE_URL", &url)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, out, took) = sigterm_once_printed(
        child,
        "Waiting for the database",
        Duration::from_secs(20),
        Duration::from_secs(10),
    );
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM honoured at once: {took:?}"
    );
    assert_eq!(status.code(), Some(143), "{}", out.all());
}

/// The lock lives as long as its connection: when that connection drops
/// mid-step, the step is stopped at once and the release fails, so it never
/// runs beside a release that takes the freed lock (issue 17).
#[test]
fn a_lost_lock_connection_stops_the_step_and_fails_the_release() {
    let (db, _app, mut child) = start_long_release("lost");
    let killed: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'release-phase' AND datname = current_database()) t",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(killed, 1, "the lock's connection");
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let out = ran(&child.wait_with_output().unwrap());
    assert_eq!(status.code(), Some(75), "{}", out.all());
    assert!(out.all().contains("connection was lost"), "{}", out.all());
    assert_step_stopped(&db);
    let still = Command::new("pgrep")
        .args(["-f", "record.py lost"])
        .output()
        .unwrap();
    assert!(!still.status.success(), "the step's process is gone");
}

/// A step's output is passed on in bounded pieces (a 300 MB line once made
/// release-phase hold it whole: 592 MB), and progress redrawn with `\r` streams.
#[test]
fn a_huge_output_line_keeps_memory_bounded_and_carriage_return_progress_is_passed_on() {
    // The step writes the line, then waits: release-phase's own peak is read meanwhile.
    let app = app_with(
        "[[com.heroku.phase.release]]\ncommand = \"python3\"\nargs = [\"-c\", \"import sys, time; sys.stdout.write('~' * 20_000_000 + '\\\\n'); sys.stdout.write('10%\\\\r50%\\\\r100%\\\\r'); sys.stdout.flush(); time.sleep(2); sys.stdout.write('done\\\\n')\"]\n\n[_.metadata.slipway.release]\nmigrate = false\n",
        &[],
    );
    let child = release_phase_in(app.path(), &["run"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let peak_kib = std::thread::spawn(move || {
        // VmHWM: this process's own peak resident memory (not the step's).
        let mut peak = 0u64;
        let status = format!("/proc/{pid}/status");
        while let Ok(text) = std::fs::read_to_string(&status) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak = peak.max(kib);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        peak
    });
    let r = ran(&child.wait_with_output().unwrap());
    let peak_kib = peak_kib.join().unwrap();
    assert_eq!(r.code, 0, "{}", &r.stderr);
    assert_eq!(
        r.stdout.split(|c| c != '~').map(str::len).max(),
        Some(20_000_000),
        "every byte passed on, in order"
    );
    assert!(
        r.stdout.contains("10%\r50%\r100%\r"),
        "progress passed on as written"
    );
    assert!(r.stdout.contains("done"));
    assert!(
        peak_kib > 0 && peak_kib < 16 * 1024,
        "release-phase's own peak RSS {peak_kib} KiB for a 20 MB line (bounded pieces)"
    );
}
