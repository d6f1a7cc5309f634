//! The `AUTOSCALE_*` settings the autoscaler reads, and what it says at
//! start about the ones it does not: a misspelt name is a warning naming the
//! closest known one (an `AUTOSCALE_MAX_DYNO=8` that silently kept the
//! default of 3 is the mistake this catches), and the two settings of the
//! seed's later releases (autoscalebot) Slipway does not act on the same way
//! are named with what it does instead.

/// The `AUTOSCALE_*` variables the worker reads beside the seed's settings
/// (`autoscale::settings::NAMES`), the seed's later two included.
const WORKER: &[&str] = &[
    "AUTOSCALE_NOTIFY_ON_EVERY_PING",
    "AUTOSCALE_NOTIFICATION_BACKENDS",
    "AUTOSCALE_AMQP_VERIFY_TLS",
    "AUTOSCALE_APP_URL",
    "AUTOSCALE_BROKER_URL",
    "AUTOSCALE_EMAIL_FROM",
    "AUTOSCALE_NOTIFY_EMAILS",
    "AUTOSCALE_RABBITMQ_MANAGEMENT_URL",
    "AUTOSCALE_REDIS_VERIFY_TLS",
    "AUTOSCALE_WEBHOOK_URL",
    "AUTOSCALE_WEB_POLICY",
    "AUTOSCALE_WORKER_MAX_DYNOS",
    "AUTOSCALE_WORKER_MAX_WAIT_SECONDS",
];

/// Every `AUTOSCALE_*` variable read anywhere.
fn known() -> impl Iterator<Item = &'static str> {
    autoscale::NAMES
        .iter()
        .chain(WORKER)
        .copied()
        .filter(|n| n.starts_with("AUTOSCALE_"))
}

/// A warning for each variable of `names` that starts with `AUTOSCALE_` and
/// is not one the autoscaler reads, with the closest known name when one is
/// close enough to be the intended one.
pub fn unknown(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|n| n.starts_with("AUTOSCALE_") && !known().any(|k| k == n))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| match closest(&name) {
            Some(known) => format!(
                "{name} is not a setting the autoscaler reads (did you mean {known}?); it has no effect"
            ),
            None => format!(
                "{name} is not a setting the autoscaler reads; it has no effect (the settings: crates/autoscale/SPEC.md)"
            ),
        })
        .collect()
}

/// The known name fewest edits away, when the edits are few for its length.
fn closest(name: &str) -> Option<&'static str> {
    known()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, k)| *d <= (k.len() / 5).max(2))
        .min()
        .map(|(_, k)| k)
}

/// How the seed's notification backends map onto Slipway's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backends {
    /// E-mail may be sent (`DjangoEmailBackend` listed, or no list at all).
    pub(crate) email: bool,
    /// What to say at start about the settings.
    pub(crate) warnings: Vec<String>,
}

