//! What a Celery command line says about the process: which app, which
//! queues it consumes, whether it embeds the beat scheduler, its concurrency.
//!
//! This is what lets the autoscaler map queue depths to worker types without
//! hand-written glue.

use serde::{Deserialize, Serialize};

/// Celery's default queue, consumed when a worker is given no `-Q`.
pub(crate) const DEFAULT_QUEUE: &str = "celery";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `celery worker` (possibly with `-B`).
    Worker,
    /// `celery beat`: a scheduler only.
    Beat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Celery {
    pub role: Role,
    /// `-A/--app`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) app: Option<String>,
    /// Queues consumed (workers only). `-Q` as written, or Celery's default `celery`.
    pub queues: Vec<String>,
    /// `-X/--exclude-queues`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_queues: Vec<String>,
    /// A worker started with `-B/--beat` runs the scheduler too, so it must be a singleton.
    pub embeds_beat: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) concurrency: Option<u32>,
}

impl Celery {
    /// True when this process schedules periodic tasks (two of them run every job twice).
    pub(crate) fn schedules(&self) -> bool {
        self.role == Role::Beat || self.embeds_beat
    }
}

/// Celery's options before the subcommand that take a separate value
/// (`celery --help`); `-A`/`--app` is read above.
const GLOBAL_OPTIONS_WITH_VALUE: [&str; 9] = [
    "-b",
    "--broker",
    "--result-backend",
    "--loader",
    "--config",
    "--workdir",
    "-l",
    "--loglevel",
    "--hostname",
];

/// Find a Celery worker or beat invocation in a shell command. Looks at every
/// simple command (split on `&&`, `||`, `;`, `|`), skips env assignments and
/// common wrappers (`exec`, `newrelic-admin run-program`, `python -m celery`).
pub(crate) fn analyze(command: &str) -> Option<Celery> {
    let words = shell_words::split(command).ok()?;
    words
        .split(|w| matches!(w.as_str(), "&&" | "||" | ";" | "|" | "&"))
        .find_map(analyze_simple)
}

fn analyze_simple(words: &[String]) -> Option<Celery> {
    // The celery invocation, whatever precedes it: env assignments and any
    // wrappers (`bin/start-pgbouncer`, `newrelic-admin run-program`,
    // `bin/qgtunnel`, `doppler run --`, `chamber exec app --`, ...).
    // `python -m celery` needs nothing of its own: its `celery` word is found.
    let start = words
        .iter()
        .position(|w| w.rsplit('/').next() == Some("celery"))?
        + 1;
    let rest = &words[start..];

    let mut app = None;
    let mut role = None;
    let mut queues: Vec<String> = Vec::new();
    let mut excluded = Vec::new();
    let mut embeds_beat = false;
    let mut concurrency = None;
    let mut i = 0;
    while i < rest.len() {
        let word = rest[i].as_str();
        let mut take_value = |long: &str, short: Option<&str>| -> Option<String> {
            if let Some(v) = word.strip_prefix(long).and_then(|v| v.strip_prefix('=')) {
                return Some(v.to_string());
            }
            if word == long || short == Some(word) {
                i += 1;
                return rest.get(i).cloned();
            }
            if let Some(s) = short {
                if let Some(v) = word.strip_prefix(s) {
                    // (A short option is one dash and a letter: `--app` never starts with it.)
                    if !v.is_empty() {
                        return Some(v.to_string());
                    }
                }
            }
            None
        };
        if let Some(v) = take_value("--app", Some("-A")) {
            app = Some(v);
        } else if let Some(v) = take_value("--queues", Some("-Q")) {
            queues.extend(split_list(&v));
        } else if let Some(v) = take_value("--exclude-queues", Some("-X")) {
            excluded.extend(split_list(&v));
        } else if let Some(v) = take_value("--concurrency", Some("-c")) {
            concurrency = v.parse().ok();
        } else if role.is_none() && GLOBAL_OPTIONS_WITH_VALUE.contains(&word) && !word.contains('=')
        {
            // `celery -A app --loglevel info worker`: the value is not the subcommand.
            i += 1;
        } else if word == "-B" || word == "--beat" {
            embeds_beat = true;
        } else if role.is_none() && word == "worker" {
            role = Some(Role::Worker);
        } else if role.is_none() && word == "beat" {
            role = Some(Role::Beat);
        } else if role.is_none() && !word.starts_with('-') {
            // Another subcommand (inspect, flower, call...): not a worker.
            return None;
        }
        i += 1;
    }
    let role = role?;
    if role == Role::Worker && queues.is_empty() {
        queues.push(DEFAULT_QUEUE.to_string());
    }
    if role == Role::Beat {
        queues.clear();
    }
    Some(Celery {
        role,
        app,
        queues,
        excluded_queues: excluded,
        embeds_beat,
        concurrency,
    })
}

