//! The process table of an app, as a specification.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use procfile::FormationOrigin;
use procfile::{load, Origin, ProcessTable, ProcfileError};
use std::fs;
use tempfile::TempDir;

fn app(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const CELERY_PROJECT: &str =
    "[_]\nschema-version = \"0.2\"\n\n[_.metadata.slipway.celery]\napp = \"refapp\"\n";

const SEVEN: [&str; 7] = [
    "web",
    "beat",
    "worker_high_memory",
    "worker_primary",
    "worker_general",
    "worker_import",
    "worker_priority",
];

#[test]
fn a_celery_declaration_generates_the_seven_reference_types() {
    let dir = app(&[("project.toml", CELERY_PROJECT)]);
    let table = load(dir.path()).unwrap().table;
    let names: Vec<_> = table.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, SEVEN);
    assert_eq!(table.default_process(), Some("web"));
    assert!(table
        .processes
        .iter()
        .all(|p| p.origin == Origin::Reference));

    let beat = table.get("beat").unwrap();
    assert!(beat.formation.singleton && beat.formation.max == Some(1));
    assert!(beat.celery.as_ref().unwrap().embeds_beat);
    assert_eq!(beat.formation.size, "standard-2x");

    let primary = table.get("worker_primary").unwrap();
    assert_eq!((primary.formation.min, primary.formation.max), (1, Some(1)));
    let priority = table.get("worker_priority").unwrap();
    assert_eq!(
        priority.formation.min, 0,
        "0 is a valid minimum for workers"
    );
    assert_eq!(priority.celery.as_ref().unwrap().queues, ["bulk_priority"]);
}

#[test]
fn every_reference_queue_has_a_consumer_and_imports_go_to_the_import_types() {
    let dir = app(&[("project.toml", CELERY_PROJECT)]);
    let table = load(dir.path()).unwrap().table;
    for q in [
        "default",
        "bulk",
        "bulk_priority",
        "user_import",
        "high_memory",
        "feedback",
    ] {
        assert!(
            !consumers_of(&table, q).is_empty(),
            "queue {q} has no consumer"
        );
    }
    assert_eq!(
        consumers_of(&table, "user_import"),
        ["beat", "worker_primary", "worker_import"]
    );
    assert_eq!(
        consumers_of(&table, "high_memory"),
        ["beat", "worker_high_memory"]
    );
}

#[test]
fn explicit_procfile_lines_win_over_generated_ones() {
    let dir = app(&[
        ("project.toml", CELERY_PROJECT),
        ("Procfile", "web: python manage.py runserver 0.0.0.0:$PORT\nworker_import: celery -A refapp worker -Q user_import,geocode\nrelease: release-phase run\n"),
    ]);
    let table = load(dir.path()).unwrap().table;
    assert_eq!(table.processes.len(), 8);
    let web = table.get("web").unwrap();
    assert_eq!(web.command, "python manage.py runserver 0.0.0.0:$PORT");
    assert_eq!(web.origin, Origin::Procfile { line: 1 });
    let import = table.get("worker_import").unwrap();
    assert_eq!(
        import.celery.as_ref().unwrap().queues,
        ["user_import", "geocode"]
    );
    assert_eq!(
        import.formation.origin,
        FormationOrigin::Reference,
        "formation recommendation is kept"
    );
    assert_eq!(
        table.get("worker_general").unwrap().origin,
        Origin::Reference
    );
}

#[test]
fn a_procfile_beat_or_clock_type_is_a_singleton_and_so_is_a_worker_with_dash_b() {
    let dir = app(&[("Procfile", "web: a\nclock: python clock.py\nworker: celery -A x worker -B\nother: celery -A x worker\n")]);
    let table = load(dir.path()).unwrap().table;
    assert!(table.get("clock").unwrap().formation.singleton);
    assert!(table.get("worker").unwrap().formation.singleton);
    assert!(!table.get("other").unwrap().formation.singleton);
    assert_eq!(table.get("web").unwrap().formation.quantity, 1);
    assert_eq!(table.get("other").unwrap().formation.quantity, 0);
}

