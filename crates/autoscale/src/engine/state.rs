//! What the engine remembers between ticks: per scaled type (its slot),
//! the heartbeats, the index of types and queues, the day's dyno-seconds.

use super::{since, DateTime, Duration, NaiveDate, Policy, Utc, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Slow,
    Fast,
    Ok,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Up,
    Down,
}

/// What the engine remembers about one scaled type.
#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per kind of notification
pub(super) struct Slot {
    /// What we last set it to (a different reading is someone else's change).
    pub(super) last_set: Option<u32>,
    pub(super) last_direction: Option<Direction>,
    pub(super) reversals: VecDeque<DateTime<Utc>>,
    /// A monotonic max-queue of (when, need) over the scale-down delay.
    pub(super) needs: VecDeque<(DateTime<Utc>, u32)>,
    /// Since when needs have been watched: a scale-down waits until they
    /// have been for a whole delay (a worker just started knows no history).
    pub(super) watched_since: Option<DateTime<Utc>>,
    pub(super) notified_max: bool,
    pub(super) notified_min: bool,
    pub(super) notified_flap: bool,
    pub(super) notified_slow_inside: bool,
}

impl Slot {
    /// How long this type's needs have been watched (from the first tick that
    /// measured it; a clock that went back starts it again).
    pub(super) fn watched_for(&mut self, now: DateTime<Utc>) -> Duration {
        let since_when = self.watched_since.filter(|w| *w <= now).unwrap_or(now);
        self.watched_since = Some(since_when);
        since(now, since_when)
    }

    /// This type's direction reversals in the last 24 hours (those older are
    /// dropped: reversals are kept in time order).
    pub(super) fn reversals_in_day(&mut self, now: DateTime<Utc>) -> usize {
        while self
            .reversals
            .front()
            .is_some_and(|at| since(now, *at) > Duration::from_hours(24))
        {
            self.reversals.pop_front();
        }
        self.reversals.len()
    }

    /// How long a worker type's lower need must last before a scale-down: the policy's
    /// delay, doubled for every reversal of this type in the last day
    /// (at most 64 times: about five hours from the default five minutes).
    /// A type that keeps turning round at a quantity its load sits between
    /// turns round less and less often, instead of every few minutes.
    pub(super) fn down_delay(&mut self, policy: &Policy, now: DateTime<Utc>) -> Duration {
        let recent = self.reversals_in_day(now);
        let doublings = u32::try_from(recent).unwrap_or(u32::MAX).min(6);
        policy.scale_down_delay * (1 << doublings)
    }
}

/// The policy's scaled types as positions, built on the first tick (and
/// again if the policy's types change), so a tick compares no names but the
/// formation's and the queues' it reads.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    /// Scaled types: the web type first (if scaled), then the worker types in the policy's order.
    pub(super) names: Vec<String>,
    pub(super) web: bool,
    /// Per entry of `policy.workers` (in order): its slot, or `None` for a singleton.
    pub(super) worker_slots: Vec<Option<usize>>,
    /// Every queue a scaled worker type consumes, once.
    pub(super) queues: Vec<String>,
    /// Per slot: indices into `queues`.
    pub(super) slot_queues: Vec<Vec<usize>>,
    /// What the index was built from: the web type, the worker types and the
    /// singletons, by name. (Counts alone once let a policy that replaced
    /// one worker type with another keep scaling the old one.)
    pub(super) built_for: (Option<String>, Vec<String>, Vec<String>),
}

impl Index {
    pub(super) fn fits(&self, policy: &Policy) -> bool {
        // A few short names compared per tick: a few ns next to the tick.
        self.built_for.0 == policy.web_type
            && self.built_for.1.iter().eq(policy.workers.keys())
            && self.built_for.2.iter().eq(policy.singletons.iter())
    }

