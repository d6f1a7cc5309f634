//! Classic Heroku, as `heroku buildpacks:add` (native multiple buildpacks)
//! and `.buildpacks` (heroku-buildpack-multi) run a list of buildpacks, with
//! Slipway's buildpacks at every position among other classic buildpacks.
//!
//! What the platform does (crates/local-lifecycle/src/classic.rs): every
//! listed buildpack must detect or the whole build fails; only the last
//! buildpack's `bin/release` default process types count; the slug's
//! Procfile wins over them. So Slipway's classic buildpacks always detect,
//! say when they have nothing to do, and put `release`, `autoscale` and
//! generated types into the slug's Procfile.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::{
    build, copy_dir, fixture, image_process_types, packaged, ran, root,
    seven_types_release_and_autoscale, slipway_cmd,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const SLIPWAY: [&str; 5] = [
    "slugignore",
    "release-phase",
    "static-assets",
    "process-table",
    "slug-size",
];

/// A writable copy of the `hello` classic buildpack (its compile writes `export` beside itself).
fn hello(parent: &Path) -> PathBuf {
    let dir = parent.join("hello");
    copy_dir(&fixture("classic-buildpacks/hello"), &dir);
    dir
}

fn expected(with_hello_defaults: bool) -> Vec<String> {
    let mut v = seven_types_release_and_autoscale();
    if with_hello_defaults {
        v.push("hello".into());
        v.sort();
    }
    v
}

/// Build the Procfile-only Celery app with `order` (Slipway names, or
/// "hello"), the way `how` runs it; check the release and run the release phase.
fn build_and_release(order: &[&str], how: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let hello_dir = hello(tmp.path());
    let bps: Vec<PathBuf> = order
        .iter()
        .map(|n| {
            if *n == "hello" {
                hello_dir.clone()
            } else {
                packaged(n)
            }
        })
        .collect();
    let image = tmp.path().join("image");
    let app = fixture("celery-procfile");
    let r = build(&app, &bps, &image, &[&format!("--classic={how}")]);
    let context = format!("order {order:?}, --classic {how}:\n{}", r.all());
    assert_eq!(r.code, 0, "{context}");

    // The Procfile's seven types, plus release and autoscale, reach the release
    // wherever Slipway is listed; the last buildpack's defaults only when it is hello.
    assert_eq!(
        image_process_types(&image),
        expected(order.last() == Some(&"hello")),
        "{context}"
    );
    // The user's lines are untouched, Slipway's appended after a comment.
    let user = std::fs::read_to_string(app.join("Procfile")).unwrap();
    let slug = std::fs::read_to_string(image.join("workspace/Procfile")).unwrap();
    assert!(slug.starts_with(&user), "{slug}");
    assert!(
        slug.ends_with(
            "# Added by Slipway's classic buildpacks (types not in this Procfile):\nrelease: release-phase run\nautoscale: release-phase autoscale\n"
        ),
        "{slug}"
    );
    // The build output says what was added and why, in the classic style.
    let out = r.all();
    for line in [
        "-----> Slipway release phase",
        "       Added to the slug's Procfile: release: release-phase run",
        "       Added to the slug's Procfile: autoscale: release-phase autoscale",
        "-----> Slipway .slugignore",
        "       Nothing to do: the app has no .slugignore",
        "-----> Slipway static assets",
        "       Nothing to do: no assets to build",
        "-----> Slipway slug size",
    ] {
        assert!(out.contains(line), "missing {line:?} in {context}");
    }
    assert!(
        !out.lines()
            .any(|l| l.starts_with("## ") || l.starts_with("- ")),
        "CNB-style lines in a classic build: {context}"
    );
    if how == "multi" {
        assert!(out.contains("=====> Detected Framework: Slipway release phase"));
        assert!(image.join("workspace/last_pack_release.out").is_file());
    } else {
        assert!(out.contains("-----> Slipway release phase app detected"));
    }

    // The release phase runs from the slug: release-phase is on PATH through .profile.d.
    let r = slipway_cmd(&["run", "release", "--image", image.to_str().unwrap()]);
    assert_eq!(r.code, 0, "slipway run release:\n{}", r.all());
    assert!(
        r.all().contains("Applying auth.0001_initial"),
        "the migrations ran:\n{}",
        r.all()
    );
}

