//! The packaged `slipway/process-table` buildpack, driven through `slipway`
//! exactly as a user would: CNB API and classic API, on the reference app.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The reference app's seven types, then the `release` type release-phase adds.
fn seven_and_release() -> Vec<&'static str> {
    REFERENCE_TYPES.iter().copied().chain(["release"]).collect()
}

fn metadata(image: &std::path::Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(image.join("layers/config/metadata.toml")).unwrap())
        .unwrap()
}

fn process_types(meta: &toml::Table) -> Vec<(String, bool)> {
    meta["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap().to_string(),
                p["default"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_cnb_build_of_the_reference_app_declares_all_seven_types_and_web_is_the_default() {
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        &fixture("refapp"),
        &[packaged("process-table")],
        out.path(),
        &[],
    );
    assert!(
        r.stdout.contains("## Slipway process table"),
        "{}",
        r.stdout
    );

    let types = process_types(&metadata(out.path()));
    let names: Vec<_> = types.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        seven_and_release(),
        "names are kept exactly, underscores included"
    );
    let defaults: Vec<_> = types
        .iter()
        .filter(|(_, d)| *d)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(defaults, ["web"]);

    let launch =
        std::fs::read_to_string(out.path().join("layers/slipway_process-table/launch.toml"))
            .unwrap();
    assert!(launch.contains("type = \"worker_high_memory\""), "{launch}");
    assert!(launch.contains("command = [\"bash\", \"-c\", \"celery -A refapp worker -Q bulk_priority -n worker_priority@%h --loglevel=info\"]"), "{launch}");
}

#[test]
fn the_formation_metadata_is_in_a_launch_layer_found_through_an_env_var() {
    let out = tempfile::tempdir().unwrap();
    build_ok(
        &fixture("refapp"),
        &[packaged("process-table")],
        out.path(),
        &[],
    );
    let layer = out
        .path()
        .join("layers/slipway_process-table/process-table");
    let pointer =
        std::fs::read_to_string(layer.join("env.launch/SLIPWAY_PROCESS_TABLE.override")).unwrap();
    // What the buildpack stored is the table procfile computes for the app,
    // byte for byte (its format: crates/procfile/SPEC.md).
    let table = procfile::load(&fixture("refapp")).unwrap().table;
    assert_eq!(
        std::fs::read_to_string(&pointer).unwrap(),
        table.metadata_toml()
    );
    assert!(table.get("beat").unwrap().formation.singleton);
    assert_eq!(
        table.get("worker_general").unwrap().formation.max,
        Some(6),
        "project.toml override applied"
    );
    let consumers: Vec<&str> = table
        .processes
        .iter()
        .filter(|p| {
            p.celery
                .as_ref()
                .is_some_and(|c| c.queues.iter().any(|q| q == "bulk_priority"))
        })
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        consumers,
        ["worker_primary", "worker_general", "worker_priority"]
    );
    let layer_toml = std::fs::read_to_string(
        out.path()
            .join("layers/slipway_process-table/process-table.toml"),
    )
    .unwrap();
    assert!(layer_toml.contains("launch = true"), "{layer_toml}");
}