#[test]
fn project_toml_formation_sets_size_and_bounds_and_may_release_a_singleton() {
    let dir = app(&[
        ("Procfile", "web: a\nbeat: celery -A x beat\nworker: celery -A x worker\n"),
        (
            "project.toml",
            "[_.metadata.slipway.formation.worker]\nsize = \"Performance-M\"\nmin = 0\nmax = 5\n[_.metadata.slipway.formation.beat]\nsingleton = false\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    let worker = loaded.table.get("worker").unwrap();
    assert_eq!(worker.formation.size, "performance-m");
    assert_eq!((worker.formation.min, worker.formation.max), (0, Some(5)));
    assert!(!loaded.table.get("beat").unwrap().formation.singleton);
    let w = loaded
        .warnings
        .iter()
        .find(|w| w.message.contains("singleton = false"))
        .unwrap();
    assert_eq!(w.location(), "project.toml:5");
}

#[test]
fn a_dyno_size_heroku_does_not_have_is_kept_with_a_warning_and_a_known_one_in_any_case_is_not() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: w\n"),
        (
            "project.toml",
            "[_.metadata.slipway.formation.web]\nsize = \"Performance-L\"\n[_.metadata.slipway.formation.worker]\nsize = \"huge-9x\"\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    let sized: Vec<_> = loaded
        .warnings
        .iter()
        .filter(|w| w.message.contains("is not a dyno size"))
        .map(|w| w.message.clone())
        .collect();
    assert_eq!(sized.len(), 1, "{sized:?}");
    assert!(
        sized[0].contains("formation.worker] size `huge-9x`"),
        "{sized:?}"
    );
    assert_eq!(
        loaded.table.get("worker").unwrap().formation.size,
        "huge-9x",
        "kept: the platform judges"
    );
}

/// Detection: what in an app could define processes. A file that is there
/// but cannot be read passes, so the build can say what is wrong with it.
#[test]
fn an_app_has_process_sources_when_a_procfile_run_entries_or_a_celery_table_could_define_them() {
    let has = |files: &[(&str, &str)]| procfile::has_process_sources(app(files).path());
    assert!(!has(&[]));
    assert!(
        has(&[("Procfile", "")]),
        "an empty Procfile is still the app's"
    );
    assert!(has(&[("heroku.yml", "run:\n  web: gunicorn app.wsgi\n")]));
    assert!(
        !has(&[("heroku.yml", "build:\n  docker:\n    web: Dockerfile\n")]),
        "no run: entries"
    );
    assert!(has(&[("project.toml", CELERY_PROJECT)]));
    assert!(!has(&[("project.toml", "[_]\nid = \"app\"\n")]));
    assert!(
        has(&[("project.toml", "[_\n")]),
        "unreadable: the build reports it"
    );
    let linked = app(&[]);
    std::os::unix::fs::symlink("/etc/hostname", linked.path().join("heroku.yml")).unwrap();
    assert!(
        procfile::has_process_sources(linked.path()),
        "refused: the build reports it"
    );
}

#[test]
fn a_procfile_and_heroku_yml_that_differ_warn_with_every_difference_and_the_procfile_wins() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: w\nclock: c\n"),
        (
            "heroku.yml",
            "run:\n  web: a\n  worker: other\n  extra: e\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    let w = loaded
        .warnings
        .iter()
        .find(|w| w.message.contains("differ") || w.help.contains("differ"))
        .map(|w| format!("{} {}", w.message, w.help));
    let text = w.unwrap_or_else(|| panic!("{:?}", loaded.warnings));
    assert!(
        text.contains("`worker` differs: Procfile `w`, heroku.yml `other`"),
        "{text}"
    );
    assert!(text.contains("`clock` is only in Procfile"), "{text}");
    assert!(text.contains("`extra` is only in heroku.yml"), "{text}");
    assert!(
        !text.contains("`web`"),
        "the same command is no difference: {text}"
    );
    assert_eq!(loaded.table.get("worker").unwrap().command, "w");
    assert!(loaded.table.get("extra").is_none());
    // The same lines in both: nothing to say.
    let same = app(&[("Procfile", "web: a\n"), ("heroku.yml", "run:\n  web: a\n")]);
    assert!(load(same.path()).unwrap().warnings.is_empty());
    // A heroku.yml that does not parse is not compared (its own errors are the build's).
    let broken = app(&[("Procfile", "web: a\n"), ("heroku.yml", "run: [\n")]);
    assert!(load(broken.path()).unwrap().warnings.is_empty());
}

#[test]
fn a_heroku_yml_with_errors_of_its_own_is_not_compared_with_the_procfile() {
    let dir = app(&[
        ("Procfile", "web: a\n"),
        ("heroku.yml", "run:\n  web: b\n  worker:\n    image: web\n"),
    ]);
    let loaded = load(dir.path()).unwrap();
    assert!(
        !loaded
            .warnings
            .iter()
            .any(|w| w.message.contains("differ") || w.help.contains("differ")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn singleton_false_on_a_type_that_is_no_singleton_changes_nothing_and_says_nothing() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: celery -A x worker\n"),
        (
            "project.toml",
            "[_.metadata.slipway.formation.worker]\nsingleton = false\nmax = 4\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.table.get("worker").unwrap().formation.max, Some(4));
}

#[test]
fn heroku_yml_alone_is_a_source_when_it_has_entries_or_errors_to_report() {
    let only = app(&[("heroku.yml", "run:\n  web: a\n")]);
    assert_eq!(load(only.path()).unwrap().sources, ["heroku.yml"]);
    let build_only = app(&[
        ("heroku.yml", "build:\n  docker:\n    web: Dockerfile\n"),
        ("project.toml", CELERY_PROJECT),
    ]);
    assert!(!load(build_only.path())
        .unwrap()
        .sources
        .contains(&"heroku.yml".to_string()));
}

#[test]
fn a_formation_table_for_a_type_that_does_not_exist_is_a_warning_naming_the_types_there_are() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: w\n"),
        (
            "project.toml",
            "[_]\nid = \"x\"\n[_.metadata.slipway.formation.wroker]\nmax = 3\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    let w = loaded
        .warnings
        .iter()
        .find(|w| {
            w.message
                .contains("names a process type that does not exist")
        })
        .unwrap();
    assert!(
        w.help.contains("the process types are: web, worker;"),
        "{}",
        w.help
    );
    assert_eq!(w.location(), "project.toml:3");
}

#[test]
fn a_singleton_takes_exactly_one_dyno_and_a_declared_one_is_made_so() {
    // Declared singleton: exactly one, bounds 1..=1.
    let dir = app(&[
        ("Procfile", "web: a\nmailer: python mail.py\n"),
        (
            "project.toml",
            "[_.metadata.slipway.formation.mailer]\nsingleton = true\n",
        ),
    ]);
    let loaded = load(dir.path()).unwrap();
    let f = &loaded.table.get("mailer").unwrap().formation;
    assert!(f.singleton);
    assert_eq!((f.quantity, f.min, f.max), (1, 1, Some(1)));
    assert!(f.note.contains("declared singleton"), "{}", f.note);
    // min/max/quantity of exactly 1 are fine on a singleton; anything else is an error.
    for (setting, ok) in [
        ("min = 1", true),
        ("max = 1", true),
        ("quantity = 1", true),
        ("min = 0", false),
        ("max = 2", false),
        ("quantity = 3", false),
    ] {
        let dir = app(&[
            ("Procfile", "beat: celery -A x beat\n"),
            (
                "project.toml",
                &format!("[_.metadata.slipway.formation.beat]\n{setting}\n"),
            ),
        ]);
        assert_eq!(load(dir.path()).is_ok(), ok, "{setting}");
    }
}

#[test]
fn a_quantity_is_kept_within_the_bounds_and_min_equal_to_max_is_allowed() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: w\nother: o\n"),
        ("project.toml", "[_.metadata.slipway.formation.worker]\nmin = 2\nmax = 4\nquantity = 9\n[_.metadata.slipway.formation.other]\nmin = 3\nmax = 3\n"),
    ]);
    let loaded = load(dir.path()).unwrap();
    let worker = &loaded.table.get("worker").unwrap().formation;
    assert_eq!((worker.quantity, worker.min, worker.max), (4, 2, Some(4)));
    let other = &loaded.table.get("other").unwrap().formation;
    assert_eq!((other.quantity, other.min, other.max), (3, 3, Some(3)));
}

#[test]
fn a_type_name_may_be_as_long_as_the_limit_and_no_longer() {
    // 128 characters: the Platform API's formation limit (SPEC).
    let at = "a".repeat(128);
    let procfile = |name: &str| procfile::parse("Procfile", format!("{name}: x\n").as_bytes());
    assert!(!procfile(&at).has_errors());
    assert!(procfile(&format!("{at}a")).has_errors());
}

#[test]
fn contradictory_formation_is_an_error_naming_the_table_line() {
    let dir = app(&[
        ("Procfile", "beat: celery -A x beat\nworker: w\n"),
        ("project.toml", "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.formation.beat]\nmax = 3\n[_.metadata.slipway.formation.worker]\nmin = 4\nmax = 2\n"),
    ]);
    let Err(ProcfileError::Invalid { diagnostics }) = load(dir.path()) else {
        panic!("expected an error")
    };
    let locations: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(slipway_data::Diagnostic::location)
        .collect();
    assert_eq!(locations, ["project.toml:3", "project.toml:5"]);
    let text = ProcfileError::Invalid { diagnostics }.to_string();
    assert!(text.contains("min = 4 above max = 2"), "{text}");
}

#[test]
fn heroku_yml_run_is_used_when_there_is_no_procfile() {
    let dir = app(&[("heroku.yml", "release:\n  image: web\n  command:\n    - release-phase run\nrun:\n  web: gunicorn a.wsgi\n  worker_general: celery -A a worker -Q default\n")]);
    let table = load(dir.path()).unwrap().table;
    let names: Vec<_> = table.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "worker_general", "release"]);
    assert_eq!(table.get("release").unwrap().command, "release-phase run");
}

#[test]
fn procfile_and_heroku_yml_that_disagree_are_reported_and_the_procfile_is_used() {
    let dir = app(&[
        ("Procfile", "web: a\nworker: b\n"),
        ("heroku.yml", "run:\n  web: a2\n  clock: c\n"),
    ]);
    let loaded = load(dir.path()).unwrap();
    assert_eq!(loaded.table.get("web").unwrap().command, "a");
    let w = &loaded.warnings[0];
    assert!(w.message.contains("`web` differs"), "{}", w.message);
    assert!(w.message.contains("`worker` is only in Procfile"));
    assert!(w.message.contains("`clock` is only in heroku.yml"));
}

#[test]
fn errors_from_every_file_are_reported_together() {
    let dir = app(&[("Procfile", "web a\nok: b\nbad name: c\n")]);
    let err = load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("Procfile:1") && err.contains("Procfile:3"),
        "{err}"
    );
}