#[test]
fn with_slipway_first_and_another_buildpack_last_the_release_has_release_and_autoscale() {
    let mut order: Vec<&str> = SLIPWAY.to_vec();
    order.push("hello");
    build_and_release(&order, "native");
    build_and_release(&order, "multi");
}

#[test]
fn with_another_buildpack_first_and_slipway_after_it_the_release_has_release_and_autoscale() {
    let mut order = vec!["hello"];
    order.extend(SLIPWAY);
    build_and_release(&order, "native");
    build_and_release(&order, "multi");
}

#[test]
fn in_reverse_order_with_another_buildpack_in_the_middle_the_release_has_release_and_autoscale() {
    let mut order: Vec<&str> = SLIPWAY.iter().rev().copied().collect();
    order.insert(2, "hello");
    build_and_release(&order, "native");
    build_and_release(&order, "multi");
}

#[test]
fn with_release_phase_last_and_slugignore_in_the_middle_the_release_has_release_and_autoscale() {
    let order = [
        "static-assets",
        "slug-size",
        "hello",
        "slugignore",
        "process-table",
        "release-phase",
    ];
    build_and_release(&order, "native");
    build_and_release(&order, "multi");
}

#[test]
fn a_release_line_the_user_wrote_is_kept_and_only_autoscale_is_added() {
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("celery-procfile"), app.path());
    let procfile = app.path().join("Procfile");
    let mut text = std::fs::read_to_string(&procfile).unwrap();
    text.push_str("release: python manage.py migrate --noinput");
    std::fs::write(&procfile, &text).unwrap();

    let out = tempfile::tempdir().unwrap();
    let r = build(
        app.path(),
        &[packaged("release-phase"), packaged("process-table")],
        out.path(),
        &["--classic"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let slug = std::fs::read_to_string(out.path().join("workspace/Procfile")).unwrap();
    assert!(slug.starts_with(&text));
    assert!(slug.contains("release: python manage.py migrate --noinput\n# Added by Slipway"));
    assert_eq!(slug.matches("release:").count(), 1, "{slug}");
    assert!(
        slug.ends_with("autoscale: release-phase autoscale\n"),
        "{slug}"
    );
    assert!(
        r.all().contains("runs instead of release-phase"),
        "the user is told what they miss: {}",
        r.all()
    );
}

#[test]
fn a_classic_detect_passes_for_an_app_a_slipway_buildpack_has_nothing_to_do_for() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("index.html"), "<p>hi</p>").unwrap();
    for name in SLIPWAY {
        let detect = packaged(name).join("bin/detect");
        let out = std::process::Command::new(&detect)
            .arg(app.path())
            .env_remove("CNB_PLATFORM_DIR")
            .env_remove("CNB_BUILDPACK_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "slipway/{name} failed classic detect");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("Slipway"));
    }
}

/// A one-file HTTP server on loopback for multi's fetch: `/direct/<file>`
/// answers 200 with the archive; `/releases/download/<file>` answers 302 to
/// it, as GitHub's release-asset URLs do. Serves until the test ends.
fn archive_server(archive: Vec<u8>) -> u16 {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            if let Some(file) = path.strip_prefix("/releases/download/") {
                let body = "<html><body>You are being redirected.</body></html>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/direct/{file}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            } else if path.starts_with("/direct/") {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    archive.len()
                );
                let _ = stream.write_all(&archive);
            } else {
                let _ = write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        }
    });
    port
}

