//! What users reference: the packaged buildpacks (`cargo libcnb package`,
//! through scripts/package), the `slipway/suite` composite, and the classic
//! `.tgz` form `.buildpacks` names. `pack` is not on this machine, so the
//! packaged output is checked the way `pack` and the lifecycle read it.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn toml_of(path: &Path) -> toml::Table {
    toml::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The composite's group, in order: (id, version, optional).
fn suite_group() -> Vec<(String, String, bool)> {
    let bp = toml_of(&packaged("suite").join("buildpack.toml"));
    let order = bp["order"].as_array().expect("[[order]]");
    assert_eq!(order.len(), 1, "one group: the order that works");
    order[0]["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_string(),
                g["version"].as_str().unwrap().to_string(),
                g.get("optional")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn every_packaged_buildpack_is_what_the_lifecycle_and_heroku_expect() {
    for name in [
        "slugignore",
        "release-phase",
        "static-assets",
        "process-table",
        "slug-size",
    ] {
        let dir = packaged(name);
        let bp = toml_of(&dir.join("buildpack.toml"));
        assert_eq!(bp["api"].as_str(), Some("0.10"), "{name}");
        assert_eq!(
            bp["buildpack"]["id"].as_str(),
            Some(format!("slipway/{name}").as_str())
        );
        let source = toml_of(&root().join("buildpacks").join(name).join("buildpack.toml"));
        assert_eq!(
            bp["buildpack"]["version"], source["buildpack"]["version"],
            "{name}"
        );
        let targets = bp["targets"].as_array().expect("[[targets]]");
        assert!(
            targets
                .iter()
                .any(|t| t["os"].as_str() == Some("linux") && t["arch"].as_str() == Some("amd64")),
            "{name}: linux/amd64 target"
        );
        for bin in ["detect", "build", "compile", "release"] {
            assert!(
                executable(&dir.join("bin").join(bin)),
                "{name}: bin/{bin} is executable"
            );
        }
    }
}

#[test]
fn the_suite_composite_orders_every_slipway_buildpack_around_the_languages_and_each_reference_resolves(
) {
    let group = suite_group();
    let ids: Vec<&str> = group.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "slipway/slugignore",
            "heroku/nodejs",
            "slipway/release-phase",
            "slipway/static-assets",
            "heroku/python",
            "slipway/process-table",
            "slipway/slug-size"
        ]
    );
    assert!(
        group
            .iter()
            .all(|(id, _, optional)| *optional == (id != "slipway/slug-size")),
        "all optional but slug-size, which always measures: {group:?}"
    );
    let dir = packaged("suite");
    assert!(!dir.join("bin").exists(), "a composite has no executables");
    // libcnb-cargo rewrote the libcnb: references to the packaged directories.
    let package = toml_of(&dir.join("package.toml"));
    let deps: Vec<&str> = package["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        deps.len(),
        group.len(),
        "one dependency per group entry: {deps:?}"
    );
    for (id, version, _) in &group {
        if let Some(name) = id.strip_prefix("slipway/") {
            let found = deps.iter().find_map(|uri| {
                let path = dir.join(uri.trim_start_matches("file://"));
                let bp = path.join("buildpack.toml");
                (bp.is_file() && toml_of(&bp)["buildpack"]["id"].as_str() == Some(id))
                    .then_some(path)
            });
            let path: PathBuf =
                found.unwrap_or_else(|| panic!("{id}: no dependency resolves to it: {deps:?}"));
            assert_eq!(
                toml_of(&path.join("buildpack.toml"))["buildpack"]["version"].as_str(),
                Some(version.as_str()),
                "{id}: the order pins the packaged version"
            );
            assert_eq!(
                std::fs::canonicalize(&path).unwrap(),
                std::fs::canonicalize(packaged(name)).unwrap()
            );
        } else {
            let image = format!(
                "docker://docker.io/heroku/buildpack-{}:{version}",
                id.trim_start_matches("heroku/")
            );
            assert!(
                deps.contains(&image.as_str()),
                "{id} {version} comes from {image}: {deps:?}"
            );
        }
    }
}

#[test]
fn dot_buildpacks_lists_the_classic_tgzs_in_the_suites_order() {
    let group: Vec<String> = suite_group()
        .into_iter()
        .map(|(id, _, _)| {
            id.replace("slipway/", "slipway-")
                .replace("heroku/", "heroku-buildpack-")
        })
        .collect();
    let text = std::fs::read_to_string(root().join(".buildpacks")).unwrap();
    let listed: Vec<String> = text
        .lines()
        .map(|l| {
            l.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".tgz")
                .to_string()
        })
        .collect();
    assert_eq!(listed, group, ".buildpacks follows slipway/suite's order");
    // And the README's `heroku buildpacks:add` list is the same order.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let added: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("heroku buildpacks:add "))
        .filter(|l| !l.starts_with("--index"))
        .map(|l| {
            l.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".tgz")
                .replace("nodejs", "heroku-buildpack-nodejs")
                .replace("python", "heroku-buildpack-python")
                .replace("heroku/", "")
        })
        .collect();
    assert_eq!(
        added, group,
        "README's heroku buildpacks:add list follows the suite's order"
    );
}

