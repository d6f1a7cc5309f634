//! `slipway/suite` with its neighbours as they really behave: heroku/nodejs
//! and heroku/python are contract doubles (tests/doubles, each citing the
//! upstream files it mirrors), the suite is the packaged composite, and
//! `slipway build` runs it as the lifecycle does (optional members, plan
//! resolution across them), as the README's recipe says.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::{
    copy_dir, doubles, fixture, image_process_types, packaged, ran, require_python_modules, root,
    seven_types_release_and_autoscale, slipway,
};
use std::path::Path;
use std::process::{Command, Stdio};

/// `slipway build APP --buildpack <packaged slipway_suite> --map ...` (the README's recipe).
fn build_suite(app: &Path, out: &Path, extra: &[&str]) -> slipway_e2e::Ran {
    let mut cmd = Command::new(slipway());
    cmd.arg("build")
        .arg(app)
        .arg("--out")
        .arg(out)
        .arg("--buildpack")
        .arg(packaged("suite"))
        .args(doubles())
        .args(slipway_e2e::mirror_flags())
        .args(extra)
        .stdin(Stdio::null());
    ran(&cmd.output().expect("run slipway build"))
}

fn group(image: &Path) -> Vec<String> {
    let t: toml::Table =
        toml::from_str(&std::fs::read_to_string(image.join("layers/group.toml")).unwrap()).unwrap();
    t["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_django_celery_app_with_a_plain_procfile_and_no_slugignore_or_project_toml_builds_through_the_suite(
) {
    require_python_modules(&["django", "celery"]);
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(&fixture("celery-procfile"), out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    // The optional members with nothing to do left the group, as the lifecycle drops them.
    assert_eq!(
        group(out.path()),
        [
            "slipway/release-phase",
            "heroku/python",
            "slipway/process-table",
            "slipway/slug-size"
        ]
    );
    assert!(
        r.all().contains("4 of 7 buildpacks participating"),
        "{}",
        r.all()
    );
    assert_eq!(
        image_process_types(out.path()),
        seven_types_release_and_autoscale()
    );
    // The doubles' pip installed from the wheelhouse, never from PyPI
    // (pip's own line naming where it looked).
    let looked = format!("Looking in links: {}", slipway_e2e::wheelhouse().display());
    assert!(
        r.all().contains(&looked) && !r.all().contains("Looking in indexes"),
        "{}",
        r.all()
    );
}

/// The seed's failure ("set DISABLE_COLLECTSTATIC or your slug will fail to
/// compile"): settings that read SECRET_KEY and DATABASE_URL at import, and
/// heroku/python running collectstatic itself. DISABLE_COLLECTSTATIC=1 turns
/// off only Slipway's own collectstatic (heroku/python has no opt-out), so
/// the one that runs is heroku/python's.
#[test]
fn an_app_whose_settings_need_secrets_at_import_builds_with_hashed_assets_from_one_node_build() {
    require_python_modules(&["django"]);
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(
        &fixture("secrets-app"),
        out.path(),
        &["--env", "DISABLE_COLLECTSTATIC=1"],
    );
    let all = r.all();
    assert_eq!(r.code, 0, "{all}");
    assert_eq!(
        group(out.path()),
        [
            "heroku/nodejs",
            "slipway/release-phase",
            "slipway/static-assets",
            "heroku/python",
            "slipway/process-table",
            "slipway/slug-size"
        ]
    );
    let workspace = out.path().join("workspace");
    // The Node build ran once: heroku/nodejs installed and ran no script.
    assert_eq!(
        std::fs::read_to_string(workspace.join("build-runs.txt")).unwrap(),
        "build\n"
    );
    assert!(
        all.contains("Not running `build` as it was disabled by a participating buildpack"),
        "{all}"
    );
    // heroku/python's collectstatic imported the settings with the stand-ins
    // and collected the Node build's output, hashed.
    assert!(all.contains("Running 'manage.py collectstatic'"), "{all}");
    let manifest = std::fs::read_to_string(workspace.join("staticfiles/staticfiles.json")).unwrap();
    let hashed = serde_json::from_str::<serde_json::Value>(&manifest).unwrap()["paths"]["app.css"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        hashed.starts_with("app.") && hashed.len() > "app..css".len() + 8,
        "{hashed}"
    );
    assert!(workspace.join("staticfiles").join(&hashed).is_file());
    // The stand-ins never appear in the output, and never in the image.
    assert!(!all.contains("build-only-stand-in-not-a-secret"), "{all}");
    for entry in walkdir::WalkDir::new(out.path().join("layers")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&text).contains("build-only-stand-in-not-a-secret"),
                "{} holds the stand-in",
                entry.path().display()
            );
        }
    }
}

#[test]
fn a_variable_read_through_a_name_no_stand_in_finds_fails_in_heroku_pythons_collectstatic_naming_it(
) {
    require_python_modules(&["django"]);
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("secrets-app"), app.path());
    std::fs::remove_file(app.path().join("project.toml")).unwrap();
    // The name is not a literal at the read: no stand-in can be inferred.
    let settings = app.path().join("shop/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "SECRET_KEY = os.environ[\"SECRET_KEY\"]",
        "_SECRET = \"SECRET_KEY\"\nSECRET_KEY = os.environ[_SECRET]",
    );
    std::fs::write(&settings, text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(
        app.path(),
        out.path(),
        &["--env", "DISABLE_COLLECTSTATIC=1"],
    );
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains("KeyError: 'SECRET_KEY'")
            && r.all().contains("Unable to inspect Django configuration"),
        "{}",
        r.all()
    );
}

