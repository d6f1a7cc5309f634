//! The worker's loop: measure (formation, heartbeat, queue depths), ask the
//! engine, apply (one batch PATCH), log one JSON line and the notifications.

use crate::{lease, Broker, Config, MISSING_QUEUE};
use autoscale::{applied, tick, Bound, Decision, Measure, Notification, Observation, State, Tick};
use buildkit::redact::Redactor;
use platform_api::{ApiError, Client, Update};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

/// Doubling, from one interval up to ten minutes (or the interval, if longer).
fn next_backoff(current: Duration, interval: Duration) -> Duration {
    (current * 2)
        .max(interval)
        .min(Duration::from_mins(10).max(interval))
}

fn bound_json(b: &Bound) -> serde_json::Value {
    match b {
        Bound::Fixed(n) => serde_json::json!(n),
        other @ Bound::Schedule(_) => serde_json::json!(format!("{other:?}")),
    }
}

fn measure_json<T: serde::Serialize>(m: &Measure<T>) -> serde_json::Value {
    match m {
        Measure::Value(v) => serde_json::json!(v),
        Measure::Unknown(why) => serde_json::json!({ "unknown": why }),
    }
}

/// The tick as l2met samples, so Heroku log drains (Librato, Papertrail,
/// any l2met reader) chart the autoscaler with no code: dynos per type (as
/// this tick leaves them), each queue's depth, the heartbeat's latency.
/// l2met readers take `sample#NAME=VALUE` tokens separated by spaces from
/// anywhere in a line, so the value is padded with a space at each end to
/// keep the JSON's quotes out of the first and last token.
fn l2met(obs: &autoscale::Observation, decisions: &[autoscale::Decision]) -> String {
    use std::fmt::Write as _;
    // Metric names: no spaces, `=` or quotes (queue names are the app's).
    let name = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut out = String::from(" ");
    if let Measure::Value(formation) = &obs.formation {
        let mut dynos = formation.clone();
        for d in decisions {
            dynos.insert(d.process_type.clone(), d.to);
        }
        for (t, n) in &dynos {
            let _ = write!(out, "sample#autoscale.{}.dynos={n} ", name(t));
        }
    }
    if let Some(Measure::Value(latency)) = &obs.heartbeat {
        let _ = write!(
            out,
            "sample#autoscale.heartbeat.latency={:.1}ms ",
            latency.as_secs_f64() * 1000.0
        );
    }
    for (q, depth) in &obs.queues {
        if let Measure::Value(n) = depth {
            let _ = write!(out, "sample#autoscale.queue.{}.depth={n} ", name(q));
        }
    }
    out
}

/// The Platform API said the token or app is wrong: the worker stops ([`run`]'s error).
struct Fatal(ApiError);

/// The queue-depth probe of the configured broker.
enum Depths {
    Rabbit(autoscale_probes::RabbitProbe),
    Management(Option<autoscale_probes::RabbitManagement>),
    /// With whether to read the oldest jobs' ages (some type has a max
    /// wait): otherwise the broker only counts.
    Redis(autoscale_probes::RedisProbe, bool),
    None,
}

impl Depths {
    fn new(broker: Option<&Broker>, verify_tls: bool, ages: bool) -> Self {
        match broker {
            Some(Broker::Rabbit(url)) => {
                Self::Rabbit(autoscale_probes::RabbitProbe::new(url, verify_tls))
            }
            Some(Broker::RabbitManagement { amqp, api }) => Self::Management(
                autoscale_probes::RabbitManagement::new(api, &autoscale_probes::amqp_vhost(amqp))
                    .ok(),
            ),
            Some(Broker::Redis(url)) => Self::Redis(autoscale_probes::RedisProbe::new(url), ages),
            None => Self::None,
        }
    }

