//! `release-phase autoscale`: the long-running worker (the `autoscale`
//! process type). Every tick: read the formation (never trusted from a
//! cache), probe the heartbeat, read the queue depths, ask the engine, send
//! one batch PATCH (none when nothing changes), log one JSON line.
//!
//! Configuration: django-heroku-autoscale's `AUTOSCALE_*` variables (same
//! names and defaults), the broker URL Celery uses, and per-type rules in
//! project.toml `[_.metadata.slipway.autoscale]` (see SPEC.md).

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod error;
mod lease;
mod mail;
mod names;
mod run;
mod webhook;
pub(crate) use error::WorkerError;

pub use mail::Mail;
pub use names::unknown;
pub use run::run;

use autoscale::{Bound, Policy, QueueRule, Settings, WebPolicy};
use buildkit::redact::Redactor;
use platform_api::Token;
use slipway_data::{AutoscaleTable, Diagnostic, Project, ReadError, TomlError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub(crate) enum Broker {
    /// AMQP passive declares: Ready messages.
    Rabbit(String),
    /// The management API (`AUTOSCALE_RABBITMQ_MANAGEMENT_URL`): Ready + Unacked.
    RabbitManagement {
        amqp: String,
        api: String,
    },
    Redis(String),
}

pub struct Config {
    pub(crate) policy: Policy,
    /// When the running release was created (`HEROKU_RELEASE_CREATED_AT`,
    /// from Heroku's dyno metadata): no scale-down inside the freeze after it,
    /// even across the worker's restarts.
    pub(crate) released_at: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) app: String,
    pub(crate) token: Token,
    pub(crate) api_base: String,
    pub(crate) heartbeat_url: Option<String>,
    pub(crate) broker: Option<Broker>,
    pub(crate) webhook: Option<String>,
    pub(crate) dry_run: bool,
    /// Knows the token and the broker URL: applied to every line logged.
    pub(crate) redactor: Redactor,
    /// Where each worker type's max came from (the start line says).
    pub(crate) max_sources: BTreeMap<String, String>,
    /// E-mail for the notifications the settings want sent (`None`: none).
    pub(crate) mail: Option<mail::Mail>,
    /// One acting autoscaler (see [`lease`]).
    pub(crate) lease: lease::Lease,
    /// `amqps://`: verify the broker's certificate (`AUTOSCALE_AMQP_VERIFY_TLS`,
    /// default true: CloudAMQP's certificates verify).
    pub(crate) amqp_verify_tls: bool,
    /// Said once at start, after the start line: settings read but not
    /// acted on as the seed did, unknown `AUTOSCALE_*` names.
    pub warnings: Vec<String>,
}

/// `[_.metadata.slipway.autoscale]` of the app's project.toml (defaults without one).
fn read_table(app_dir: &Path) -> Result<AutoscaleTable, WorkerError> {
    let help = "see crates/autoscale/SPEC.md for [_.metadata.slipway.autoscale] and its keys";
    let invalid = |e: TomlError| WorkerError::Config(Diagnostic::from_toml(&e).help(help).render());
    match Project::read(app_dir) {
        Ok(Some(project)) => project.autoscale().map_err(invalid),
        Ok(None) => Ok(AutoscaleTable::default()),
        Err(ReadError::Toml(e)) => Err(invalid(e)),
        Err(ReadError::AppFile(e)) => Err(procfile::ProcfileError::AppFile(e).into()),
    }
}

/// The policy for an app: the seed's settings for web, a queue rule per Celery
/// worker type (queues from its `-Q` list, bounds from its formation), the
/// singletons; and the starting formation (for `simulate`).
pub struct AppPolicy {
    pub policy: Policy,
    /// Every Celery worker process type with every queue it consumes,
    /// scaled or not (beat with -B, catch-alls): what serves the queues.
    pub consumers: BTreeMap<String, Vec<String>>,
    /// Where each worker type's max came from (logged at start).
    pub max_sources: BTreeMap<String, String>,
    pub initial: BTreeMap<String, u32>,
    pub(crate) table: AutoscaleTable,
    pub(crate) has_web: bool,
}

