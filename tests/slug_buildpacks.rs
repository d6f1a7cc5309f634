//! `slipway/slugignore` first and `slipway/slug-size` last, through `slipway build`.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::path::Path;

fn files(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(root, root);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(root, &p));
        } else {
            out.push(p.strip_prefix(root).unwrap().display().to_string());
        }
    }
    out
}

fn group() -> Vec<std::path::PathBuf> {
    vec![
        packaged("slugignore"),
        packaged("process-table"),
        packaged("slug-size"),
    ]
}

#[test]
fn slugignore_removes_exactly_what_its_patterns_match() {
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(&fixture("slugignore-app"), &group(), out.path(), &[]);
    assert!(
        r.stdout
            .contains("Deleting 7 files matching .slugignore patterns"),
        "{}",
        r.stdout
    );
    assert_eq!(
        files(&out.path().join("workspace")),
        [".slugignore", "Procfile", "app/tests/keep.txt", "docs/guide.md", "root.map", "src/js/app.js"],
        "*.psd and *.log at any depth, /tests only at the root, docs/api anchored, /src/**/*.map at every depth under src"
    );
    assert!(
        fixture("slugignore-app")
            .join("tests/unit/test_x.py")
            .exists(),
        "the app itself is never touched, only the build's copy"
    );
}

#[test]
fn a_negation_line_fails_the_build_naming_the_line() {
    let out = tempfile::tempdir().unwrap();
    let r = build(&fixture("slugignore-negation"), &group(), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(r.all().contains(".slugignore:2: `!important.log`: negation with `!` is not supported by Heroku's .slugignore"), "{}", r.all());
}

#[test]
fn slug_size_measures_the_app_and_every_launch_layer() {
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        &fixture("refapp"),
        &[
            packaged("process-table"),
            packaged("release-phase"),
            packaged("slug-size"),
        ],
        out.path(),
        &[],
    );
    // process-table's table, release-phase's binary and its heartbeat app.
    assert!(
        r.stdout.contains("Measuring the app and 3 launch layer(s)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  - Compressing") && r.stdout.contains("s)\n- Done: "),
        "a timer on the long step: {}",
        r.stdout
    );
}

#[test]
fn over_the_soft_limit_the_build_warns_with_the_report() {
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        &fixture("slugignore-app"),
        &group(),
        out.path(),
        &["--env", "SLUG_SIZE_SOFT_LIMIT=100"],
    );
    assert!(r.all().contains("Warning: Your slug size (0 MB) exceeds our soft limit (0 MB) which may affect boot time."), "{}", r.all());
    assert!(
        r.stdout.contains("Largest directories (compressed ~ raw):"),
        "{}",
        r.stdout
    );
}

#[test]
fn over_the_hard_limit_the_build_fails_and_says_what_to_cut() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("Procfile"), "web: ./serve\n").unwrap();
    std::fs::create_dir_all(app.path().join("docs")).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(app.path().join("docs/manual.pdf"), noise).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(
        app.path(),
        &[packaged("process-table"), packaged("slug-size")],
        out.path(),
        &["--env", "SLUG_SIZE_LIMIT=100K"],
    );
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains("Compiled slug size: ")
            && r.all().contains("is too large (max is 100.0K)"),
        "{}",
        r.all()
    );
    assert!(
        r.stdout.contains("/docs") && r.stdout.contains("*.pdf"),
        "the report names what to cut: {}",
        r.stdout
    );
}

#[test]
fn the_classic_api_applies_slugignore_and_project_toml_excludes() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join(".slugignore"), "*.psd\n").unwrap();
    std::fs::write(app.path().join("project.toml"), "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nexclude = [\"notes\", \"*.md\", \"!README.md\"]\n").unwrap();
    std::fs::write(app.path().join("Procfile"), "web: ./serve\n").unwrap();
    for f in ["a.psd", "notes", "CHANGES.md", "README.md"] {
        std::fs::write(app.path().join(f), "x").unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(app.path(), &group(), out.path(), &["--classic"]);
    assert!(
        r.stdout
            .contains("Also applying project.toml [io.buildpacks] exclude (3 patterns)"),
        "{}",
        r.stdout
    );
    assert_eq!(
        files(&out.path().join("workspace"))
            .into_iter()
            .filter(|f| !f.starts_with(".slipway") && !f.starts_with(".profile.d"))
            .collect::<Vec<_>>(),
        [".slugignore", "Procfile", "README.md", "project.toml"]
    );
}