    /// Each queue's depth, and where the broker shows it (Redis, jobs the
    /// `heroku_autoscale` app stamped) its oldest waiting job's age.
    #[allow(clippy::type_complexity)]
    fn depths(
        &mut self,
        wanted: &[String],
    ) -> (BTreeMap<String, Measure<u64>>, BTreeMap<String, Duration>) {
        if wanted.is_empty() {
            return (BTreeMap::new(), BTreeMap::new());
        }
        match self {
            Self::Rabbit(r) => (r.depths(wanted).into_iter().collect(), BTreeMap::new()),
            Self::Management(Some(m)) => (m.depths(wanted).into_iter().collect(), BTreeMap::new()),
            Self::Redis(r, true) => {
                let (depths, ages) = r.depths_and_ages(wanted, std::time::SystemTime::now());
                (depths.into_iter().collect(), ages.into_iter().collect())
            }
            Self::Redis(r, false) => (r.depths(wanted).into_iter().collect(), BTreeMap::new()),
            Self::Management(None) | Self::None => (BTreeMap::new(), BTreeMap::new()),
        }
    }
}

struct Worker<'a> {
    config: &'a mut Config,
    log: &'a mut dyn Write,
    redactor: Redactor,
    client: Client,
    heartbeat: ureq::Agent,
    depths: Depths,
    state: State,
    backoff: Duration,
    notified_limits: BTreeSet<String>,
    warned_missing: BTreeSet<String>,
    /// Waiting for the lease: why, said once per episode.
    waiting: Option<String>,
    /// After taking the lease over: no PATCH before this (see `may_patch`).
    hold_off_until: Option<Instant>,
    /// The saved state was read (once, when the lease is first ours).
    restored: bool,
    /// Saving the state failed: said once.
    save_failed: bool,
    /// When the state was saved last.
    saved_at: Option<Instant>,
}

/// Run until stopped; one JSON line per tick on `log`. `pause_for(d)` waits
/// up to `d` between ticks and says whether to stop (at once on a signal:
/// the worker wakes once per tick, not to poll a flag). `Ok` once stopped
/// that way (the lease released); the Platform API's refusal of the token or
/// the app is the error (logged as the `fatal` event before it returns).
pub fn run(
    config: &mut Config,
    pause_for: &dyn Fn(Duration) -> bool,
    log: &mut dyn Write,
) -> Result<(), ApiError> {
    let mut w = Worker::new(config, log);
    w.emit(&w.start_line());
    for message in w.config.warnings.clone() {
        w.emit(&serde_json::json!({"event": "warning", "message": message}));
    }
    while !pause_for(Duration::ZERO) {
        let started = Instant::now();
        let pause = w.one_tick(started).map_err(|Fatal(e)| e)?;
        if pause_for(pause.saturating_sub(started.elapsed())) {
            break;
        }
    }
    let released = w.config.lease.release();
    w.emit(&serde_json::json!({"event": "stop", "reason": "signal", "lease_released": released}));
    Ok(())
}

impl<'a> Worker<'a> {
    fn new(config: &'a mut Config, log: &'a mut dyn Write) -> Self {
        let client = Client::new(
            &config.api_base,
            &config.app,
            config.token.clone(),
            lease::PATCH_DEADLINE,
        );
        let heartbeat = autoscale_probes::heartbeat_agent(
            config
                .policy
                .settings
                .max_response
                .max(Duration::from_secs(1))
                * 5,
        );
        Self {
            redactor: config.redactor.clone(),
            depths: Depths::new(
                config.broker.as_ref(),
                config.amqp_verify_tls,
                config.policy.workers.values().any(|r| r.max_wait.is_some()),
            ),
            config,
            log,
            client,
            heartbeat,
            state: State::default(),
            backoff: Duration::ZERO,
            notified_limits: BTreeSet::new(),
            warned_missing: BTreeSet::new(),
            waiting: None,
            hold_off_until: None,
            restored: false,
            save_failed: false,
            saved_at: None,
        }
    }

    fn emit(&mut self, line: &serde_json::Value) {
        let _ = writeln!(self.log, "{}", self.redactor.redact(&line.to_string()));
        let _ = self.log.flush();
    }