    pub(super) fn new(policy: &Policy) -> Self {
        let mut ix = Index {
            built_for: (
                policy.web_type.clone(),
                policy.workers.keys().cloned().collect(),
                policy.singletons.iter().cloned().collect(),
            ),
            ..Index::default()
        };
        if let Some(web) = policy
            .web_type
            .as_deref()
            .filter(|w| !policy.singletons.contains(*w))
        {
            ix.names.push(web.to_string());
            ix.slot_queues.push(Vec::new());
            ix.web = true;
        }
        for (t, rule) in &policy.workers {
            if policy.singletons.contains(t) || ix.names.contains(t) {
                ix.worker_slots.push(None);
                continue;
            }
            ix.worker_slots.push(Some(ix.names.len()));
            ix.names.push(t.clone());
            let mut qs = Vec::with_capacity(rule.queues.len());
            for q in &rule.queues {
                let at = ix.queues.iter().position(|x| x == q).unwrap_or_else(|| {
                    ix.queues.push(q.clone());
                    ix.queues.len() - 1
                });
                qs.push(at);
            }
            ix.slot_queues.push(qs);
        }
        ix
    }
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub(super) history: VecDeque<Verdict>,
    /// The capacity policy's measurements: the last heartbeats since web last
    /// changed, and a monotonic min-queue of the last day's (the service time).
    pub(super) latencies: VecDeque<Duration>,
    /// The time those heartbeats reported spending inside the dyno, when they did.
    pub(super) services: VecDeque<Duration>,
    pub(super) fastest: VecDeque<(DateTime<Utc>, Duration)>,
    /// Web's quantity and median latency just before our last change to it:
    /// with the first heartbeat after, the two points give the service time.
    pub(super) before_change: Option<(u32, Duration)>,
    /// The service time two such points gave last.
    pub(super) service_from_change: Option<Duration>,
    /// When web last went up, and from how many: its new dynos boot.
    pub(super) web_up: Option<(DateTime<Utc>, u32)>,
    /// The last two beats' measured waits for a dyno, with when and how
    /// many web dynos were serving then (kept across changes: a beat during
    /// a boot was served by the dynos from before it).
    pub(super) waits: VecDeque<(DateTime<Utc>, Duration, u32)>,
    pub(super) index: Index,
    pub(super) slots: Vec<Slot>,
    /// Per queue of the index: an unknown reading was notified.
    pub(super) notified_queue: Vec<bool>,
    pub(super) notified: Episodes,
    pub(super) last_external_change: Option<DateTime<Utc>>,
    pub(super) changes: VecDeque<(DateTime<Utc>, u32)>,
    /// The current day in the settings' zone, and the UTC instants it starts and ends.
    pub(super) day: Option<(NaiveDate, DateTime<Utc>, DateTime<Utc>)>,
    pub(super) dyno_seconds_today: f64,
    pub(super) last_tick: Option<(DateTime<Utc>, u32)>,
    /// Scratch, kept to save an allocation per tick: each slot's quantity this tick.
    pub(super) current: Vec<Option<u32>>,
    pub(super) proposals: Vec<Proposal>,
}

/// Conditions notified and not yet cleared: one notification per episode.
#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per kind of notification
pub(super) struct Episodes {
    pub(super) heartbeat: bool,
    pub(super) formation: bool,
    pub(super) cap: bool,
    pub(super) diff: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Proposal {
    pub(super) slot: usize,
    pub(super) current: u32,
    pub(super) to: u32,
    pub(super) min: u32,
    pub(super) max: u32,
    pub(super) rule: String,
    /// Bound enforcement: passes every guard.
    pub(super) bound: bool,
    /// What the type needs once lowered (a scale-down may step toward it).
    pub(super) settles_at: u32,
}

impl Proposal {
    pub(super) fn new(
        slot: usize,
        current: u32,
        (min, max): (u32, u32),
        to: u32,
        rule: String,
        bound: bool,
    ) -> Self {
        Self {
            slot,
            current,
            to,
            min,
            max,
            rule,
            bound,
            settles_at: to,
        }
    }
}

impl State {
    /// Web's verdicts of the seed's streak, oldest first (for the specifications).
    #[cfg(test)]
    pub(crate) fn history(&self) -> Vec<Verdict> {
        self.history.iter().copied().collect()
    }

    pub(crate) fn dyno_hours_today(&self) -> f64 {
        self.dyno_seconds_today / 3600.0
    }

    /// (Re)build the index, keeping what is remembered about types that stay.
    pub(super) fn fit(&mut self, policy: &Policy) {
        if self.index.fits(policy) && self.slots.len() == self.index.names.len() {
            return;
        }
        let index = Index::new(policy);
        let mut slots = vec![Slot::default(); index.names.len()];
        for (i, name) in index.names.iter().enumerate() {
            if let Some(old) = self.index.names.iter().position(|n| n == name) {
                if let Some(slot) = self.slots.get(old) {
                    slots[i] = slot.clone();
                }
            }
        }
        self.notified_queue = vec![false; index.queues.len()];
        self.slots = slots;
        self.index = index;
    }

    pub(super) fn slot_of(&self, process_type: &str) -> Option<usize> {
        self.index.names.iter().position(|n| n == process_type)
    }
}

impl State {
    /// Dyno-seconds of the scaled types, per day in the settings' zone.
    pub(super) fn account(&mut self, policy: &Policy, now: DateTime<Utc>) {
        let scaled: u32 = self.current.iter().flatten().sum();
        // The zone's calendar is consulted once a day, not every tick.
        if self
            .day
            .is_none_or(|(_, starts, ends)| now < starts || now >= ends)
        {
            let tz = policy.settings.time_zone;
            let local = now.with_timezone(&tz).date_naive();
            let starts = crate::schedule::start_of_day(tz, local);
            let ends = local
                .succ_opt()
                .map_or(now + chrono::Duration::days(1), |next| {
                    crate::schedule::start_of_day(tz, next)
                });
            if self.day.is_none_or(|(d, _, _)| d != local) {
                self.dyno_seconds_today = 0.0;
                self.notified.cap = false;
            }
            self.day = Some((local, starts, ends));
        }
        if let Some((then, quantity)) = self.last_tick {
            self.dyno_seconds_today += since(now, then).as_secs_f64() * f64::from(quantity);
        }
        self.last_tick = Some((now, scaled));
    }
}

impl State {
    /// The positions a [`Frame`] follows: the scaled types and the queues
    /// they consume (fitting the state to the policy first).
    pub(crate) fn layout(&mut self, policy: &Policy) -> (&[String], &[String]) {
        self.fit(policy);
        (&self.index.names, &self.index.queues)
    }
}