fn serve_and_stop(image: &std::path::Path) {
    require_python_modules(&["django", "gunicorn", "celery"]);
    let port = free_port();
    let mut child = Command::new(slipway())
        .args([
            "run",
            "web",
            "--image",
            &image.display().to_string(),
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = wait_for_http(
        &format!("http://127.0.0.1:{port}/heroku-autoscale/heartbeat/v1"),
        Duration::from_secs(30),
        &mut child,
    );
    assert!(
        body.contains("\"status\": \"ok\"") && body.contains("\"dyno\": \"web.1\""),
        "{body}"
    );
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(
        status.success(),
        "gunicorn shuts down cleanly on SIGTERM, got {status}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing is left listening on {port}"
    );
}

#[test]
fn slipway_run_web_serves_http_on_port_and_stops_on_sigterm() {
    let out = tempfile::tempdir().unwrap();
    build_ok(
        &fixture("refapp"),
        &[packaged("process-table")],
        out.path(),
        &[],
    );
    serve_and_stop(out.path());
}

#[test]
fn the_classic_api_builds_the_same_table_and_runs_web() {
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        &fixture("refapp"),
        &[packaged("process-table")],
        out.path(),
        &["--classic"],
    );
    assert!(
        r.stdout
            .contains("-----> Slipway process table app detected"),
        "{}",
        r.stdout
    );
    let mut names: Vec<_> = process_types(&metadata(out.path()))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    let mut want: Vec<_> = seven_and_release()
        .iter()
        .map(ToString::to_string)
        .collect();
    want.sort();
    assert_eq!(names, want);
    let profile = std::fs::read_to_string(
        out.path()
            .join("workspace/.profile.d/slipway-process-table.sh"),
    )
    .unwrap();
    assert!(profile.contains("SLIPWAY_PROCESS_TABLE"), "{profile}");
    assert!(out
        .path()
        .join("workspace/.slipway/process-table.toml")
        .is_file());
    serve_and_stop(out.path());
}

#[test]
fn the_classic_shims_follow_herokus_buildpack_api() {
    let bp = packaged("process-table");
    let app = tempfile::tempdir().unwrap();
    let detect = |dir: &std::path::Path| {
        ran(&Command::new(bp.join("bin/detect"))
            .arg(dir)
            .env_remove("CNB_PLATFORM_DIR")
            .output()
            .unwrap())
    };
    // Classic detect always passes (a failing one would fail the whole
    // multi-buildpack build); compile says there is nothing to do.
    let r = detect(app.path());
    assert_eq!((r.code, r.stdout.trim()), (0, "Slipway process table"));
    let (cache, env) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run_compile = || {
        ran(&Command::new(bp.join("bin/compile"))
            .args([app.path(), cache.path(), env.path()])
            .output()
            .unwrap())
    };
    let compile = run_compile();
    assert_eq!(compile.code, 0, "{}", compile.all());
    assert!(
        compile.stdout.contains(
            "-----> Slipway process table\n       Nothing to do: the app declares no processes"
        ),
        "{}",
        compile.stdout
    );
    std::fs::write(
        app.path().join("Procfile"),
        "web: ./serve\nworker_import: celery -A x worker -Q user_import\n",
    )
    .unwrap();
    let r = detect(app.path());
    assert_eq!((r.code, r.stdout.trim()), (0, "Slipway process table"));

    let release = ran(&Command::new(bp.join("bin/release"))
        .arg(app.path())
        .output()
        .unwrap());
    assert_eq!(release.code, 0, "{}", release.all());
    assert_eq!(release.stdout, "---\ndefault_process_types:\n  web: ./serve\n  worker_import: celery -A x worker -Q user_import\n");

    let compile = run_compile();
    assert_eq!(compile.code, 0, "{}", compile.all());
    assert!(
        compile.stdout.contains("worker_import"),
        "{}",
        compile.stdout
    );
}

#[test]
fn a_malformed_procfile_fails_the_build_naming_the_file_and_line() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("Procfile"),
        "web: gunicorn app.wsgi\nworker import: celery -A app worker\nbeat:\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &[packaged("process-table")], out.path(), &[]);
    assert_ne!(r.code, 0);
    let text = r.all();
    assert!(text.contains("ERROR: Slipway process table"), "{text}");
    assert!(
        text.contains("Procfile:2") && text.contains("contains a space"),
        "{text}"
    );
    assert!(
        text.contains("Procfile:3") && text.contains("empty command"),
        "{text}"
    );
    assert!(
        text.contains("build of slipway/process-table failed"),
        "{text}"
    );
}

