//! The `slipway` command line as people type it: options that take what
//! they say and nothing more, machine-readable output, help that says how
//! it exits.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use std::process::Command;

fn slipway(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn app() -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("Procfile"),
        "web: gunicorn app.wsgi\nworker_high_memory: celery -A app worker -Q big\n",
    )
    .unwrap();
    app
}

#[test]
fn classic_never_takes_the_app_directory_for_its_value() {
    let app = app();
    let dir = app.path().display().to_string();
    // `--classic APP`: APP is the app; the build goes on to the buildpacks.
    for args in [
        vec!["build", "--classic", &dir, "-b", "/no/such/buildpack"],
        vec!["build", "--classic=multi", &dir, "-b", "/no/such/buildpack"],
        // As written before the value needed `=`: still multi, still the app.
        vec![
            "build",
            "--classic",
            "multi",
            &dir,
            "-b",
            "/no/such/buildpack",
        ],
    ] {
        let (code, _, err) = slipway(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("/no/such/buildpack is not a buildpack"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("possible values"), "{args:?}: {err}");
    }
    let (code, _, err) = slipway(&["build", "--classic=sideways", &dir]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("possible values: native, multi"), "{err}");
}

#[test]
fn processes_formats_are_a_closed_list_and_json_carries_the_table() {
    let app = app();
    let dir = app.path().display().to_string();
    let (code, _, err) = slipway(&["processes", &dir, "--format", "yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("possible values: human, launch-toml"), "{err}");
    let (code, out, err) = slipway(&["processes", &dir, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["default"], "web");
    let names: Vec<&str> = v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "worker_high_memory"], "names as written");
    // An error is JSON too, on stdout, where the caller reads.
    let (code, out, _) = slipway(&["processes", "/no/such/app", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/no/such/app is not a directory"),
        "{v}"
    );
}

#[test]
fn help_says_how_slipway_exits_and_completions_and_man_pages_come_from_it() {
    let (code, out, _) = slipway(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit codes:") && out.contains("the process's own exit code"),
        "{out}"
    );
    let (code, script, _) = slipway(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(script.contains("#compdef slipway") && script.contains("--classic"));
    let pages = tempfile::tempdir().unwrap();
    let (code, _, err) = slipway(&["man-pages", &pages.path().display().to_string()]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "slipway.1",
        "slipway-build.1",
        "slipway-local.1",
        "slipway-processes.1",
    ] {
        assert!(pages.path().join(page).is_file(), "{page}");
    }
}
