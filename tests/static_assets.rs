//! `slipway/static-assets` through `slipway build`, with the real tools: npm
//! (sass and esbuild from the npm registry), Django and whitenoise.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn group() -> Vec<PathBuf> {
    vec![packaged("static-assets"), packaged("process-table")]
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifest(workspace: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&workspace.join("staticfiles/staticfiles.json"))).unwrap()
}

fn find_named(root: &Path, name: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == name)
        .map(|e| e.path().to_path_buf())
        .collect()
}

#[test]
fn compiles_scss_and_js_collects_them_with_a_whitenoise_manifest_and_keeps_node_modules_out_of_the_image(
) {
    require_python_modules(&["django", "whitenoise", "gunicorn"]);
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(&fixture("refapp"), &group(), out.path(), &[]);
    let ws = out.path().join("workspace");
    assert!(
        r.stdout
            .contains("Running `npm ci --include=dev --no-audit --no-fund`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Running `gulp default`"),
        "the gulpfile, as no build script exists: {}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Running `python manage.py collectstatic --noinput`"),
        "{}",
        r.stdout
    );

    // The gulp build compiled SCSS (the partial's colour resolved) and bundled JS.
    let css = read(&ws.join("refapp/static/dist/css/main.css"));
    assert!(css.contains("body{") && css.contains("#3b2e7e"), "{css}");
    let js = read(&ws.join("refapp/static/dist/js/app.js"));
    assert!(
        js.contains("heroku-autoscale/heartbeat"),
        "the import was bundled: {js}"
    );

    // collectstatic hashed them into STATIC_ROOT with whitenoise's manifest and compressed copies.
    let m = manifest(&ws);
    let hashed_css = m["paths"]["dist/css/main.css"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(hashed_css.starts_with("dist/css/main.") && hashed_css != "dist/css/main.css");
    assert!(ws.join("staticfiles").join(&hashed_css).is_file());
    assert!(ws
        .join("staticfiles")
        .join(format!("{hashed_css}.gz"))
        .is_file());

    // Our manifest lists every compiled file with size and sha256.
    let ours: serde_json::Value =
        serde_json::from_str(&read(&ws.join(".slipway/asset-manifest.json"))).unwrap();
    let files = ours["files"].as_array().unwrap();
    let entry = files
        .iter()
        .find(|f| f["path"] == format!("staticfiles/{hashed_css}"))
        .unwrap_or_else(|| panic!("{ours}"));
    assert_eq!(
        entry["size"].as_u64().unwrap(),
        std::fs::metadata(ws.join("staticfiles").join(&hashed_css))
            .unwrap()
            .len()
    );
    assert_eq!(entry["sha256"].as_str().unwrap().len(), 64);

    // node_modules: nowhere in the app or the launch layers (the image), but in the cache.
    assert!(find_named(&ws, "node_modules").is_empty());
    assert!(find_named(&out.path().join("layers"), "node_modules").is_empty());
    assert!(out
        .path()
        .join("cache/slipway_static-assets/node_modules/node_modules/sass")
        .is_dir());

    // The web process serves the page with hashed URLs and whitenoise serves the file.
    let port = free_port();
    let mut child = Command::new(slipway())
        .args([
            "run",
            "web",
            "--image",
            &out.path().display().to_string(),
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let page = wait_for_http(
        &format!("http://127.0.0.1:{port}/assets/"),
        Duration::from_secs(30),
        &mut child,
    );
    let served = ureq::get(&format!("http://127.0.0.1:{port}/static/{hashed_css}"))
        .call()
        .map(|r| r.into_body().read_to_string().unwrap());
    sigterm(&child);
    wait_exit(&mut child, Duration::from_secs(30));
    assert!(page.contains(&format!("/static/{hashed_css}")), "{page}");
    assert_eq!(served.unwrap(), css);
}

#[test]
fn a_second_build_without_changes_skips_install_build_and_collectstatic() {
    require_python_modules(&["django", "whitenoise"]);
    let out = tempfile::tempdir().unwrap();
    build_ok(&fixture("refapp"), &group(), out.path(), &[]);
    let first = manifest(&out.path().join("workspace"));
    let ours_first = read(&out.path().join("workspace/.slipway/asset-manifest.json"));

    let r = build_ok(&fixture("refapp"), &group(), out.path(), &[]);
    assert!(r.stdout.contains("Inputs unchanged"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("skipped install, build and collectstatic"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("Running `"), "nothing ran: {}", r.stdout);
    let ws = out.path().join("workspace");
    assert_eq!(manifest(&ws), first, "the previous output was restored");
    assert_eq!(read(&ws.join(".slipway/asset-manifest.json")), ours_first);
    for f in first["paths"].as_object().unwrap().values() {
        assert!(ws.join("staticfiles").join(f.as_str().unwrap()).is_file());
    }
    assert!(find_named(&ws, "node_modules").is_empty());
}

#[test]
fn changing_one_scss_file_rebuilds_with_the_cached_node_modules() {
    require_python_modules(&["django", "whitenoise"]);
    let app = refapp_copy();
    let out = tempfile::tempdir().unwrap();
    build_ok(app.path(), &group(), out.path(), &[]);
    let before = manifest(&out.path().join("workspace"))["paths"]["dist/css/main.css"].clone();

    let colors = app.path().join("assets/scss/_colors.scss");
    std::fs::write(&colors, read(&colors).replace("#3b2e7e", "#0a7e3b")).unwrap();
    let r = build_ok(app.path(), &group(), out.path(), &[]);
    assert!(
        r.stdout.contains("changed assets/scss/_colors.scss"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Reusing node_modules from the cache"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("npm ci"),
        "install skipped: {}",
        r.stdout
    );
    assert!(r.stdout.contains("Running `gulp default`"), "{}", r.stdout);
    let ws = out.path().join("workspace");
    let after = manifest(&ws)["paths"]["dist/css/main.css"].clone();
    assert_ne!(before, after, "a new hashed name for the new content");
    assert!(read(&ws.join("staticfiles").join(after.as_str().unwrap())).contains("#0a7e3b"));
}

fn break_the_stylesheet(app: &Path) {
    let main = app.join("assets/scss/main.scss");
    std::fs::write(
        &main,
        read(&main).replace("colors.$brand", "colors.$no-such-colour"),
    )
    .unwrap();
}

#[test]
fn a_failing_gulp_task_fails_the_build_with_its_output_and_a_hint() {
    let app = refapp_copy();
    break_the_stylesheet(app.path());
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &group(), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("`gulp default` failed (exit status 1)"),
        "{}",
        r.all()
    );
    assert!(
        r.all().contains("Undefined variable"),
        "the tool's own output: {}",
        r.all()
    );
    assert!(
        r.all().contains("Run `gulp default` locally to reproduce"),
        "{}",
        r.all()
    );
    assert!(
        find_named(&out.path().join("workspace"), "node_modules").is_empty(),
        "node_modules went back to the cache"
    );
    assert!(out
        .path()
        .join("layers/slipway_static-assets/node_modules/node_modules/gulp")
        .is_dir());
}

#[test]
fn a_package_json_build_script_runs_instead_of_gulp_and_its_failure_fails_the_build() {
    let app = refapp_copy();
    let pkg = app.path().join("package.json");
    let with_script = read(&pkg).replace(
        "\"devDependencies\"",
        "\"scripts\": { \"build\": \"sass --no-source-map assets/scss:refapp/static/dist/css\" },\n  \"devDependencies\"",
    );
    std::fs::write(&pkg, with_script).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[packaged("static-assets")],
        out.path(),
        &["--env", "DISABLE_COLLECTSTATIC=1"],
    );
    assert!(
        r.stdout.contains("Running `npm run build`") && !r.stdout.contains("gulp default"),
        "{}",
        r.stdout
    );
    assert!(out
        .path()
        .join("workspace/refapp/static/dist/css/main.css")
        .is_file());

    break_the_stylesheet(app.path());
    let r = build(
        app.path(),
        &[packaged("static-assets")],
        out.path(),
        &["--env", "DISABLE_COLLECTSTATIC=1"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("`npm run build` failed (exit status"),
        "{}",
        r.all()
    );
    assert!(r.all().contains("Undefined variable"), "{}", r.all());
    assert!(
        r.all().contains("Run `npm run build` locally to reproduce"),
        "{}",
        r.all()
    );
}

/// The reference app's settings made strict, as EveryVoter's were: SECRET_KEY
/// and DATABASE_URL exist only at runtime. No Node build, to keep it short.
fn strict_settings_app(build_env: Option<&str>) -> tempfile::TempDir {
    let app = refapp_copy();
    std::fs::remove_file(app.path().join("package.json")).unwrap();
    let settings = app.path().join("refapp/settings.py");
    let text = read(&settings)
        .replace(
            "SECRET_KEY = os.environ.get(\"SECRET_KEY\", \"dev-only-not-secret\")",
            "SECRET_KEY = os.environ[\"SECRET_KEY\"]",
        )
        .replace(
            "    if os.environ.get(\"DATABASE_URL\")\n    else {\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": BASE_DIR / \"db.sqlite3\"}\n",
            "",
        );
    assert!(
        text.contains("os.environ[\"SECRET_KEY\"]") && !text.contains("db.sqlite3"),
        "{text}"
    );
    std::fs::write(&settings, text).unwrap();
    if let Some(table) = build_env {
        let project = app.path().join("project.toml");
        std::fs::write(
            &project,
            format!(
                "{}\n[_.metadata.slipway.assets]\nbuild-env = {table}\n",
                read(&project)
            ),
        )
        .unwrap();
    }
    app
}

#[test]
fn collectstatic_needing_runtime_secrets_builds_with_the_stand_ins_found_in_the_settings() {
    require_python_modules(&["django", "whitenoise"]);
    let app = strict_settings_app(None);
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(app.path(), &group(), out.path(), &[]);
    assert!(
        r.stdout.contains(
            "Build-time stand-ins for DATABASE_URL, SECRET_KEY: the settings read them at import with no default"
        ),
        "{}",
        r.stdout
    );
    assert!(
        !r.all().contains("build-time-stand-in"),
        "values are never printed"
    );
    assert!(out
        .path()
        .join("workspace/staticfiles/staticfiles.json")
        .is_file());
}

#[test]
fn collectstatic_needing_a_secret_read_through_a_name_fails_naming_the_variable_and_the_fix() {
    require_python_modules(&["django", "whitenoise"]);
    let app = strict_settings_app(None);
    // The name is not a literal at the read: no stand-in can be found.
    let settings = app.path().join("refapp/settings.py");
    let text = read(&settings).replace(
        "SECRET_KEY = os.environ[\"SECRET_KEY\"]",
        "_NAME = \"SECRET_KEY\"\nSECRET_KEY = os.environ[_NAME]",
    );
    std::fs::write(&settings, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &group(), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("your settings need the environment variable SECRET_KEY, which is not set at build time"),
        "{}",
        r.all()
    );
    assert!(
        r.all()
            .contains("build-env = { SECRET_KEY = \"placeholder\" }"),
        "{}",
        r.all()
    );
}

#[test]
fn collectstatic_needing_runtime_secrets_works_with_declared_placeholders() {
    require_python_modules(&["django", "whitenoise"]);
    let app = strict_settings_app(Some(
        "{ SECRET_KEY = \"build-only-placeholder\", DATABASE_URL = \"postgres://build:unused@127.0.0.1:1/build\" }",
    ));
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(app.path(), &group(), out.path(), &[]);
    assert!(
        r.stdout
            .contains("Build-time stand-ins from project.toml: DATABASE_URL, SECRET_KEY"),
        "{}",
        r.stdout
    );
    assert!(
        !r.all().contains("build-only-placeholder"),
        "values are never printed"
    );
    assert!(out
        .path()
        .join("workspace/staticfiles/staticfiles.json")
        .is_file());

    // A real value given at build time wins over the stand-in.
    let r = build_ok(
        app.path(),
        &group(),
        out.path(),
        &["--env", "SECRET_KEY=from-the-platform", "--clear-cache"],
    );
    assert!(
        r.stdout
            .contains("Build-time stand-ins from project.toml: DATABASE_URL ("),
        "{}",
        r.stdout
    );
}

#[test]
fn disable_collectstatic_skips_it_as_on_heroku() {
    let app = strict_settings_app(None);
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &group(),
        out.path(),
        &["--env", "DISABLE_COLLECTSTATIC=1"],
    );
    assert!(
        r.stdout
            .contains("Skipping collectstatic (DISABLE_COLLECTSTATIC is set)"),
        "{}",
        r.stdout
    );
    assert!(!out.path().join("workspace/staticfiles").exists());
}

#[test]
fn collectstatic_on_release_is_handed_to_release_phase_and_runs_there() {
    require_python_modules(&["django", "whitenoise"]);
    let app = refapp_copy();
    std::fs::remove_file(app.path().join("package.json")).unwrap();
    let project = app.path().join("project.toml");
    std::fs::write(
        &project,
        format!(
            "{}\n[_.metadata.slipway.assets]\ncollectstatic = \"release\"\n",
            read(&project)
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[
            packaged("release-phase"),
            packaged("static-assets"),
            packaged("process-table"),
        ],
        out.path(),
        &[],
    );
    assert!(
        r.stdout
            .contains("Handed `python manage.py collectstatic --noinput` to slipway/release-phase"),
        "{}",
        r.stdout
    );
    assert!(
        !out.path().join("workspace/staticfiles").exists(),
        "not collected at build time"
    );
    let commands = read(
        &out.path()
            .join("layers/slipway_release-phase/release-phase/release-commands.toml"),
    );
    assert!(
        commands.contains("collectstatic") && commands.contains("slipway/static-assets"),
        "{commands}"
    );

    let rel = slipway_cmd(&[
        "run",
        "release",
        "--image",
        &out.path().display().to_string(),
    ]);
    assert_eq!(rel.code, 0, "{}", rel.all());
    assert!(rel.all().contains("static files copied"), "{}", rel.all());

    // Without release-phase before it, the build says how to get it run.
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[packaged("static-assets"), packaged("release-phase")],
        out.path(),
        &[],
    );
    assert!(
        r.all()
            .contains("no slipway/release-phase runs before slipway/static-assets"),
        "{}",
        r.all()
    );
}

#[test]
fn a_missing_node_says_which_buildpack_to_add() {
    let out = tempfile::tempdir().unwrap();
    let r = build(
        &fixture("refapp"),
        &group(),
        out.path(),
        &["--env", "PATH=/nonexistent"],
    );
    assert_ne!(r.code, 0);
    assert!(r.all().contains("`node` is not on PATH"), "{}", r.all());
    assert!(
        r.all()
            .contains("Add heroku/nodejs before slipway/static-assets"),
        "{}",
        r.all()
    );
}

#[test]
fn the_classic_api_builds_assets_and_keeps_node_modules_in_the_cache_dir() {
    require_python_modules(&["django", "whitenoise"]);
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(&fixture("refapp"), &group(), out.path(), &["--classic"]);
    assert!(r.stdout.contains("Running `gulp default`"), "{}", r.stdout);
    let ws = out.path().join("workspace");
    assert!(manifest(&ws)["paths"]["dist/css/main.css"].is_string());
    assert!(find_named(&ws, "node_modules").is_empty());
    let r = build_ok(&fixture("refapp"), &group(), out.path(), &["--classic"]);
    assert!(r.stdout.contains("Inputs unchanged"), "{}", r.stdout);
}

/// yarn and pnpm projects, with the real tools (scripts/bootstrap installs them).
fn package_manager_project_builds_in_herokus_order(pm: &str, install: &str) {
    let found = Command::new(pm)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{pm}` is not on PATH: scripts/bootstrap installs it (npm install -g {pm})"
    );
    let out = tempfile::tempdir().unwrap();
    let app = fixture(&format!("assets-{pm}"));
    let r = build_ok(&app, &[packaged("static-assets")], out.path(), &[]);
    assert!(
        r.stdout.contains(&format!("Running `{install}`")),
        "{}",
        r.stdout
    );
    let ws = out.path().join("workspace");
    assert_eq!(
        read(&ws.join("build-order.txt")),
        "heroku-prebuild\nbuild\nheroku-postbuild\n",
        "prebuild before the install, then build, then postbuild"
    );
    assert!(read(&ws.join("public/css/site.css")).contains("margin-top: 1rem"));
    assert!(find_named(&ws, "node_modules").is_empty());
    let r = build_ok(&app, &[packaged("static-assets")], out.path(), &[]);
    assert!(r.stdout.contains("Inputs unchanged"), "{}", r.stdout);
    assert_eq!(
        read(&ws.join("build-order.txt")),
        "heroku-prebuild\nbuild\nheroku-postbuild\n"
    );
}

#[test]
fn a_yarn_lock_installs_with_yarn_frozen_and_runs_the_script_sequence() {
    package_manager_project_builds_in_herokus_order(
        "yarn",
        "yarn install --frozen-lockfile --production=false --non-interactive",
    );
}

#[test]
fn a_pnpm_lock_installs_with_pnpm_frozen_and_runs_the_script_sequence() {
    package_manager_project_builds_in_herokus_order(
        "pnpm",
        "pnpm install --frozen-lockfile --prod=false",
    );
}

/// A diagnosis a real app needs, from a real failing install or build:
/// the error's headline, as the build prints it.
fn headline_of_failed_build(fixture_name: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let r = build(
        &fixture(fixture_name),
        &[packaged("static-assets")],
        out.path(),
        &[],
    );
    assert_ne!(r.code, 0, "{fixture_name} should fail:\n{}", r.all());
    r.all()
}

#[test]
fn a_lockfile_pinning_a_version_the_registry_does_not_serve_fails_naming_package_version_lockfile_and_fix(
) {
    let all = headline_of_failed_build("assets-404");
    assert!(
        all.contains(
            "the registry no longer serves left-pad@99.99.99, which package-lock.json pins"
        ),
        "{all}"
    );
    assert!(
        all.contains("npm view left-pad versions") && all.contains("npm install left-pad@"),
        "{all}"
    );
    // npm asked the machine's mirror (npm_config_registry in the build env,
    // as every build here has it), not the registry on the internet.
    let asked = format!(
        "GET {}left-pad/-/left-pad-99.99.99.tgz",
        slipway_e2e::npm_mirror()
    );
    assert!(all.contains(&asked), "{all}");
}

#[test]
fn gulp_3_on_this_node_fails_with_what_why_and_the_fix() {
    let all = headline_of_failed_build("assets-gulp3");
    assert!(
        all.contains("gulp 3 does not run on this Node.js (\"primordials is not defined\""),
        "{all}"
    );
    assert!(all.contains("npm install --save-dev gulp@5"), "{all}");
}

#[test]
fn node_sass_that_cannot_build_fails_with_what_why_and_the_fix() {
    let all = headline_of_failed_build("assets-node-sass");
    assert!(
        all.contains("node-sass cannot be built for this Node.js"),
        "{all}"
    );
    assert!(all.contains("npm install --save-dev sass"), "{all}");
}
