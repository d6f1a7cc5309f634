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