    /// How each type will be scaled and why, before the first tick.
    fn start_line(&self) -> serde_json::Value {
        let c = &*self.config;
        serde_json::json!({"event": "start", "app": c.app, "dry_run": c.dry_run, "interval_s": c.policy.settings.heartbeat_interval.as_secs(),
        "web": c.policy.web_type, "web_policy": format!("{:?}", c.policy.web_policy).to_lowercase(), "workers": c.policy.workers.iter().map(|(t, r)| (t.clone(), serde_json::json!({"queues": r.queues, "jobs_per_dyno": r.jobs_per_dyno, "max_wait_seconds": r.max_wait.map(|d| d.as_secs()), "min": bound_json(&r.min), "max": bound_json(&r.max), "max_from": c.max_sources.get(t)}))).collect::<BTreeMap<_, _>>(),
        "never_scaled": c.policy.singletons,
        "released_at": c.released_at.map(|r| r.to_rfc3339()),
        "email": c.mail.as_ref().map(|m| m.server.clone()),
        "lease": c.lease.describe(),
        "queue_depth": match &c.broker {
            Some(Broker::Rabbit(_)) => "rabbitmq: ready messages (AMQP passive declare)",
            Some(Broker::RabbitManagement { .. }) => "rabbitmq: ready + unacked messages (management API)",
            Some(Broker::Redis(_)) => "redis: list lengths",
            None => "none",
        }})
    }

    /// One tick: measure, decide, apply, log. The pause until the next one.
    fn one_tick(&mut self, started: Instant) -> Result<Duration, Fatal> {
        let interval = self.config.policy.settings.heartbeat_interval;
        match self.config.lease.hold() {
            lease::Held::Yes => {
                if self.waiting.take().is_some() {
                    // Taken over: the last holder's PATCH may be in flight.
                    self.hold_off_until = Some(Instant::now() + lease::PATCH_DEADLINE);
                    self.emit(&serde_json::json!({"event": "lease", "message": format!("the lease is ours: acting (the first PATCH waits {}s, so a PATCH the previous holder sent has landed)", lease::PATCH_DEADLINE.as_secs())}));
                }
                if !self.restored {
                    self.restored = true;
                    if self.restore() {
                        self.hold_off_until = Some(Instant::now() + lease::PATCH_DEADLINE);
                    }
                }
            }
            lease::Held::No(why) => {
                if self.waiting.as_deref() != Some(why.as_str()) {
                    self.emit(&serde_json::json!({"event": "waiting", "message": why}));
                    self.waiting = Some(why);
                }
                return Ok(interval);
            }
        }
        let now = chrono::Utc::now();
        let obs = match self.measure() {
            Ok(obs) => obs,
            Err(Fatal(e)) => return Err(self.fatal(e)),
        };
        let t = tick(&self.config.policy, &mut self.state, &obs, now);
        let mut notes = t.notifications.clone();
        let call = match self.apply(&t, now, &mut notes) {
            Ok(call) => call,
            Err(Fatal(e)) => return Err(self.fatal(e)),
        };
        if !matches!(obs.formation, Measure::Unknown(_)) && !call.contains("failed") {
            self.backoff = Duration::ZERO;
        }
        self.emit(&serde_json::json!({
            "event": "tick",
            "at": now.to_rfc3339(),
            "heartbeat_service_ms": obs.heartbeat_service.map(|d| d.as_secs_f64() * 1000.0),
            "heartbeat_ms": obs.heartbeat.as_ref().map(|h| match h { Measure::Value(d) => serde_json::json!(d.as_secs_f64() * 1000.0), Measure::Unknown(w) => serde_json::json!({"unknown": w}) }),
            "queues": obs.queues.iter().map(|(k, v)| (k.clone(), measure_json(v))).collect::<BTreeMap<_, _>>(),
            "oldest_job_seconds": obs.queue_ages.iter().map(|(k, v)| (k.clone(), v.as_secs_f64())).collect::<BTreeMap<_, _>>(),
            "formation": measure_json(&obs.formation),
            "types": t.report.iter().map(|r| serde_json::json!({"type": r.process_type, "current": r.current, "min": r.min, "max": r.max, "rule": r.rule})).collect::<Vec<_>>(),
            "call": call,
            "rate_limit_remaining": self.client.rate_limit_remaining(),
            "tick_ms": started.elapsed().as_secs_f64() * 1000.0,
            "l2met": l2met(&obs, &t.decisions),
        }));
        self.notify(&notes);
        // Saved after a tick that changed the formation, else once a minute:
        // what a restart would lose is then at most a minute of measurements.
        let due = !t.decisions.is_empty()
            || self
                .saved_at
                .is_none_or(|at| at.elapsed() >= Duration::from_mins(1));
        let app = self.config.app.clone();
        let saved = if due {
            self.config.lease.save(&app, &self.state.snapshot())
        } else {
            Ok(())
        };
        match saved {
            Ok(()) => {
                self.save_failed = false;
                if due {
                    self.saved_at = Some(Instant::now());
                }
            }
            Err(e) if !self.save_failed => {
                self.save_failed = true;
                self.emit(&serde_json::json!({"event": "warning", "message": format!("cannot save the autoscaler's state ({e}): a restart will start afresh")}));
            }
            Err(_) => {}
        }
        // Low on API tokens: slow down rather than run dry.
        let interval = self.config.policy.settings.heartbeat_interval;
        Ok(
            if self.client.rate_limit_remaining().is_some_and(|r| r < 50) {
                interval * 4
            } else {
                interval.max(self.backoff)
            },
        )
    }

