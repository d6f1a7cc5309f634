//! Two Heroku apps from one repository and one Procfile (the AnyCable shape
//! of the seed's multi-app deployment): the web line is a shell conditional
//! on a config var, and the release phase is skipped on the second app by
//! `skip-when`. One build, run as either app by its config vars, through
//! Slipway's CNB path and classic Heroku's.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::{build_ok, fixture, packaged, slipway_cmd, TestDb};

fn run_as(image: &std::path::Path, process: &str, anycable: Option<&str>) -> slipway_e2e::Ran {
    let image = image.display().to_string();
    let mut args = vec!["run", process, "--image", image.as_str(), "--port", "3000"];
    let var = anycable.map(|v| format!("ANYCABLE_DEPLOYMENT={v}"));
    if let Some(var) = &var {
        args.extend(["-e", var.as_str()]);
    }
    slipway_cmd(&args)
}

fn one_build_runs_as_either_app(extra: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    build_ok(
        &fixture("two-apps"),
        &[packaged("release-phase"), packaged("process-table")],
        out.path(),
        extra,
    );
    let web = |v| run_as(out.path(), "web", v);
    let r = web(Some("true"));
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout.trim(),
        "anycable-rpc: bundle exec anycable --server-command=anycable-go"
    );
    for v in [Some("false"), None] {
        let r = web(v);
        assert_eq!(r.code, 0, "{}", r.all());
        assert_eq!(
            r.stdout.trim(),
            "rails: bundle exec rails server -p 3000 -b 0.0.0.0",
            "{v:?}"
        );
    }

    // `slipway local` (as `heroku local`) runs the same line through bash.
    let image = out.path().display().to_string();
    let r = slipway_cmd(&[
        "local",
        "web=1",
        "--image",
        &image,
        "-e",
        "ANYCABLE_DEPLOYMENT=true",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("web.1  | anycable-rpc: bundle exec anycable"),
        "{}",
        r.all()
    );

    let r = run_as(out.path(), "release", Some("true"));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("Skipping the release phase: ANYCABLE_DEPLOYMENT is \"true\""),
        "{}",
        r.all()
    );
    // The step's own output: the line its `echo` prints.
    let migrated = |out: &str| {
        out.lines()
            .any(|l| l.trim() == "migrating the shared database (bin/rails db:migrate)")
    };
    assert!(!migrated(&r.stdout), "{}", r.all());
    // The first app releases under the lock, its secrets masked.
    let db = TestDb::new(if extra.is_empty() {
        "two_apps_cnb"
    } else {
        "two_apps_classic"
    });
    let image = out.path().display().to_string();
    let url = format!("DATABASE_URL={}", db.url());
    let r = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &image,
        "-e",
        &url,
        "-e",
        "SECRET_KEY_BASE=two-apps-s3cr3t-key-base",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(migrated(&r.stdout), "{}", r.all());
    assert!(
        r.stdout.contains("Holding the release lock \"two-apps\""),
        "{}",
        r.all()
    );
    assert!(r.stdout.contains("signing with [REDACTED]"), "{}", r.all());
    assert!(!r.all().contains("two-apps-s3cr3t-key-base"), "{}", r.all());
}

#[test]
fn the_cnb_image_runs_the_web_branch_and_the_release_of_whichever_app_its_config_vars_say() {
    one_build_runs_as_either_app(&[]);
}

#[test]
fn the_classic_slug_runs_the_web_branch_and_the_release_of_whichever_app_its_config_vars_say() {
    one_build_runs_as_either_app(&["--classic"]);
}
