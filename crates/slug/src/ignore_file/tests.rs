use super::*;
use std::os::unix::fs::symlink;

fn m(rules: &str, path: &str, is_dir: bool) -> bool {
    SlugIgnore::parse(rules.as_bytes())
        .unwrap()
        .matching(Path::new(path), is_dir)
        .is_some()
}

#[test]
fn a_pattern_longer_than_any_path_is_an_error_naming_its_line_never_a_panic() {
    for c in ["a", "*", "?", "["] {
        let text = format!("*.psd\n{}\n", c.repeat(400_000));
        let e = SlugIgnore::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains(".slugignore:2") && e.contains("longer than 4096 bytes"),
            "{}",
            &e[..e.len().min(300)]
        );
        assert!(e.len() < 1000, "the pattern is not echoed whole");
    }
}

#[test]
fn more_than_ten_thousand_patterns_are_accepted_with_a_warning() {
    let mut few = String::new();
    for i in 0..MANY_PATTERNS {
        few.push_str(&format!("/dir{i}/*.log\n"));
    }
    assert_eq!(SlugIgnore::parse(few.as_bytes()).unwrap().warning(), None);
    let many = format!("{few}/one/more\n");
    let rules = SlugIgnore::parse(many.as_bytes()).unwrap();
    assert!(rules.warning().unwrap().contains("10001 patterns"));
    assert_eq!(
        rules.matching(Path::new("one/more"), false).as_deref(),
        Some(".slugignore:10001 `/one/more`")
    );
    assert_eq!(
        rules.matching(Path::new("dir7/x.log"), false).as_deref(),
        Some(".slugignore:8 `/dir7/*.log`")
    );
}

#[test]
fn braces_are_literal_as_in_herokus_compiler_never_alternation() {
    assert!(m("/{{cookiecutter.slug}}", "{{cookiecutter.slug}}", true));
    assert!(!m("/{{cookiecutter.slug}}", "cookiecutter.slug", true));
    assert!(!m("*.{psd,ai}", "art.psd", false));
    assert!(m("*.{psd,ai}", "art.{psd,ai}", false));
    assert!(m("[{]x", "{x", false), "inside a class too");
}

#[test]
fn a_pattern_of_exactly_the_longest_path_is_accepted() {
    let at = format!("/{}", "a".repeat(MAX_PATTERN_BYTES - 1));
    assert!(SlugIgnore::parse(at.as_bytes()).is_ok());
    assert!(SlugIgnore::parse(format!("{at}a").as_bytes()).is_err());
}

#[test]
fn rules_are_empty_without_patterns_or_excludes() {
    let dir = Path::new("/app");
    assert!(SlugIgnore::parse(b"# only a comment\n").unwrap().is_empty());
    assert!(!SlugIgnore::parse(b"*.log\n").unwrap().is_empty());
    let none = SlugIgnore::parse(b"")
        .unwrap()
        .with_excludes(dir, &[])
        .unwrap();
    assert!(none.is_empty());
    let some = SlugIgnore::parse(b"")
        .unwrap()
        .with_excludes(dir, &["docs".into()])
        .unwrap();
    assert!(!some.is_empty());
}

#[test]
fn a_directory_only_pattern_with_a_class_names_directories_only() {
    assert!(m("[a]b/", "ab", true));
    assert!(!m("[a]b/", "ab", false), "a file is not a directory");
    assert!(m("?b", "ab", false));
}

#[test]
fn a_backslash_escapes_the_next_character_braces_included() {
    assert!(m("a\\{b", "a{b", false));
    assert!(!m("a\\{b", "a\\{b", false));
    assert!(m("\\*.log", "*.log", false));
    assert!(!m("\\*.log", "x.log", false), "an escaped star is a star");
    assert!(m("name\\#1", "name#1", false));
}

#[test]
fn braces_are_escaped_for_globset_outside_classes_only() {
    assert_eq!(literal_braces("x[{}]y{z}"), "x[{}]y\\{z\\}");
    assert_eq!(literal_braces("a\\{b"), "a\\{b", "already escaped: kept");
    assert_eq!(literal_braces("[a]{"), "[a]\\{", "a class ends at its `]`");
}