#[test]
fn a_duplicate_type_builds_with_a_loud_warning_and_the_last_definition() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("Procfile"), "web: one\nweb: two\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(app.path(), &[packaged("process-table")], out.path(), &[]);
    assert!(
        r.all()
            .contains("warning: process type `web` is defined twice"),
        "{}",
        r.all()
    );
    let launch =
        std::fs::read_to_string(out.path().join("layers/slipway_process-table/launch.toml"))
            .unwrap();
    assert!(
        launch.contains("\"two\"") && !launch.contains("\"one\""),
        "{launch}"
    );
}

#[test]
fn an_app_without_process_sources_fails_detection_with_the_reason() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("README"), "nothing to run").unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &[packaged("process-table")], out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("fail: slipway/process-table@0.1.0"),
        "{}",
        r.all()
    );
    assert!(
        r.all().contains("No Procfile, heroku.yml `run:`"),
        "{}",
        r.all()
    );
}

#[test]
fn binary_garbage_and_a_ten_megabyte_line_fail_cleanly_in_the_packaged_buildpack() {
    let line = |n: usize| {
        let mut v = b"web: ".to_vec();
        v.extend(std::iter::repeat_n(b'x', n));
        v
    };
    for (contents, expect) in [
        (
            b"web: ok\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
            "Procfile:2",
        ),
        (line(1024 * 1024), "longer than 131072 bytes"),
        // Over the limit for any configuration file: refused before it is parsed.
        (line(10 * 1024 * 1024), "over the 4194304-byte limit"),
    ] {
        let app = tempfile::tempdir().unwrap();
        std::fs::write(app.path().join("Procfile"), &contents).unwrap();
        let out = tempfile::tempdir().unwrap();
        let r = build(app.path(), &[packaged("process-table")], out.path(), &[]);
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(
            r.all().contains(expect) && r.all().contains("ERROR: Slipway process table"),
            "{}",
            &r.all()[..r.all().len().min(3000)]
        );
        assert!(!r.all().contains("panicked"), "no panic");
        assert!(
            r.all().len() < 10_000,
            "the error does not echo the 10 MB line"
        );
    }
}

/// A Procfile that is a symlink out of the app is refused, and what it
/// points at is never read nor echoed (issue 17).
#[test]
fn a_procfile_linking_out_of_the_app_fails_the_build_without_showing_the_target() {
    let base = tempfile::tempdir().unwrap();
    let app = base.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        base.path().join("outside.txt"),
        "DB_PASSWORD=hunter2-outside\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(base.path().join("outside.txt"), app.join("Procfile")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(&app, &[packaged("process-table")], out.path(), &[]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("outside the app"), "{}", r.all());
    assert!(!r.all().contains("hunter2-outside"), "{}", r.all());
}

/// Build output is coloured where a person sees it (a terminal) and plain
/// text in a pipe or a log file, and never coloured with `NO_COLOR`: the raw
/// bytes, not the test helpers' stripped copy.
#[test]
fn build_output_has_colour_on_a_terminal_only_and_never_with_no_color() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("Procfile"), "web: python3 -m http.server\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let args = format!(
        "{} build {} --out {} --buildpack {}",
        slipway().display(),
        app.path().display(),
        out.path().display(),
        packaged("process-table").display()
    );
    let piped = Command::new("bash")
        .args(["-c", &args])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap();
    let piped = String::from_utf8_lossy(&piped.stdout).into_owned();
    assert!(piped.contains("## Slipway process table"), "{piped}");
    assert!(
        !piped.contains('\u{1b}'),
        "no escape codes in a pipe: {piped:?}"
    );
    // util-linux `script` gives the build a terminal.
    let on_terminal = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &args, "/dev/null"])
            .env_remove("CLICOLOR_FORCE")
            .env("TERM", "xterm-256color");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let o = cmd.output().expect("util-linux script");
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("\u{1b}[") && strip_ansi(&coloured).contains("## Slipway process table"),
        "colour on a terminal: {coloured:?}"
    );
    let plain = on_terminal(true);
    assert!(
        plain.contains("## Slipway process table") && !plain.contains("\u{1b}["),
        "NO_COLOR on a terminal: {plain:?}"
    );
}