/// When several worker types consume a queue, its backlog drives the one that
/// consumes it most specifically (the fewest queues; ties: the first by name);
/// each type scales from the queues it owns. A type that owns none (a
/// catch-all whose queues all have a more specific consumer) is not scaled:
/// it keeps its quantity. Queues declared in `[_.metadata.slipway.autoscale.types]`
/// are the type's own whatever the others consume.
fn own_queues(
    policy: &mut Policy,
    table: &AutoscaleTable,
    max_sources: &mut BTreeMap<String, String>,
) {
    let declared = |t: &str| table.types.get(t).is_some_and(|o| o.queues.is_some());
    let specificity: Vec<(String, usize)> = policy
        .workers
        .iter()
        .map(|(t, r)| (t.clone(), r.queues.len()))
        .collect();
    let owner = |q: &str| -> Option<String> {
        specificity
            .iter()
            .filter(|(t, _)| policy.workers[t].queues.iter().any(|x| x == q))
            .min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
            .map(|(t, _)| t.clone())
    };
    let by_type: BTreeMap<String, Vec<String>> = policy
        .workers
        .iter()
        .map(|(t, r)| {
            let mine = if declared(t) {
                r.queues.clone()
            } else {
                r.queues
                    .iter()
                    .filter(|q| owner(q).as_deref() == Some(t.as_str()))
                    .cloned()
                    .collect()
            };
            (t.clone(), mine)
        })
        .collect();
    for (t, queues) in by_type {
        if queues.is_empty() {
            policy.workers.remove(&t);
            max_sources.insert(
                t.clone(),
                "not scaled: a more specific type consumes each of its queues".into(),
            );
            policy.singletons.insert(t);
        } else if let Some(rule) = policy.workers.get_mut(&t) {
            rule.queues = queues;
        }
    }
}

/// The max of a Celery worker type that declares none
/// (`[_.metadata.slipway.autoscale] worker-max`, `AUTOSCALE_WORKER_MAX_DYNOS`).
pub(crate) const DEFAULT_WORKER_MAX: u32 = 5;

/// A queue the broker does not have (never declared, never published to):
/// nothing waits there. The probes say so in these words.
const MISSING_QUEUE: &str = "does not exist on the broker";

/// The queues a Celery worker type consumes: its declared override, else
/// its `-Q` list less `-X`. `None`: not a Celery worker.
fn consumed_queues(p: &procfile::Process, table: &AutoscaleTable) -> Option<Vec<String>> {
    let celery = p
        .celery
        .as_ref()
        .filter(|c| c.role == procfile::Role::Worker)?;
    Some(
        table
            .types
            .get(&p.name)
            .and_then(|o| o.queues.clone())
            .unwrap_or_else(|| {
                celery
                    .queues
                    .iter()
                    .filter(|q| !celery.excluded_queues.contains(q))
                    .cloned()
                    .collect()
            }),
    )
}