#[test]
fn renderers_keep_underscored_names_and_the_default() {
    let dir = app(&[
        ("project.toml", CELERY_PROJECT),
        ("Procfile", "release: release-phase run\n"),
    ]);
    let table = load(dir.path()).unwrap().table;
    let launch = table.launch_toml().unwrap();
    assert!(launch.contains("type = \"worker_high_memory\""), "{launch}");
    assert_eq!(launch.matches("default = true").count(), 1);
    let release = table.classic_release_yaml();
    assert!(
        release.starts_with("---\ndefault_process_types:\n"),
        "{release}"
    );
    assert!(
        release.contains("worker_priority: celery -A refapp worker -Q bulk_priority"),
        "{release}"
    );
    let yml = table.heroku_yml_run();
    assert!(
        yml.contains("release:\n  image: web\n  command:\n    - release-phase run"),
        "{yml}"
    );
    let formation = table.app_json_formation();
    assert_eq!(formation["formation"]["beat"]["quantity"], 1);
    assert_eq!(
        formation["formation"]["worker_high_memory"]["size"],
        "standard-2x"
    );
    assert!(formation["formation"].get("release").is_none());
}

#[test]
fn a_single_non_web_type_is_the_default_but_release_never_is() {
    let dir = app(&[("Procfile", "worker: w\n")]);
    assert_eq!(
        load(dir.path()).unwrap().table.default_process(),
        Some("worker")
    );
    let dir = app(&[("Procfile", "release: r\n")]);
    assert_eq!(load(dir.path()).unwrap().table.default_process(), None);
}

/// Which process types consume `queue` (the worker types queue-depth
/// scaling would grow for it).
fn consumers_of<'a>(table: &'a ProcessTable, queue: &str) -> Vec<&'a str> {
    table
        .processes
        .iter()
        .filter(|p| {
            p.celery
                .as_ref()
                .is_some_and(|c| c.queues.iter().any(|q| q == queue))
        })
        .map(|p| p.name.as_str())
        .collect()
}