/// heroku-buildpack-multi fetches a `.tgz` with `curl -s` and no `-L`
/// (tests/doubles/heroku-buildpack-multi/fetch, from its bin/compile): a URL
/// that answers directly gives the buildpack; one that redirects, as
/// GitHub's release-asset URLs do, gives nothing, silently. So `.buildpacks`
/// names direct URLs only.
#[test]
fn heroku_buildpack_multi_fetches_a_direct_tgz_url_and_gets_nothing_from_a_redirecting_one() {
    let tmp = tempfile::tempdir().unwrap();
    let bp = hello(tmp.path());
    let tgz = tmp.path().join("hello.tgz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&tgz)
        .arg("-C")
        .arg(&bp)
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    let port = archive_server(std::fs::read(&tgz).unwrap());
    let fetch = root().join("tests/doubles/heroku-buildpack-multi/fetch");
    let run =
        |url: &str, dir: &Path| ran(&Command::new(&fetch).arg(url).arg(dir).output().unwrap());

    let direct = tmp.path().join("direct");
    let r = run(
        &format!("http://127.0.0.1:{port}/direct/hello.tgz"),
        &direct,
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(direct.join("bin/compile").is_file(), "{}", r.all());

    let redirected = tmp.path().join("redirected");
    let r = run(
        &format!("http://127.0.0.1:{port}/releases/download/hello.tgz"),
        &redirected,
    );
    assert!(
        !redirected.join("bin/compile").exists(),
        "a redirect is not followed: {}",
        r.all()
    );
    assert_ne!(r.code, 0, "multi stops (tar read the redirect's page)");
    assert_eq!(
        r.all().trim(),
        format!(
            "=====> Downloading Buildpack: http://127.0.0.1:{port}/releases/download/hello.tgz"
        ),
        "and says nothing about why"
    );

    // The repository's own .buildpacks names no URL of that redirecting kind.
    let listed = std::fs::read_to_string(root().join(".buildpacks")).unwrap();
    for url in listed.lines().filter(|l| l.contains(".tgz")) {
        assert!(
            !url.contains("/releases/download/"),
            "{url}: GitHub release-asset URLs redirect, which heroku-buildpack-multi cannot follow"
        );
    }
}

/// `.buildpacks`' list as buildpack directories: Slipway's packaged
/// buildpacks for its `.tgz` URLs, the contract doubles of the classic
/// heroku-buildpack-nodejs and heroku-buildpack-python (tests/doubles, at
/// the tags neighbours.toml pins) for Heroku's.
fn dot_buildpacks_order() -> Vec<PathBuf> {
    std::fs::read_to_string(root().join(".buildpacks"))
        .unwrap()
        .lines()
        .map(|url| {
            let name = url.rsplit('/').next().unwrap();
            match name.strip_suffix(".tgz") {
                Some(slipway) => packaged(slipway.strip_prefix("slipway-").unwrap()),
                None => root().join("tests/doubles").join(name),
            }
        })
        .collect()
}

/// The secrets-app (settings read SECRET_KEY and DATABASE_URL at import, a
/// Node build that counts its runs), with no project.toml, built classically
/// in `order`, on a PATH whose `python` is the system's, without Django, as
/// on Heroku's stack before heroku-buildpack-python installs it.
fn build_secrets_app(order: &[PathBuf], extra: &[&str]) -> (slipway_e2e::Ran, tempfile::TempDir) {
    let system = Path::new("/usr/bin/python3");
    let no_django = Command::new(system)
        .args(["-c", "import django"])
        .output()
        .is_ok_and(|o| !o.status.success());
    assert!(
        no_django,
        "these tests need a system python3 without Django (Debian's /usr/bin/python3)"
    );
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("secrets-app"), app.path());
    std::fs::remove_file(app.path().join("project.toml")).unwrap();
    let stack = tempfile::tempdir().unwrap();
    let bin = stack.path();
    for name in ["python", "python3"] {
        std::os::unix::fs::symlink(system, bin.join(name)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let image = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec![
        "build".into(),
        app.path().display().to_string(),
        "--out".into(),
        image.path().display().to_string(),
    ];
    for b in order {
        args.push("--buildpack".into());
        args.push(b.display().to_string());
    }
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let r = ran(&Command::new(slipway_e2e::slipway())
        .args(&args)
        .env("PATH", path)
        .envs(slipway_e2e::mirror_env())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap());
    (r, image)
}

/// How many times collectstatic ran, by Django's own closing line
/// ("1 static file copied to '...'").
fn collectstatic_runs(out: &str) -> usize {
    out.lines().filter(|l| l.contains(" copied to '")).count()
}

/// The README's recommended classic order (`.buildpacks`, and the same
/// `heroku buildpacks:add` list): heroku-buildpack-nodejs builds the assets,
/// slipway/static-assets exports build-only stand-ins for what the settings
/// read at import, and heroku-buildpack-python's collectstatic runs once,
/// sees the compiled assets and imports the settings. Both ways Heroku runs
/// a list; no configuration.
#[test]
fn the_recommended_classic_order_builds_a_secrets_at_import_app_with_one_collectstatic() {
    for how in ["--classic=native", "--classic=multi"] {
        let (r, image) = build_secrets_app(&dot_buildpacks_order(), &[how]);
        let out = r.all();
        assert_eq!(r.code, 0, "{how}: {out}");
        assert_eq!(
            collectstatic_runs(&out),
            1,
            "one collectstatic ({how}): {out}"
        );
        assert!(
            out.contains("-----> $ python manage.py collectstatic --noinput"),
            "heroku-buildpack-python ran it: {out}"
        );
        assert!(
            out.contains("Build-time stand-ins for DATABASE_URL, SECRET_KEY: the settings read them at import"),
            "{out}"
        );
        let workspace = image.path().join("workspace");
        assert_eq!(
            std::fs::read_to_string(workspace.join("build-runs.txt")).unwrap(),
            "build\n",
            "one Node build, heroku-buildpack-nodejs's: {out}"
        );
        let manifest = std::fs::read_to_string(workspace.join("staticfiles/staticfiles.json"))
            .unwrap_or_else(|e| panic!("{e}: {out}"));
        assert!(
            manifest.contains("\"app.css\": \"app."),
            "hashed compiled assets: {manifest}"
        );
        // Build only: printed by name, in no file of the slug.
        assert!(
            !out.contains("build-time-stand-in"),
            "values never printed: {out}"
        );
        let found = Command::new("grep")
            .args(["-rl", "build-time-stand-in"])
            .arg(&workspace)
            .output()
            .unwrap();
        assert!(
            found.stdout.is_empty(),
            "stand-in values in the slug: {}",
            String::from_utf8_lossy(&found.stdout)
        );
    }
}

/// A config var (ENV_DIR) is never replaced by a stand-in: only the unset
/// ones are stood in for.
#[test]
fn in_the_recommended_classic_order_a_config_var_wins_over_a_stand_in() {
    let (r, _image) = build_secrets_app(
        &dot_buildpacks_order(),
        &[
            "--classic=native",
            "--env",
            "SECRET_KEY=set-by-heroku-config",
        ],
    );
    let out = r.all();
    assert_eq!(r.code, 0, "{out}");
    assert!(
        out.contains("Build-time stand-ins for DATABASE_URL: the settings read them at import"),
        "{out}"
    );
    assert_eq!(collectstatic_runs(&out), 1, "{out}");
}

/// With slipway/static-assets after heroku-buildpack-python, that
/// buildpack's collectstatic runs first, with no stand-ins: an app that
/// needs secrets at import fails there, as it would on Heroku (the README
/// says which orders work). An app that imports without them builds, and
/// static-assets says how to fix the order (collectstatic runs again after
/// its build).
#[test]
fn static_assets_after_heroku_python_is_told_how_to_fix_the_order() {
    let mut order = dot_buildpacks_order();
    let at = |name: &str| {
        order
            .iter()
            .position(|p| p.to_string_lossy().ends_with(name))
            .unwrap()
    };
    let (sa, py) = (at("static-assets"), at("heroku-buildpack-python"));
    order.swap(sa, py);

    let (r, _image) = build_secrets_app(&order, &["--classic=native"]);
    let out = r.all();
    assert_ne!(r.code, 0, "{out}");
    assert!(out.contains("KeyError: 'SECRET_KEY'"), "{out}");
    assert!(
        out.contains("Error: Unable to generate Django static files."),
        "{out}"
    );

    let (r, _image) = build_secrets_app(
        &order,
        &[
            "--classic=native",
            "--env",
            "SECRET_KEY=set-by-heroku-config",
            "--env",
            "DATABASE_URL=postgres://app@127.0.0.1/app",
        ],
    );
    let out = r.all();
    assert_eq!(r.code, 0, "{out}");
    assert!(
        out.contains("slipway/static-assets runs after heroku-buildpack-python, which has already run collectstatic"),
        "{out}"
    );
    assert!(out.contains("heroku buildpacks:add --index N"), "{out}");
    assert_eq!(collectstatic_runs(&out), 2, "{out}");
}