pub fn policy_for(
    app_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AppPolicy, WorkerError> {
    let settings = Settings::from_env(env)?;
    let table = read_table(app_dir)?;
    let processes = procfile::load(app_dir)?.table;
    let own_type = env("DYNO")
        .and_then(|d| d.rsplit_once('.').map(|(t, _)| t.to_string()))
        .unwrap_or_else(|| "autoscale".into());

    let mut policy = Policy::new(settings.clone());
    let mut max_sources = BTreeMap::new();
    policy.singletons.insert(own_type);
    if let Some(s) = table.freeze_seconds {
        policy.freeze = Duration::from_secs(s);
    }
    if let Some(s) = table.scale_down_delay_seconds {
        policy.scale_down_delay = Duration::from_secs(s);
    }
    if table.flap_budget_per_hour.is_some() {
        policy.flap_budget_per_hour = table.flap_budget_per_hour;
    }
    if table.flap_budget_per_day.is_some() {
        policy.flap_budget_per_day = table.flap_budget_per_day;
    }
    // The variable wins over the table, as for every AUTOSCALE_* setting.
    let web_policy = env("AUTOSCALE_WEB_POLICY")
        .map(|v| ("AUTOSCALE_WEB_POLICY", v))
        .or_else(|| {
            table
                .web_policy
                .clone()
                .map(|v| ("[_.metadata.slipway.autoscale] web-policy", v))
        });
    if let Some((from, v)) = web_policy {
        policy.web_policy = WebPolicy::parse(&v).ok_or_else(|| {
            WorkerError::Config(format!("{from} = {v:?}: expected \"capacity\" (the default: web's capacity from its latency) or \"seed\" (django-heroku-autoscale's streaks of slow and fast heartbeats)"))
        })?;
    }
    policy.daily_dyno_hour_cap = table.daily_dyno_hour_cap;
    let default_per = table.jobs_per_dyno.unwrap_or(10);
    let worker_max = match env("AUTOSCALE_WORKER_MAX_DYNOS") {
        Some(v) => v.trim().parse::<u32>().map_err(|_| {
            WorkerError::Config(format!("AUTOSCALE_WORKER_MAX_DYNOS={v}: expected a number of dynos (the max of a worker type that declares none)"))
        })?,
        None => table.worker_max.unwrap_or(DEFAULT_WORKER_MAX),
    };
    let max_wait = match env("AUTOSCALE_WORKER_MAX_WAIT_SECONDS") {
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            WorkerError::Config(format!("AUTOSCALE_WORKER_MAX_WAIT_SECONDS={v}: expected whole seconds (the longest a worker type's oldest waiting job may wait before the type grows; 0 turns it off)"))
        })?),
        None => table.max_wait_seconds,
    };
    for p in &processes.processes {
        if p.formation.singleton {
            policy.singletons.insert(p.name.clone());
            continue;
        }
        let overrides = table.types.get(&p.name).cloned().unwrap_or_default();
        if overrides.enabled == Some(false) {
            policy.singletons.insert(p.name.clone());
            continue;
        }
        let Some(queues) = consumed_queues(p, &table) else {
            continue;
        };
        // The max: the type's own (autoscale table, then formation), else
        // `worker-max`: with nothing declared, every worker type scales from
        // its queues between its min (0 by default) and worker-max.
        let (max, max_from) = match (overrides.max, p.formation.max) {
            (Some(m), _) => (m, "[_.metadata.slipway.autoscale.types] max"),
            (None, Some(m)) => (m, "its formation max"),
            (None, None) => (
                worker_max.max(p.formation.min),
                "worker-max (none declared)",
            ),
        };
        policy.workers.insert(
            p.name.clone(),
            QueueRule {
                queues,
                jobs_per_dyno: overrides.jobs_per_dyno.unwrap_or(default_per).max(1),
                max_wait: overrides
                    .max_wait_seconds
                    .or(max_wait)
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs),
                min: Bound::Fixed(p.formation.min),
                max: Bound::Fixed(max),
            },
        );
        max_sources.insert(p.name.clone(), max_from.to_string());
    }
    own_queues(&mut policy, &table, &mut max_sources);
    for name in table.types.keys() {
        if !processes.processes.iter().any(|p| &p.name == name) {
            return Err(WorkerError::Config(format!("project.toml: [_.metadata.slipway.autoscale.types.{name}]: the app has no process type `{name}` (types: {})", processes.processes.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))));
        }
    }
    let has_web = processes.processes.iter().any(|p| p.name == "web");
    if !has_web {
        policy.web_type = None;
    }
    let consumers = processes
        .processes
        .iter()
        .filter_map(|p| Some((p.name.clone(), consumed_queues(p, &table)?)))
        .collect();
    let initial = processes
        .processes
        .iter()
        .filter(|p| p.name != "release")
        .map(|p| (p.name.clone(), p.formation.quantity))
        .collect();
    Ok(AppPolicy {
        policy,
        consumers,
        max_sources,
        initial,
        table,
        has_web,
    })
}

