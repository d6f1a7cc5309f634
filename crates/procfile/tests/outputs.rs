//! What procfile writes for others, as a specification: the heroku.yml
//! `run:` section, the human table of the build output, the slug's Procfile
//! on classic Heroku; and the parser's verdicts they rest on.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use procfile::{load, parse, Origin};
use std::fs;

fn table(procfile: &str) -> procfile::ProcessTable {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Procfile"), procfile).unwrap();
    load(dir.path()).unwrap().table
}

/// The line above the types Slipway appends to a classic slug's Procfile (SPEC).
const MARKER: &str = "# Added by Slipway's classic buildpacks (types not in this Procfile):";
#[test]
fn the_heroku_yml_run_section_reads_back_as_the_same_table_with_release_apart() {
    let t = table("web: gunicorn app.wsgi --log-file -\nrelease: release-phase run\nworker_high_memory: celery -A app worker -Q high_memory: x\n");
    let yml = t.heroku_yml_run();
    assert!(
        yml.starts_with("release:\n  image: web\n  command:\n    - release-phase run\nrun:\n"),
        "{yml}"
    );
    let back = procfile::HerokuYml::parse("heroku.yml", &yml);
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(back.release.as_deref(), Some("release-phase run"));
    assert_eq!(
        back.run,
        [
            (
                "web".to_string(),
                "gunicorn app.wsgi --log-file -".to_string()
            ),
            (
                "worker_high_memory".to_string(),
                "celery -A app worker -Q high_memory: x".to_string()
            ),
        ],
        "release is not a run: entry; a colon in a command survives quoting"
    );
    let no_release = table("web: a\n").heroku_yml_run();
    assert_eq!(no_release, "run:\n  web: a\n");
}

#[test]
fn the_human_table_shows_each_type_its_formation_origin_queues_default_and_command() {
    let t = table("web: gunicorn app.wsgi\nworker: celery -A app worker -Q a,b\n");
    let text = t.human_table();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("web     standard-1x x1 [1..]  (Procfile:1) (default)"),
        "{text}"
    );
    assert_eq!(lines[1], "        $ gunicorn app.wsgi");
    assert!(
        lines[2].starts_with("worker  standard-1x x0 [0..] queues=a,b  (Procfile:2)"),
        "{text}"
    );
    assert!(!lines[2].contains("(default)"), "{text}");
    assert_eq!(procfile::ProcessTable::default().human_table(), "");
}

#[test]
fn origins_say_where_a_type_came_from() {
    assert_eq!(Origin::Procfile { line: 3 }.describe(), "Procfile:3");
    assert_eq!(Origin::HerokuYml.describe(), "heroku.yml");
    assert_eq!(Origin::Reference.describe(), "generated");
    assert!(procfile::ProcessTable::default().is_empty());
    assert!(!table("web: a\n").is_empty());
}

#[test]
fn errors_are_errors_and_warnings_are_not() {
    assert!(parse("Procfile", b"web\n").has_errors());
    let warned = parse("Procfile", b"web: a\nweb: b\n");
    assert!(
        !warned.diagnostics.is_empty() && !warned.has_errors(),
        "{:?}",
        warned.diagnostics
    );
}

#[test]
fn a_command_may_be_as_long_as_linux_allows_and_no_longer() {
    // 131072 bytes: Linux's MAX_ARG_STRLEN (SPEC).
    let at = format!("web: {}\n", "x".repeat(131_072));
    assert!(!parse("Procfile", at.as_bytes()).has_errors());
    let over = format!("web: {}\n", "x".repeat(131_073));
    assert!(parse("Procfile", over.as_bytes()).has_errors());
}

#[test]
fn a_control_character_in_a_type_is_named_by_its_code_point() {
    let p = parse("Procfile", b"we\x01b: a\n");
    let d = p.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert!(
        d.message.contains("the control character U+0001"),
        "{}",
        d.message
    );
}

