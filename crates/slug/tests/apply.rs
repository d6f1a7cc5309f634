//! Applying `.slugignore` to a real tree.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use slug::{apply, SlugIgnore};
use std::os::unix::fs::symlink;

#[test]
fn a_matching_symlink_is_removed_and_its_target_outside_is_untouched() {
    let base = tempfile::tempdir().unwrap();
    let (app, outside) = (base.path().join("app"), base.path().join("outside"));
    std::fs::create_dir_all(outside.join("deep")).unwrap();
    std::fs::write(outside.join("deep/keys.secret"), "k").unwrap();
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(app.join("src/app.py"), "print()").unwrap();
    symlink(&outside, app.join("shared")).unwrap();
    symlink(&outside, app.join("vendor-link")).unwrap();

    let rules = SlugIgnore::parse(b"*.secret\n/vendor-link\n").unwrap();
    let removal = apply(&app, &rules).unwrap();
    assert_eq!(removal.paths, [std::path::PathBuf::from("vendor-link")]);
    assert_eq!((removal.files, removal.links), (0, 1));
    assert!(
        outside.join("deep/keys.secret").exists(),
        "links are never followed"
    );
    assert!(std::fs::symlink_metadata(app.join("shared")).is_ok());
}

#[test]
fn matched_directories_go_whole_and_are_counted() {
    let app = tempfile::tempdir().unwrap();
    for (p, size) in [
        ("tests/unit/test_a.py", 10),
        ("tests/data.bin", 1000),
        ("docs/guide.pdf", 500),
        ("app/models.py", 7),
    ] {
        let path = app.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![b'x'; size]).unwrap();
    }
    let removal = apply(app.path(), &SlugIgnore::parse(b"/tests\n*.pdf\n").unwrap()).unwrap();
    assert_eq!(removal.files, 3);
    assert_eq!(removal.bytes, 1510);
    assert!(!app.path().join("tests").exists());
    assert!(app.path().join("docs").is_dir() && app.path().join("app/models.py").is_file());
}

#[test]
fn a_directory_that_cannot_be_read_stops_before_anything_is_removed() {
    // A path longer than PATH_MAX cannot be listed, even by root: built with
    // relative mkdir/cd in a shell, since no single path to it can be used.
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("a.log"), "x").unwrap();
    let name = "d".repeat(250);
    let status = std::process::Command::new("bash")
        .args(["-c", &format!("cd \"$0\" && for i in $(seq 1 20); do mkdir {name} && cd {name}; done && touch deep.log")])
        .arg(app.path())
        .status()
        .unwrap();
    assert!(status.success());
    let err = apply(app.path(), &SlugIgnore::parse(b"*.log\n").unwrap()).unwrap_err();
    assert!(
        err.to_string().contains(&name)
            && err
                .to_string()
                .contains("Nothing outside the matched paths was changed"),
        "{err}"
    );
    assert!(
        app.path().join("a.log").exists(),
        "nothing removed: matching happens before any removal"
    );
    let _ = std::process::Command::new("rm")
        .arg("-rf")
        .arg(app.path().join(&name))
        .status();
}