#[test]
fn the_classic_tgzs_unpack_to_heroku_buildpacks_that_build_the_reference_app() {
    let tgz = tempfile::tempdir().unwrap();
    let out = Command::new(root().join("scripts/package"))
        .arg("--classic-tgz")
        .arg(tgz.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(tgz.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "slipway-process-table.tgz",
            "slipway-release-phase.tgz",
            "slipway-slug-size.tgz",
            "slipway-slugignore.tgz",
            "slipway-static-assets.tgz"
        ]
    );
    // As heroku-buildpack-multi does: unpack each URL's archive into a directory, in .buildpacks order.
    let unpacked = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for line in std::fs::read_to_string(root().join(".buildpacks"))
        .unwrap()
        .lines()
    {
        let Some(file) = line
            .rsplit('/')
            .next()
            .filter(|f| f.strip_suffix(".tgz").is_some())
        else {
            continue; // Heroku's own classic buildpacks: python and node come from this machine
        };
        let dir = unpacked.path().join(file.trim_end_matches(".tgz"));
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("tar")
            .arg("-xzf")
            .arg(tgz.path().join(file))
            .arg("-C")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success());
        for bin in ["detect", "compile", "release"] {
            assert!(executable(&dir.join("bin").join(bin)), "{file}: bin/{bin}");
        }
        dirs.push(dir);
    }
    require_python_modules(&["django", "celery", "gunicorn"]);
    let app = refapp_copy();
    let image = tempfile::tempdir().unwrap();
    let r = build_ok(app.path(), &dirs, image.path(), &["--classic=multi"]);
    for header in ["process table", "slug"] {
        assert!(
            r.all().to_lowercase().contains(header),
            "{header}: {}",
            r.all()
        );
    }
    // The generated types, release and autoscale reach the release through the slug's Procfile.
    assert_eq!(
        image_process_types(image.path()),
        seven_types_release_and_autoscale(),
        "{}",
        r.all()
    );
}

#[test]
fn the_neighbours_pinned_in_neighbours_toml_are_the_ones_the_suite_the_doubles_and_the_readme_name()
{
    let pins = toml_of(&root().join("neighbours.toml"));
    let group = suite_group();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let doubles_readme = std::fs::read_to_string(root().join("tests/doubles/README.md")).unwrap();
    for (key, pin) in &pins {
        let id = pin["id"].as_str().unwrap();
        let version = pin["version"].as_str().unwrap();
        if pin.get("api").and_then(toml::Value::as_str) == Some("classic") {
            // Heroku's classic buildpacks: the double's scripts, the README and
            // the doubles' README name the tag they follow.
            let compile = std::fs::read_to_string(
                root()
                    .join(pin["double"].as_str().unwrap())
                    .join("bin/compile"),
            )
            .unwrap();
            assert!(
                compile.contains(&format!("{key} at tag {version}")),
                "the double's bin/compile names {key} {version}"
            );
            assert!(
                readme.contains(&format!("{key} {version}")),
                "README.md names {key} {version}"
            );
            assert!(
                doubles_readme.contains(&format!("({version})")),
                "tests/doubles/README.md names {key}'s version {version}"
            );
            continue;
        }
        assert!(
            group.iter().any(|(i, v, _)| i == id && v == version),
            "buildpacks/suite/buildpack.toml pins {id} {version} (neighbours.toml [{key}]): {group:?}"
        );
        let double = toml_of(
            &root()
                .join(pin["double"].as_str().unwrap())
                .join("buildpack.toml"),
        );
        assert_eq!(
            (
                double["buildpack"]["id"].as_str(),
                double["buildpack"]["version"].as_str()
            ),
            (Some(id), Some(version)),
            "the double of {id} is at the pinned version"
        );
        assert!(
            readme.contains(&format!("`{id}` ({version})")),
            "README.md names {id} ({version})"
        );
        assert!(
            doubles_readme.contains(&format!("({version})")),
            "tests/doubles/README.md names {id}'s version {version}"
        );
    }
}

/// The README's contents line names every `## ` section, in order, with the
/// anchor GitHub gives it: a newcomer's map stays true as sections change.
#[test]
fn the_readmes_contents_line_lists_every_section_in_order() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let contents = readme
        .lines()
        .find(|l| l.starts_with("**Contents:** "))
        .expect("a **Contents:** line near the top of README.md");
    let anchor = |h: &str| {
        h.trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
            .collect::<String>()
            .replace(' ', "-")
    };
    let expected: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| format!("[{h}](#{})", anchor(h)))
        .collect();
    assert_eq!(
        contents.trim_start_matches("**Contents:** "),
        expected.join(" · ")
    );
}