fn split_list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn celery5_worker_with_queues_beat_and_concurrency() {
        let c = analyze("celery -A everyvoter worker -Q default,bulk,user_import -B --concurrency=4 --loglevel=info").unwrap();
        assert_eq!(c.role, Role::Worker);
        assert_eq!(c.app.as_deref(), Some("everyvoter"));
        assert_eq!(c.queues, ["default", "bulk", "user_import"]);
        assert!(c.embeds_beat);
        assert!(c.schedules());
        assert_eq!(c.concurrency, Some(4));
    }

    #[test]
    fn celery4_style_and_attached_short_options() {
        let c = analyze("celery worker --app=proj -Qhigh_memory -c 2").unwrap();
        assert_eq!(c.app.as_deref(), Some("proj"));
        assert_eq!(c.queues, ["high_memory"]);
        assert_eq!(c.concurrency, Some(2));
        assert!(!c.embeds_beat);
    }

    #[test]
    fn wrappers_env_prefixes_and_chains_are_seen_through() {
        let c = analyze("REMAP_SIGTERM=SIGQUIT newrelic-admin run-program celery -A app worker --queues bulk_priority").unwrap();
        assert_eq!(c.queues, ["bulk_priority"]);
        let c =
            analyze("python manage.py check && exec python -m celery -A app worker -Q feedback")
                .unwrap();
        assert_eq!(c.queues, ["feedback"]);
    }

    #[test]
    fn celery_is_found_after_any_wrapper_as_real_procfiles_write_them() {
        for line in [
            "REMAP_SIGTERM=SIGQUIT bin/start-pgbouncer newrelic-admin run-program celery -A app worker -Q high_memory",
            "bin/qgtunnel celery -A app worker -Q high_memory",
            "doppler run -- celery -A app worker -Q high_memory",
            "chamber exec app -- /app/.heroku/python/bin/celery -A app worker -Q high_memory",
            "bin/start-pgbouncer-stunnel python -m celery -A app worker -Q high_memory",
        ] {
            let c = analyze(line).unwrap_or_else(|| panic!("not seen as Celery: {line}"));
            assert_eq!(c.queues, ["high_memory"], "{line}");
        }
    }

    #[test]
    fn options_before_the_subcommand_are_not_taken_for_it() {
        let c = analyze("celery -A app --loglevel=info worker -B").unwrap();
        assert_eq!(c.role, Role::Worker);
        assert!(c.embeds_beat);
        let c = analyze("celery -A app --loglevel info worker -Q a").unwrap();
        assert_eq!((c.role, c.queues), (Role::Worker, vec!["a".to_string()]));
        assert!(analyze("celery -A app inspect active").is_none());
    }

    #[test]
    fn a_worker_without_queues_consumes_celerys_default_queue() {
        assert_eq!(analyze("celery -A app worker").unwrap().queues, ["celery"]);
    }

    #[test]
    fn celery_beat_is_a_scheduler_with_no_queues() {
        let c = analyze("celery -A app beat --loglevel=info").unwrap();
        assert_eq!(c.role, Role::Beat);
        assert!(c.queues.is_empty());
        assert!(c.schedules());
    }

    #[test]
    fn non_worker_commands_are_not_celery_processes() {
        assert_eq!(analyze("gunicorn app.wsgi"), None);
        assert_eq!(analyze("celery -A app flower"), None);
        assert_eq!(analyze("celery -A app inspect active"), None);
        assert_eq!(analyze("echo 'unbalanced"), None);
    }
}
