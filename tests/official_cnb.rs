//! Slipway's buildpacks on the official Cloud Native Buildpacks tools, and
//! `slipway build` checked against them.
//!
//! - `pack buildpack package --format file` (pack v0.40.0) accepts every
//!   packaged Slipway buildpack and the suite composite, and the `.cnb`
//!   files carry the id, version, API, targets and order of `buildpack.toml`.
//! - The official lifecycle (v0.21.0), driven phase by phase by
//!   `slipway build --lifecycle` (analyzer, detector, restorer, builder,
//!   exporter to an OCI image layout), builds the reference app and the
//!   process-table fixtures; the image runs with `slipway run`.
//! - Differential: the same inputs through `slipway build` and the official
//!   lifecycle agree on the detected group, what each buildpack receives from
//!   the build plan, the launch processes, the launch layers' metadata and
//!   env, and what the second build restores from the cache.
//!
//! The tools are built by `scripts/official-cnb-tools` (called by
//! scripts/bootstrap); without Go or the module proxy these tests fail, naming
//! what is missing.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::{
    docker_daemon_answers, fixture, official_tools, packaged, ran, slipway, write_exec,
};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The reference app's buildpacks, in slipway/suite's order (its Slipway members).
const REFAPP_ORDER: [&str; 5] = [
    "slugignore",
    "release-phase",
    "static-assets",
    "process-table",
    "slug-size",
];

fn buildpacks(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| packaged(n)).collect()
}

/// `slipway build APP -b ... --out OUT [--lifecycle DIR]` with the machine's
/// mirrors, asserting success; its output.
fn build(app: &Path, bps: &[PathBuf], out: &Path, official: bool) -> String {
    build_with(app, bps, out, official, &[])
}

fn build_with(app: &Path, bps: &[PathBuf], out: &Path, official: bool, extra: &[String]) -> String {
    let mut cmd = Command::new(slipway());
    cmd.arg("build")
        .arg(app)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::null());
    for b in bps {
        cmd.arg("--buildpack").arg(b);
    }
    if official {
        cmd.arg("--lifecycle").arg(&official_tools().lifecycle_dir);
    }
    cmd.args(slipway_e2e::mirror_flags()).args(extra);
    let r = ran(&cmd.output().expect("run slipway build"));
    assert_eq!(
        r.code,
        0,
        "slipway build{} failed:\n{}",
        if official { " --lifecycle" } else { "" },
        r.all()
    );
    r.all()
}

// ---------------------------------------------------------------- pack ---

/// The config blob of the single image in an OCI layout `.cnb` file.
fn cnb_config(cnb: &Path) -> serde_json::Value {
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(cnb).expect("open .cnb"));
    for entry in archive.entries().expect("a tar archive") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("path")
            .to_string_lossy()
            .trim_start_matches('/')
            .to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        blobs.insert(name, data);
    }
    let json = |name: &str| -> serde_json::Value {
        serde_json::from_slice(
            blobs
                .get(name)
                .unwrap_or_else(|| panic!("{} has no {name}", cnb.display())),
        )
        .expect("json")
    };
    let blob = |digest: &serde_json::Value| {
        json(&format!(
            "blobs/sha256/{}",
            digest
                .as_str()
                .expect("digest")
                .trim_start_matches("sha256:")
        ))
    };
    let index = json("index.json");
    let manifest = blob(&index["manifests"][0]["digest"]);
    blob(&manifest["config"]["digest"])
}