#[test]
fn the_slug_procfile_gains_only_missing_types_after_a_marker_once() {
    let dir = tempfile::tempdir().unwrap();
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    };
    // No Procfile yet: made, with the marker.
    let added =
        procfile::append_missing(dir.path(), &want(&[("web", "a"), ("web", "dup")])).unwrap();
    assert_eq!(
        added,
        want(&[("web", "a")]),
        "a type wanted twice is added once"
    );
    let text = fs::read_to_string(dir.path().join("Procfile")).unwrap();
    assert_eq!(text, format!("{MARKER}\nweb: a\n"));
    // A user's line is never changed; a Procfile without a final newline gets one.
    fs::write(dir.path().join("Procfile"), "web: mine").unwrap();
    let added =
        procfile::append_missing(dir.path(), &want(&[("web", "a"), ("worker", "w")])).unwrap();
    assert_eq!(added, want(&[("worker", "w")]));
    let text = fs::read_to_string(dir.path().join("Procfile")).unwrap();
    assert_eq!(text, format!("web: mine\n{MARKER}\nworker: w\n"));
    // Again: the marker is not repeated; nothing missing, nothing written.
    let added = procfile::append_missing(dir.path(), &want(&[("clock", "c")])).unwrap();
    assert_eq!(added.len(), 1);
    let text = fs::read_to_string(dir.path().join("Procfile")).unwrap();
    assert_eq!(text.matches(MARKER).count(), 1, "{text}");
    assert!(procfile::append_missing(dir.path(), &want(&[("web", "x")]))
        .unwrap()
        .is_empty());
    // A Procfile that cannot be read is an error, never replaced.
    let unreadable = tempfile::tempdir().unwrap();
    fs::create_dir(unreadable.path().join("Procfile")).unwrap();
    assert!(procfile::append_missing(unreadable.path(), &want(&[("web", "a")])).is_err());
}

#[test]
fn a_printable_character_in_a_type_is_shown_as_itself() {
    let p = parse("Procfile", b"we@b: a\n");
    let d = p.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert!(d.message.contains("`@`"), "{}", d.message);
}

#[test]
fn a_bash_line_is_written_to_heroku_yml_through_bash_and_reads_back_as_the_procfiles_line() {
    let anycable = r#"[[ "$ANYCABLE_DEPLOYMENT" == "true" ]] && bundle exec anycable || bundle exec rails server -p $PORT"#;
    let skip = r#"[[ "$ANYCABLE_DEPLOYMENT" == "true" ]] && echo "Skip release script" || bundle exec rails db:migrate"#;
    let procfile = format!("web: {anycable}\nrelease: {skip}\nworker: bundle exec sidekiq\n");
    let yml = table(&procfile).heroku_yml_run();
    let back = procfile::HerokuYml::parse("heroku.yml", &yml);
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(
        back.run[0],
        ("web".to_string(), format!("bash -c '{anycable}'")),
        "the container stack's /bin/sh would not know `[[`"
    );
    assert_eq!(
        back.run[1].1, "bundle exec sidekiq",
        "POSIX lines stay as written"
    );
    assert_eq!(back.release, Some(format!("bash -c '{skip}'")));
    // Beside the Procfile it came from, the heroku.yml says the same thing.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Procfile"), &procfile).unwrap();
    fs::write(dir.path().join("heroku.yml"), &yml).unwrap();
    let loaded = load(dir.path()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn a_heroku_yml_command_in_bash_syntax_warns_at_its_line_with_the_bash_c_fix_and_is_kept() {
    let text = "build:\n  docker:\n    web: Dockerfile\nrun:\n  worker: bundle exec sidekiq\n  web: '[[ \"$ANYCABLE_DEPLOYMENT\" == \"true\" ]] && anycable || rails server'\nrelease:\n  image: web\n  command:\n    - '[[ \"$ANYCABLE_DEPLOYMENT\" == \"true\" ]] || rails db:migrate'\n";
    let yml = procfile::HerokuYml::parse("heroku.yml", text);
    assert_eq!(yml.run.len(), 2, "Heroku accepts the line: it is kept");
    let warnings: Vec<String> = yml
        .diagnostics
        .iter()
        .map(slipway_data::Diagnostic::render)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(yml.diagnostics.iter().all(|d| !d.is_error()));
    let web = &warnings[0];
    assert!(web.contains("heroku.yml:6"), "{web}");
    assert!(web.contains("`run.web` uses bash syntax (`[[`)"), "{web}");
    assert!(web.contains("/bin/sh -l -c"), "{web}");
    assert!(
        web.contains(
            r#"bash -c '[[ "$ANYCABLE_DEPLOYMENT" == "true" ]] && anycable || rails server'"#
        ),
        "the fix is the line itself, through bash: {web}"
    );
    assert!(warnings[1].contains("heroku.yml:7"), "{}", warnings[1]);
    assert!(warnings[1].contains("`release.command`"), "{}", warnings[1]);
}
