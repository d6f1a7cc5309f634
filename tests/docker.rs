//! The Docker path (heroku.yml + the repository's Dockerfile), without Docker:
//! the Dockerfile's steps are read and carried out here, as `docker build`
//! would, in a directory standing for the image's root.
//!
//! - The first stage compiles `slipway` and `release-phase` from this
//!   repository: the test checks that its `cargo build` names the same
//!   packages and binaries the test suite builds, and uses those.
//! - The final stage's `COPY`s are made from the build context (the
//!   repository root); its `RUN`s that call Slipway's binaries run for real
//!   (`slipway assets build .`, `release-phase check`); `apt-get` and `pip
//!   install` lines are this machine's job (scripts/bootstrap), checked to
//!   be present.
//! - Then heroku.yml's `release:` runs the release phase in that image
//!   directory, and the Dockerfile's `CMD` serves the compiled assets.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]
// One end-to-end story, read top to bottom as a user lives it.
#![allow(clippy::too_many_lines)]

use slipway_e2e::{release_phase, root, slipway};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One Dockerfile instruction: the keyword and the rest, continuation lines joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, rest) = current.split_once(' ').unwrap_or((&current, ""));
        out.push((keyword.to_uppercase(), rest.trim().to_string()));
        current.clear();
    }
    out
}

/// The stages: (name, instructions after FROM).
fn stages(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut stages: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (keyword, rest) in instructions(text) {
        if keyword == "FROM" {
            let name = rest
                .split_once(" AS ")
                .map_or_else(String::new, |(_, n)| n.trim().to_string());
            stages.push((name, Vec::new()));
        } else {
            stages
                .last_mut()
                .expect("FROM first")
                .1
                .push((keyword, rest));
        }
    }
    stages
}

fn copy_into(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(if src.is_dir() {
            src.join(".")
        } else {
            src.to_path_buf()
        })
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success(), "cp {} {}", src.display(), dest.display());
}

#[test]
fn the_dockerfile_builds_slipways_binaries_and_the_apps_assets_and_heroku_yml_releases_and_runs_it()
{
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages = stages(&dockerfile);
    assert_eq!(stages.len(), 2, "a builder stage and the app stage");

    // Stage 1: the binaries this test suite builds, from the same source.
    let (name, builder) = &stages[0];
    assert_eq!(name, "slipway");
    let run = builder
        .iter()
        .find(|(k, r)| k == "RUN" && r.contains("cargo build"))
        .expect("the builder stage runs cargo build")
        .1
        .clone();
    for wanted in [
        "--locked",
        "-p slipway --bin slipway",
        "-p release-phase-buildpack --bin release-phase",
        "install -D -t /opt/slipway/bin target/release/slipway target/release/release-phase",
    ] {
        assert!(
            run.contains(wanted),
            "the builder stage's RUN has {wanted:?}: {run}"
        );
    }
    assert!(
        builder.iter().any(|(k, r)| k == "COPY" && r == ". ."),
        "the builder stage copies this repository"
    );

    // Stage 2, step by step, in a directory standing for the image's root.
    let image = tempfile::tempdir().unwrap();
    let rootfs = image.path();
    let bin = rootfs.join("usr/local/bin");
    let mut workdir = PathBuf::from("/");
    let mut cmd = None;
    let host = |p: &Path| rootfs.join(p.strip_prefix("/").unwrap_or(p));
    for (keyword, rest) in &stages[1].1 {
        match keyword.as_str() {
            "WORKDIR" => {
                workdir = workdir.join(rest);
                std::fs::create_dir_all(host(&workdir)).unwrap();
            }
            "COPY" if rest.starts_with("--from=slipway ") => {
                assert!(
                    rest.ends_with("/opt/slipway/bin/ /usr/local/bin/"),
                    "{rest}"
                );
                std::fs::create_dir_all(&bin).unwrap();
                std::fs::copy(slipway(), bin.join("slipway")).unwrap();
                std::fs::copy(release_phase(), bin.join("release-phase")).unwrap();
            }
            "COPY" => {
                let (src, dest) = rest.split_once(' ').expect("COPY SRC DEST");
                let dest = host(&workdir.join(dest));
                let src = root().join(src);
                if src.is_dir() {
                    copy_into(&src, &dest);
                } else {
                    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                    std::fs::copy(&src, &dest).unwrap();
                }
            }
            "RUN" if rest.starts_with("apt-get") => {
                for tool in ["node", "npm"] {
                    assert!(
                        Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()),
                        "{tool} (the Dockerfile's apt-get) is not on this machine: scripts/bootstrap installs it"
                    );
                }
            }
            "RUN" if rest.starts_with("pip install") => {
                slipway_e2e::require_python_modules(&[
                    "django",
                    "gunicorn",
                    "celery",
                    "whitenoise",
                ]);
            }
            "RUN" => {
                let out = Command::new("bash")
                    .args(["-c", rest])
                    .current_dir(host(&workdir))
                    .env(
                        "PATH",
                        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                    )
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let r = slipway_e2e::ran(&out);
                assert_eq!(r.code, 0, "RUN {rest}:\n{}", r.all());
            }
            "CMD" => cmd = Some(rest.clone()),
            other => panic!("the test does not know Dockerfile instruction {other}"),
        }
    }
    let app = host(&workdir);
    assert!(app.join(".slipway/asset-manifest.json").is_file());
    assert!(
        !app.join("node_modules").exists(),
        "node_modules is never left in the image"
    );
    let manifest = std::fs::read_to_string(app.join("staticfiles/staticfiles.json")).unwrap();
    assert!(manifest.contains(".css"), "{manifest}");

    // heroku.yml: its release command runs the release phase in the image.
    let yml = procfile::HerokuYml::parse(
        "heroku.yml",
        &std::fs::read_to_string(root().join("heroku.yml")).unwrap(),
    );
    let release = yml.release.expect("heroku.yml has release:");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .args(["-c", &release])
        .current_dir(&app)
        .env("PATH", &path)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let r = slipway_e2e::ran(&out);
    assert_eq!(r.code, 0, "release: {release}\n{}", r.all());
    assert!(r.all().contains("Applying"), "migrations ran: {}", r.all());
    // Every run: type starts a program the image has.
    for (name, command) in &yml.run {
        let program = command.split_whitespace().next().unwrap();
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {program}")])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "{name}: {program} is not in the image"
        );
    }
    assert!(yml
        .run
        .iter()
        .any(|(n, c)| n == "autoscale" && c == "release-phase autoscale"));

    // The Dockerfile's CMD serves the page with the hashed stylesheet.
    let port = slipway_e2e::free_port();
    let web = Command::new("bash")
        .args(["-c", &format!("exec {}", cmd.expect("a CMD"))])
        .current_dir(&app)
        .env("PATH", &path)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let page = slipway_e2e::fetch_then_stop(web, &format!("http://127.0.0.1:{port}/assets/"));
    assert!(page.contains("/static/") && page.contains(".css"), "{page}");
}