fn label(config: &serde_json::Value, name: &str) -> serde_json::Value {
    serde_json::from_str(
        config["config"]["Labels"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no label {name}")),
    )
    .expect("label json")
}

fn pack(args: &[&str], home: &Path) -> slipway_e2e::Ran {
    // pack v0.40 asks a daemon for API 1.52; Debian's docker.io (20.10) serves
    // up to 1.41, which newer daemons still serve too.
    let api = std::env::var("DOCKER_API_VERSION").unwrap_or_else(|_| "1.41".into());
    ran(&Command::new(&official_tools().pack)
        .args(args)
        .env("PACK_HOME", home)
        .env("DOCKER_API_VERSION", api)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run pack"))
}

fn descriptor(dir: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(dir.join("buildpack.toml")).expect("buildpack.toml"))
        .expect("toml")
}

#[test]
fn pack_packages_every_slipway_buildpack_with_the_id_version_api_and_targets_of_its_buildpack_toml()
{
    let tmp = tempfile::tempdir().unwrap();
    for name in REFAPP_ORDER {
        let dir = packaged(name);
        let cnb = tmp.path().join(format!("{name}.cnb"));
        let r = pack(
            &[
                "buildpack",
                "package",
                cnb.to_str().unwrap(),
                "--path",
                dir.to_str().unwrap(),
                "--format",
                "file",
            ],
            &tmp.path().join("pack-home"),
        );
        assert_eq!(r.code, 0, "pack refused slipway/{name}:\n{}", r.all());

        let desc = descriptor(&dir);
        let id = desc["buildpack"]["id"].as_str().unwrap();
        let version = desc["buildpack"]["version"].as_str().unwrap();
        let config = cnb_config(&cnb);
        let meta = label(&config, "io.buildpacks.buildpackage.metadata");
        assert_eq!(meta["id"], id, "{name}");
        assert_eq!(meta["version"], version, "{name}");
        let layers = label(&config, "io.buildpacks.buildpack.layers");
        let entry = &layers[id][version];
        assert_eq!(entry["api"], desc["api"].as_str().unwrap(), "{name}");
        let targets: Vec<(String, String)> = desc["targets"]
            .as_array()
            .expect("[[targets]]")
            .iter()
            .map(|t| {
                (
                    t["os"].as_str().unwrap().to_string(),
                    t["arch"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let packed: Vec<(String, String)> = entry["targets"]
            .as_array()
            .expect("targets in the .cnb")
            .iter()
            .map(|t| {
                (
                    t["os"].as_str().unwrap().to_string(),
                    t["arch"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(packed, targets, "{name}");
        assert_eq!(
            (
                config["os"].as_str().unwrap(),
                config["architecture"].as_str().unwrap()
            ),
            ("linux", "amd64"),
            "{name}"
        );
    }
}

/// The suite's heroku members are images on docker.io: offline, pack cannot
/// fetch them, and says so, naming the image and where it looked: the Docker
/// daemon's socket when none answers, the daemon's images when one does (with
/// `--pull-policy never` it never pulls). With stand-ins of the same ids and
/// versions, pack packages the composite, and its order is buildpack.toml's.
#[test]
fn pack_packages_the_suite_composite_and_names_the_heroku_images_it_cannot_fetch_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("pack-home");
    let suite = packaged("suite");
    let config_path = suite.join("package.toml");
    let cnb = tmp.path().join("suite.cnb");
    let r = pack(
        &[
            "buildpack",
            "package",
            cnb.to_str().unwrap(),
            "--config",
            config_path.to_str().unwrap(),
            "--format",
            "file",
            "--pull-policy",
            "never",
        ],
        &home,
    );
    assert_ne!(r.code, 0, "no registry here, yet pack packaged the suite?");
    let (daemon, where_it_looked) = if docker_daemon_answers() {
        ("a daemon answers", "does not exist on the daemon")
    } else {
        // The socket it dialled: docker's client says "failed to connect to
        // the docker API at unix:///var/run/docker.sock" when there is no
        // socket file, "Cannot connect to the Docker daemon at
        // unix:///var/run/docker.sock" when a stopped daemon left one.
        ("no daemon answers", "unix:///var/run/docker.sock")
    };
    assert!(
        r.all()
            .contains("docker://docker.io/heroku/buildpack-nodejs:5.7.4")
            && r.all().contains(where_it_looked),
        "{daemon}: pack should name the image it needs and say {where_it_looked:?}:\n{}",
        r.all()
    );

    // The same package.toml with each docker:// member replaced by a
    // directory buildpack of the same id and version (detect: "not this app").
    let desc = descriptor(&suite);
    let group = desc["order"][0]["group"].as_array().unwrap().clone();
    let mut package = std::fs::read_to_string(&config_path).unwrap();
    for entry in &group {
        let id = entry["id"].as_str().unwrap();
        let version = entry["version"].as_str().unwrap();
        if !id.starts_with("heroku/") {
            continue;
        }
        let image = format!(
            "docker://docker.io/heroku/buildpack-{}:{version}",
            id.trim_start_matches("heroku/")
        );
        assert!(package.contains(&image), "package.toml references {image}");
        let dir = tmp.path().join(id.replace('/', "_"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("buildpack.toml"),
            format!("api = \"0.10\"\n[buildpack]\nid = \"{id}\"\nversion = \"{version}\"\n[[targets]]\nos = \"linux\"\narch = \"amd64\"\n"),
        )
        .unwrap();
        write_exec(&dir.join("bin/detect"), "#!/bin/sh\nexit 100\n");
        write_exec(&dir.join("bin/build"), "#!/bin/sh\nexit 1\n");
        package = package.replace(&image, dir.to_str().unwrap());
    }
    package = package.replace("uri = \".\"", &format!("uri = \"{}\"", suite.display()));
    let standins = tmp.path().join("package.toml");
    std::fs::write(&standins, package).unwrap();
    let r = pack(
        &[
            "buildpack",
            "package",
            cnb.to_str().unwrap(),
            "--config",
            standins.to_str().unwrap(),
            "--format",
            "file",
            "--pull-policy",
            "never",
        ],
        &home,
    );
    assert_eq!(r.code, 0, "pack refused the suite:\n{}", r.all());
    let config = cnb_config(&cnb);
    let meta = label(&config, "io.buildpacks.buildpackage.metadata");
    let version = desc["buildpack"]["version"].as_str().unwrap();
    assert_eq!(meta["id"], "slipway/suite");
    assert_eq!(meta["version"], version);
    let layers = label(&config, "io.buildpacks.buildpack.layers");
    let packed_group = layers["slipway/suite"][version]["order"][0]["group"]
        .as_array()
        .expect("the suite's order in the .cnb")
        .clone();
    let summary = |entries: &[serde_json::Value], optional: &dyn Fn(&serde_json::Value) -> bool| {
        entries
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().to_string(),
                    e["version"].as_str().unwrap().to_string(),
                    optional(e),
                )
            })
            .collect::<Vec<_>>()
    };
    let expected: Vec<serde_json::Value> = group
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        summary(&packed_group, &|e| e["optional"].as_bool() == Some(true)),
        summary(&expected, &|e| e["optional"].as_bool() == Some(true)),
    );
    // Every Slipway member is in the package, at the version the order names.
    for (id, member_version, _) in summary(&packed_group, &|_| false) {
        assert!(
            layers[&id][&member_version].is_object(),
            "{id}@{member_version} is not in the package"
        );
    }
}

// ----------------------------------------------------------- lifecycle ---

#[test]
fn the_official_lifecycle_builds_the_reference_app_into_an_oci_image_that_slipway_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("image");
    let log = build(&fixture("refapp"), &buildpacks(&REFAPP_ORDER), &out, true);
    for phase in [
        "ANALYZING",
        "DETECTING",
        "RESTORING",
        "BUILDING",
        "EXPORTING",
    ] {
        assert!(log.contains(&format!("===> {phase}")), "{log}");
    }
    // The lifecycle's own detector chose the group.
    let group = read_toml(&out.join("layers/group.toml"));
    let ids: Vec<&str> = group_elements(&group).map(|g| str_at(g, "id")).collect();
    assert_eq!(
        ids,
        REFAPP_ORDER
            .iter()
            .map(|n| format!("slipway/{n}"))
            .collect::<Vec<_>>()
    );

    // The app image, in the OCI layout: its build metadata holds every process type.
    let layout = out.join("oci/slipway.local/app/latest");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &serde_json::Value| -> serde_json::Value {
        let hex = digest.as_str().unwrap().trim_start_matches("sha256:");
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let manifest = blob(&index["manifests"][0]["digest"]);
    let config = blob(&manifest["config"]["digest"]);
    let build_md = label(&config, "io.buildpacks.build.metadata");
    let mut types: Vec<String> = build_md["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    assert_eq!(types, slipway_e2e::seven_types_release_and_autoscale());
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/cnb/process/web"]),
        "web is the image's default process"
    );

    // The image directory runs: web serves the compiled, hashed assets.
    let port = slipway_e2e::free_port();
    let web = Command::new(slipway())
        .args(["run", "web", "--image"])
        .arg(&out)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let page = slipway_e2e::fetch_then_stop(web, &format!("http://127.0.0.1:{port}/assets/"));
    assert!(
        page.contains("/static/") && page.contains(".css"),
        "the page links the hashed stylesheet: {page}"
    );
}

// -------------------------------------------------------- differential ---

/// What a build decided, read from its image directory, in terms both
/// runners share. Paths under the image directory are written as `<image>`.
/// The files are read here, as the platform spec lays them out, never through
/// local-lifecycle's own types: a reading both runners shared could hide a
/// difference between them.
#[derive(Debug, PartialEq)]
struct Outcome {
    group: Vec<(String, String, String)>,
    plans: BTreeMap<String, Vec<String>>,
    processes: Vec<Process>,
    default_process: Option<String>,
    launch_layers: BTreeMap<String, String>,
    restored: Vec<String>,
    /// What the buildpacks said they did: their top-level `- ` bullets, with
    /// numbers and digests blanked (timings and sizes vary, decisions not).
    decisions: Vec<String>,
}

fn decisions(log: &str, root: &str) -> Vec<String> {
    let building = log.split("===> BUILDING").nth(1).unwrap_or_default();
    let building = building.split("===> EXPORTING").next().unwrap_or_default();
    building
        .lines()
        .filter(|l| l.starts_with("- "))
        .map(|l| {
            let l = l
                .replace(root, "<image>")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let mut out = String::new();
            let mut run = String::new();
            for c in l.chars().chain(std::iter::once(' ')) {
                if c.is_ascii_hexdigit() || c == '.' {
                    run.push(c);
                    continue;
                }
                // A run of digits (a number) or of hex digits with a digit (a digest).
                if run.chars().any(|r| r.is_ascii_digit()) {
                    out.push('#');
                } else {
                    out.push_str(&run);
                }
                run.clear();
                out.push(c);
            }
            out.trim_end().to_string()
        })
        .collect()
}

/// A launch process as `layers/config/metadata.toml` records it (the fields
/// the launcher acts on; a missing optional field is its default).
#[derive(Debug, PartialEq)]
struct Process {
    kind: String,
    command: Vec<String>,
    args: Vec<String>,
    buildpack_id: String,
    working_dir: Option<String>,
}

impl Process {
    fn from_table(t: &toml::Table) -> Self {
        let strings = |key: &str| -> Vec<String> {
            t.get(key)
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let optional = |key: &str| t.get(key).and_then(toml::Value::as_str).map(str::to_string);
        Self {
            kind: str_at(t, "type").to_string(),
            command: strings("command"),
            args: strings("args"),
            buildpack_id: optional("buildpack-id").unwrap_or_default(),
            working_dir: optional("working-dir"),
        }
    }
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(t: &'a toml::Table, key: &str) -> &'a str {
    t.get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("no string {key:?} in {t}"))
}

/// The tables of an array of tables (`[[group]]`, `[[entries]]`...), none when absent.
fn tables<'a>(t: &'a toml::Table, key: &str) -> impl Iterator<Item = &'a toml::Table> {
    t.get(key)
        .and_then(toml::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_table().unwrap())
}

/// `group.toml`'s `[[group]]` elements, in order.
fn group_elements(group: &toml::Table) -> impl Iterator<Item = &toml::Table> {
    tables(group, "group")
}

fn outcome(image: &Path, log: &str) -> Outcome {
    let root = std::fs::canonicalize(image).unwrap();
    let text = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .replace(root.to_str().unwrap(), "<image>")
    };
    let layers = root.join("layers");
    let group: toml::Table = toml::from_str(&text(&layers.join("group.toml"))).unwrap();
    let plan: toml::Table = toml::from_str(&text(&layers.join("plan.toml"))).unwrap();
    // What each buildpack receives, as the lifecycle's builder computes it
    // (platform/files/plan.go, Plan.Find): every requirement of every entry
    // it is a provider of.
    let plans = group_elements(&group)
        .map(|g| {
            let id = str_at(g, "id");
            let mut entries: Vec<String> = tables(&plan, "entries")
                .filter(|e| tables(e, "providers").any(|p| str_at(p, "id") == id))
                .flat_map(|e| tables(e, "requires"))
                .map(|r| {
                    let metadata = r
                        .get("metadata")
                        .cloned()
                        .unwrap_or(toml::Table::new().into());
                    format!("{} {metadata}", str_at(r, "name"))
                })
                .collect();
            // The lifecycle keeps entries in a Go map: their order is not defined.
            entries.sort();
            (id.to_string(), entries)
        })
        .collect();
    let metadata: toml::Table =
        toml::from_str(&text(&layers.join("config/metadata.toml"))).unwrap();
    let mut processes: Vec<Process> = tables(&metadata, "processes")
        .map(Process::from_table)
        .collect();
    processes.sort_by(|a, b| a.kind.cmp(&b.kind));
    // The official lifecycle names the default process at the top
    // (`buildpack-default-process-type`); slipway's image directory marks it
    // `default = true` on the process, as launch.toml does.
    let default_process = metadata
        .get("buildpack-default-process-type")
        .and_then(toml::Value::as_str)
        .or_else(|| {
            tables(&metadata, "processes")
                .find(|p| p.get("default").and_then(toml::Value::as_bool) == Some(true))
                .map(|p| str_at(p, "type"))
        })
        .map(str::to_string);

    // Launch layers: <layer>.toml and every env file, as text.
    let mut launch_layers = BTreeMap::new();
    for g in group_elements(&group) {
        let id = str_at(g, "id");
        let dir = layers.join(id.replace('/', "_"));
        let mut layer_tomls: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        layer_tomls.retain(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !["launch.toml", "build.toml", "store.toml"]
                    .contains(&p.file_name().unwrap().to_str().unwrap())
        });
        layer_tomls.sort();
        for layer_toml in layer_tomls {
            let table: toml::Table = toml::from_str(&text(&layer_toml)).unwrap();
            let launch = table
                .get("types")
                .and_then(|t| t.get("launch"))
                .and_then(toml::Value::as_bool)
                .unwrap_or(false);
            if !launch {
                continue;
            }
            let name = layer_toml.file_stem().unwrap().to_str().unwrap();
            let key = format!("{id}:{name}");
            launch_layers.insert(format!("{key} toml"), table.to_string());
            for env_dir in ["env", "env.launch", "env.build"] {
                let base = dir.join(name).join(env_dir);
                for f in walkdir::WalkDir::new(&base)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|f| f.file_type().is_file())
                {
                    let rel = f.path().strip_prefix(dir.join(name)).unwrap();
                    launch_layers.insert(format!("{key} {}", rel.display()), text(f.path()));
                }
            }
        }
    }
    let mut restored: Vec<String> = log
        .lines()
        .filter_map(|l| l.strip_prefix("Restoring cached layer '"))
        .map(|l| l.trim_end_matches('\'').to_string())
        .collect();
    restored.sort();
    Outcome {
        group: group_elements(&group)
            .map(|g| {
                let field = |key| str_at(g, key).to_string();
                (field("id"), field("version"), field("api"))
            })
            .collect(),
        plans,
        processes,
        default_process,
        launch_layers,
        restored,
        decisions: decisions(log, root.to_str().unwrap()),
    }
}

/// Build `app` twice with each runner; the two must agree after each build.
fn differential(app: &Path, names: &[&str]) {
    differential_with(app, &buildpacks(names), &[]);
}

fn differential_with(app: &Path, bps: &[PathBuf], extra: &[String]) {
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("slipway");
    let official = tmp.path().join("official");
    for round in ["first build", "second build (cache)"] {
        let ours_log = build_with(app, bps, &ours, false, extra);
        let official_log = build_with(app, bps, &official, true, extra);
        let a = outcome(&ours, &ours_log);
        let b = outcome(&official, &official_log);
        assert_eq!(
            a, b,
            "{round} of {}: slipway build (left) and the official lifecycle (right) differ\n--- slipway build:\n{ours_log}\n--- official:\n{official_log}",
            app.display()
        );
        assert!(!a.processes.is_empty() && !a.group.is_empty());
    }
}

#[test]
fn slipway_build_agrees_with_the_official_lifecycle_on_the_reference_app_in_the_suites_order() {
    differential(&fixture("refapp"), &REFAPP_ORDER);
}

/// The packaged composite with its optional members, the Heroku ones as
/// contract doubles: the lifecycle expands the composite and drops optional
/// members itself; `slipway build` must choose the same group and plans.
#[test]
fn slipway_build_agrees_with_the_official_lifecycle_on_the_suite_composite() {
    let suite = [packaged("suite")];
    differential_with(&fixture("refapp"), &suite, &slipway_e2e::doubles());
    differential_with(&fixture("celery-procfile"), &suite, &slipway_e2e::doubles());
}

#[test]
fn slipway_build_agrees_with_the_official_lifecycle_on_process_table_fixtures() {
    differential(&fixture("refapp"), &["process-table"]);

    // A Procfile-only Celery app: seven worker types, names exactly as written.
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("Procfile"),
        "web: gunicorn app.wsgi --log-file -\n\
         beat: celery -A app worker -B -Q default -n beat@%h\n\
         worker_high_memory: celery -A app worker -Q high_memory\n\
         worker_primary: celery -A app worker -Q default,bulk\n\
         worker_general: celery -A app worker -Q default,bulk,feedback\n\
         worker_import: celery -A app worker -Q user_import\n\
         worker_priority: celery -A app worker -Q bulk_priority\n\
         release: ./release.sh\n",
    )
    .unwrap();
    differential(app.path(), &["process-table"]);

    // heroku.yml's run: table.
    let yml = tempfile::tempdir().unwrap();
    std::fs::write(
        yml.path().join("heroku.yml"),
        "build:\n  docker:\n    web: Dockerfile\nrun:\n  web: bundle exec puma -C config/puma.rb\n  worker:\n    command:\n      - bundle exec sidekiq\n",
    )
    .unwrap();
    differential(yml.path(), &["process-table"]);
}

/// Buildpacks written to probe the rules where runners could differ: a name
/// provided twice and required twice (each provider receives every
/// requirement), launch and build env files of every kind, a process with
/// args and a working dir, and a cache layer whose integer and date metadata
/// come back on the next build as the lifecycle's JSON round trip leaves them.
#[test]
fn slipway_build_agrees_with_the_official_lifecycle_on_plans_env_files_and_restored_metadata() {
    let bps = tempfile::tempdir().unwrap();
    let provide = "cat >> \"$CNB_BUILD_PLAN_PATH\" <<'T'\n[[provides]]\nname = \"x\"\n[[provides]]\nname = \"y\"\nT";
    let require = |from: &str, names: &[&str]| {
        names
            .iter()
            .map(|n| format!("cat >> \"$CNB_BUILD_PLAN_PATH\" <<'T'\n[[requires]]\nname = \"{n}\"\n[requires.metadata]\nfrom = \"{from}\"\nversion = 20\nT"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The plan as sorted (name, from) pairs: the lifecycle keeps entries in a Go map.
    let show_plan = "python3 -c 'import sys, tomllib; d = tomllib.load(open(sys.argv[1], \"rb\")); print(\"- plan:\", sorted((e[\"name\"], e[\"metadata\"][\"from\"]) for e in d.get(\"entries\", [])))' \"$3\"";
    let a = slipway_e2e::script_buildpack(
        bps.path(),
        "probe/a",
        provide,
        &format!(
            "{show_plan}\nprintf '[[unmet]]\\nname = \"x\"\\n' > \"$1/build.toml\"\nL=\"$1/cachey\"\n\
             if [ -f \"$L.toml\" ]; then echo \"- restored: $(grep -v '^\\[' \"$L.toml\" | tr '\\n' ' ')\"; fi\n\
             mkdir -p \"$L\"\n\
             printf '[types]\\ncache = true\\n[metadata]\\nschema = 1\\nwhen = 1979-05-27T07:32:00Z\\nname = \"n\"\\n' > \"$L.toml\"\n\
             E=\"$1/envy\"; mkdir -p \"$E/env.launch/web\" \"$E/env.build\" \"$E/env\"\n\
             printf '[types]\\nlaunch = true\\nbuild = true\\n[metadata]\\nk = \"v\"\\n' > \"$E.toml\"\n\
             printf '/opt/x' > \"$E/env/PATH.prepend\"; printf ':' > \"$E/env/PATH.delim\"\n\
             printf 'one' > \"$E/env.launch/ONLY_LAUNCH.default\"; printf 'web' > \"$E/env.launch/web/FOR_WEB.override\"\n\
             printf 'b' > \"$E/env.build/ONLY_BUILD.append\"\n\
             cat > \"$1/launch.toml\" <<'T'\n[[processes]]\ntype = \"web\"\ncommand = [\"bash\", \"-c\", \"echo hi\"]\nargs = [\"extra\"]\ndefault = true\nworking-dir = \"sub\"\n\n[[processes]]\ntype = \"worker_high_memory\"\ncommand = [\"true\"]\nT"
        ),
    );
    let b = slipway_e2e::script_buildpack(bps.path(), "probe/b", &require("b", &["x"]), show_plan);
    let c = slipway_e2e::script_buildpack(bps.path(), "probe/c", provide, show_plan);
    let d = slipway_e2e::script_buildpack(
        bps.path(),
        "probe/d",
        &require("d", &["x", "y"]),
        &format!("{show_plan}\necho \"- build env: ONLY_BUILD=${{ONLY_BUILD:-}}\""),
    );
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir(app.path().join("sub")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let group = [a, b, c, d];
    let mut logs = Vec::new();
    for round in ["first build", "second build (cache)"] {
        let ours_log = build(app.path(), &group, &tmp.path().join("slipway"), false);
        let official_log = build(app.path(), &group, &tmp.path().join("official"), true);
        assert_eq!(
            outcome(&tmp.path().join("slipway"), &ours_log),
            outcome(&tmp.path().join("official"), &official_log),
            "{round}: slipway build (left) and the official lifecycle (right) differ\n--- slipway build:\n{ours_log}\n--- official:\n{official_log}"
        );
        // The restored metadata, exactly (the digit-blind comparison above cannot see 1 vs 1.0).
        let restored = |log: &str| {
            log.lines()
                .filter(|l| l.starts_with("- restored:"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
        };
        assert_eq!(restored(&ours_log), restored(&official_log), "{round}");
        logs.push(ours_log);
    }
    let second = &logs[1];
    assert!(
        second.contains("- restored: name = \"n\" schema = 1.0 when = \"1979-05-27T07:32:00Z\""),
        "{second}"
    );
    // a received x from b and d and y from d; it left x unmet, so c (a later
    // provider of both) received x from b and d, and not y, which a met.
    let plans: Vec<String> = second
        .lines()
        .filter(|l| l.starts_with("- plan:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        plans,
        [
            "- plan: [('x', 'b'), ('x', 'd'), ('y', 'd')]",
            "- plan: []",
            "- plan: [('x', 'b'), ('x', 'd')]",
            "- plan: []"
        ]
    );
}