/// `AUTOSCALE_NOTIFICATION_BACKENDS` (a Python list or comma-separated
/// dotted paths, as autoscalebot's settings write it) and
/// `AUTOSCALE_NOTIFY_ON_EVERY_PING`.
pub(crate) fn backends(env: &dyn Fn(&str) -> Option<String>) -> Backends {
    let mut warnings = Vec::new();
    if let Some(v) = env("AUTOSCALE_NOTIFY_ON_EVERY_PING") {
        if matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        ) {
            warnings.push("AUTOSCALE_NOTIFY_ON_EVERY_PING is not supported: every tick is already one JSON line in the log, with l2met samples a log drain charts (Librato, Papertrail); notifications go out on events only".to_string());
        }
    }
    let Some(list) = env("AUTOSCALE_NOTIFICATION_BACKENDS").filter(|v| !v.trim().is_empty()) else {
        return Backends {
            email: true,
            warnings,
        };
    };
    let mut email = false;
    for item in list
        .split(',')
        .map(|i| i.trim_matches(|c: char| c.is_whitespace() || "[]()'\"".contains(c)))
        .filter(|i| !i.is_empty())
    {
        if item.ends_with("DjangoEmailBackend") {
            email = true;
        } else if !item.ends_with("ConsoleBackend") {
            warnings.push(format!("AUTOSCALE_NOTIFICATION_BACKENDS: {item} is not supported (Slipway has DjangoEmailBackend: e-mail to AUTOSCALE_NOTIFY_EMAILS, ConsoleBackend: the log, always on, and a webhook: AUTOSCALE_WEBHOOK_URL, e.g. Slack's or Discord's)"));
        }
    }
    if !email {
        warnings.push(
            "AUTOSCALE_NOTIFICATION_BACKENDS lists no DjangoEmailBackend: no e-mail is sent"
                .to_string(),
        );
    }
    Backends { email, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_name_the_worker_reads_is_known() {
        // Every AUTOSCALE_* literal in the worker's and the engine's sources.
        for src in [
            include_str!("lib.rs"),
            include_str!("run.rs"),
            include_str!("mail.rs"),
            include_str!("lease.rs"),
            include_str!("../../autoscale/src/settings.rs"),
            include_str!("../../autoscale-probes/src/lib.rs"),
        ] {
            for (i, _) in src.match_indices("\"AUTOSCALE_") {
                let name: String = src[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.len() > "AUTOSCALE_".len() {
                    assert!(known().any(|k| k == name), "{name} is read but not known");
                }
            }
        }
    }

    #[test]
    fn a_misspelt_setting_is_named_with_the_one_meant() {
        let w = unknown(
            [
                "AUTOSCALE_MAX_DYNO",
                "AUTOSCALE_HEROKU_APP",
                "AUTOSCALE_WEBHOOK",
                "AUTOSCALE_MAX_DYNOS",
                "PATH",
                "AUTOSCALE_SOMETHING_ELSE_ENTIRELY",
            ]
            .map(String::from),
        );
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w[0].starts_with("AUTOSCALE_HEROKU_APP is not")
                && w[0].contains("did you mean AUTOSCALE_HEROKU_APP_NAME?"),
            "{}",
            w[0]
        );
        assert!(
            w[1].contains("did you mean AUTOSCALE_MAX_DYNOS?"),
            "{}",
            w[1]
        );
        assert!(!w[2].contains("did you mean"), "{}", w[2]);
        assert!(
            w[3].contains("did you mean AUTOSCALE_WEBHOOK_URL?"),
            "{}",
            w[3]
        );
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_seeds_backends_map_to_email_and_the_log_and_others_are_named() {
        let none = backends(&env(&[]));
        assert!(none.email && none.warnings.is_empty());
        let seed = backends(&env(&[(
            "AUTOSCALE_NOTIFICATION_BACKENDS",
            "['autoscalebot.backends.notification.DjangoEmailBackend', 'autoscalebot.backends.notification.ConsoleBackend']",
        )]));
        assert!(seed.email && seed.warnings.is_empty(), "{seed:?}");
        let console = backends(&env(&[
            (
                "AUTOSCALE_NOTIFICATION_BACKENDS",
                "autoscalebot.backends.notification.ConsoleBackend,myapp.SmsBackend",
            ),
            ("AUTOSCALE_NOTIFY_ON_EVERY_PING", "True"),
        ]));
        assert!(!console.email);
        assert_eq!(console.warnings.len(), 3, "{console:?}");
        assert!(console.warnings[0].starts_with("AUTOSCALE_NOTIFY_ON_EVERY_PING is not supported"));
        assert!(console.warnings[1].contains("myapp.SmsBackend is not supported"));
        assert!(console.warnings[2].contains("no e-mail is sent"));
        let off = backends(&env(&[("AUTOSCALE_NOTIFY_ON_EVERY_PING", "False")]));
        assert!(off.warnings.is_empty());
    }
}