impl Config {
    /// From the environment and the app (its process table and project.toml).
    pub fn load(
        app_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        dry_run: bool,
    ) -> Result<Self, WorkerError> {
        let settings = Settings::from_env(env)?;
        let app = settings
            .app_name
            .clone()
            .ok_or_else(|| WorkerError::Config("AUTOSCALE_HEROKU_APP_NAME is not set: the name of the app to scale, e.g. dancing-forest-1234".into()))?;
        let key = env("AUTOSCALE_HEROKU_API_KEY")
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| WorkerError::Config("AUTOSCALE_HEROKU_API_KEY is not set: a Platform API token with access to the app (`heroku authorizations:create -d autoscale`)".into()))?;
        let management = env("AUTOSCALE_RABBITMQ_MANAGEMENT_URL").filter(|v| !v.trim().is_empty());
        let redactor = Redactor::from_env(
            std::env::vars()
                .chain([(
                    "AUTOSCALE_HEROKU_API_KEY".to_string(),
                    key.trim().to_string(),
                )])
                .chain(
                    management
                        .clone()
                        .map(|m| ("AUTOSCALE_RABBITMQ_MANAGEMENT_URL".to_string(), m)),
                ),
        );
        let token = Token::new(key);
        let AppPolicy {
            policy,
            table,
            has_web,
            max_sources,
            ..
        } = policy_for(app_dir, env)?;
        let heartbeat_url = if has_web {
            Some(autoscale_probes::heartbeat_url(
                &settings.heartbeat_url,
                env("AUTOSCALE_APP_URL").as_deref(),
            )?)
        } else {
            None
        };
        let broker = broker_from_env(env)?;
        let broker = match (broker, management) {
            (Some(Broker::Rabbit(amqp)), Some(api)) => {
                // Checked now: a bad URL is a configuration error, not an unknown every tick.
                autoscale_probes::RabbitManagement::new(&api, &autoscale_probes::amqp_vhost(&amqp))
                    .map_err(|e| WorkerError::Config(redactor.redact(&e.to_string()).into_owned()))?;
                Some(Broker::RabbitManagement { amqp, api })
            }
            (Some(Broker::Redis(_)), Some(_)) => {
                return Err(WorkerError::Config("AUTOSCALE_RABBITMQ_MANAGEMENT_URL is set, but the broker is Redis: unset it, or point CELERY_BROKER_URL at RabbitMQ".into()))
            }
            (broker, _) => broker,
        };
        if !policy.workers.is_empty() && broker.is_none() {
            return Err(WorkerError::Config("worker types consume Celery queues, but no broker URL is set: set CELERY_BROKER_URL (or CLOUDAMQP_URL, REDIS_URL, AUTOSCALE_BROKER_URL)".into()));
        }
        let mut backends = names::backends(env);
        backends
            .warnings
            .extend(max_wait_unmeasured(&policy, broker.as_ref()));
        let mail = if backends.email {
            mail::Mail::from_env(env, &app)?
        } else {
            None
        };
        let redis_broker = match &broker {
            Some(Broker::Redis(url)) => Some(url.as_str()),
            _ => None,
        };
        // A dry run acts on nothing: it neither takes the lease nor saves state.
        let lease = if dry_run {
            lease::Lease::None
        } else {
            lease::Lease::from_env(env, &app, redis_broker, settings.heartbeat_interval)?
        };
        let released_at = released_at(env)?;
        let amqp_verify_tls = verify_tls(env, "AUTOSCALE_AMQP_VERIFY_TLS", true)?;
        Ok(Self {
            amqp_verify_tls,
            lease,
            released_at,
            max_sources,
            mail,
            policy,
            app,
            token,
            api_base: env("HEROKU_API_URL")
                .unwrap_or_else(|| platform_api::DEFAULT_BASE_URL.into()),
            heartbeat_url,
            broker,
            webhook: env("AUTOSCALE_WEBHOOK_URL").or(table.webhook),
            dry_run,
            redactor,
            warnings: backends.warnings,
        })
    }
}

