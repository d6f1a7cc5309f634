//! The top-level `.buildpacks` and `heroku.yml` are real examples of how an
//! app references Slipway. These tests keep them true.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::root;

fn buildpack_dirs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("buildpacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn dot_buildpacks_lists_one_url_per_line_and_every_slipway_entry_exists() {
    let text = std::fs::read_to_string(root().join(".buildpacks")).unwrap();
    let existing = buildpack_dirs();
    let mut slipway = Vec::new();
    for line in text.lines() {
        assert!(!line.trim().is_empty() && !line.starts_with('#'), "heroku-buildpack-multi reads every word as a URL: no comments or blank lines: {line:?}");
        assert_eq!(
            line.split_whitespace().count(),
            1,
            "one URL per line: {line:?}"
        );
        if let Some(name) = line
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_suffix(".tgz"))
            .and_then(|f| f.strip_prefix("slipway-"))
        {
            assert!(
                existing.contains(&name.to_string()),
                ".buildpacks names slipway-{name}.tgz but buildpacks/{name} does not exist"
            );
            slipway.push(name.to_string());
        }
    }
    assert!(
        slipway.contains(&"process-table".to_string()),
        "the example references the process-table buildpack"
    );
}

#[test]
fn heroku_yml_runs_the_reference_apps_process_table() {
    let text = std::fs::read_to_string(root().join("heroku.yml")).unwrap();
    let yml = procfile::HerokuYml::parse("heroku.yml", &text);
    assert!(yml.diagnostics.is_empty(), "{:?}", yml.diagnostics);
    let table = procfile::load(&slipway_e2e::fixture("refapp"))
        .unwrap()
        .table;
    let mut want: Vec<(String, String)> = table
        .processes
        .iter()
        .filter(|p| p.name != "release")
        .map(|p| (p.name.clone(), p.command.clone()))
        .collect();
    want.push(("autoscale".into(), "release-phase autoscale".into()));
    assert_eq!(
        yml.run, want,
        "heroku.yml `run:` matches `slipway processes tests/fixtures/refapp --format heroku-yml`, plus autoscale"
    );
    assert!(yml.release.is_some(), "heroku.yml has a release: section");
}
