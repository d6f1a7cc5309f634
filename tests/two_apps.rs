//! Two Heroku apps from one repository and one Procfile (the AnyCable shape
//! of the seed's multi-app deployment): the web line is a shell conditional
//! on a config var, and the release phase is skipped on the second app by
//! `skip-when`. One build, run as either app by its config vars, through
//! Slipway's CNB path and classic Heroku's; and the heroku.yml Slipway
//! writes for the container stack, run as that stack runs it.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::{build_ok, fixture, packaged, ran, release_phase, slipway_cmd, TestDb};
use std::process::Command;

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

/// Runs `command` as Heroku's container stack runs a heroku.yml command in
/// an image without an `ENTRYPOINT`: `/bin/sh -l -c` (heroku/cli#930), with
/// the app's config vars. This machine's /bin/sh is dash, as in Debian-based
/// images (python:*-slim): the test checks that first. `$HOME/.profile`
/// (read by a login shell) puts release-phase on PATH, as the image would.
fn container_stack(
    home: &std::path::Path,
    command: &str,
    vars: &[(&str, &str)],
) -> slipway_e2e::Ran {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-l", "-c", command])
        .env_clear()
        .env("HOME", home)
        .env("PORT", "3000")
        .current_dir(fixture("two-apps"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    ran(&cmd.output().unwrap())
}

#[test]
fn the_heroku_yml_slipway_writes_runs_each_apps_branch_under_the_container_stacks_sh() {
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    assert!(
        sh.ends_with("dash"),
        "this test stands for Debian-based images, whose /bin/sh is dash; here it is {}",
        sh.display()
    );
    let r = slipway_cmd(&[
        "processes",
        &fixture("two-apps").display().to_string(),
        "--format",
        "heroku-yml",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let yml = procfile::HerokuYml::parse("heroku.yml", &r.stdout);
    assert!(yml.diagnostics.is_empty(), "{:?}", yml.diagnostics);
    let web = &yml.run.iter().find(|(n, _)| n == "web").unwrap().1;
    let home = tempfile::tempdir().unwrap();
    let bin = release_phase().parent().unwrap().display().to_string();
    std::fs::write(
        home.path().join(".profile"),
        format!("export PATH=\"{bin}:$PATH\"\n"),
    )
    .unwrap();

    let as_anycable = container_stack(home.path(), web, &[("ANYCABLE_DEPLOYMENT", "true")]);
    assert_eq!(as_anycable.code, 0, "{}", as_anycable.all());
    assert_eq!(
        as_anycable.stdout.trim(),
        "anycable-rpc: bundle exec anycable --server-command=anycable-go"
    );
    let as_rails = container_stack(home.path(), web, &[]);
    assert_eq!(
        as_rails.stdout.trim(),
        "rails: bundle exec rails server -p 3000 -b 0.0.0.0"
    );

    // Why Slipway writes it through bash: the Procfile's line as written
    // takes the rails branch on the AnyCable app under dash.
    let procfile = std::fs::read_to_string(fixture("two-apps").join("Procfile")).unwrap();
    let verbatim = procfile
        .lines()
        .find_map(|l| l.strip_prefix("web: "))
        .unwrap();
    let wrong = container_stack(home.path(), verbatim, &[("ANYCABLE_DEPLOYMENT", "true")]);
    assert!(wrong.stderr.contains("[[: not found"), "{}", wrong.all());
    assert!(wrong.stdout.starts_with("rails:"), "{}", wrong.all());

    // heroku.yml's `release:` runs release-phase, which skips on the AnyCable app...
    let release = yml.release.as_deref().unwrap();
    let skipped = container_stack(home.path(), release, &[("ANYCABLE_DEPLOYMENT", "true")]);
    assert_eq!(skipped.code, 0, "{}", skipped.all());
    assert!(
        skipped
            .stdout
            .contains("Skipping the release phase: ANYCABLE_DEPLOYMENT is \"true\""),
        "{}",
        skipped.all()
    );
    // ...and migrates on the Rails app under the lock, its secret masked.
    let db = TestDb::new("two_apps_heroku_yml");
    let url = db.url();
    let released = container_stack(
        home.path(),
        release,
        &[
            ("DATABASE_URL", url.as_str()),
            ("SECRET_KEY_BASE", "two-apps-yml-s3cr3t"),
        ],
    );
    assert_eq!(released.code, 0, "{}", released.all());
    assert!(
        released
            .stdout
            .contains("Holding the release lock \"two-apps\""),
        "{}",
        released.all()
    );
    assert!(
        released
            .stdout
            .lines()
            .any(|l| l.trim() == "migrating the shared database (bin/rails db:migrate)"),
        "{}",
        released.all()
    );
    assert!(
        released.stdout.contains("signing with [REDACTED]"),
        "{}",
        released.all()
    );
    assert!(
        !released.all().contains("two-apps-yml-s3cr3t"),
        "{}",
        released.all()
    );
}