/// The broker the queues are measured on, from the first of Celery's and
/// Heroku's broker variables that is set (the management API aside).
fn broker_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Broker>, WorkerError> {
    let broker = [
        "AUTOSCALE_BROKER_URL",
        "CELERY_BROKER_URL",
        "CLOUDAMQP_URL",
        "BROKER_URL",
        "RABBITMQ_URL",
        "REDIS_URL",
    ]
    .iter()
    .find_map(|k| env(k).filter(|v| !v.is_empty()).map(|v| (*k, v)));
    // A broker it cannot measure is a configuration error now, not a
    // queue that is unknown on every tick (Celery's sqs://, filesystem://...).
    if let Some((name, url)) = &broker {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        if !matches!(scheme, "amqp" | "amqps" | "pyamqp" | "redis" | "rediss") {
            return Err(WorkerError::Config(format!(
                "{name} is a {scheme}:// broker, which the autoscaler cannot measure: it reads queue depths from RabbitMQ (amqp://, amqps://) or Redis (redis://, rediss://); set AUTOSCALE_BROKER_URL to one of those, or give the worker types no queues to scale"
            )));
        }
    }
    // rediss:// (Heroku's Key-Value Store, self-signed, connected to
    // unverified as Heroku documents): `#insecure` unless asked to verify or
    // the URL already says how. The probe and the lease use the URL as given.
    let verify_redis = verify_tls(env, "AUTOSCALE_REDIS_VERIFY_TLS", false)?;
    let broker = broker.map(|(_, url)| url).map(|url| {
        if url.starts_with("rediss://") && !verify_redis && !url.contains('#') {
            Broker::Redis(format!("{url}#insecure"))
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            Broker::Redis(url)
        } else {
            Broker::Rabbit(url)
        }
    });
    Ok(broker)
}

/// Compatibility beats strictness: a max wait on a broker that does not
/// show job ages is kept, said once at start, and the count decides.
fn max_wait_unmeasured(policy: &Policy, broker: Option<&Broker>) -> Option<String> {
    let waits: Vec<&str> = policy
        .workers
        .iter()
        .filter(|(_, r)| r.max_wait.is_some())
        .map(|(t, _)| t.as_str())
        .collect();
    (!waits.is_empty() && !matches!(broker, Some(Broker::Redis(_)))).then(|| format!("a max wait is set for {} (AUTOSCALE_WORKER_MAX_WAIT_SECONDS or max-wait-seconds), but only a Redis broker shows how long the oldest job has waited: on this broker those types are scaled by the count of jobs alone", waits.join(", ")))
}