/// The race an adversarial sweep won 3 times out of 3: a matched directory's
/// parent swapped for a symlink out of the app between the walk and the
/// removal. Removal goes through directory handles that refuse symlinks, so
/// nothing outside is deleted; the run stops with an error naming the swap.
#[test]
fn a_directory_swapped_for_a_symlink_after_the_walk_is_never_followed() {
    let base = tempfile::tempdir().unwrap();
    let (app, outside) = (base.path().join("app"), base.path().join("outside"));
    std::fs::create_dir_all(outside.join("cache")).unwrap();
    std::fs::write(outside.join("cache/precious.txt"), "keep me").unwrap();
    std::fs::write(outside.join("file.log"), "keep me too").unwrap();
    std::fs::create_dir_all(app.join("build/cache")).unwrap();
    std::fs::write(app.join("build/cache/x"), "x").unwrap();
    std::fs::write(app.join("build/file.log"), "x").unwrap();

    let rules = SlugIgnore::parse(b"/build/cache\n*.log\n").unwrap();
    let swap = || {
        std::fs::rename(app.join("build"), app.join("build-moved")).unwrap();
        symlink(&outside, app.join("build")).unwrap();
    };
    let result = slug::apply_with(
        &app,
        &rules,
        &slug::Races {
            on_visit: &|_| {},
            after_walk: &swap,
            before_remove: &|_| {},
        },
    );
    let e = result.expect_err("the swap is reported").to_string();
    assert!(e.contains("stopped being a directory"), "{e}");
    assert_eq!(
        std::fs::read_to_string(outside.join("cache/precious.txt")).unwrap(),
        "keep me"
    );
    assert!(outside.join("file.log").exists());
    assert!(std::fs::symlink_metadata(app.join("build"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A directory removed by another process while the walk is under way (its
/// parent listed it, it is gone before it is opened): nothing there to
/// remove, so the walk goes on, and every other match is still removed.
#[test]
fn a_directory_that_vanishes_during_the_walk_is_passed_over_and_the_rest_applied() {
    let app = tempfile::tempdir().unwrap();
    let app = app.path();
    std::fs::create_dir_all(app.join("keep/gone/deeper")).unwrap();
    std::fs::write(app.join("keep/gone/deeper/a.log"), "x").unwrap();
    std::fs::write(app.join("keep/b.log"), "x").unwrap();
    std::fs::write(app.join("c.log"), "x").unwrap();
    std::fs::write(app.join("keep/d.txt"), "x").unwrap();

    let rules = SlugIgnore::parse(b"*.log\n").unwrap();
    let vanished = std::sync::atomic::AtomicBool::new(false);
    let removal = slug::apply_with(
        app,
        &rules,
        &slug::Races {
            // `keep` is visited after it was listed: its `gone` is queued,
            // and is not there when the walk opens it.
            on_visit: &|path| {
                if path == app.join("keep") {
                    std::fs::remove_dir_all(app.join("keep/gone")).unwrap();
                    vanished.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            },
            after_walk: &|| {},
            before_remove: &|_| {},
        },
    )
    .expect("a vanished directory is not an error");
    assert!(vanished.load(std::sync::atomic::Ordering::SeqCst));
    let mut removed: Vec<_> = removal
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    removed.sort();
    assert_eq!(removed, ["c.log", "keep/b.log"]);
    assert!(app.join("keep/d.txt").exists());
    assert!(!app.join("keep/b.log").exists() && !app.join("c.log").exists());
}

/// Between the walk and the removal a matched file is removed by someone
/// else: nothing left to do there; the rest is applied. But a matched
/// file's directory turned into a symlink loop cannot be looked at: that
/// stops the run naming the path, never passed over as if it had vanished.
#[test]
fn a_matched_file_gone_after_the_walk_is_passed_over_but_one_that_cannot_be_looked_at_stops_the_run(
) {
    let app = tempfile::tempdir().unwrap();
    let app = app.path();
    std::fs::write(app.join("gone.log"), "x").unwrap();
    std::fs::write(app.join("stays.log"), "x").unwrap();
    let rules = SlugIgnore::parse(b"*.log\n").unwrap();
    let removal = slug::apply_with(
        app,
        &rules,
        &slug::Races {
            on_visit: &|_| {},
            after_walk: &|| std::fs::remove_file(app.join("gone.log")).unwrap(),
            before_remove: &|_| {},
        },
    )
    .expect("a file removed meanwhile is not an error");
    assert_eq!(removal.paths, [std::path::PathBuf::from("stays.log")]);
    assert!(!app.join("stays.log").exists());

    std::fs::create_dir(app.join("build")).unwrap();
    std::fs::write(app.join("build/file.log"), "x").unwrap();
    let e = slug::apply_with(
        app,
        &rules,
        &slug::Races {
            on_visit: &|_| {},
            after_walk: &|| {
                std::fs::rename(app.join("build"), app.join("build-moved")).unwrap();
                symlink("build", app.join("build")).unwrap();
            },
            before_remove: &|_| {},
        },
    )
    .expect_err("a path that cannot be looked at is reported")
    .to_string();
    assert!(e.contains("build/file.log"), "{e}");
    assert!(app.join("build-moved/file.log").exists());
}

/// An app directory and an outside one with the same matching files.
fn app_and_outside_twin() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let (app, outside) = (base.path().join("app"), base.path().join("outside"));
    for dir in [&app, &outside] {
        for sub in ["a", "b", "c"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            std::fs::write(dir.join(sub).join("x.log"), "x").unwrap();
            std::fs::write(dir.join(sub).join("keep.py"), "x").unwrap();
        }
    }
    (base, app, outside)
}

fn logs_in(dir: &std::path::Path) -> usize {
    ["a", "b", "c"]
        .iter()
        .filter(|s| dir.join(s).join("x.log").exists())
        .count()
}

/// The app directory itself replaced by a link to another directory after
/// the walk: the walk's list may be the other directory's, so nothing is
/// removed, anywhere, and the error says why.
#[test]
fn the_app_directory_swapped_for_a_link_after_the_walk_removes_nothing_anywhere() {
    let (base, app, outside) = app_and_outside_twin();
    let moved = base.path().join("app-moved");
    let rules = SlugIgnore::parse(b"*.log\n").unwrap();
    let swap = || {
        std::fs::rename(&app, &moved).unwrap();
        symlink(&outside, &app).unwrap();
    };
    let e = slug::apply_with(
        &app,
        &rules,
        &slug::Races {
            on_visit: &|_| {},
            after_walk: &swap,
            before_remove: &|_| {},
        },
    )
    .expect_err("the swap is reported")
    .to_string();
    assert!(e.contains("the app directory was replaced"), "{e}");
    assert_eq!(logs_in(&outside), 3, "outside untouched");
    assert_eq!(logs_in(&moved), 3, "nothing removed");
}

/// The app directory replaced by a link to another directory between two
/// removals: every removal is resolved beneath the handle opened at the
/// start, so the rest land in the app (moved, not deleted), never outside.
#[test]
fn the_app_directory_swapped_for_a_link_between_removals_never_removes_outside() {
    let (base, app, outside) = app_and_outside_twin();
    let moved = base.path().join("app-moved");
    let rules = SlugIgnore::parse(b"*.log\n").unwrap();
    let swapped = std::sync::atomic::AtomicBool::new(false);
    let swap = |_: &std::path::Path| {
        if !swapped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::fs::rename(&app, &moved).unwrap();
            symlink(&outside, &app).unwrap();
        }
    };
    let removal = slug::apply_with(
        &app,
        &rules,
        &slug::Races {
            on_visit: &|_| {},
            after_walk: &|| {},
            before_remove: &swap,
        },
    )
    .unwrap();
    assert_eq!(removal.paths.len(), 3);
    assert_eq!(logs_in(&outside), 3, "outside untouched");
    assert_eq!(logs_in(&moved), 0, "every removal landed in the app");
    assert!(moved.join("a/keep.py").exists());
}
