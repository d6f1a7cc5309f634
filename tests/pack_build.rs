//! `pack build` for real: the builder `scripts/pack-setup` makes on this
//! machine (Debian bookworm build and run images, the official lifecycle,
//! every packaged Slipway buildpack and the contract doubles of heroku/nodejs
//! and heroku/python), images exported to the local registry by the
//! lifecycle inside pack's container (`--publish`), then started by
//! `docker run` through the official launcher, as Heroku's CNB platform
//! starts them:
//!
//! - the reference app, by the builder's default order (`slipway/suite`):
//!   `web` answers the heartbeat and serves a hashed static file; the
//!   `release` entrypoint migrates PostgreSQL under the lock, and a failing
//!   migration fails it; `autoscale` scales the worker type of a queue with
//!   waiting jobs through the Platform API (the fake, on loopback); that
//!   worker type consumes them from RabbitMQ; a rebuild after a one-file
//!   change reuses every unchanged layer and the asset cache; a build that
//!   fails leaves the image in the registry as it was;
//! - the Procfile-only Celery app, by `--buildpack` flags: its seven process
//!   types, and a worker that runs a task;
//! - the secrets-at-import app, by the README's `project.toml` recipe with a
//!   `.cnb` made by `pack buildpack package`: it builds with its build-only
//!   stand-ins, which the image does not carry.
//!
//! Every wait is for something the programs report: a port that answers, a
//! line a container printed, a formation the Platform API holds.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]
// End-to-end stories, read top to bottom as a user lives them.
#![allow(clippy::too_many_lines)]

use fake_platform_api::FakeApi;
use slipway_e2e::{
    copy_dir, fixture, free_port, mirror_flags, packaged, ran, root, script_output,
    seven_types_release_and_autoscale, wheelhouse, Ran, TestDb, Vhost, REFAPP_FORMATION,
    SECRET_PASSWORD,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TOKEN: &str = "pack-platform-token-0123456789";

/// What `scripts/pack-setup` printed: the tools and the builder.
struct Setup {
    pack: PathBuf,
    builder: String,
    /// Names pack's cache volumes: stable, so a rebuild finds its cache.
    volume_key: String,
    flags: Vec<String>,
    home: tempfile::TempDir,
}

/// The machine set up for `pack build` (idempotent and quick once done):
/// the daemon, the registry and the builder of the current buildpacks.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let why = "pack build needs the Docker daemon, the registry and the builder it sets up";
        let text = script_output("pack-setup", &[], why);
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {key}=")))
                .unwrap_or_else(|| panic!("scripts/pack-setup printed no {key}: {text}"))
                .to_string()
        };
        let flags = script_output("pack-setup", &["--print-pack-flags"], why);
        Setup {
            pack: PathBuf::from(value("PACK")),
            builder: value("BUILDER"),
            volume_key: value("PACK_VOLUME_KEY"),
            flags: flags.split_whitespace().map(String::from).collect(),
            home: tempfile::tempdir().unwrap(),
        }
    })
}

/// A tag of this run's own in the local registry.
fn image_name(app: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "localhost:5000/slipway-tests/{app}:{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn pack(args: &[&str]) -> Ran {
    let s = setup();
    ran(&Command::new(&s.pack)
        .args(args)
        .env("PACK_HOME", s.home.path())
        .env("PACK_VOLUME_KEY", &s.volume_key)
        .env("DOCKER_API_VERSION", "1.41")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run pack"))
}

/// `pack build IMAGE --builder <ours> --path APP <the machine's flags> EXTRA`.
fn pack_build(image: &str, app: &Path, extra: &[&str]) -> Ran {
    let s = setup();
    let mut args = vec![
        "build",
        image,
        "--builder",
        &s.builder,
        "--path",
        app.to_str().unwrap(),
        "--pull-policy",
        "if-not-present",
    ];
    args.extend(s.flags.iter().map(String::as_str));
    // Installs come from the machine's mirrors: the Python double's pip from
    // the wheelhouse, mounted read-only at its host path; npm from the npm
    // mirror on loopback (the build runs on the host's network).
    let wheels = wheelhouse().to_str().unwrap();
    let volume = format!("{wheels}:{wheels}:ro");
    let env = mirror_flags();
    args.extend(env.iter().map(String::as_str));
    args.extend(["--volume", &volume]);
    args.extend(extra);
    pack(&args)
}

fn pack_build_ok(image: &str, app: &Path, extra: &[&str]) -> String {
    let r = pack_build(image, app, extra);
    assert_eq!(r.code, 0, "pack build {image}:\n{}", r.all());
    r.all()
}

fn docker(args: &[&str]) -> Ran {
    ran(&Command::new("docker")
        .args(args)
        .env("DOCKER_API_VERSION", "1.41")
        .stdin(Stdio::null())
        .output()
        .expect("run docker"))
}

fn docker_ok(args: &[&str]) -> String {
    let r = docker(args);
    assert_eq!(r.code, 0, "docker {}:\n{}", args.join(" "), r.all());
    r.stdout
}

/// The manifest digest the registry serves for `localhost:5000/REPO:TAG`.
fn registry_digest(image: &str) -> Option<String> {
    let rest = image.strip_prefix("localhost:5000/").unwrap();
    let (repo, tag) = rest.rsplit_once(':').unwrap();
    let response = ureq::get(&format!("http://127.0.0.1:5000/v2/{repo}/manifests/{tag}"))
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        )
        .call()
        .ok()?;
    response
        .headers()
        .get("Docker-Content-Digest")
        .map(|v| v.to_str().unwrap().to_string())
}