/// `HEROKU_RELEASE_CREATED_AT` (Heroku's dyno metadata), when set.
fn released_at(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, WorkerError> {
    Ok(match env("HEROKU_RELEASE_CREATED_AT").filter(|v| !v.trim().is_empty()) {
            Some(v) => Some(
                chrono::DateTime::parse_from_rfc3339(v.trim())
                    .map_err(|e| WorkerError::Config(format!("HEROKU_RELEASE_CREATED_AT={v}: not an RFC 3339 time ({e}); Heroku's dyno metadata sets it, e.g. 2026-11-29T07:00:00Z")))?
                    .with_timezone(&chrono::Utc),
            ),
            None => None,
        })
}

/// A `*_VERIFY_TLS` setting: true or false (1/0, yes/no), else `default`.
fn verify_tls(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
) -> Result<bool, WorkerError> {
    match env(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(WorkerError::Config(format!(
            "{name}={other}: expected true or false"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis_url(vars: &[(&str, &str)]) -> Result<String, String> {
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_string())
        };
        match broker_from_env(&env).map_err(|e| e.to_string())? {
            Some(Broker::Redis(url)) => Ok(url),
            _ => Err("not a Redis broker".into()),
        }
    }

    #[test]
    fn herokus_self_signed_rediss_is_read_unverified_unless_verification_is_asked_for() {
        let heroku = "rediss://:p@ec2-1-2-3-4.compute-1.amazonaws.com:6380";
        assert_eq!(
            redis_url(&[("REDIS_URL", heroku)]),
            Ok(format!("{heroku}#insecure"))
        );
        for yes in ["true", "1", "yes"] {
            assert_eq!(
                redis_url(&[("REDIS_URL", heroku), ("AUTOSCALE_REDIS_VERIFY_TLS", yes)]),
                Ok(heroku.to_string())
            );
        }
        assert_eq!(
            redis_url(&[
                ("REDIS_URL", heroku),
                ("AUTOSCALE_REDIS_VERIFY_TLS", "false")
            ]),
            Ok(format!("{heroku}#insecure"))
        );
        // A URL that already says how, and plain redis://, are used as given.
        let told = format!("{heroku}#insecure");
        assert_eq!(redis_url(&[("REDIS_URL", &told)]), Ok(told.clone()));
        assert_eq!(
            redis_url(&[("REDIS_URL", "redis://localhost:6379")]),
            Ok("redis://localhost:6379".into())
        );
        let e = redis_url(&[
            ("REDIS_URL", heroku),
            ("AUTOSCALE_REDIS_VERIFY_TLS", "maybe"),
        ])
        .expect_err("not true or false");
        assert!(e.contains("AUTOSCALE_REDIS_VERIFY_TLS=maybe"), "{e}");
    }

    fn broker(vars: &[(&str, &str)]) -> Option<String> {
        let env = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_string())
        };
        match broker_from_env(&env).ok()?? {
            Broker::Redis(url) | Broker::Rabbit(url) => Some(url),
            Broker::RabbitManagement { amqp, .. } => Some(amqp),
        }
    }

    #[test]
    fn the_broker_is_the_first_of_celerys_and_herokus_variables_that_is_set() {
        let all = [
            ("REDIS_URL", "redis://6"),
            ("RABBITMQ_URL", "amqp://5"),
            ("BROKER_URL", "amqp://4"),
            ("CLOUDAMQP_URL", "amqp://3"),
            ("CELERY_BROKER_URL", "amqp://2"),
            ("AUTOSCALE_BROKER_URL", "amqp://1"),
        ];
        for n in (1..=all.len()).rev() {
            assert_eq!(
                broker(&all[..n]).as_deref(),
                Some(all[n - 1].1),
                "{:?}",
                &all[..n]
            );
        }
        // Empty is unset.
        assert_eq!(
            broker(&[("REDIS_URL", "redis://6"), ("AUTOSCALE_BROKER_URL", "")]).as_deref(),
            Some("redis://6")
        );
        assert_eq!(broker(&[]), None);
    }

    #[test]
    fn amqps_is_verified_unless_told_not_to() {
        let env = |v: Option<&'static str>| {
            move |k: &str| {
                (k == "AUTOSCALE_AMQP_VERIFY_TLS")
                    .then_some(v)
                    .flatten()
                    .map(String::from)
            }
        };
        assert!(verify_tls(&env(None), "AUTOSCALE_AMQP_VERIFY_TLS", true).unwrap());
        for no in ["false", "0", "no"] {
            assert!(!verify_tls(&env(Some(no)), "AUTOSCALE_AMQP_VERIFY_TLS", true).unwrap());
        }
        let e = verify_tls(&env(Some("nope")), "AUTOSCALE_AMQP_VERIFY_TLS", true).unwrap_err();
        assert!(
            e.to_string().contains("AUTOSCALE_AMQP_VERIFY_TLS=nope"),
            "{e}"
        );
    }
}
