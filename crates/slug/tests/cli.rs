//! The `slug` command as scripts and buildpacks use it.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use std::process::Command;

mod support;
use support::noise;

fn slug(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slug"));
    cmd.args(args)
        .env_remove("SLUG_SIZE_LIMIT")
        .env_remove("SLUG_SIZE_SOFT_LIMIT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn app() -> tempfile::TempDir {
    let app = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(app.path().join("tests/fixtures")).unwrap();
    std::fs::write(app.path().join("tests/fixtures/big.bin"), noise(3 << 20, 1)).unwrap();
    std::fs::create_dir_all(app.path().join("assets")).unwrap();
    std::fs::write(app.path().join("assets/mock.psd"), noise(1 << 20, 1)).unwrap();
    std::fs::write(app.path().join("manage.py"), "print('hi')\n").unwrap();
    app
}

#[test]
fn under_the_limits_measure_prints_the_size_and_succeeds() {
    let app = app();
    let (code, out, err) = slug(&["measure", &app.path().display().to_string()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("-----> Compressing...\n       Done: 4.0M"),
        "{out}"
    );
    assert!(
        err.is_empty() && !out.contains("Largest"),
        "no report when all is well: {out}"
    );
}

#[test]
fn over_the_soft_limit_warns_in_herokus_words_with_the_report() {
    let app = app();
    let (code, out, err) = slug(
        &["measure", &app.path().display().to_string()],
        &[("SLUG_SIZE_SOFT_LIMIT", "2M")],
    );
    assert_eq!(code, 0);
    assert!(err.contains(" !     Warning: Your slug size (4 MB) exceeds our soft limit (2 MB) which may affect boot time."), "{err}");
    assert!(
        out.contains("tests/fixtures/big.bin") && out.contains("/tests ") && out.contains("*.psd "),
        "{out}"
    );
}

#[test]
fn over_the_hard_limit_fails_and_says_what_to_cut() {
    let app = app();
    let (code, out, err) = slug(
        &["measure", &app.path().display().to_string()],
        &[("SLUG_SIZE_LIMIT", "3M")],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("Compiled slug size: 4.0M is too large (max is 3.0M).")
            && err.contains("devcenter.heroku.com/articles/slug-size"),
        "{err}"
    );
    let first = out.lines().find(|l| l.contains("# -")).unwrap();
    assert!(
        first.contains("/tests") && first.contains("-3.0M"),
        "the biggest win first: {out}"
    );
}

#[test]
fn json_output_is_for_scripts() {
    let app = app();
    let (code, out, _) = slug(
        &["measure", &app.path().display().to_string(), "--json"],
        &[("SLUG_SIZE_LIMIT", "3M")],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "over-hard-limit");
    assert_eq!(v["hard_limit"], 3 << 20);
    assert!(v["compressed"].as_u64().unwrap() > 4 << 20);
    assert_eq!(v["suggestions"][0]["slugignore"], "/tests");
}

#[test]
fn ignore_reports_what_it_deleted_and_refuses_negation_with_the_line() {
    let app = app();
    std::fs::write(app.path().join(".slugignore"), "# heavy\n/tests\n*.psd\n").unwrap();
    let (code, out, _) = slug(&["ignore", &app.path().display().to_string()], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "-----> Deleting 2 files matching .slugignore patterns (4.0M freed)."
    );
    assert!(!app.path().join("tests").exists() && app.path().join("manage.py").exists());

    std::fs::write(app.path().join(".slugignore"), "*.log\n!keep.log\n").unwrap();
    let (code, _, err) = slug(&["ignore", &app.path().display().to_string()], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".slugignore:2: `!keep.log`: negation with `!` is not supported"),
        "{err}"
    );
}

#[test]
fn pack_writes_a_slug_gunzip_can_read() {
    let app = app();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("slug.tgz");
    let (code, stdout, err) = slug(
        &[
            "pack",
            &app.path().display().to_string(),
            "-o",
            &dest.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("Wrote") && stdout.contains("3 files"),
        "{stdout}"
    );
    let status = Command::new("tar")
        .args(["-tzf"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("./app/manage.py"));
}

#[test]
fn a_full_disk_fails_the_pack_clearly_and_leaves_no_partial_slug() {
    // A 1 MiB tmpfs in a private mount namespace (unshare -rm: no root needed
    // where user namespaces are allowed), and an app whose slug is 4 MiB.
    let app = app();
    let disk = tempfile::tempdir().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs '{d}' && '{bin}' pack '{app}' -o '{d}/slug.tgz'; code=$?; echo \"exit=$code\"; ls -A '{d}'",
        d = disk.path().display(),
        bin = env!("CARGO_BIN_EXE_slug"),
        app = app.path().display()
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "unshare/mount must work here: {stderr}"
    );
    assert!(stdout.contains("exit=2"), "{stdout}{stderr}");
    assert!(
        stderr.contains("No space left on device") && stderr.contains("slug.tgz"),
        "{stderr}"
    );
    let left: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("exit=")).collect();
    assert!(left.is_empty(), "nothing left on the full disk: {left:?}");
}

#[test]
fn level_chooses_the_compression_and_measure_matches_the_packed_size_at_each_level() {
    let app = app();
    std::fs::write(
        app.path().join("words.txt"),
        "lorem ipsum dolor sit amet consectetur ".repeat(50_000),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = app.path().display().to_string();
    let mut sizes = Vec::new();
    for level in ["1", "9"] {
        let dest = out.path().join(format!("slug-{level}.tgz"));
        let (code, _, err) = slug(
            &[
                "pack",
                &dir,
                "-o",
                &dest.display().to_string(),
                "--level",
                level,
            ],
            &[],
        );
        assert_eq!(code, 0, "{err}");
        let (_, measured, _) = slug(&["measure", &dir, "--json", "--level", level], &[]);
        let v: serde_json::Value = serde_json::from_str(&measured).unwrap();
        let packed = std::fs::metadata(&dest).unwrap().len();
        assert_eq!(v["compressed"].as_u64().unwrap(), packed, "level {level}");
        sizes.push(packed);
    }
    assert!(
        sizes[1] < sizes[0],
        "level 9 should beat level 1: {sizes:?}"
    );
    let (code, _, err) = slug(&["measure", &dir, "--level", "0"], &[]);
    assert_eq!(code, 2, "{err}");
}

// ---- Issue 17: what pack, measure and ignore do with bad paths and moving files.

#[test]
fn a_missing_app_is_an_error_for_pack_measure_and_ignore_never_an_empty_result() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-app");
    let out = dir.path().join("slug.tgz");
    for args in [
        vec![
            "pack",
            missing.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        vec!["measure", missing.to_str().unwrap()],
        vec!["ignore", missing.to_str().unwrap()],
    ] {
        let (code, stdout, stderr) = slug(&args, &[]);
        assert_ne!(code, 0, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("no-such-app"),
            "{args:?} names the path: {stderr}"
        );
    }
    assert!(!out.exists());
}

fn listing(slug_file: &std::path::Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("-tzf")
        .arg(slug_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar could not read the slug");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_symlinked_app_is_packed_as_the_directory_it_points_to() {
    let app = app();
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("current");
    std::os::unix::fs::symlink(app.path(), &link).unwrap();
    let out = dir.path().join("slug.tgz");
    let (code, _, stderr) = slug(
        &["pack", link.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let names = listing(&out);
    assert!(names.contains(&"./app/manage.py".to_string()), "{names:?}");
}

#[test]
fn a_slug_written_inside_the_app_never_packs_itself_or_its_partial_file() {
    let app = app();
    let out = app.path().join("slug.tgz");
    for _ in 0..2 {
        let (code, _, stderr) = slug(
            &[
                "pack",
                app.path().to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "{stderr}");
    }
    let names = listing(&out);
    assert!(
        !names.iter().any(|n| n.contains("slug.tgz")),
        "the slug contains itself or its partial file: {names:?}"
    );
}

/// A pack killed with SIGKILL cannot remove its partial slug: written inside
/// the app, the next pack leaves it out of the slug (and removes it, its
/// pack being dead) instead of packing 52 MB of stale bytes.
#[test]
fn a_stale_partial_slug_of_a_killed_pack_is_never_packed_and_is_removed() {
    let app = app();
    let out = app.path().join("slug.tgz");
    // A partial file as a SIGKILLed pack leaves it: its pid no longer runs.
    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    };
    let stale = app.path().join(format!(".slug.tgz.partial-{dead}"));
    std::fs::write(&stale, noise(1 << 20, 7)).unwrap();
    let (code, _, stderr) = slug(
        &[
            "pack",
            app.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let names = listing(&out);
    assert!(
        !names.iter().any(|n| n.contains("partial")),
        "the stale partial slug was packed: {names:?}"
    );
    assert!(!stale.exists(), "a dead pack's partial slug is removed");
}

#[test]
fn sigterm_while_packing_leaves_no_partial_slug() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("big.bin"), noise(160 << 20, 1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("slug.tgz");
    let child = Command::new(env!("CARGO_BIN_EXE_slug"))
        .args([
            "pack",
            app.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Once the partial file exists, the pack is under way: stop it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let partial = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains(".partial-"))
    };
    while !partial() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(partial(), "the pack never started writing");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out_status = child.wait_with_output().unwrap();
    assert_eq!(out_status.status.code(), Some(143));
    assert!(!partial(), "a partial slug was left behind");
    assert!(!out.exists());
}

#[test]
fn a_slugignore_that_links_out_of_the_app_is_refused_never_read() {
    let app = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", app.path().join(".slugignore")).unwrap();
    let started = std::time::Instant::now();
    let (code, _, stderr) = slug(&["ignore", app.path().to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("outside the app"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn progress_shows_on_a_terminal_and_never_in_a_pipe() {
    let app = app();
    let dir = app.path().display().to_string();
    // Piped (a build log, a script): the output is exactly the result.
    let (code, out, err) = slug(&["measure", &dir], &[("SLUG_PROGRESS_AFTER_MS", "0")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains('\r') && !err.contains('\r') && !err.contains("Measuring"),
        "no progress in a pipe: {out:?} {err:?}"
    );
    // On a terminal (util-linux `script` gives it one): the line, rewritten
    // in place, then erased before the result.
    let out = Command::new("script")
        .args(["-qec"])
        .arg(format!("{} measure {dir}", env!("CARGO_BIN_EXE_slug")))
        .arg("/dev/null")
        .env("SLUG_PROGRESS_AFTER_MS", "0")
        .env_remove("SLUG_SIZE_LIMIT")
        .env_remove("SLUG_SIZE_SOFT_LIMIT")
        .output()
        .expect("util-linux script");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("\r\x1b[2K-----> Measuring... ") && screen.contains(" read"),
        "{screen:?}"
    );
    assert!(
        screen.contains("\r\x1b[2K-----> Compressing..."),
        "erased before the result: {screen:?}"
    );
}

#[test]
fn with_json_an_error_is_one_json_object_on_stdout() {
    let (code, out, err) = slug(&["--json", "measure", "/nonexistent-app"], &[]);
    assert_eq!(code, 2);
    assert!(err.is_empty(), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["exit_code"], 2);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent-app"),
        "{v}"
    );
}

#[test]
fn help_lists_the_exit_codes_and_completions_come_from_the_same_definition() {
    let (code, out, _) = slug(&["--help"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit codes:") && out.contains("over the hard limit"),
        "{out}"
    );
    let (code, script, _) = slug(&["completions", "bash"], &[]);
    assert_eq!(code, 0);
    assert!(
        script.contains("measure") && script.contains("--level"),
        "{script}"
    );
    let pages = tempfile::tempdir().unwrap();
    let (code, _, err) = slug(&["man-pages", &pages.path().display().to_string()], &[]);
    assert_eq!(code, 0, "{err}");
    for page in ["slug.1", "slug-measure.1", "slug-pack.1", "slug-ignore.1"] {
        assert!(pages.path().join(page).is_file(), "{page}");
    }
}

/// `-o` something that is not a regular file (a FIFO, a link such as
/// `/dev/stdout`, a device such as `/dev/null`) is written through, in
/// place: never replaced by a file renamed over it. A directory is refused.
#[test]
fn an_output_that_is_not_a_regular_file_is_written_in_place_never_replaced() {
    use std::os::unix::fs::FileTypeExt as _;
    let app = app();
    let dir = app.path().display().to_string();
    let out = tempfile::tempdir().unwrap();

    // A FIFO, read by `cat` as a pipe's reader would.
    let fifo = out.path().join("slug.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let received = out.path().join("received.tgz");
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(std::fs::File::create(&received).unwrap())
        .spawn()
        .unwrap();
    let (code, out_text, err) = slug(&["pack", &dir, "-o", &fifo.display().to_string()], &[]);
    assert!(reader.wait().unwrap().success());
    let read = std::fs::read(&received).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "still a FIFO"
    );
    assert_eq!(&read[..2], &[0x1f, 0x8b], "the slug came through the FIFO");
    assert!(
        out_text.is_empty() && err.contains("-----> Wrote"),
        "the summary on stderr, where it cannot mix with the slug: {out_text:?} {err:?}"
    );

    // A link (as /dev/stdout is one): the link stays, its target gets the slug.
    let target = out.path().join("real.tgz");
    std::fs::write(&target, "old").unwrap();
    let link = out.path().join("link.tgz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (code, _, err) = slug(&["pack", &dir, "-o", &link.display().to_string()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(&std::fs::read(&target).unwrap()[..2], &[0x1f, 0x8b]);

    // A directory is refused, naming it.
    let (code, _, err) = slug(
        &["pack", &dir, "-o", &out.path().display().to_string()],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is a directory"), "{err}");
}