    /// Take back the state the last acting worker saved: streaks, flap
    /// budget, freeze, dyno-hours survive restarts.
    /// Restore the last acting worker's state; true if it acted so recently
    /// (within a PATCH deadline and two intervals) that a PATCH of its may
    /// still be in flight.
    fn restore(&mut self) -> bool {
        let app = self.config.app.clone();
        match self.config.lease.load(&app) {
            Ok(Some((snap, saved_at))) => {
                let ok = self.state.restore(&self.config.policy, &snap);
                let recent = chrono::DateTime::parse_from_rfc3339(&saved_at)
                    .or_else(|_| {
                        chrono::DateTime::parse_from_str(&saved_at, "%Y-%m-%d %H:%M:%S%.f%#z")
                    })
                    .ok()
                    .and_then(|at| {
                        (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .to_std()
                            .ok()
                    })
                    .is_some_and(|ago| {
                        ago < lease::PATCH_DEADLINE
                            + 2 * self.config.policy.settings.heartbeat_interval
                    });
                self.emit(&serde_json::json!({"event": "restored", "saved_at": saved_at, "types": snap.types.len(), "used": ok, "previous_holder_recent": recent}));
                recent
            }
            Ok(None) => false,
            Err(e) => {
                self.emit(&serde_json::json!({"event": "warning", "message": format!("cannot read the saved state ({e}): starting afresh")}));
                false
            }
        }
    }

    /// Whether this worker may send a PATCH now: not while it holds off
    /// after a takeover, and only with the lease confirmed. Else why not.
    fn may_patch(&mut self) -> Result<(), String> {
        if let Some(until) = self.hold_off_until {
            let now = Instant::now();
            if now < until {
                return Err(format!(
                    "the lease was just taken over; the first PATCH waits {:.1}s more, so one the previous holder sent has landed",
                    (until - now).as_secs_f64()
                ));
            }
            self.hold_off_until = None;
        }
        match self.config.lease.confirm() {
            lease::Held::Yes => Ok(()),
            lease::Held::No(why) => {
                let message = format!("the lease was lost before the PATCH ({why}); this worker stops acting until it holds it again");
                self.waiting = Some(why);
                Err(message)
            }
        }
    }

    fn fatal(&mut self, e: ApiError) -> Fatal {
        self.emit(&serde_json::json!({"event": "fatal", "error": e.to_string()}));
        Fatal(e)
    }

    fn rate_limited(&mut self, e: &ApiError) {
        if matches!(e, ApiError::RateLimited) {
            self.backoff =
                next_backoff(self.backoff, self.config.policy.settings.heartbeat_interval);
        }
    }

    /// The formation (never from a cache), the heartbeat and the queue depths.
    fn measure(&mut self) -> Result<Observation, Fatal> {
        let formation = match self.client.formation() {
            Ok(f) => Measure::Value(
                f.into_iter()
                    .map(|e| (e.process_type, e.quantity))
                    .collect::<BTreeMap<_, _>>(),
            ),
            Err(e) if e.is_fatal() => return Err(Fatal(e)),
            Err(e) => {
                self.rate_limited(&e);
                Measure::Unknown(e.to_string())
            }
        };
        let beat = self
            .config
            .heartbeat_url
            .as_deref()
            .map(|u| autoscale_probes::heartbeat(&self.heartbeat, u));
        let heartbeat_service = beat.as_ref().and_then(|b| b.service);
        let heartbeat = beat.map(|b| b.latency);
        let wanted: Vec<String> = self
            .config
            .policy
            .workers
            .values()
            .flat_map(|r| r.queues.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let (queues, queue_ages) = self.depths.depths(&wanted);
        let queues = self.missing_queues_hold_nothing(queues);
        Ok(Observation {
            queue_ages,
            formation,
            heartbeat,
            queues,
            released_at: self.config.released_at,
            heartbeat_service,
        })
    }

    /// A queue the broker does not have holds nothing: 0 waiting, said once
    /// with its consumers (a typo in -Q shows); unknown is for failures only.
    fn missing_queues_hold_nothing(
        &mut self,
        queues: BTreeMap<String, Measure<u64>>,
    ) -> BTreeMap<String, Measure<u64>> {
        let mut out = BTreeMap::new();
        for (q, m) in queues {
            let m = match m {
                Measure::Unknown(why) if why.contains(MISSING_QUEUE) => {
                    if self.warned_missing.insert(q.clone()) {
                        let consumers: Vec<String> = self
                            .config
                            .policy
                            .workers
                            .iter()
                            .filter(|(_, r)| r.queues.contains(&q))
                            .map(|(t, _)| t.clone())
                            .collect();
                        let message = format!("queue {q} does not exist on the broker: counted as 0 waiting until something is published to it (a typo in the -Q list of {}?)", consumers.join(", "));
                        self.emit(&serde_json::json!({"event": "warning", "queue": q, "consumers": consumers, "message": message}));
                    }
                    Measure::Value(0)
                }
                other => other,
            };
            out.insert(q, m);
        }
        out
    }

    /// Send the tick's decisions as one batch PATCH (or say what a dry run
    /// would send). The `call` field of the tick's log line.
    fn apply(
        &mut self,
        t: &Tick,
        now: chrono::DateTime<chrono::Utc>,
        notes: &mut Vec<Notification>,
    ) -> Result<String, Fatal> {
        if t.decisions.is_empty() {
            return Ok("none".to_string());
        }
        let shown = t
            .decisions
            .iter()
            .map(|d| format!("{}={}", d.process_type, d.to))
            .collect::<Vec<_>>()
            .join(" ");
        if self.config.dry_run {
            return Ok(format!("dry-run: would PATCH {shown}"));
        }
        if let Err(why) = self.may_patch() {
            return Ok(format!("not sent {shown}: {why}"));
        }
        let updates: Vec<Update> = t
            .decisions
            .iter()
            .map(|d| Update {
                process_type: d.process_type.clone(),
                quantity: d.to,
            })
            .collect();
        match self.client.update_formation(&updates) {
            Ok(_) => {
                for d in &t.decisions {
                    self.applied(d, Ok(()), now, notes);
                }
                Ok(format!("PATCH {shown}"))
            }
            Err(e) if e.is_fatal() => Err(Fatal(e)),
            Err(ApiError::AboveLimit {
                limit: Some(limit),
                message,
            }) => {
                let refused = self.one_by_one(&t.decisions, limit, &message, now, notes);
                Ok(format!(
                    "PATCH {shown}: refused, account limit {limit} ({} refused alone)",
                    refused.join(" ")
                ))
            }
            Err(e) => {
                self.rate_limited(&e);
                for d in &t.decisions {
                    self.applied(d, Err(e.to_string()), now, notes);
                }
                Ok(format!("PATCH {shown}: failed: {e}"))
            }
        }
    }

    fn applied(
        &mut self,
        d: &Decision,
        result: Result<(), String>,
        now: chrono::DateTime<chrono::Utc>,
        notes: &mut Vec<Notification>,
    ) {
        notes.extend(applied(
            &self.config.policy,
            &mut self.state,
            d,
            result,
            now,
        ));
    }

    /// The batch was refused whole for an account limit, and the message does
    /// not say which type is over it: send each update alone, clamp only the
    /// types refused, and say so once per type. The refused updates.
    fn one_by_one(
        &mut self,
        decisions: &[Decision],
        limit: u32,
        message: &str,
        now: chrono::DateTime<chrono::Utc>,
        notes: &mut Vec<Notification>,
    ) -> Vec<String> {
        let mut refused = Vec::new();
        for d in decisions {
            // Each PATCH alone is fenced too: a lease lost half-way stops them.
            if decisions.len() > 1 && self.may_patch().is_err() {
                break;
            }
            let result = if decisions.len() == 1 {
                Err(ApiError::AboveLimit {
                    limit: Some(limit),
                    message: message.to_string(),
                })
            } else {
                self.client
                    .update_formation(&[Update {
                        process_type: d.process_type.clone(),
                        quantity: d.to,
                    }])
                    .map(|_| ())
            };
            match result {
                Ok(()) => self.applied(d, Ok(()), now, notes),
                Err(ApiError::AboveLimit {
                    limit: l,
                    message: m,
                }) if d.to > d.from => {
                    let limit = l.unwrap_or(limit);
                    refused.push(format!("{}={}", d.process_type, d.to));
                    self.clamp_max(&d.process_type, limit);
                    if self.notified_limits.insert(d.process_type.clone()) {
                        notes.push(Notification::ScaleFailed {
                            process_type: d.process_type.clone(),
                            to: d.to,
                            error: format!("{m}: clamping its max to {limit}"),
                        });
                    }
                }
                Err(e) => self.applied(d, Err(e.to_string()), now, notes),
            }
        }
        refused
    }

    fn clamp_max(&mut self, process_type: &str, limit: u32) {
        let policy = &mut self.config.policy;
        if policy.web_type.as_deref() == Some(process_type) {
            policy.settings.max_dynos = Bound::Fixed(limit);
        } else if let Some(r) = policy.workers.get_mut(process_type) {
            r.max = Bound::Fixed(limit);
        }
    }

    /// Log every notification; send the wanted ones to the webhook and by e-mail.
    fn notify(&mut self, notes: &[Notification]) {
        for n in notes {
            let wanted = n.wanted(&self.config.policy.settings);
            let posted = match (&self.config.webhook, wanted) {
                (Some(url), true) => Some(crate::webhook::post(
                    url,
                    &crate::webhook::body(&self.config.app, n.kind(), &n.to_string()),
                )),
                _ => None,
            };
            let mailed = match (&self.config.mail, wanted) {
                (Some(mail), true) => Some(mail.send(
                    &format!("[autoscale] {}: {}", self.config.app, n.kind()),
                    &format!(
                        "{n}\n\nSent by the autoscale process of {} (release-phase autoscale).\n",
                        self.config.app
                    ),
                )),
                _ => None,
            };
            let mut line = serde_json::json!({"event": "notify", "kind": n.kind(), "message": n.to_string(), "webhook": posted.as_ref().is_some_and(crate::webhook::Delivery::delivered), "email": mailed.as_ref().is_some_and(Result::is_ok)});
            if let Some(delivery) = &posted {
                line["webhook_attempts"] = serde_json::json!(delivery.attempts);
                if let Some(e) = &delivery.error {
                    line["webhook_error"] = serde_json::json!(e);
                }
            }
            if let Some(Err(e)) = &mailed {
                line["email_error"] = serde_json::json!(e.to_string());
            }
            self.emit(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tick_carries_l2met_samples_of_dynos_queues_and_latency() {
        let obs = autoscale::Observation {
            queue_ages: BTreeMap::new(),
            formation: Measure::Value(BTreeMap::from([
                ("web".to_string(), 2),
                ("worker_high_memory".to_string(), 0),
            ])),
            heartbeat: Some(Measure::Value(Duration::from_millis(123))),
            queues: BTreeMap::from([
                ("default".to_string(), Measure::Value(7)),
                ("bulk email".to_string(), Measure::Value(0)),
                ("gone".to_string(), Measure::Unknown("no such queue".into())),
            ]),
            released_at: None,
            heartbeat_service: None,
        };
        let decisions = [autoscale::Decision {
            process_type: "worker_high_memory".into(),
            from: 0,
            to: 1,
            rule: "queue".into(),
        }];
        let line = l2met(&obs, &decisions);
        assert_eq!(
            line,
            " sample#autoscale.web.dynos=2 sample#autoscale.worker_high_memory.dynos=1 \
             sample#autoscale.heartbeat.latency=123.0ms \
             sample#autoscale.queue.bulk_email.depth=0 sample#autoscale.queue.default.depth=7 "
        );
        // In the JSON line, every sample is a token of its own.
        let json = serde_json::json!({"event": "tick", "l2met": line}).to_string();
        let tokens: Vec<&str> = json
            .split(' ')
            .filter(|t| t.starts_with("sample#"))
            .collect();
        assert_eq!(tokens.len(), 5, "{json}");
        assert!(tokens.iter().all(|t| !t.contains('"')), "{json}");
    }
}
