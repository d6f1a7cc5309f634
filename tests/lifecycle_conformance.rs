//! Spec conformance of the local lifecycle (Buildpack API 0.10), so other
//! tests can trust it. Each test drives small real buildpacks (bash scripts)
//! through the `slipway` CLI and checks what the spec says must happen.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slipway_e2e::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.txt"), "hello").unwrap();
    dir
}

fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} not in:\n{text}"))
}

#[test]
fn detect_and_build_receive_the_api_0_10_arguments_env_and_working_dir() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let p = probe.path().display();
    let bp = script_buildpack(
        bps.path(),
        "test/probe",
        &format!("{{ echo \"ARGS=$*\"; echo \"PWD=$PWD\"; env; }} > {p}/detect.txt"),
        &format!("{{ echo \"ARGS=$*\"; echo \"PWD=$PWD\"; env; }} > {p}/build.txt"),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(
        app().path(),
        std::slice::from_ref(&bp),
        out.path(),
        &["--env", "USER_VAR=from-platform"],
    );
    let (d, b) = (
        read(&probe.path().join("detect.txt")),
        read(&probe.path().join("build.txt")),
    );
    let image = std::fs::canonicalize(out.path()).unwrap();
    let platform = image.join("platform").display().to_string();

    assert_eq!(line(&d, "CNB_PLATFORM_DIR"), platform);
    assert_eq!(
        line(&d, "CNB_BUILDPACK_DIR"),
        bp.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(
        line(&d, "ARGS"),
        format!("{platform} {}", line(&d, "CNB_BUILD_PLAN_PATH"))
    );
    assert_eq!(
        line(&d, "PWD"),
        image.join("workspace").display().to_string()
    );
    assert_eq!(
        line(&d, "USER_VAR"),
        "from-platform",
        "platform env is set for a buildpack without clear-env"
    );
    for t in [&d, &b] {
        assert_eq!(line(t, "CNB_TARGET_OS"), "linux");
        assert_eq!(line(t, "CNB_TARGET_ARCH"), "amd64");
        assert!(!line(t, "CNB_TARGET_DISTRO_NAME").is_empty());
        assert!(!line(t, "CNB_TARGET_DISTRO_VERSION").is_empty());
    }
    let layers = image.join("layers/test_probe").display().to_string();
    assert_eq!(line(&b, "CNB_LAYERS_DIR"), layers);
    assert_eq!(
        line(&b, "ARGS"),
        format!("{layers} {platform} {}", line(&b, "CNB_BP_PLAN_PATH"))
    );
    assert_eq!(read(&image.join("platform/env/USER_VAR")), "from-platform");
    assert_eq!(
        read(&image.join("workspace/app.txt")),
        "hello",
        "the workspace is a copy of the app"
    );
}

#[test]
fn a_dot_env_file_and_env_flags_become_platform_env_and_flags_win() {
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(bps.path(), "test/noop", "", "");
    let app = app();
    std::fs::write(
        app.path().join(".env"),
        "# comment\nFROM_DOTENV=a\nBOTH=dotenv\nexport QUOTED=\"x y\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    build_ok(app.path(), &[bp], out.path(), &["--env", "BOTH=flag"]);
    let env = out.path().join("platform/env");
    assert_eq!(read(&env.join("FROM_DOTENV")), "a");
    assert_eq!(read(&env.join("BOTH")), "flag");
    assert_eq!(read(&env.join("QUOTED")), "x y");
}

#[test]
fn detect_exit_100_fails_the_group_and_any_other_nonzero_code_is_an_error() {
    let bps = tempfile::tempdir().unwrap();
    let failing = script_buildpack(
        bps.path(),
        "test/fail",
        "echo 'no marker file'; exit 100",
        "",
    );
    let out = tempfile::tempdir().unwrap();
    let r = build(app().path(), &[failing], out.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("fail: test/fail@1.0.0") && r.stderr.contains("no marker file"),
        "{}",
        r.stderr
    );

    let erroring = script_buildpack(bps.path(), "test/error", "echo boom >&2; exit 3", "");
    let r = build(app().path(), &[erroring], out.path(), &[]);
    assert!(
        r.stderr
            .contains("detect of test/error failed with exit code 3")
            && r.stderr.contains("boom"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_required_dependency_reaches_the_providers_buildpack_plan_with_metadata() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let provider = script_buildpack(
        bps.path(),
        "test/provider",
        "printf '[[provides]]\\nname = \"node\"\\n' > \"$CNB_BUILD_PLAN_PATH\"",
        &format!(
            "cp \"$CNB_BP_PLAN_PATH\" {}/provider-plan.toml",
            probe.path().display()
        ),
    );
    let requirer = script_buildpack(
        bps.path(),
        "test/requirer",
        "printf '[[requires]]\\nname = \"node\"\\n[requires.metadata]\\nversion = \"20\"\\n' > \"$CNB_BUILD_PLAN_PATH\"",
        &format!("cp \"$CNB_BP_PLAN_PATH\" {}/requirer-plan.toml", probe.path().display()),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(
        app().path(),
        &[provider.clone(), requirer.clone()],
        out.path(),
        &[],
    );
    let plan: toml::Table =
        toml::from_str(&read(&probe.path().join("provider-plan.toml"))).unwrap();
    assert_eq!(plan["entries"][0]["name"].as_str(), Some("node"));
    assert_eq!(
        plan["entries"][0]["metadata"]["version"].as_str(),
        Some("20")
    );
    assert!(!read(&probe.path().join("requirer-plan.toml")).contains("node"));

    let r = build(app().path(), &[requirer, provider], out.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("the build plan cannot be resolved"),
        "{}",
        r.stderr
    );
}

#[test]
fn build_layers_reach_later_buildpacks_and_only_launch_layers_reach_the_image() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let first = script_buildpack(
        bps.path(),
        "test/first",
        "",
        r#"L="$CNB_LAYERS_DIR"
mkdir -p "$L/tool/bin" "$L/tool/env.build" "$L/runtime/env.launch" "$L/temp"
printf '#!/bin/sh\necho tool-ran\n' > "$L/tool/bin/mytool"; chmod +x "$L/tool/bin/mytool"
printf 'yes' > "$L/tool/env.build/FROM_BUILD_LAYER.override"
printf '[types]\nbuild = true\n' > "$L/tool.toml"
printf 'no' > "$L/runtime/env.launch/FROM_LAUNCH_LAYER"
printf '[types]\nlaunch = true\n' > "$L/runtime.toml"
echo scratch > "$L/temp/file""#,
    );
    let second = script_buildpack(
        bps.path(),
        "test/second",
        "",
        &format!("mytool > {p}/tool.txt; echo \"${{FROM_BUILD_LAYER:-unset}} ${{FROM_LAUNCH_LAYER:-unset}}\" > {p}/env.txt", p = probe.path().display()),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[first, second], out.path(), &[]);
    assert_eq!(
        read(&probe.path().join("tool.txt")).trim(),
        "tool-ran",
        "a build layer's bin/ is on PATH for later buildpacks"
    );
    assert_eq!(read(&probe.path().join("env.txt")).trim(), "yes unset");
    let layers = out.path().join("layers/test_first");
    assert!(layers.join("runtime").is_dir(), "launch layer exported");
    assert!(
        !layers.join("tool").exists() && !layers.join("tool.toml").exists(),
        "build-only layer not in the image"
    );
    assert!(
        !layers.join("temp").exists(),
        "a layer without <layer>.toml is temporary"
    );
}

#[test]
fn launch_env_follows_the_suffix_rules_and_process_specific_directories() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let bp = script_buildpack(
        bps.path(),
        "test/env",
        "",
        &format!(
            r#"L="$CNB_LAYERS_DIR/envs"
mkdir -p "$L/env.launch/web" "$L/env" "$L/bin"
printf 'over' > "$L/env.launch/A.override"
printf 'plain' > "$L/env.launch/B"
printf 'dflt' > "$L/env.launch/HOST_SET.default"
printf 'dflt' > "$L/env.launch/UNSET.default"
printf 'tail' > "$L/env.launch/LIST.append"
printf ',' > "$L/env.launch/LIST.delim"
printf 'head' > "$L/env.launch/PRE.prepend"
printf 'web-only' > "$L/env.launch/web/ONLY_WEB"
printf 'both' > "$L/env/IN_ENV"
printf '#!/bin/sh\necho layer-bin\n' > "$L/bin/from-layer"; chmod +x "$L/bin/from-layer"
printf '[types]\nlaunch = true\n' > "$L.toml"
cat > "$CNB_LAYERS_DIR/launch.toml" <<'T'
[[processes]]
type = "web"
command = ["bash", "-c", "env > {p}/$DYNO.env; from-layer > {p}/bin.txt"]
default = true
[[processes]]
type = "worker"
command = ["bash", "-c", "env > {p}/$DYNO.env"]
T"#,
            p = probe.path().display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[bp], out.path(), &[]);
    let image = out.path().display().to_string();
    for process in ["web", "worker"] {
        let r = ran(&Command::new(slipway())
            .args(["run", process, "--image", &image, "--port", "6123"])
            .env("HOST_SET", "host")
            .env("LIST", "start")
            .env("PRE", "rest")
            .output()
            .unwrap());
        assert_eq!(r.code, 0, "{}", r.all());
    }
    let web = read(&probe.path().join("web.1.env"));
    assert_eq!(line(&web, "A"), "over");
    assert_eq!(line(&web, "B"), "plain", "no suffix means override");
    assert_eq!(
        line(&web, "HOST_SET"),
        "host",
        ".default never replaces a set value"
    );
    assert_eq!(line(&web, "UNSET"), "dflt");
    assert_eq!(line(&web, "LIST"), "start,tail");
    assert_eq!(
        line(&web, "PRE"),
        "headrest",
        "no .delim file means an empty delimiter"
    );
    assert_eq!(line(&web, "ONLY_WEB"), "web-only");
    assert_eq!(line(&web, "IN_ENV"), "both");
    assert_eq!(line(&web, "PORT"), "6123");
    assert_eq!(read(&probe.path().join("bin.txt")).trim(), "layer-bin");
    // A relative --image works too: layer paths are made absolute before the process runs elsewhere.
    let parent = out.path().parent().unwrap();
    let relative = out
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::remove_file(probe.path().join("bin.txt")).unwrap();
    let r = ran(&Command::new(slipway())
        .args(["run", "web", "--image", &relative])
        .current_dir(parent)
        .output()
        .unwrap());
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(read(&probe.path().join("bin.txt")).trim(), "layer-bin");
    let worker = read(&probe.path().join("worker.1.env"));
    assert!(
        !worker.contains("ONLY_WEB="),
        "env.launch/web/ applies to web only"
    );
    assert_eq!(line(&worker, "IN_ENV"), "both");
}

#[test]
fn exec_d_programs_write_env_to_fd_3_before_launch() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let bp = script_buildpack(
        bps.path(),
        "test/execd",
        "",
        &format!(
            r#"L="$CNB_LAYERS_DIR/hook"
mkdir -p "$L/exec.d"
printf '#!/bin/sh\necho "FROM_EXEC_D = \\"computed-$PORT\\"" >&3\necho "to stdout is fine"\n' > "$L/exec.d/10-hook"; chmod +x "$L/exec.d/10-hook"
printf '[types]\nlaunch = true\n' > "$L.toml"
printf '[[processes]]\ntype = "web"\ncommand = ["bash", "-c", "echo $FROM_EXEC_D > {p}/out.txt"]\ndefault = true\n' > "$CNB_LAYERS_DIR/launch.toml""#,
            p = probe.path().display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[bp], out.path(), &[]);
    let r = slipway_cmd(&[
        "run",
        "--image",
        &out.path().display().to_string(),
        "--port",
        "7001",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(read(&probe.path().join("out.txt")).trim(), "computed-7001");
}

#[test]
fn cache_layers_are_restored_with_metadata_only_and_launch_only_layers_are_not() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let bp = script_buildpack(
        bps.path(),
        "test/cache",
        "",
        &format!(
            r#"L="$CNB_LAYERS_DIR"; P={p}
{{ ls "$L"; echo ---; cat "$L/deps.toml" 2>/dev/null || true; echo ---; cat "$L/deps/content" 2>/dev/null || true; }} > "$P/seen-$(date +%s%N).txt"
mkdir -p "$L/deps" "$L/app-layer"
n=$(cat "$L/deps/content" 2>/dev/null || echo 0); echo $((n + 1)) > "$L/deps/content"
printf '[types]\ncache = true\nbuild = true\n[metadata]\nkey = "lockfile-sha"\n' > "$L/deps.toml"
echo x > "$L/app-layer/file"; printf '[types]\nlaunch = true\n' > "$L/app-layer.toml"
printf '[metadata]\nruns = 1\n' > "$L/store.toml""#,
            p = probe.path().display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    let second = build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert!(
        second
            .stdout
            .contains("Restoring cached layer 'test/cache:deps'"),
        "{}",
        second.stdout
    );

    let mut seen: Vec<_> = std::fs::read_dir(probe.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seen.sort();
    let (first, second) = (read(&seen[0]), read(&seen[1]));
    assert_eq!(first, "---\n---\n", "nothing to restore on the first build");
    let parts: Vec<_> = second.split("---\n").collect();
    assert_eq!(
        parts[0], "deps\ndeps.toml\nstore.toml\n",
        "launch-only layers are not restored"
    );
    assert!(
        parts[1].contains("key = \"lockfile-sha\"") && !parts[1].contains("[types]"),
        "metadata restored, types not: {}",
        parts[1]
    );
    assert_eq!(parts[2].trim(), "1", "cached content restored");

    build_ok(app().path(), &[bp], out.path(), &["--clear-cache"]);
    let mut seen: Vec<_> = std::fs::read_dir(probe.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    seen.sort();
    assert_eq!(
        read(&seen[2]),
        "---\n---\n",
        "--clear-cache starts from nothing"
    );
}

/// A buildpack that counts builds in a cached layer, says what it restored,
/// launches `cat app.txt`, and fails (after changing its layer) when the app
/// has a `fail` file.
fn counting_buildpack(parent: &Path) -> std::path::PathBuf {
    script_buildpack(
        parent,
        "test/cache-fail",
        "[ ! -f no-detect ] || exit 100",
        r#"L="$CNB_LAYERS_DIR"; mkdir -p "$L/deps"
echo "restored: $(cat "$L/deps/count" 2>/dev/null || echo none)"
n=$(cat "$L/deps/count" 2>/dev/null || echo 0); echo $((n + 1)) > "$L/deps/count"
printf '[types]
cache = true
' > "$L/deps.toml"
printf '[[processes]]\ntype = "web"\ncommand = ["cat", "app.txt"]\ndefault = true\n' > "$L/launch.toml"
if [ -f fail ]; then echo "half-way through" > "$L/deps/count"; exit 1; fi"#,
    )
}

/// What `slipway run` in the image prints.
fn served(out: &Path) -> String {
    let r = slipway_cmd(&["run", "--image", &out.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.all());
    r.stdout
}

#[test]
fn a_failed_build_keeps_the_previous_image_and_never_a_half_changed_cache() {
    let bps = tempfile::tempdir().unwrap();
    let bp = counting_buildpack(bps.path());
    let out = tempfile::tempdir().unwrap();
    let good = app();
    let r = build_ok(good.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert!(r.stdout.contains("restored: none"), "{}", r.stdout);
    let r = build_ok(good.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert!(r.stdout.contains("restored: 1"), "{}", r.stdout);
    assert_eq!(served(out.path()), "hello");

    let bad = app();
    std::fs::write(bad.path().join("app.txt"), "broken").unwrap();
    std::fs::write(bad.path().join("fail"), "").unwrap();
    let r = build(bad.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(r.stdout.contains("restored: 2"), "{}", r.stdout);
    assert!(
        r.stdout.contains("the previous image in") && r.stdout.contains("is unchanged"),
        "{}",
        r.stdout
    );
    assert_eq!(
        served(out.path()),
        "hello",
        "the last good build still runs"
    );
    assert!(!out.path().join("workspace/fail").exists());
    assert!(!out.path().join("previous").exists());

    let r = build_ok(good.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert!(
        r.stdout.contains("restored: none"),
        "the layer the failed build changed is not restored: {}",
        r.stdout
    );
    let r = build_ok(good.path(), &[bp], out.path(), &[]);
    assert!(r.stdout.contains("restored: 1"), "{}", r.stdout);
}

/// Two cached layers: `tools` is made once and then only reused, `counter`
/// changes on every build; the build fails (after both) when the app has `fail`.
fn two_layer_buildpack(parent: &Path) -> std::path::PathBuf {
    script_buildpack(
        parent,
        "test/two",
        "",
        r#"L="$CNB_LAYERS_DIR"
echo "tools: $(cat "$L/tools/v" 2>/dev/null || echo none)"
echo "counter: $(cat "$L/counter/n" 2>/dev/null || echo none)"
[ -d "$L/tools" ] || { mkdir -p "$L/tools/bin"; echo v1 > "$L/tools/v"; }
mkdir -p "$L/counter"; echo $(( $(cat "$L/counter/n" 2>/dev/null || echo 0) + 1 )) > "$L/counter/n"
printf '[types]\ncache = true\n' > "$L/tools.toml"
printf '[types]\ncache = true\n' > "$L/counter.toml"
printf '[[processes]]\ntype = "web"\ncommand = ["cat", "app.txt"]\ndefault = true\n' > "$L/launch.toml"
[ ! -f fail ] || exit 1"#,
    )
}

#[test]
fn a_failed_build_gives_back_every_cached_layer_it_left_unchanged_and_drops_the_rest() {
    let bps = tempfile::tempdir().unwrap();
    let bp = two_layer_buildpack(bps.path());
    let out = tempfile::tempdir().unwrap();
    let good = app();
    build_ok(good.path(), std::slice::from_ref(&bp), out.path(), &[]);

    let bad = app();
    std::fs::write(bad.path().join("fail"), "").unwrap();
    let r = build(bad.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert!(
        r.stdout.contains("tools: v1") && r.stdout.contains("counter: 1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Keeping cached layer 'test/two:tools': the failed build left it unchanged")
            && r.stdout
                .contains("Dropping cached layer 'test/two:counter': the failed build changed it"),
        "{}",
        r.stdout
    );

    let r = build_ok(good.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert!(
        r.stdout.contains("tools: v1"),
        "the layer the failed build left alone is still cached: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("counter: none"),
        "the layer it changed is never read half-changed: {}",
        r.stdout
    );
    assert_eq!(served(out.path()), "hello");

    // A build killed while it held the layers (restore moved them out of
    // the cache, nothing gave them back): metadata whose contents are gone
    // is never restored as if the layer were there.
    let cache = out.path().join("cache/test_two");
    std::fs::remove_dir_all(cache.join("tools")).unwrap();
    assert!(cache.join("tools.toml").is_file());
    let r = build_ok(good.path(), &[bp], out.path(), &[]);
    assert!(
        r.stdout.contains("tools: none") && r.stdout.contains("counter: 1"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("Restoring cached layer 'test/two:tools'"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_build_that_fails_detection_keeps_the_previous_image() {
    let bps = tempfile::tempdir().unwrap();
    let bp = counting_buildpack(bps.path());
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    let other = app();
    std::fs::write(other.path().join("app.txt"), "other").unwrap();
    std::fs::write(other.path().join("no-detect"), "").unwrap();
    let r = build(other.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert_eq!(served(out.path()), "hello");
    let r = build_ok(app().path(), &[bp], out.path(), &[]);
    assert!(r.stdout.contains("restored: 1"), "{}", r.stdout);
}

/// What a SIGKILL during a build into `out` leaves: the good image set aside
/// under previous/ (returned), a half-made workspace beside it.
fn leave_as_a_killed_build(out: &Path) -> std::path::PathBuf {
    let previous = out.join("previous");
    std::fs::create_dir(&previous).unwrap();
    for dir in ["workspace", "platform", "layers"] {
        std::fs::rename(out.join(dir), previous.join(dir)).unwrap();
    }
    std::fs::create_dir_all(out.join("workspace")).unwrap();
    std::fs::write(out.join("workspace/app.txt"), "half").unwrap();
    previous
}

#[test]
fn a_build_killed_half_way_leaves_the_last_good_image_for_the_next_build() {
    let bps = tempfile::tempdir().unwrap();
    let bp = counting_buildpack(bps.path());
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    let previous = leave_as_a_killed_build(out.path());
    std::fs::create_dir_all(out.path().join("layers/test_cache-fail")).unwrap();

    let bad = app();
    std::fs::write(bad.path().join("fail"), "").unwrap();
    let r = build(bad.path(), std::slice::from_ref(&bp), out.path(), &[]);
    assert_ne!(r.code, 0);
    assert_eq!(served(out.path()), "hello", "{}", r.all());
    assert!(!previous.exists());
}

#[test]
fn a_failed_classic_build_keeps_the_previous_slug_and_drops_the_half_changed_cache() {
    let bps = tempfile::tempdir().unwrap();
    let bp = bps.path().join("counter");
    write_exec(&bp.join("bin/detect"), "#!/bin/sh\necho Counter\n");
    // Counts compiles in CACHE_DIR; fails (after changing it) when the app has `fail`.
    write_exec(
        &bp.join("bin/compile"),
        r#"#!/bin/sh
set -e
n=$(cat "$2/count" 2>/dev/null || echo 0)
echo "restored: $n"
if [ -f "$1/fail-early" ]; then exit 1; fi
echo $((n + 1)) > "$2/count"
if [ -f "$1/fail" ]; then echo broken > "$2/count"; exit 1; fi
"#,
    );
    let out = tempfile::tempdir().unwrap();
    let good = app();
    std::fs::write(good.path().join("Procfile"), "web: cat app.txt\n").unwrap();
    build_ok(
        good.path(),
        std::slice::from_ref(&bp),
        out.path(),
        &["--classic"],
    );
    let bad = app();
    std::fs::write(bad.path().join("Procfile"), "web: cat app.txt\n").unwrap();
    std::fs::write(bad.path().join("app.txt"), "broken").unwrap();
    std::fs::write(bad.path().join("fail"), "").unwrap();
    let r = build(
        bad.path(),
        std::slice::from_ref(&bp),
        out.path(),
        &["--classic"],
    );
    assert_ne!(r.code, 0);
    assert!(r.stdout.contains("restored: 1"), "{}", r.all());
    assert_eq!(served(out.path()), "hello");
    let r = build_ok(
        good.path(),
        std::slice::from_ref(&bp),
        out.path(),
        &["--classic"],
    );
    assert!(
        r.stdout.contains("restored: 0"),
        "the cache the failed compile changed is gone, never read half-changed: {}",
        r.all()
    );

    // A compile that fails before touching its cache keeps it.
    let early = app();
    std::fs::write(early.path().join("Procfile"), "web: cat app.txt\n").unwrap();
    std::fs::write(early.path().join("fail-early"), "").unwrap();
    let r = build(
        early.path(),
        std::slice::from_ref(&bp),
        out.path(),
        &["--classic"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stdout
            .contains("Keeping the build cache of counter: the failed compile left it unchanged"),
        "{}",
        r.all()
    );
    let r = build_ok(good.path(), &[bp], out.path(), &["--classic"]);
    assert!(r.stdout.contains("restored: 1"), "{}", r.all());
}

#[test]
fn a_later_buildpacks_process_type_and_default_win() {
    let bps = tempfile::tempdir().unwrap();
    let launch = |cmd: &str, default: bool| {
        format!("printf '[[processes]]\\ntype = \"web\"\\ncommand = [\"{cmd}\"]\\ndefault = {default}\\n[[processes]]\\ntype = \"{cmd}-only\"\\ncommand = [\"x\"]\\n' > \"$CNB_LAYERS_DIR/launch.toml\"")
    };
    let a = script_buildpack(bps.path(), "test/a", "", &launch("first", true));
    let b = script_buildpack(bps.path(), "test/b", "", &launch("second", false));
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[a, b], out.path(), &[]);
    let meta: toml::Table =
        toml::from_str(&read(&out.path().join("layers/config/metadata.toml"))).unwrap();
    let procs = meta["processes"].as_array().unwrap();
    let web = procs
        .iter()
        .find(|p| p["type"].as_str() == Some("web"))
        .unwrap();
    assert_eq!(web["command"][0].as_str(), Some("second"));
    assert_eq!(web["buildpack-id"].as_str(), Some("test/b"));
    assert_eq!(procs.len(), 3);
}

#[test]
fn a_failing_build_stops_with_the_buildpack_and_exit_code() {
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(
        bps.path(),
        "test/broken",
        "",
        "echo 'compiling...'; exit 42",
    );
    let out = tempfile::tempdir().unwrap();
    let r = build(app().path(), &[bp], out.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("compiling..."),
        "build output is streamed"
    );
    assert!(
        r.stderr
            .contains("build of test/broken failed with exit code 42"),
        "{}",
        r.stderr
    );
}

#[test]
fn slipway_run_forwards_sigterm_to_the_process_and_returns_its_exit_code() {
    let bps = tempfile::tempdir().unwrap();
    let probe = tempfile::tempdir().unwrap();
    let p = probe.path().display();
    let bp = script_buildpack(
        bps.path(),
        "test/signals",
        "",
        &format!(
            "printf '[[processes]]\\ntype = \"worker\"\\ncommand = [\"bash\", \"-c\", \"trap \\\\\"echo got-term > {p}/term; exit 7\\\\\" TERM; touch {p}/ready; while true; do sleep 0.05; done\"]\\n' > \"$CNB_LAYERS_DIR/launch.toml\""
        ),
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[bp], out.path(), &[]);
    let mut child = Command::new(slipway())
        .args([
            "run",
            "worker",
            "--image",
            &out.path().display().to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !probe.path().join("ready").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "process never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(7));
    assert_eq!(read(&probe.path().join("term")).trim(), "got-term");
}

#[test]
fn running_an_unknown_process_type_lists_the_ones_there_are() {
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(bps.path(), "test/one", "", "printf '[[processes]]\\ntype = \"web\"\\ncommand = [\"true\"]\\n' > \"$CNB_LAYERS_DIR/launch.toml\"");
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), &[bp], out.path(), &[]);
    let r = slipway_cmd(&["run", "clock", "--image", &out.path().display().to_string()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no process type `clock`; it has: web"),
        "{}",
        r.stderr
    );
    let r = slipway_cmd(&["run", "--image", "/nonexistent/image"]);
    assert!(r.stderr.contains("Run `slipway build"), "{}", r.stderr);
}

#[test]
fn a_buildpack_for_another_api_is_refused_with_the_reason() {
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(bps.path(), "test/old", "", "");
    std::fs::write(
        bp.join("buildpack.toml"),
        "api = \"0.8\"\n[buildpack]\nid = \"test/old\"\nversion = \"1\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(app().path(), &[bp], out.path(), &[]);
    assert!(
        r.stderr
            .contains("declares Buildpack API 0.8; this runner implements 0.10"),
        "{}",
        r.stderr
    );
}

#[test]
fn classic_buildpacks_run_in_order_with_export_and_the_last_release() {
    let bps = tempfile::tempdir().unwrap();
    let first = bps.path().join("first");
    write_exec(&first.join("bin/detect"), "#!/bin/sh\necho First\n");
    write_exec(&first.join("bin/compile"), "#!/bin/sh\nset -e\n[ -d \"$2\" ] && [ -d \"$3\" ]\ncat \"$3/GREETING\" > \"$1/greeting\"\necho cached > \"$2/c\"\n");
    std::fs::write(first.join("export"), "export FROM_EXPORT=exported\n").unwrap();
    let second = bps.path().join("second");
    write_exec(&second.join("bin/detect"), "#!/bin/sh\necho Second\n");
    write_exec(
        &second.join("bin/compile"),
        "#!/bin/sh\necho \"$FROM_EXPORT\" > \"$1/export-seen\"\n",
    );
    write_exec(&second.join("bin/release"), "#!/bin/sh\nprintf -- '---\\ndefault_process_types:\\n  web: echo default-web\\n  worker: echo default-worker\\n'\n");
    let app = app();
    std::fs::write(
        app.path().join("Procfile"),
        "worker: echo procfile-worker\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build_ok(
        app.path(),
        &[first, second],
        out.path(),
        &["--classic", "--env", "GREETING=hi"],
    );
    assert!(
        r.stdout.contains("-----> First app detected")
            && r.stdout.contains("-----> Second app detected"),
        "{}",
        r.stdout
    );
    let ws = out.path().join("workspace");
    assert_eq!(
        read(&ws.join("greeting")),
        "hi",
        "ENV_DIR holds one file per config var"
    );
    assert_eq!(read(&ws.join("export-seen")).trim(), "exported");
    assert!(out.path().join("cache/classic/first/c").is_file());
    let meta: toml::Table =
        toml::from_str(&read(&out.path().join("layers/config/metadata.toml"))).unwrap();
    let cmds: Vec<_> = meta["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["command"][2].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        cmds,
        ["echo default-web", "echo procfile-worker"],
        "the Procfile overrides bin/release's defaults"
    );
}

#[test]
fn a_classic_buildpack_that_does_not_detect_fails_the_build_like_buildpack_multi() {
    let bps = tempfile::tempdir().unwrap();
    let no = bps.path().join("no");
    write_exec(
        &no.join("bin/detect"),
        "#!/bin/sh\necho 'no package.json' >&2\nexit 1\n",
    );
    write_exec(&no.join("bin/compile"), "#!/bin/sh\n");
    let out = tempfile::tempdir().unwrap();
    let r = build(app().path(), &[no], out.path(), &["--classic"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("fail: no (buildpack #1 in the list)")
            && r.stderr.contains("no package.json"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_malformed_dot_env_names_the_line_but_never_shows_it() {
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(bps.path(), "test/noop", "", "");
    let app = app();
    std::fs::write(
        app.path().join(".env"),
        "OK=1\nSTRIPE KEY=sk_live_do_not_print\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = build(app.path(), &[bp], out.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(".env: line 2 is not KEY=VALUE"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("sk_live_do_not_print"), "{}", r.all());
}

/// What a build may delete: only an image directory it made. The app, a
/// directory holding the app, a directory inside it, or a foreign directory
/// with content are refused before anything is touched.
#[test]
fn the_output_directory_is_refused_when_a_build_could_damage_it() {
    let parent = tempfile::tempdir().unwrap();
    let app = parent.path().join("app");
    std::fs::create_dir_all(app.join("tmp")).unwrap();
    std::fs::write(app.join("tmp/keep.txt"), "the app's own tmp/").unwrap();
    std::fs::write(app.join("Procfile"), "web: true\n").unwrap();
    let sibling = parent.path().join("layers");
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(
        sibling.join("keep.txt"),
        "a sibling named like an image part",
    )
    .unwrap();
    let foreign = parent.path().join("photos");
    std::fs::create_dir_all(foreign.join("workspace")).unwrap();
    std::fs::write(foreign.join("workspace/keep.jpg"), "x").unwrap();
    let bp = script_buildpack(parent.path(), "ok/bp", "exit 0", "exit 0");

    for (out, why) in [
        (app.clone(), "it is the app itself"),
        (parent.path().to_path_buf(), "it contains the app"),
        (app.join("build-here"), "it is inside the app"),
        (
            foreign.clone(),
            "it is not empty and is not a Slipway image",
        ),
    ] {
        let r = build(&app, std::slice::from_ref(&bp), &out, &[]);
        assert_ne!(r.code, 0, "--out {} was accepted", out.display());
        assert!(r.stderr.contains(why), "{why}: {}", r.all());
    }
    assert_eq!(read(&app.join("tmp/keep.txt")), "the app's own tmp/");
    assert_eq!(
        read(&sibling.join("keep.txt")),
        "a sibling named like an image part"
    );
    assert_eq!(read(&foreign.join("workspace/keep.jpg")), "x");
    assert!(!app.join("build-here").exists());

    // A new directory, then the same one again (it is now an image), and the app's own .slipway/.
    let out = parent.path().join("image");
    build_ok(&app, std::slice::from_ref(&bp), &out, &[]);
    build_ok(&app, std::slice::from_ref(&bp), &out, &[]);
    assert!(out.join(".slipway-image").is_file());
    build_ok(
        &app,
        std::slice::from_ref(&bp),
        &app.join(".slipway/image"),
        &[],
    );
    assert!(!app.join(".slipway/image/workspace/.slipway/image").exists());
}

/// Two builds into one `--out` never run at once: the second says it waits
/// and starts once the first has concluded, so a failing second build puts
/// back the first one's image, never a mix of both (issue 25 item 6).
#[test]
fn a_second_build_into_the_same_image_waits_for_the_first_and_never_mixes_them() {
    let bps = tempfile::tempdir().unwrap();
    let go = bps.path().join("go");
    // Builds the app's app.txt into the image; holds until `go` exists when
    // the app has `hold`; fails when it has `fail`.
    let bp = script_buildpack(
        bps.path(),
        "test/held",
        "",
        &format!(
            "echo \"building $(cat app.txt)\"\nif [ -e hold ]; then while [ ! -e {go} ]; do sleep 0.05; done; fi\ncp app.txt served.txt\nmkdir -p \"$CNB_LAYERS_DIR\"\nprintf '[[processes]]\\ntype = \"web\"\\ncommand = [\"cat\", \"served.txt\"]\\ndefault = true\\n' > \"$CNB_LAYERS_DIR/launch.toml\"\n[ ! -e fail ]",
            go = go.display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    let first = app();
    std::fs::write(first.path().join("app.txt"), "first").unwrap();
    std::fs::write(first.path().join("hold"), "").unwrap();
    let second = app();
    std::fs::write(second.path().join("app.txt"), "second").unwrap();
    std::fs::write(second.path().join("fail"), "").unwrap();

    let start = |app: &Path| {
        Command::new(slipway())
            .arg("build")
            .arg(app)
            .arg("--out")
            .arg(out.path())
            .arg("--buildpack")
            .arg(&bp)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Lines a child prints, as they come.
    let lines = |child: &mut std::process::Child| {
        use std::io::BufRead as _;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        rx
    };
    let until = |rx: &std::sync::mpsc::Receiver<String>, text: &str| -> String {
        let mut seen = String::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_mins(2))
                .unwrap_or_else(|_| panic!("{text:?} never printed:\n{seen}"));
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(text) {
                return seen;
            }
        }
    };
    let mut a = start(first.path());
    let a_out = lines(&mut a);
    until(&a_out, "building first");
    let mut b = start(second.path());
    let b_out = lines(&mut b);
    let waited = until(&b_out, "Another build into");
    assert!(
        waited.contains("is running: waiting for it to finish")
            && !waited.contains("building second"),
        "{waited}"
    );
    std::fs::write(&go, "").unwrap();
    assert!(
        wait_exit(&mut a, Duration::from_mins(2)).success(),
        "the first build"
    );
    let rest = until(&b_out, "is unchanged");
    assert!(
        rest.contains("building second"),
        "then the second ran: {rest}"
    );
    assert_eq!(wait_exit(&mut b, Duration::from_mins(2)).code(), Some(1));
    assert_eq!(
        served(out.path()),
        "first",
        "the first build's image, whole"
    );
}

/// SIGTERM to `slipway build` while a buildpack runs, with a child of the
/// buildpack that ignores SIGTERM and keeps writing into the app: slipway
/// passes the signal to the buildpack's whole process group, SIGKILLs what
/// is left after the grace, puts the previous image back and exits 143.
/// Nothing the buildpack started writes into the image afterwards (it once
/// died at once and the next good build shipped the stray file).
#[test]
fn sigterm_to_a_build_stops_the_buildpacks_processes_and_keeps_the_previous_image() {
    use std::io::BufRead as _;
    let bps = tempfile::tempdir().unwrap();
    let bp = script_buildpack(
        bps.path(),
        "test/stubborn",
        "true",
        r#"printf '[[processes]]\ntype = "web"\ncommand = ["cat", "app.txt"]\ndefault = true\n' > "$CNB_LAYERS_DIR/launch.toml"
if [ -f stubborn ]; then
  ( trap '' TERM; while true; do echo x >> stray.txt; sleep 0.05; done ) &
  trap '' TERM
  echo "stubborn build under way"
  while true; do sleep 0.05; done
fi"#,
    );
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    let stubborn = app();
    std::fs::write(stubborn.path().join("stubborn"), "").unwrap();
    let mut child = std::process::Command::new(slipway_e2e::slipway())
        .args(["build", stubborn.path().to_str().unwrap(), "--buildpack"])
        .arg(&bp)
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while !seen.contains("stubborn build under way") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the build ended first:\n{seen}"
        );
        seen.push_str(&line);
    }
    slipway_e2e::sigterm(&child);
    let status = slipway_e2e::wait_exit(&mut child, std::time::Duration::from_secs(30));
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    assert_eq!(status.code(), Some(143), "{seen}{rest}{err}");
    assert!(err.contains("stopped by signal 15"), "{err}");
    // The writer ignoring SIGTERM is gone: SIGKILLed with its group.
    let alive = std::process::Command::new("pgrep")
        .args(["-f", "echo x >> stray.txt"])
        .output()
        .unwrap();
    assert!(
        !alive.status.success(),
        "the buildpack's child outlived the build"
    );
    assert_eq!(served(out.path()), "hello", "the previous image runs");
    assert!(!out.path().join("workspace/stray.txt").exists());
}

/// The disk fills up while the app is copied into the image (a 4 MiB
/// tmpfs, an app that grew a 6 MiB file): the build fails naming the full
/// disk, the partial copy is gone and the previous image is back.
#[test]
fn a_full_disk_while_copying_the_app_keeps_the_previous_image_and_frees_the_copy() {
    let bps = tempfile::tempdir().unwrap();
    let bp = counting_buildpack(bps.path());
    let small = app();
    let big = app();
    std::fs::write(big.path().join("grown.bin"), vec![7u8; 6 << 20]).unwrap();
    let disk = tempfile::tempdir().unwrap();
    let out = disk.path().join("image");
    let slipway = slipway_e2e::slipway();
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs '{d}' && \
         '{s}' build '{small}' --buildpack '{bp}' --out '{out}' >/dev/null && \
         '{s}' build '{big}' --buildpack '{bp}' --out '{out}'; echo \"exit=$?\"; \
         '{s}' run --image '{out}'; echo; du -sk '{out}/workspace'",
        d = disk.path().display(),
        s = slipway.display(),
        small = small.path().display(),
        big = big.path().display(),
        bp = bp.display(),
        out = out.display(),
    );
    let r = slipway_e2e::ran(
        &std::process::Command::new("unshare")
            .args(["-rm", "sh", "-c", &script])
            .output()
            .unwrap(),
    );
    assert!(r.stdout.contains("exit=1"), "the build fails:\n{}", r.all());
    assert!(r.all().contains("No space left on device"), "{}", r.all());
    assert!(
        r.all().contains("the previous image in"),
        "it says the previous image is kept:\n{}",
        r.all()
    );
    assert!(
        r.stdout.contains("hello"),
        "the previous image runs:\n{}",
        r.all()
    );
    let kib: u64 = r
        .stdout
        .lines()
        .last()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(
        kib < 1024,
        "the partial copy is gone (workspace holds {kib} KiB):\n{}",
        r.all()
    );
}

/// A build killed with SIGKILL half-way leaves the last good image in
/// `previous/` and a half-made one beside it: until the next build,
/// `slipway run` runs the last good image (it once failed until then).
#[test]
fn after_a_build_killed_half_way_slipway_run_runs_the_last_good_image() {
    let bps = tempfile::tempdir().unwrap();
    let bp = counting_buildpack(bps.path());
    let out = tempfile::tempdir().unwrap();
    build_ok(app().path(), std::slice::from_ref(&bp), out.path(), &[]);
    leave_as_a_killed_build(out.path());
    let r = slipway_cmd(&["run", "--image", &out.path().display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout, "hello");
    assert!(
        r.stderr.contains("running the last good image"),
        "{}",
        r.stderr
    );
}
