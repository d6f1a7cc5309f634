//! What the engine is told: the policy (settings, types, guards) and how
//! a measurement says it is unknown.

use super::{BTreeMap, BTreeSet, Bound, DateTime, Duration, Settings, Utc};

/// A measurement is a value or unknown (failed, timed out, stale): never
/// "zero" and never "slow". Unknown holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure<T> {
    Value(T),
    Unknown(String),
}

/// How one worker type is scaled from queue depth.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRule {
    /// The queues this type consumes (its Celery `-Q` list).
    pub queues: Vec<String>,
    /// Waiting jobs one dyno is expected to keep up with.
    pub jobs_per_dyno: u32,
    /// The longest the oldest waiting job may have waited (measured where
    /// the broker and the publisher allow it): past it, the type grows by
    /// the ratio, whatever the count says. `None`: the count alone.
    pub max_wait: Option<Duration>,
    pub min: Bound,
    pub max: Bound,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub settings: Settings,
    /// The type scaled by heartbeat latency (normally `web`); `None`: none.
    pub web_type: Option<String>,
    pub workers: BTreeMap<String, QueueRule>,
    /// Never scaled by us: `beat`, `clock`, the autoscaler's own type, declared singletons.
    pub singletons: BTreeSet<String>,
    /// No scale-down this long after a release or a formation change we did not make.
    pub freeze: Duration,
    /// A worker type is scaled down only when its need has been lower for this long.
    pub scale_down_delay: Duration,
    /// How web is scaled: by the capacity its latency shows (default), or by
    /// the seed's streaks of slow and fast heartbeats.
    pub web_policy: WebPolicy,
    /// Max direction reversals per type in any hour. A scale-down that would
    /// reverse an increase is held while it would leave no room in the budget
    /// for the increase that may follow; increases are never held.
    pub flap_budget_per_hour: Option<u32>,
    /// The same, in any 24 hours.
    pub flap_budget_per_day: Option<u32>,
    /// Max dyno-hours per day (in the settings' time zone) across scaled types:
    /// reached, no more scale-ups.
    pub daily_dyno_hour_cap: Option<u32>,
    /// Explain holds in the report (the log needs it; a simulation does not:
    /// decisions always carry their rule).
    pub explain: bool,
}

impl Policy {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            web_type: Some("web".into()),
            workers: BTreeMap::new(),
            singletons: ["beat", "clock", "autoscale", "release"]
                .into_iter()
                .map(String::from)
                .collect(),
            freeze: Duration::from_mins(10),
            scale_down_delay: Duration::from_mins(5),
            web_policy: WebPolicy::Capacity,
            flap_budget_per_hour: Some(2),
            flap_budget_per_day: Some(12),
            daily_dyno_hour_cap: None,
            explain: true,
        }
    }

    /// The bounds of a type at `now`.
    pub(crate) fn bounds(&self, process_type: &str, now: DateTime<Utc>) -> Option<(u32, u32)> {
        let tz = self.settings.time_zone;
        let (min, max) = if self.web_type.as_deref() == Some(process_type) {
            (&self.settings.min_dynos, &self.settings.max_dynos)
        } else {
            let r = self.workers.get(process_type)?;
            (&r.min, &r.max)
        };
        let (lo, hi) = (min.at(now, tz), max.at(now, tz));
        // A min above the max at some hour: the max wins (it is the cost limit).
        Some((lo.min(hi), hi))
    }
}

/// How web is scaled (`AUTOSCALE_WEB_POLICY`, `[_.metadata.slipway.autoscale] web-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebPolicy {
    /// From the heartbeat's latency, the share of web's capacity in use is
    /// estimated (queueing: latency = service time / (1 - utilization), the
    /// service time being the fastest heartbeat of the last day); web goes
    /// at once to as many dynos as keep the latency near 90% of the target,
    /// and down, after the scale-down delay, to as many as the delay's
    /// busiest moment needed with a margin.
    #[default]
    Capacity,
    /// django-heroku-autoscale's rule: N slow heartbeats in a row add
    /// `AUTOSCALE_INCREMENT`, N fast ones remove it.
    Seed,
}

impl WebPolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "capacity" => Some(Self::Capacity),
            "seed" => Some(Self::Seed),
            _ => None,
        }
    }
}