/// A container started with `docker run --detach --network host`, removed when dropped.
struct Container {
    name: String,
}

impl Container {
    fn run(image: &str, entrypoint: Option<&str>, env: &[String], args: &[&str]) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "slipway-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut a: Vec<String> = ["run", "--detach", "--network", "host", "--name", &name]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        if let Some(e) = entrypoint {
            a.extend(["--entrypoint".into(), e.into()]);
        }
        for e in env {
            a.extend(["--env".into(), e.clone()]);
        }
        a.push(image.into());
        a.extend(args.iter().map(|s| (*s).to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        docker_ok(&a);
        Self { name }
    }

    fn logs(&self) -> String {
        docker(&["logs", &self.name]).all()
    }

    fn running(&self) -> bool {
        docker(&["inspect", "--format", "{{.State.Running}}", &self.name])
            .stdout
            .trim()
            == "true"
    }

    /// Wait until the container printed `text` (or fail with its log when it
    /// exits first or `within` passes).
    fn until_printed(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.logs();
            if log.contains(text) {
                return log;
            }
            assert!(
                self.running() && Instant::now() < deadline,
                "{} never printed {text:?}:\n{log}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Wait until `url` answers 200 (or fail with the container's log).
    fn until_answers(&self, url: &str, within: Duration) -> String {
        let agent = slipway_e2e::http_agent(Duration::from_secs(5));
        let deadline = Instant::now() + within;
        loop {
            if let Ok(mut r) = agent.get(url).call() {
                return r.body_mut().read_to_string().unwrap();
            }
            assert!(
                self.running() && Instant::now() < deadline,
                "{url} never answered; {}:\n{}",
                self.name,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "--force", &self.name]);
    }
}

/// A command run to completion in the image, through the launcher (the
/// processes' environment: the venv, PYTHONUNBUFFERED, the app directory).
fn launch(image: &str, env: &[String], command: &[&str]) -> Ran {
    let mut a: Vec<String> = [
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "launcher",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    for e in env {
        a.extend(["--env".into(), e.clone()]);
    }
    // `--`: the launcher runs the command as given (no shell joins its words).
    a.extend([image.into(), "--".into()]);
    a.extend(command.iter().map(|s| (*s).to_string()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    docker(&a)
}

/// The image's process types, from the lifecycle's build metadata label.
fn process_types(image: &str) -> Vec<String> {
    let label = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"io.buildpacks.build.metadata\"}}",
        image,
    ]);
    let meta: serde_json::Value = serde_json::from_str(label.trim()).unwrap();
    meta["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_string())
        .collect()
}

fn app_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(name), dir.path());
    dir
}

#[test]
fn the_reference_app_built_by_pack_with_the_builders_default_order_runs_web_release_a_worker_and_autoscale(
) {
    let app = app_copy("refapp");
    let image = image_name("refapp");

    // 1. The builder's default order is the suite: every Slipway step ran.
    let log = pack_build_ok(&image, app.path(), &[]);
    for step in [
        "Slipway .slugignore",
        "Heroku Node.js",
        "Slipway static assets",
        "Heroku Python",
        "Running 'manage.py collectstatic'",
        "Slipway process table",
        "Slipway slug size",
    ] {
        assert!(
            log.to_lowercase().contains(&step.to_lowercase()),
            "{step}:\n{log}"
        );
    }
    docker_ok(&["pull", "--quiet", &image]);
    let mut types = process_types(&image);
    types.sort();
    assert_eq!(
        types,
        seven_types_release_and_autoscale(),
        "every process type, names exactly as written"
    );

    // 2. web: the heartbeat, and a hashed static file served by the app.
    let port = free_port();
    let web = Container::run(
        &image,
        None,
        &[format!("PORT={port}"), "DYNO=web.1".into()],
        &[],
    );
    let beat = web.until_answers(
        &format!("http://127.0.0.1:{port}/heroku-autoscale/heartbeat/v1"),
        Duration::from_mins(1),
    );
    assert!(beat.contains("web.1"), "{beat}");
    let manifest = launch(&image, &[], &["cat", "staticfiles/staticfiles.json"]);
    assert_eq!(manifest.code, 0, "{}", manifest.all());
    let manifest: serde_json::Value = serde_json::from_str(&manifest.stdout).unwrap();
    let hashed = manifest["paths"]["dist/css/main.css"].as_str().unwrap();
    assert_ne!(hashed, "dist/css/main.css", "a hashed name");
    let css = web.until_answers(
        &format!("http://127.0.0.1:{port}/static/{hashed}"),
        Duration::from_secs(10),
    );
    assert!(!css.is_empty(), "the compiled stylesheet");

    // 3. release: migrations under the lock against the services' PostgreSQL.
    let db = TestDb::new("pack_release");
    let release = docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "release",
        "--env",
        &format!("DATABASE_URL={}", db.url()),
        &image,
    ]);
    assert_eq!(release.code, 0, "{}", release.all());
    assert!(
        release.all().contains("Holding the release lock"),
        "{}",
        release.all()
    );
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

    //    A failing step fails the release: a table migrate wants to create is
    //    already there, with another shape.
    let conflicting = TestDb::new("pack_release_fails");
    conflicting
        .client()
        .batch_execute("CREATE TABLE django_content_type (id text)")
        .unwrap();
    let failed = docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--entrypoint",
        "release",
        "--env",
        &format!("DATABASE_URL={}", conflicting.url()),
        &image,
    ]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    assert!(
        failed.all().contains("already exists"),
        "the migration's own error: {}",
        failed.all()
    );
    assert!(!failed.all().contains(SECRET_PASSWORD), "{}", failed.all());

    // 4. autoscale: 25 jobs wait in bulk_priority; the autoscaler scales
    //    worker_priority through the Platform API, never beat.
    let vhost = Vhost::new();
    let broker = format!("BROKER_URL={}", vhost.amqp_url());
    let enqueue = launch(
        &image,
        std::slice::from_ref(&broker),
        &[
            "python",
            "manage.py",
            "shell",
            "-c",
            "from refapp.tasks import send_bulk_email\nfor i in range(25): send_bulk_email.delay(i)",
        ],
    );
    assert_eq!(enqueue.code, 0, "{}", enqueue.all());
    let api = FakeApi::start("refapp", TOKEN, REFAPP_FORMATION);
    let autoscale = Container::run(
        &image,
        Some("autoscale"),
        &[
            broker.clone(),
            "AUTOSCALE_HEROKU_APP_NAME=refapp".into(),
            format!("AUTOSCALE_HEROKU_API_KEY={TOKEN}"),
            format!("HEROKU_API_URL={}", api.url()),
            format!("AUTOSCALE_APP_URL=http://127.0.0.1:{port}"),
            "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS=1".into(),
            "DYNO=autoscale.1".into(),
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_mins(1);
    while api.quantity("worker_priority") != Some(3) {
        assert!(
            autoscale.running() && Instant::now() < deadline,
            "worker_priority never scaled to 3:\n{}",
            autoscale.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let scaler_log = autoscale.logs();
    drop(autoscale);
    drop(web);
    assert_eq!(api.quantity("beat"), Some(1), "{scaler_log}");
    assert!(!scaler_log.contains(TOKEN), "{scaler_log}");

    //    The worker type it scaled consumes the jobs.
    let worker = Container::run(
        &image,
        Some("worker_priority"),
        &[broker, "DYNO=worker_priority.1".into()],
        &[],
    );
    let worker_log = worker.until_printed("succeeded", Duration::from_mins(1));
    assert!(
        worker_log.contains("refapp.tasks.send_bulk_email"),
        "{worker_log}"
    );
    drop(worker);

    // 5. A rebuild after a one-file change reuses every unchanged layer and
    //    the asset cache.
    let view = app.path().join("refapp/views.py");
    let text = std::fs::read_to_string(&view).unwrap();
    std::fs::write(&view, format!("{text}\n# a one-line change\n")).unwrap();
    let again = pack_build_ok(&image, app.path(), &[]);
    for layer in [
        "slipway/release-phase:release-phase",
        "slipway/release-phase:heartbeat",
        "slipway/process-table:process-table",
        "heroku/python:python",
        "heroku/python:venv",
    ] {
        assert!(
            again.contains(&format!("Reusing layer '{layer}'")),
            "{layer} reused:\n{again}"
        );
    }
    assert!(
        again.contains("Restoring data for \"slipway/static-assets:assets-cache\""),
        "the asset cache restored:\n{again}"
    );

    // 6. A build that fails leaves the image in the registry as it was.
    let before = registry_digest(&image).expect("the image is in the registry");
    std::fs::write(
        app.path().join("gulpfile.js"),
        "throw new Error('a broken asset pipeline');\n",
    )
    .unwrap();
    let failing = pack_build(&image, app.path(), &[]);
    assert_ne!(failing.code, 0, "{}", failing.all());
    assert!(
        failing.all().contains("a broken asset pipeline"),
        "the pipeline's own error: {}",
        failing.all()
    );
    assert_eq!(
        registry_digest(&image).as_deref(),
        Some(before.as_str()),
        "the previous image is untouched"
    );
}

#[test]
fn the_procfile_only_celery_app_built_with_buildpack_flags_runs_a_task_on_a_worker() {
    let app = app_copy("celery-procfile");
    let image = image_name("celery-procfile");
    let doubles = root().join("tests/doubles");
    // Every buildpack a `--buildpack` list names must detect (no optional
    // members outside a composite): the ones that apply to this app.
    let buildpacks = [
        doubles.join("heroku-python"),
        packaged("release-phase"),
        packaged("process-table"),
        packaged("slug-size"),
    ];
    let mut extra: Vec<String> = Vec::new();
    for bp in &buildpacks {
        extra.push("--buildpack".into());
        extra.push(bp.display().to_string());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let log = pack_build_ok(&image, app.path(), &extra);
    assert!(log.contains("Slipway process table"), "{log}");
    docker_ok(&["pull", "--quiet", &image]);
    let mut types = process_types(&image);
    types.sort();
    assert_eq!(
        types,
        seven_types_release_and_autoscale(),
        "the Procfile's seven types exactly as written, and release-phase's release and autoscale"
    );

    let vhost = Vhost::new();
    let broker = format!("CELERY_BROKER_URL={}", vhost.amqp_url());
    let worker = Container::run(
        &image,
        Some("beat"),
        &[broker.clone(), "DYNO=beat.1".into()],
        &[],
    );
    worker.until_printed("ready.", Duration::from_mins(1));
    let call = launch(
        &image,
        &[broker],
        &[
            "celery",
            "-A",
            "shop",
            "call",
            "celery.accumulate",
            "--args",
            "[20, 22]",
            "--queue",
            "default",
        ],
    );
    assert_eq!(call.code, 0, "{}", call.all());
    let log = worker.until_printed("succeeded", Duration::from_mins(1));
    assert!(log.contains("celery.accumulate"), "{log}");
}

#[test]
fn the_secrets_app_built_by_the_readme_project_toml_recipe_with_a_packaged_cnb_keeps_its_stand_ins_out_of_the_image(
) {
    let app = app_copy("secrets-app");
    let image = image_name("secrets-app");
    let work = tempfile::tempdir().unwrap();

    // `pack buildpack package` of the suite with its members (the doubles
    // standing in for Heroku's), as a release's .cnb is made.
    let doubles = root().join("tests/doubles");
    let mut package_toml = format!("[buildpack]\nuri = \"{}\"\n", packaged("suite").display());
    for dep in [
        packaged("slugignore"),
        doubles.join("heroku-nodejs"),
        packaged("release-phase"),
        packaged("static-assets"),
        doubles.join("heroku-python"),
        packaged("process-table"),
        packaged("slug-size"),
    ] {
        package_toml.push_str(&format!("[[dependencies]]\nuri = \"{}\"\n", dep.display()));
    }
    std::fs::write(work.path().join("package.toml"), package_toml).unwrap();
    let cnb = work.path().join("slipway-suite.cnb");
    let packaged_cnb = pack(&[
        "buildpack",
        "package",
        cnb.to_str().unwrap(),
        "--config",
        work.path().join("package.toml").to_str().unwrap(),
        "--format",
        "file",
        "--pull-policy",
        "if-not-present",
    ]);
    assert_eq!(packaged_cnb.code, 0, "{}", packaged_cnb.all());

    // The README's recipe, with the release URL replaced by the local file,
    // under the app's own [_.metadata.slipway.assets] table.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let recipe = readme
        .split("<!-- project.toml recipe -->")
        .nth(1)
        .and_then(|s| s.split("```toml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's project.toml recipe");
    let url = recipe
        .lines()
        .find_map(|l| l.strip_prefix("uri = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("the recipe's uri");
    let own = std::fs::read_to_string(app.path().join("project.toml")).unwrap();
    let own_tables = own
        .split_once("[_.metadata")
        .map(|(_, rest)| format!("[_.metadata{rest}"))
        .unwrap();
    std::fs::write(
        app.path().join("project.toml"),
        format!(
            "{}\n{own_tables}",
            recipe.replace(url, &format!("file://{}", cnb.display()))
        ),
    )
    .unwrap();

    let log = pack_build_ok(&image, app.path(), &[]);
    assert!(log.contains("Running 'manage.py collectstatic'"), "{log}");
    docker_ok(&["pull", "--quiet", &image]);

    // The stand-ins were for the build only.
    let env = launch(&image, &[], &["env"]);
    assert_eq!(env.code, 0, "{}", env.all());
    assert!(
        !env.stdout.contains("build-only-stand-in"),
        "{}",
        env.stdout
    );
    // With the real config, web starts; the compiled, hashed assets are in the image.
    let port = free_port();
    let web = Container::run(
        &image,
        None,
        &[
            format!("PORT={port}"),
            "SECRET_KEY=the-real-one-at-runtime".into(),
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test".into(),
        ],
        &[],
    );
    web.until_printed("Booting worker", Duration::from_mins(1));
    let manifest = launch(&image, &[], &["cat", "staticfiles/staticfiles.json"]);
    assert_eq!(manifest.code, 0, "{}", manifest.all());
    assert!(manifest.stdout.contains("\"paths\""), "{}", manifest.stdout);
}

/// The two-apps fixture (one repository run as two Heroku apps by
/// ANYCABLE_DEPLOYMENT) built by pack once: the official launcher runs the
/// shell-conditional `web` line through a shell, so each app's config vars
/// pick its branch, and `release` skips or migrates per `skip-when`.
#[test]
fn one_pack_built_image_runs_as_either_of_two_apps_by_its_config_vars() {
    let app = app_copy("two-apps");
    let image = image_name("two-apps");
    let mut extra: Vec<String> = Vec::new();
    for bp in [packaged("release-phase"), packaged("process-table")] {
        extra.push("--buildpack".into());
        extra.push(bp.display().to_string());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    pack_build_ok(&image, app.path(), &extra);
    docker_ok(&["pull", "--quiet", &image]);
    let run = |process: &str, env: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", "host", "--entrypoint", process];
        for e in env {
            a.extend(["--env", e]);
        }
        a.push(&image);
        docker(&a)
    };
    let r = run("web", &["ANYCABLE_DEPLOYMENT=true", "PORT=3000"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout.trim(),
        "anycable-rpc: bundle exec anycable --server-command=anycable-go"
    );
    let r = run("web", &["PORT=3000"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout.trim(),
        "rails: bundle exec rails server -p 3000 -b 0.0.0.0"
    );
    let r = run("release", &["ANYCABLE_DEPLOYMENT=true"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .contains("Skipping the release phase: ANYCABLE_DEPLOYMENT is \"true\""),
        "{}",
        r.all()
    );
    let r = run("release", &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim() == "migrating the shared database (bin/rails db:migrate)"),
        "{}",
        r.all()
    );
}