#[test]
fn unanchored_patterns_match_at_any_depth() {
    assert!(m("*.psd", "art.psd", false));
    assert!(m("*.psd", "assets/img/art.psd", false));
    assert!(m("node_modules", "frontend/node_modules", true));
    assert!(!m("*.psd", "art.psd.txt", false));
}

#[test]
fn a_slash_anywhere_anchors_at_the_root() {
    assert!(m("/tests", "tests", true));
    assert!(!m("/tests", "app/tests", true));
    assert!(m("docs/build", "docs/build", true));
    assert!(!m("docs/build", "x/docs/build", true));
    assert!(
        m("tests/", "tests", true),
        "a trailing slash anchors too (Heroku)"
    );
    assert!(!m("tests/", "tests", false), "and matches directories only");
    assert!(!m("tests/", "app/tests", true));
}

#[test]
fn star_stays_in_a_segment_and_double_star_spans_directories() {
    assert!(!m("/src/*.map", "src/js/app.js.map", false));
    assert!(m("/src/**/*.map", "src/js/app.js.map", false));
    assert!(m("/src/**/*.map", "src/app.js.map", false));
    assert!(m("fixture?.json", "a/fixture1.json", false));
    assert!(m("[ab].txt", "b.txt", false));
    assert!(
        m("?", "ü", false) && m("[üx]-?", "ü-é", false),
        "classes and ? match characters, not bytes"
    );
}

#[test]
fn comments_blank_lines_and_crlf() {
    let rules =
        SlugIgnore::parse(b"# build junk\r\n\r\n*.log   # logs\r\n  /tmp  \r\nname\\#1\n").unwrap();
    let texts: Vec<_> = rules
        .patterns
        .iter()
        .map(|p| (p.line, p.text.as_str()))
        .collect();
    assert_eq!(texts, [(3, "*.log"), (4, "/tmp"), (5, "name#1")]);
}

#[test]
fn a_line_is_one_pattern_even_with_spaces() {
    assert!(m("My Documents", "My Documents", true));
    assert!(!m("My Documents", "My", true));
}

#[test]
fn negation_and_parent_segments_are_errors_naming_the_line() {
    let e = SlugIgnore::parse(b"*.log\n!keep.log\n").unwrap_err();
    assert!(matches!(e, SlugError::Negation { line: 2, .. }), "{e}");
    assert!(e.to_string().starts_with(".slugignore:2: `!keep.log`"));
    let e = SlugIgnore::parse(b"../secrets\n").unwrap_err();
    assert!(matches!(e, SlugError::OutsideApp { line: 1, .. }));
    let e = SlugIgnore::parse(b"ok\n[z-a\n").unwrap_err();
    assert!(matches!(e, SlugError::BadPattern { line: 2, .. }), "{e}");
    assert!(matches!(
        SlugIgnore::parse(b"ok\n\xff\n").unwrap_err(),
        SlugError::NotText { line: 2 }
    ));
}

#[test]
fn project_toml_excludes_use_gitignore_rules() {
    let rules = SlugIgnore::parse(b"")
        .unwrap()
        .with_excludes(
            Path::new("/app"),
            &["docs".into(), "*.md".into(), "!README.md".into()],
        )
        .unwrap();
    assert!(rules.matching(Path::new("docs"), true).is_some());
    assert!(rules.matching(Path::new("CHANGES.md"), false).is_some());
    assert!(rules.matching(Path::new("README.md"), false).is_none());
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
    let result = apply_with(
        &app,
        &rules,
        &Races {
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
    let removal = apply_with(
        app,
        &rules,
        &Races {
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
    let removal = apply_with(
        app,
        &rules,
        &Races {
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
    let e = apply_with(
        app,
        &rules,
        &Races {
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
    let e = apply_with(
        &app,
        &rules,
        &Races {
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
    let removal = apply_with(
        &app,
        &rules,
        &Races {
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
