//! The adversarial harness, part one: every parser we own, fed what an
//! attacker or a broken editor could write, must answer (an error that names
//! the file and line, or a value), never panic. Property tests, bounded in
//! time for CI; each names the parser it covers. (Fault injection for the
//! network peers lives with each peer's tests: the fake Platform API's
//! faults, the silent TCP server for PostgreSQL, the trickling heartbeat.)

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use proptest::prelude::*;
use std::collections::HashMap;

/// Text with the characters that matter to our formats, more often than chance gives them.
fn format_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<char>(),
            3 => proptest::sample::select(vec![
                '\n', '\r', '\t', ' ', ':', '=', '"', '\'', '[', ']', '{', '}', ',', '#', '-',
                '*', '?', '!', '/', '\\', '.', '$', '%', '@', '+', '0', '9', 'a', 'z', '_',
            ]),
        ],
        0..600,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// Fragments of real files, shuffled and cut: closer to what breaks parsers.
fn fragments(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(pieces), 0..40).prop_map(|v| v.concat())
}

const HEROKU_YML: &[&str] = &[
    "build:\n",
    "  docker:\n",
    "    web: Dockerfile\n",
    "run:\n",
    "  web: gunicorn app.wsgi\n",
    "  worker:\n",
    "    command:\n",
    "      - celery -A app worker\n",
    "    image: web\n",
    "release:\n",
    "  command:\n",
    "    - ./release.sh\n",
    "  image: web\n",
    "&a ",
    "*a",
    "<<: *a\n",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    "\t",
    "'",
    "\"",
    "\n",
    "  ",
    "~",
    "null",
    "!!str ",
];

const PROJECT_TOML: &[&str] = &[
    "[_]\n",
    "schema-version = \"0.2\"\n",
    "id = \"app\"\n",
    "[io.buildpacks]\n",
    "exclude = [\"docs\", 3]\n",
    "[[io.buildpacks.group]]\n",
    "uri = \"x\"\n",
    "[[com.heroku.phase.release]]\n",
    "command = \"bash\"\n",
    "args = [\"-c\", \"x\"]\n",
    "[_.metadata.slipway.release]\n",
    "migrate = false\n",
    "migrate = \"cmd\"\n",
    "step-timeout = 18446744073709551615\n",
    "lock-timeout = -1\n",
    "[_.metadata.slipway.autoscale]\n",
    "worker-max = 5\n",
    "web-policy = \"x\"\n",
    "[_.metadata.slipway.autoscale.types.w]\n",
    "max = 1e9\n",
    "[_.metadata.slipway.slug]\n",
    "size-limit = \"10T\"\n",
    "[_.metadata.slipway.assets]\n",
    "inputs = [\"[z-a\"]\n",
    "[_.metadata.slipway.formation.web]\n",
    "quantity = 4294967296\n",
    "[_.metadata.slipway.celery]\n",
    "app = \"\"\n",
    "= \n",
    "[",
    "]",
    "\"",
    "\n",
    "'''",
];

const TRACE: &[&str] = &[
    "t,rps,service_ms",
    ",job_ms",
    ",q:default",
    ",q:",
    "\n",
    "0,1,100",
    ",5",
    ",1e300",
    ",-1",
    ",NaN",
    ",inf",
    "300,2,120",
    ",",
    "#c\n",
    "1e13,1,1",
    ",0",
    "3600,0.5,0.001",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// heroku.yml `run:` (procfile::heroku_yml).
    #[test]
    fn heroku_yml_never_panics(text in prop_oneof![format_text(), fragments(HEROKU_YML)]) {
        let _ = procfile::HerokuYml::parse("heroku.yml", &text);
    }

    /// `.slugignore` (slug::SlugIgnore): arbitrary bytes, invalid UTF-8 included.
    #[test]
    fn slugignore_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048), text in format_text()) {
        let _ = slug::SlugIgnore::parse(&bytes);
        let _ = slug::SlugIgnore::parse(text.as_bytes());
    }

    /// project.toml and every table we read from it (slipway-data).
    #[test]
    fn project_toml_never_panics(text in prop_oneof![format_text(), fragments(PROJECT_TOML)]) {
        if let Ok(p) = slipway_data::Project::parse("project.toml", &text) {
            let _ = (p.id(), p.exclude(), p.group(), p.release_commands(), p.celery());
            let _ = (p.formation(), p.release(), p.autoscale(), p.slug(), p.assets());
        }
    }

    /// The simulator's trace CSV, and a run over whatever parses.
    #[test]
    fn traces_never_panic_and_what_parses_simulates(text in prop_oneof![format_text(), fragments(TRACE)]) {
        if let Ok(rows) = autoscale::simulate::parse_trace("trace.csv", &text) {
            let policy = autoscale::Policy::new(autoscale::Settings::default());
            let initial = [("web".to_string(), 1)].into_iter().collect();
            let _ = autoscale::simulate::run(&policy, autoscale::simulate::Which::Slipway, &rows, &initial, None, &autoscale::simulate::Conditions::default(), 1000);
        }
    }

    /// Every `AUTOSCALE_*` setting (django-heroku-autoscale's names), any value.
    #[test]
    fn autoscale_settings_never_panic(values in proptest::collection::vec(format_text(), autoscale::NAMES.len())) {
        let env: HashMap<&str, String> = autoscale::NAMES.iter().copied().zip(values).collect();
        let _ = autoscale::Settings::from_env(&|k| env.get(k).cloned());
    }

    /// Broker, management and heartbeat URLs, and the mail server's.
    #[test]
    fn urls_never_panic(url in prop_oneof![
        format_text(),
        "(amqps?|redis|rediss|https?|smtps?|mysql)://[a-z%@:/.+0-9?#=&\\[\\]-]{0,60}",
    ]) {
        let _ = autoscale_probes::amqp_vhost(&url);
        let _ = autoscale_probes::RabbitManagement::new(&url, "/");
        let _ = autoscale_probes::heartbeat_url(&url, Some(&url));
        let env: HashMap<&str, String> = [
            ("AUTOSCALE_NOTIFY_EMAILS", "ops@example.com".to_string()),
            ("EMAIL_URL", url.clone()),
            ("MAILGUN_SMTP_SERVER", url.clone()),
        ].into_iter().collect();
        let _ = autoscale_worker::Mail::from_env(&|k| env.get(k).cloned(), "app");
        let _ = buildkit::redact::Redactor::from_env([("DATABASE_URL".to_string(), url.clone())]).redact(&url);
    }
}