/// The README's `project.toml` recipe, as written there, run by `slipway build`
/// without `--buildpack`: the group from project.toml, ids mapped to directories.
#[test]
fn the_readmes_project_toml_group_builds_the_reference_app() {
    require_python_modules(&["django", "celery", "whitenoise"]);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- project.toml recipe -->")
        .expect("the README marks its project.toml recipe");
    let block = &readme[start..];
    let toml_start = block.find("```toml\n").unwrap() + "```toml\n".len();
    let recipe = &block[toml_start..toml_start + block[toml_start..].find("```").unwrap()];
    let app = slipway_e2e::refapp_copy();
    let project = app.path().join("project.toml");
    let mut text = std::fs::read_to_string(&project).unwrap();
    text.push('\n');
    text.push_str(recipe.trim_start_matches("[_]\nschema-version = \"0.2\"\n"));
    std::fs::write(&project, text).unwrap();

    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(slipway());
    cmd.arg("build")
        .arg(app.path())
        .arg("--out")
        .arg(out.path())
        .arg("--map")
        .arg(format!("slipway/suite={}", packaged("suite").display()))
        .args(doubles())
        .args(slipway_e2e::mirror_flags())
        .stdin(Stdio::null());
    let r = ran(&cmd.output().unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(group(out.path())[0], "slipway/slugignore");
    assert!(image_process_types(out.path()).contains(&"worker_high_memory".to_string()));
}

/// Through the suite, heroku/nodejs (the double, at v5.7.4's semantics)
/// installs; static-assets runs the build with a tool that is only a
/// devDependency, then prunes: the image has the output and not the tool.
/// static-assets' requirement says `enabled = false` (no build scripts in
/// heroku/nodejs) and `skip_pruning = true` (heroku/nodejs would otherwise
/// prune before the build that needs them).
fn builds_with_a_dev_only_tool_and_ships_without_it(
    app: &Path,
    extra: &[&str],
    output: &str,
    tools: &[&str],
) {
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(app, out.path(), extra);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.all()
            .contains("Skipping as pruning was disabled by a participating buildpack"),
        "heroku/nodejs left pruning to static-assets: {}",
        r.all()
    );
    let ws = out.path().join("workspace");
    assert!(ws.join(output).exists(), "{output} built: {}", r.all());
    for tool in tools {
        assert!(
            !ws.join("node_modules").join(tool).exists(),
            "the devDependency {tool} is not in the image: {}",
            r.all()
        );
    }
}

#[test]
fn a_yarn_app_builds_its_assets_with_a_dev_only_sass_and_ships_without_it() {
    builds_with_a_dev_only_tool_and_ships_without_it(
        &fixture("assets-yarn"),
        &[],
        "public/css/site.css",
        &["sass"],
    );
}

#[test]
fn a_pnpm_app_builds_its_assets_with_a_dev_only_sass_and_ships_without_it() {
    builds_with_a_dev_only_tool_and_ships_without_it(
        &fixture("assets-pnpm"),
        &[],
        "public/css/site.css",
        &["sass"],
    );
}

#[test]
fn an_npm_app_built_with_node_env_production_builds_its_assets_with_dev_only_gulp_and_ships_without_it(
) {
    // With NODE_ENV=production, heroku/nodejs's `npm ci` leaves the
    // devDependencies out; static-assets installs them for the build.
    let app = slipway_e2e::refapp_copy();
    builds_with_a_dev_only_tool_and_ships_without_it(
        app.path(),
        &["-e", "NODE_ENV=production"],
        "staticfiles/staticfiles.json",
        &["gulp", "sass"],
    );
}

/// The seed's complaint, with nothing declared: settings that read SECRET_KEY
/// and DATABASE_URL at import build through the suite; static-assets finds
/// the reads and exports build-only stand-ins, named in the log, never their
/// values, never in the image.
#[test]
fn an_app_whose_settings_read_secrets_at_import_builds_with_no_configuration() {
    require_python_modules(&["django"]);
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("secrets-app"), app.path());
    std::fs::remove_file(app.path().join("project.toml")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(app.path(), out.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains(
            "Build-time stand-ins for DATABASE_URL, SECRET_KEY: the settings read them at import"
        ),
        "{}",
        r.all()
    );
    assert!(
        !r.all().contains("build-time-stand-in"),
        "values never printed: {}",
        r.all()
    );
    let manifest = out.path().join("workspace/staticfiles/staticfiles.json");
    let manifest =
        std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{e}: {}", r.all()));
    assert!(manifest.contains(".css"), "hashed assets: {manifest}");
    // Build only: no file of the image (layers, launch env, app) holds a value.
    let found = Command::new("grep")
        .args(["-rl", "build-time-stand-in"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        found.stdout.is_empty(),
        "stand-in values in the image: {}",
        String::from_utf8_lossy(&found.stdout)
    );
}

/// A real value wins over an inferred stand-in.
#[test]
fn a_value_the_build_sets_is_never_replaced_by_a_stand_in() {
    require_python_modules(&["django"]);
    let app = tempfile::tempdir().unwrap();
    copy_dir(&fixture("secrets-app"), app.path());
    std::fs::remove_file(app.path().join("project.toml")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_suite(
        app.path(),
        out.path(),
        &["--env", "SECRET_KEY=set-by-the-platform"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.all()
            .contains("Build-time stand-ins for DATABASE_URL: the settings"),
        "{}",
        r.all()
    );
}
