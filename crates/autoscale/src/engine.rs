//! The decision engine: `(policy, state, observation, now) -> decisions`.
//! Pure: no HTTP, no clock; the caller measures, calls [`tick`], makes the
//! calls and reports each result back with [`applied`].

use crate::schedule::Bound;
use crate::settings::Settings;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

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
            flap_budget_per_day: None,
            daily_dyno_hour_cap: None,
            explain: true,
        }
    }

    /// The bounds of a type at `now`.
    pub fn bounds(&self, process_type: &str, now: DateTime<Utc>) -> Option<(u32, u32)> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Slow,
    Fast,
    Ok,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// What the engine remembers about one scaled type.
#[derive(Debug, Clone, Default)]
struct Slot {
    /// What we last set it to (a different reading is someone else's change).
    last_set: Option<u32>,
    last_direction: Option<Direction>,
    reversals: VecDeque<DateTime<Utc>>,
    /// A monotonic max-queue of (when, need) over the scale-down delay.
    needs: VecDeque<(DateTime<Utc>, u32)>,
    /// Since when needs have been watched: a scale-down waits until they
    /// have been for a whole delay (a worker just started knows no history).
    watched_since: Option<DateTime<Utc>>,
    notified_max: bool,
    notified_min: bool,
    notified_flap: bool,
}

impl Slot {
    /// How long this type's needs have been watched (from the first tick that
    /// measured it; a clock that went back starts it again).
    fn watched_for(&mut self, now: DateTime<Utc>) -> Duration {
        let since_when = self.watched_since.filter(|w| *w <= now).unwrap_or(now);
        self.watched_since = Some(since_when);
        since(now, since_when)
    }

    /// How long a worker type's lower need must last before a scale-down: the policy's
    /// delay, doubled for every reversal of this type in the last day
    /// (at most 64 times: about five hours from the default five minutes).
    /// A type that keeps turning round at a quantity its load sits between
    /// turns round less and less often, instead of every few minutes.
    fn down_delay(&mut self, policy: &Policy, now: DateTime<Utc>) -> Duration {
        // Reversals are in time order: drop those older than a day, count the rest.
        while self
            .reversals
            .front()
            .is_some_and(|at| since(now, *at) > Duration::from_hours(24))
        {
            self.reversals.pop_front();
        }
        let recent = self.reversals.len();
        let doublings = u32::try_from(recent).unwrap_or(u32::MAX).min(6);
        policy.scale_down_delay * (1 << doublings)
    }
}

/// The policy's scaled types as positions, built on the first tick (and
/// again if the policy's types change), so a tick compares no names but the
/// formation's and the queues' it reads.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Scaled types: the web type first (if scaled), then the worker types in the policy's order.
    names: Vec<String>,
    web: bool,
    /// Per entry of `policy.workers` (in order): its slot, or `None` for a singleton.
    worker_slots: Vec<Option<usize>>,
    /// Every queue a scaled worker type consumes, once.
    queues: Vec<String>,
    /// Per slot: indices into `queues`.
    slot_queues: Vec<Vec<usize>>,
    /// What the index was built from: the web type, the worker types and the
    /// singletons, by name. (Counts alone once let a policy that replaced
    /// one worker type with another keep scaling the old one.)
    built_for: (Option<String>, Vec<String>, Vec<String>),
}

impl Index {
    fn fits(&self, policy: &Policy) -> bool {
        // A few short names compared per tick: a few ns next to the tick.
        self.built_for.0 == policy.web_type
            && self.built_for.1.iter().eq(policy.workers.keys())
            && self.built_for.2.iter().eq(policy.singletons.iter())
    }

    fn new(policy: &Policy) -> Self {
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
    history: VecDeque<Verdict>,
    /// The capacity policy's measurements: the last heartbeats since web last
    /// changed, and a monotonic min-queue of the last day's (the service time).
    latencies: VecDeque<Duration>,
    /// The time those heartbeats reported spending inside the dyno, when they did.
    services: VecDeque<Duration>,
    fastest: VecDeque<(DateTime<Utc>, Duration)>,
    /// Web's quantity and median latency just before our last change to it:
    /// with the first heartbeat after, the two points give the service time.
    before_change: Option<(u32, Duration)>,
    /// The service time two such points gave last.
    service_from_change: Option<Duration>,
    index: Index,
    slots: Vec<Slot>,
    /// Per queue of the index: an unknown reading was notified.
    notified_queue: Vec<bool>,
    notified: Episodes,
    last_external_change: Option<DateTime<Utc>>,
    changes: VecDeque<(DateTime<Utc>, u32)>,
    /// The current day in the settings' zone, and the UTC instants it starts and ends.
    day: Option<(NaiveDate, DateTime<Utc>, DateTime<Utc>)>,
    dyno_seconds_today: f64,
    last_tick: Option<(DateTime<Utc>, u32)>,
    /// Scratch, kept to save an allocation per tick: each slot's quantity this tick.
    current: Vec<Option<u32>>,
    proposals: Vec<Proposal>,
}

/// Conditions notified and not yet cleared: one notification per episode.
#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per kind of notification
struct Episodes {
    heartbeat: bool,
    formation: bool,
    cap: bool,
    diff: bool,
}

#[derive(Debug, Clone)]
struct Proposal {
    slot: usize,
    current: u32,
    to: u32,
    min: u32,
    max: u32,
    rule: String,
    /// Bound enforcement: passes every guard.
    bound: bool,
}

impl Proposal {
    fn new(
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
        }
    }
}

impl State {
    pub fn history(&self) -> Vec<Verdict> {
        self.history.iter().copied().collect()
    }

    pub fn dyno_hours_today(&self) -> f64 {
        self.dyno_seconds_today / 3600.0
    }

    /// (Re)build the index, keeping what is remembered about types that stay.
    fn fit(&mut self, policy: &Policy) {
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

    fn slot_of(&self, process_type: &str) -> Option<usize> {
        self.index.names.iter().position(|n| n == process_type)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub process_type: String,
    pub from: u32,
    pub to: u32,
    /// The rule that fired, for the log.
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// More than `threshold` dynos of change within the period (the seed's pair of settings).
    ScaleDiffExceeded {
        diff: u32,
        threshold: u32,
        minutes: u64,
    },
    /// Too slow (or too much queued) at the max.
    NeedsExceedMax {
        process_type: String,
        needed: u32,
        max: u32,
    },
    /// Too fast at the min.
    NeedsBelowMin {
        process_type: String,
        min: u32,
    },
    ScaleFailed {
        process_type: String,
        to: u32,
        error: String,
    },
    /// A measurement failed: holding.
    Unknown {
        what: String,
        why: String,
    },
    FlapBudgetSpent {
        process_type: String,
        reversals: u32,
    },
    DynoHourCapReached {
        used: u32,
        cap: u32,
    },
}

impl Notification {
    /// Whether the seed's settings ask for it to be sent (the log gets all).
    pub fn wanted(&self, s: &Settings) -> bool {
        match self {
            Notification::NeedsExceedMax { .. } => s.notify_needs_exceed_max,
            Notification::NeedsBelowMin { .. } => s.notify_needs_below_min,
            Notification::ScaleFailed { .. } => s.notify_on_scale_fails,
            _ => true,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Notification::ScaleDiffExceeded { .. } => "scale_diff_exceeded",
            Notification::NeedsExceedMax { .. } => "needs_exceed_max",
            Notification::NeedsBelowMin { .. } => "needs_below_min",
            Notification::ScaleFailed { .. } => "scale_failed",
            Notification::Unknown { .. } => "measurement_unknown",
            Notification::FlapBudgetSpent { .. } => "flap_budget_spent",
            Notification::DynoHourCapReached { .. } => "dyno_hour_cap_reached",
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notification::ScaleDiffExceeded { diff, threshold, minutes } => write!(f, "scaled by {diff} dynos within {minutes} min (threshold {threshold})"),
            Notification::NeedsExceedMax { process_type, needed, max } => write!(f, "{process_type} needs {needed} dynos but its max is {max}: raise the max if this persists"),
            Notification::NeedsBelowMin { process_type, min } => write!(f, "{process_type} is fast at its min of {min}: the min may be higher than needed"),
            Notification::ScaleFailed { process_type, to, error } => write!(f, "scaling {process_type} to {to} failed: {error}"),
            Notification::Unknown { what, why } => write!(f, "{what} is unknown ({why}): holding"),
            Notification::FlapBudgetSpent { process_type, reversals } => write!(f, "{process_type} reversed direction {reversals} times recently: holding its scale-downs (increases go ahead)"),
            Notification::DynoHourCapReached { used, cap } => write!(f, "{used} dyno-hours used today, cap {cap}: no scale-ups until midnight"),
        }
    }
}

/// One type's view this tick, for the structured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeReport {
    pub process_type: String,
    pub current: u32,
    pub min: u32,
    pub max: u32,
    pub rule: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub decisions: Vec<Decision>,
    pub notifications: Vec<Notification>,
    /// Every scaled type's view, when the policy explains (empty otherwise).
    pub report: Vec<TypeReport>,
}

/// What the caller measured this tick.
#[derive(Debug, Clone)]
pub struct Observation {
    /// `GET /apps/{app}/formation`, read every tick.
    pub formation: Measure<BTreeMap<String, u32>>,
    /// `None`: no heartbeat this tick.
    pub heartbeat: Option<Measure<Duration>>,
    /// Depth per queue.
    pub queues: BTreeMap<String, Measure<u64>>,
    /// When the current release was created, if known.
    pub released_at: Option<DateTime<Utc>>,
    /// The time the heartbeat reported spending inside the dyno
    /// (`X-Slipway-Service-Ms`, from the shipped `heroku_autoscale` app): the
    /// rest of its latency is waiting, which web's utilization is read from.
    pub heartbeat_service: Option<Duration>,
}

/// `now - then`, zero when the clock went back. Through Unix microseconds:
/// a tick asks this a dozen times, and chrono's calendar subtraction was a
/// fifth of `simulate`'s time (perf, the reference day at 1-second ticks).
fn since(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    let micros = now
        .timestamp_micros()
        .saturating_sub(then.timestamp_micros());
    u64::try_from(micros).map_or(Duration::ZERO, Duration::from_micros)
}

/// Notify once per episode: `flag` says the condition was already notified.
fn once(flag: &mut bool, n: impl FnOnce() -> Notification, out: &mut Vec<Notification>) {
    if !*flag {
        *flag = true;
        out.push(n());
    }
}

impl State {
    /// Dyno-seconds of the scaled types, per day in the settings' zone.
    fn account(&mut self, policy: &Policy, now: DateTime<Utc>) {
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

/// A rule's text, built only when someone will read it.
macro_rules! why {
    ($needed:expr, $($arg:tt)*) => {
        if $needed { format!($($arg)*) } else { String::new() }
    };
}

/// An observation by position (see [`State::layout`]): what [`tick`] turns an
/// [`Observation`] into, and what a caller that measures many ticks (the
/// simulator) gives directly, so a tick looks up no names.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Each scaled type's quantity (`None`: not in the formation), or why the formation is unknown.
    pub formation: Result<&'a [Option<u32>], &'a str>,
    pub heartbeat: Option<&'a Measure<Duration>>,
    /// Each queue's depth.
    pub queues: &'a [Measure<u64>],
    pub released_at: Option<DateTime<Utc>>,
    /// See [`Observation::heartbeat_service`].
    pub heartbeat_service: Option<Duration>,
}

impl State {
    /// The positions a [`Frame`] follows: the scaled types and the queues
    /// they consume (fitting the state to the policy first).
    pub fn layout(&mut self, policy: &Policy) -> (&[String], &[String]) {
        self.fit(policy);
        (&self.index.names, &self.index.queues)
    }
}

/// Decide this tick. Decisions are proposals: report each call's result with [`applied`].
pub fn tick(policy: &Policy, state: &mut State, obs: &Observation, now: DateTime<Utc>) -> Tick {
    state.fit(policy);
    let current: Vec<Option<u32>>;
    let formation = match &obs.formation {
        Measure::Value(f) => {
            current = state
                .index
                .names
                .iter()
                .map(|n| f.get(n).copied())
                .collect();
            Ok(current.as_slice())
        }
        Measure::Unknown(why) => Err(why.as_str()),
    };
    let queues: Vec<Measure<u64>> = state
        .index
        .queues
        .iter()
        .map(|q| {
            obs.queues
                .get(q)
                .cloned()
                .unwrap_or_else(|| Measure::Unknown("not measured".into()))
        })
        .collect();
    let frame = Frame {
        formation,
        heartbeat: obs.heartbeat.as_ref(),
        queues: &queues,
        released_at: obs.released_at,
        heartbeat_service: obs.heartbeat_service,
    };
    tick_frame(policy, state, &frame, now)
}

/// [`tick`] by position: `frame` follows [`State::layout`] for this policy.
///
/// Measure (the heartbeat joins its history, the formation is read and
/// external changes noted), decide (a proposal for web, one per worker
/// type), then guard (freeze, dyno-hour cap, flap budget) and report.
pub fn tick_frame(policy: &Policy, state: &mut State, obs: &Frame, now: DateTime<Utc>) -> Tick {
    let mut out = Tick::default();
    state.fit(policy);
    assert!(
        obs.queues.len() == state.index.queues.len()
            && obs
                .formation
                .iter()
                .all(|f| f.len() == state.index.names.len()),
        "a Frame follows State::layout"
    );
    if let Some(hb) = &obs.heartbeat {
        record_heartbeat(policy, state, hb, now, &mut out);
        if let (Measure::Value(_), Some(service)) = (hb, obs.heartbeat_service) {
            state.services.push_back(service);
            while state.services.len() > LATENCY_WINDOW {
                state.services.pop_front();
            }
        }
    }
    if !read_formation(policy, state, obs, now, &mut out) {
        return out;
    }
    let mut proposals = std::mem::take(&mut state.proposals);
    proposals.clear();
    if let Some(p) = propose_web(policy, state, now, &mut out) {
        proposals.push(p);
    }
    for (w, rule) in policy.workers.values().enumerate() {
        let Some(i) = state.index.worker_slots.get(w).copied().flatten() else {
            continue;
        };
        if let Some(p) = propose_worker(policy, rule, i, state, obs, now, &mut out) {
            proposals.push(p);
        }
    }
    guard_and_report(policy, state, &mut proposals, now, &mut out);
    state.proposals = proposals;
    out
}

/// The heartbeat's verdict joins the history whatever else happens.
fn record_heartbeat(
    policy: &Policy,
    state: &mut State,
    hb: &Measure<Duration>,
    now: DateTime<Utc>,
    out: &mut Tick,
) {
    let s = &policy.settings;
    if let Measure::Value(d) = hb {
        state.latencies.push_back(*d);
        while state.latencies.len() > LATENCY_WINDOW {
            state.latencies.pop_front();
        }
        let fastest = &mut state.fastest;
        if fastest.back().is_some_and(|(at, _)| *at > now) {
            fastest.clear(); // the clock went back
        }
        while fastest.back().is_some_and(|(_, f)| f >= d) {
            fastest.pop_back();
        }
        fastest.push_back((now, *d));
        while fastest
            .front()
            .is_some_and(|(at, _)| since(now, *at) > SERVICE_TIME_WINDOW)
        {
            fastest.pop_front();
        }
    }
    let v = match hb {
        Measure::Value(d) if *d > s.max_response => Verdict::Slow,
        Measure::Value(d) if *d < s.min_response => Verdict::Fast,
        Measure::Value(_) => Verdict::Ok,
        Measure::Unknown(why) => {
            once(
                &mut state.notified.heartbeat,
                || Notification::Unknown {
                    what: "the heartbeat".into(),
                    why: why.clone(),
                },
                &mut out.notifications,
            );
            Verdict::Unknown
        }
    };
    if v != Verdict::Unknown {
        state.notified.heartbeat = false;
    }
    state.history.push_back(v);
    let keep = s.fails_to_scale_up.max(s.passes_to_scale_down) as usize;
    while state.history.len() > keep {
        state.history.pop_front();
    }
}

/// Take the formation in (false: it is unknown and nothing is decided this
/// tick), account dyno-seconds, and freeze on a change someone else made (a
/// deploy, a manual `heroku ps:scale`) or a release.
fn read_formation(
    policy: &Policy,
    state: &mut State,
    obs: &Frame,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> bool {
    let formation = match obs.formation {
        Ok(f) => {
            state.notified.formation = false;
            f
        }
        Err(why) => {
            once(
                &mut state.notified.formation,
                || Notification::Unknown {
                    what: "the formation".into(),
                    why: why.to_string(),
                },
                &mut out.notifications,
            );
            return false;
        }
    };
    state.current.clear();
    state.current.extend_from_slice(formation);
    state.account(policy, now);
    for (slot, q) in state.slots.iter_mut().zip(&state.current) {
        if let (Some(set), Some(q)) = (slot.last_set, q) {
            if set != *q {
                state.last_external_change = Some(now);
                slot.last_set = Some(*q);
            }
        }
    }
    if let Some(r) = obs.released_at {
        if state.last_external_change.is_none_or(|c| r > c) {
            state.last_external_change = Some(r);
        }
    }
    true
}

/// Where a quantity outside its bounds goes, and why (bound enforcement).
fn into_bounds(current: u32, min: u32, max: u32) -> Option<(u32, String)> {
    if current < min {
        Some((min, format!("below the min of {min}")))
    } else if current > max {
        Some((max, format!("above the max of {max}")))
    } else {
        None
    }
}

/// Heartbeats the capacity policy takes the median of.
const LATENCY_WINDOW: usize = 3;
/// How far back the fastest heartbeat stands for the service time: a day, so
/// the night's quiet (utilization near zero) shows the service time itself;
/// over a busy hour the fastest beat is already slowed by queueing, and the
/// utilization would be underestimated.
const SERVICE_TIME_WINDOW: Duration = Duration::from_hours(24);
/// The capacity policy aims web's latency at this share of the target.
const LATENCY_GOAL: f64 = 0.9;
/// A scale-down keeps this margin under the utilization aimed at (hysteresis:
/// a dyno removed is not wanted back at the next wobble).
const DOWN_MARGIN: f64 = 0.85;
/// A scale-down removes at most 1/DOWN_STEP of web's dynos (at least one).
const DOWN_STEP: u32 = 4;

/// Web: by the capacity its latency shows (default) or the seed's streaks.
fn propose_web(
    policy: &Policy,
    state: &mut State,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<Proposal> {
    match policy.web_policy {
        WebPolicy::Seed => propose_web_seed(policy, state, now, out),
        WebPolicy::Capacity => propose_web_capacity(policy, state, now, out),
    }
}

/// Web's quantity and bounds now (a min above the max: the max wins);
/// `None` when web is not scaled or not in the formation.
fn web_now(policy: &Policy, state: &State, now: DateTime<Utc>) -> Option<(u32, u32, u32)> {
    let s = &policy.settings;
    if !state.index.web {
        return None;
    }
    let current = state.current[0]?;
    let max = s.max_dynos.at(now, s.time_zone);
    Some((current, s.min_dynos.at(now, s.time_zone).min(max), max))
}

/// The capacity policy (see [`WebPolicy::Capacity`]).
fn propose_web_capacity(
    policy: &Policy,
    state: &mut State,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<Proposal> {
    let (current, min, max) = web_now(policy, state, now)?;
    let bounds = (min, max);
    if let Some((to, rule)) = into_bounds(current, min, max) {
        return Some(Proposal::new(0, current, bounds, to, rule, true));
    }
    let Some(need) = capacity_needs(policy, state, current) else {
        let rule = why!(
            policy.explain,
            "holding: no heartbeat measured since the last change"
        );
        return Some(Proposal::new(0, current, bounds, current, rule, false));
    };
    let web = state.index.names[0].as_str();
    let slot = &mut state.slots[0];
    // Web re-measures after every step down; no backoff (workers have one).
    let delay = policy.scale_down_delay;
    let stable = stabilized_need(&mut slot.needs, need.down, now, delay);
    let watched = slot.watched_for(now) >= delay;
    if need.up > max {
        let n = Notification::NeedsExceedMax {
            process_type: web.into(),
            needed: need.up,
            max,
        };
        once(&mut slot.notified_max, || n, &mut out.notifications);
    } else {
        slot.notified_max = false;
    }
    let (to, rule) = if need.up > current {
        (need.up.min(max), need.rule(current))
    } else if stable < current && current > min && watched {
        // At most a quarter at a time: the next heartbeats, at the new
        // quantity, say whether to go on (an underestimated load shows at once).
        let floor = current - current.div_ceil(DOWN_STEP);
        let rule = format!("{}; lower for {}s", need.rule(current), delay.as_secs());
        (stable.max(min).max(floor), rule)
    } else {
        (
            current,
            why!(policy.explain, "holding: {}", need.rule(current)),
        )
    };
    Some(Proposal::new(0, current, bounds, to, rule, false))
}

/// What web needs now: from the median of the heartbeats since it last
/// changed and the service time, the dynos to scale up to and (with the
/// margin) to scale down to.
struct WebNeed {
    latency: Duration,
    samples: usize,
    service: Duration,
    busy: f64,
    aim: f64,
    up: u32,
    down: u32,
}

impl WebNeed {
    fn rule(&self, current: u32) -> String {
        format!(
            "latency {} ms (median of {}), service {} ms: {:.0}% busy on {current}, {} for {:.0}%",
            self.latency.as_millis(),
            self.samples,
            self.service.as_millis(),
            self.busy * 100.0,
            self.up,
            self.aim * 100.0
        )
    }
}

/// `None`: nothing measured since the last change.
fn capacity_needs(policy: &Policy, state: &mut State, current: u32) -> Option<WebNeed> {
    let s = &policy.settings;
    let latency = median(&state.latencies)?;
    if let Some((before, l_before)) = state.before_change.take() {
        // Over the target, a backlog drains too: the model does not hold.
        if l_before.max(latency) <= s.max_response {
            state.service_from_change =
                service_time((before, l_before), (current, latency)).or(state.service_from_change);
        }
    }
    let fastest = state.fastest.front().map_or(latency, |(_, f)| *f);
    // Reported by the heartbeat itself (the time it spent inside the dyno):
    // measured, not estimated. Else estimated.
    let service = median(&state.services).map_or_else(
        || {
            state
                .service_from_change
                .map_or(fastest, |d| d.min(fastest))
        },
        |reported| reported.min(latency),
    );
    let (l, st) = (latency.as_secs_f64().max(1e-6), service.as_secs_f64());
    let busy = (1.0 - st / l).clamp(0.0, 0.98);
    let goal = (s.max_response.as_secs_f64() * LATENCY_GOAL).max(st * 1.5);
    let aim = (1.0 - st / goal).clamp(0.3, 0.85);
    let n = f64::from(current.max(1));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let dynos = |x: f64| x.ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
    let mut up = dynos(n * busy / aim);
    if latency > s.max_response {
        up = up.max(current.saturating_add(s.increment));
    }
    Some(WebNeed {
        latency,
        samples: state.latencies.len(),
        service,
        busy,
        aim,
        up,
        down: dynos(n * busy / (aim * DOWN_MARGIN)),
    })
}

fn median(latencies: &VecDeque<Duration>) -> Option<Duration> {
    // At most LATENCY_WINDOW values: sorted on the stack, no allocation per tick.
    let mut sorted = [Duration::ZERO; LATENCY_WINDOW];
    let n = latencies.len().min(LATENCY_WINDOW);
    for (slot, l) in sorted.iter_mut().zip(latencies.iter().rev()) {
        *slot = *l;
    }
    sorted[..n].sort_unstable();
    (n > 0).then(|| sorted[n / 2])
}

/// The service time from web's latency at two quantities under the same
/// load: with latency = S / (1 - a/n), 1/latency is linear in 1/n, and its
/// intercept is 1/S. `None` when the points do not fit the model (the load
/// moved, noise): then the fastest heartbeat stands for it.
fn service_time((n1, l1): (u32, Duration), (n2, l2): (u32, Duration)) -> Option<Duration> {
    if n1 == n2 || n1.min(n2) == 0 {
        return None;
    }
    let (x1, x2) = (1.0 / f64::from(n1), 1.0 / f64::from(n2));
    let (y1, y2) = (1.0 / l1.as_secs_f64(), 1.0 / l2.as_secs_f64());
    let slope = (y2 - y1) / (x2 - x1);
    let intercept = y1 - slope * x1;
    // More dynos must mean less latency (slope < 0; the intercept is then
    // above y1 > 0), and S must be below both.
    let service = 1.0 / intercept;
    (slope < 0.0 && service.is_finite())
        .then(|| Duration::from_secs_f64(service))
        .filter(|d| *d <= l1.min(l2))
}

/// Web, by the seed's rule: N slow heartbeats in a row add `increment`, N
/// fast ones remove it, within the bounds.
fn propose_web_seed(
    policy: &Policy,
    state: &mut State,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<Proposal> {
    let s = &policy.settings;
    let explain = policy.explain;
    let (current, min, max) = web_now(policy, state, now)?;
    let web = state.index.names[0].as_str();
    let web_slot = &mut state.slots[0];
    let n_up = s.fails_to_scale_up as usize;
    let n_down = s.passes_to_scale_down as usize;
    let streak = |n: usize, v: Verdict| {
        state.history.len() >= n && state.history.iter().rev().take(n).all(|x| *x == v)
    };
    let (slow, fast) = (streak(n_up, Verdict::Slow), streak(n_down, Verdict::Fast));
    // At a bound the streak asks past: say so once (the seed: "at the min ...
    // (but above one)": a min of 1 has nothing to learn).
    // Outside the bounds, bound enforcement comes first: nothing to say.
    let bounded = into_bounds(current, min, max);
    let within = bounded.is_none();
    if within && slow && current >= max {
        let needed = current.saturating_add(s.increment);
        let n = Notification::NeedsExceedMax {
            process_type: web.into(),
            needed,
            max,
        };
        once(&mut web_slot.notified_max, || n, &mut out.notifications);
    } else if within && fast && current <= min && min > 1 {
        let n = Notification::NeedsBelowMin {
            process_type: web.into(),
            min,
        };
        once(&mut web_slot.notified_min, || n, &mut out.notifications);
    }
    // The seed's streak rule, the same either way: a step of `increment`
    // toward the bound, none at it.
    let streak = if slow {
        Some(Streak {
            n: n_up,
            said: ("slow", "slower", s.max_response),
            bound: ("max", max),
            at_bound: current >= max,
            next: current.saturating_add(s.increment).min(max),
        })
    } else if fast {
        Some(Streak {
            n: n_down,
            said: ("fast", "faster", s.min_response),
            bound: ("min", min),
            at_bound: current <= min,
            next: current.saturating_sub(s.increment).max(min),
        })
    } else {
        None
    };
    let (to, rule, bound) = match (bounded, streak) {
        (Some((to, rule)), _) => (to, rule, true),
        (None, Some(st)) if st.at_bound => {
            let (n, (word, _, _), (which, limit)) = (st.n, st.said, st.bound);
            let rule = why!(explain, "{n} {word} heartbeats, at the {which} of {limit}");
            (current, rule, false)
        }
        (None, Some(st)) => {
            let (n, (_, than, threshold)) = (st.n, st.said);
            let rule = format!("{n} heartbeats {than} than {} ms", threshold.as_millis());
            (st.next, rule, false)
        }
        (None, None) if !explain => (current, String::new(), false),
        (None, None) => (current, holding_rule(&state.history), false),
    };
    if !slow {
        web_slot.notified_max = false;
    }
    if !fast {
        web_slot.notified_min = false;
    }
    Some(Proposal::new(0, current, (min, max), to, rule, bound))
}

/// A run of slow (or fast) heartbeats long enough to act on.
struct Streak {
    n: usize,
    /// `("slow", "slower", max_response)` or `("fast", "faster", min_response)`.
    said: (&'static str, &'static str, Duration),
    /// The bound it pushes against: `("max", max)` or `("min", min)`.
    bound: (&'static str, u32),
    at_bound: bool,
    next: u32,
}

fn holding_rule(history: &VecDeque<Verdict>) -> String {
    let shown: Vec<&str> = history
        .iter()
        .map(|v| match v {
            Verdict::Slow => "slow",
            Verdict::Fast => "fast",
            Verdict::Ok => "ok",
            Verdict::Unknown => "unknown",
        })
        .collect();
    format!(
        "holding (recent heartbeats: {})",
        if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join(",")
        }
    )
}

/// A worker type: enough dynos for its deepest queue (`jobs_per_dyno` each),
/// scaling down only to the highest need of the delay window; an unknown
/// queue holds the type.
fn propose_worker(
    policy: &Policy,
    rule: &QueueRule,
    i: usize,
    state: &mut State,
    obs: &Frame,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<Proposal> {
    let explain = policy.explain;
    let tz = policy.settings.time_zone;
    let current = state.current[i]?;
    let (lo, max) = (rule.min.at(now, tz), rule.max.at(now, tz));
    let min = lo.min(max);
    let queue_ix = &state.index.slot_queues[i];
    let mut need: u32 = 0;
    let mut unknown = None;
    let mut deepest: (usize, u64) = (usize::MAX, 0);
    for &qi in queue_ix {
        match &obs.queues[qi] {
            Measure::Value(depth) => {
                let per = u64::from(rule.jobs_per_dyno.max(1));
                let n = u32::try_from(depth.div_ceil(per)).unwrap_or(u32::MAX);
                if n >= need {
                    need = n;
                    deepest = (qi, *depth);
                }
            }
            Measure::Unknown(why) => unknown = Some((qi, why.as_str())),
        }
    }
    if let Some((qi, why)) = unknown {
        let q = state.index.queues[qi].as_str();
        once(
            &mut state.notified_queue[qi],
            || Notification::Unknown {
                what: format!("queue {q}"),
                why: why.to_string(),
            },
            &mut out.notifications,
        );
        let bounds = (min, max);
        if let Some((to, rule)) = into_bounds(current, min, max) {
            return Some(Proposal::new(i, current, bounds, to, rule, true));
        }
        let rule = why!(explain, "holding: queue {q} is unknown");
        return Some(Proposal::new(i, current, bounds, current, rule, false));
    }
    for &qi in queue_ix {
        state.notified_queue[qi] = false;
    }
    let t = state.index.names[i].as_str();
    let slot = &mut state.slots[i];
    let delay = slot.down_delay(policy, now);
    let stable_need = stabilized_need(&mut slot.needs, need, now, delay);
    let watched = slot.watched_for(now) >= delay;
    let wanted = if need >= current {
        need
    } else if !watched {
        current
    } else {
        stable_need.min(current)
    };
    if need > max {
        once(
            &mut slot.notified_max,
            || Notification::NeedsExceedMax {
                process_type: t.to_string(),
                needed: need,
                max,
            },
            &mut out.notifications,
        );
    } else {
        slot.notified_max = false;
    }
    let to = wanted.clamp(min, max);
    let bound = current < min || current > max;
    let deepest_name = state.index.queues.get(deepest.0).map_or("", String::as_str);
    let rule = if bound {
        format!("outside [{min}, {max}]")
    } else if to == current {
        why!(
            explain,
            "holding: {} waiting in {} ({} per dyno)",
            deepest.1,
            deepest_name,
            rule.jobs_per_dyno
        )
    } else {
        format!(
            "{} waiting in {} / {} per dyno",
            deepest.1, deepest_name, rule.jobs_per_dyno
        )
    };
    Some(Proposal::new(i, current, (min, max), to, rule, bound))
}

/// Scale down only to the highest need of the delay window (HPA's
/// stabilization). A monotonic max-queue: needs decrease from front to back,
/// so the front is the window's highest need (O(1) per tick, whatever the window).
fn stabilized_need(
    window: &mut VecDeque<(DateTime<Utc>, u32)>,
    need: u32,
    now: DateTime<Utc>,
    delay: Duration,
) -> u32 {
    if window.back().is_some_and(|(at, _)| *at > now) {
        // The clock went back: keep the window's highest need for a whole new delay.
        let highest = window.iter().map(|(_, n)| *n).max().unwrap_or(0);
        window.clear();
        window.push_back((now, highest));
    }
    while window.back().is_some_and(|(_, n)| *n <= need) {
        window.pop_back();
    }
    window.push_back((now, need));
    while window
        .front()
        .is_some_and(|(at, _)| since(now, *at) > delay)
    {
        window.pop_front();
    }
    window.front().map_or(need, |(_, n)| *n)
}

/// Guards: freeze, flap budget, dyno-hour cap (bound enforcement passes them
/// all); then each surviving change is a decision, and every type is reported.
fn guard_and_report(
    policy: &Policy,
    state: &mut State,
    proposals: &mut Vec<Proposal>,
    now: DateTime<Utc>,
    out: &mut Tick,
) {
    let explain = policy.explain;
    let frozen_left = state
        .last_external_change
        .map(|c| policy.freeze.saturating_sub(since(now, c)))
        .filter(|left| !left.is_zero());
    let capped = policy
        .daily_dyno_hour_cap
        .filter(|cap| state.dyno_hours_today() >= f64::from(*cap));
    if let Some(cap) = capped {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let used = state.dyno_hours_today().floor() as u32;
        once(
            &mut state.notified.cap,
            || Notification::DynoHourCapReached { used, cap },
            &mut out.notifications,
        );
    }
    for p in proposals.drain(..) {
        let Proposal {
            slot: i,
            current,
            mut to,
            min,
            max,
            mut rule,
            bound,
        } = p;
        let t = &state.index.names[i];
        let slot = &mut state.slots[i];
        if to != current && !bound {
            let dir = if to > current {
                Direction::Up
            } else {
                Direction::Down
            };
            if dir == Direction::Down {
                if let Some(left) = frozen_left {
                    rule = why!(explain, "{rule}; held: scale-down frozen {}s more after a release or formation change", left.as_secs());
                    to = current;
                }
            }
            if to != current && dir == Direction::Up && capped.is_some() {
                rule = why!(explain, "{rule}; held: daily dyno-hour cap reached");
                to = current;
            }
            // Only a decrease that reverses an increase is held: an increase is
            // never held for the budget's sake.
            if to != current && dir == Direction::Down && slot.last_direction == Some(Direction::Up)
            {
                if let Some(held) = flap_budget(policy, slot, t, now, out) {
                    rule = why!(explain, "{rule}; held: {held}");
                    to = current;
                }
            }
        }
        if to != current {
            out.decisions.push(Decision {
                process_type: t.clone(),
                from: current,
                to,
                rule: if explain {
                    rule.clone()
                } else {
                    std::mem::take(&mut rule)
                },
            });
        }
        if explain {
            out.report.push(TypeReport {
                process_type: t.clone(),
                current,
                min,
                max,
                rule,
            });
        }
    }
}

/// A reversal this tick would spend the type's flap budget: why it is held.
fn flap_budget(
    policy: &Policy,
    slot: &mut Slot,
    t: &str,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<String> {
    let recent = &mut slot.reversals;
    while recent
        .front()
        .is_some_and(|at| since(now, *at) > Duration::from_hours(24))
    {
        recent.pop_front();
    }
    let in_hour = recent
        .iter()
        .rev()
        .take_while(|at| since(now, **at) <= Duration::from_hours(1))
        .count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    // This reversal, and room for the increase that may follow it.
    let spent = |budget: Option<u32>, used: usize| budget.filter(|b| count(used) + 2 > *b);
    let held = if let Some(b) = spent(policy.flap_budget_per_hour, in_hour) {
        Some((
            count(in_hour),
            format!("flap budget ({b} reversals/hour) spent"),
        ))
    } else {
        spent(policy.flap_budget_per_day, recent.len()).map(|b| {
            (
                count(recent.len()),
                format!("flap budget ({b} reversals/day) spent"),
            )
        })
    };
    if let Some((reversals, why)) = held {
        once(
            &mut slot.notified_flap,
            || Notification::FlapBudgetSpent {
                process_type: t.to_string(),
                reversals,
            },
            &mut out.notifications,
        );
        Some(why)
    } else {
        slot.notified_flap = false;
        None
    }
}

/// Report a call's result. Success: the type's new quantity is ours (not an
/// external change), the heartbeat history restarts (the seed's implicit
/// cooldown), direction and change bookkeeping. Failure: the history is kept,
/// so the next tick retries.
pub fn applied(
    policy: &Policy,
    state: &mut State,
    decision: &Decision,
    result: Result<(), String>,
    now: DateTime<Utc>,
) -> Vec<Notification> {
    let mut out = Vec::new();
    if let Err(error) = result {
        out.push(Notification::ScaleFailed {
            process_type: decision.process_type.clone(),
            to: decision.to,
            error,
        });
        return out;
    }
    state.fit(policy);
    let Some(i) = state.slot_of(&decision.process_type) else {
        return out;
    };
    if state.index.web && i == 0 {
        state.history.clear();
        state.before_change = median(&state.latencies).map(|l| (decision.from, l));
        state.latencies.clear();
        state.services.clear();
    }
    let slot = &mut state.slots[i];
    slot.last_set = Some(decision.to);
    let dir = if decision.to > decision.from {
        Direction::Up
    } else {
        Direction::Down
    };
    if slot.last_direction.replace(dir).is_some_and(|d| d != dir) {
        slot.reversals.push_back(now);
    }
    let diff = decision.to.abs_diff(decision.from);
    state.changes.push_back((now, diff));
    if let (Some(threshold), Some(period)) = (
        policy.settings.notify_scale_diff_threshold,
        policy.settings.notify_scale_diff_period,
    ) {
        while state
            .changes
            .front()
            .is_some_and(|(at, _)| since(now, *at) > period)
        {
            state.changes.pop_front();
        }
        let total: u32 = state.changes.iter().map(|(_, d)| *d).sum();
        if total > threshold {
            once(
                &mut state.notified.diff,
                || Notification::ScaleDiffExceeded {
                    diff: total,
                    threshold,
                    minutes: period.as_secs() / 60,
                },
                &mut out,
            );
        } else {
            state.notified.diff = false;
        }
    }
    out
}

#[cfg(test)]
mod capacity_tests {
    use super::*;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1000.0)
    }

    fn every_notification() -> Vec<Notification> {
        let t = || "worker_general".to_string();
        vec![
            Notification::ScaleDiffExceeded {
                diff: 8,
                threshold: 6,
                minutes: 30,
            },
            Notification::NeedsExceedMax {
                process_type: t(),
                needed: 9,
                max: 6,
            },
            Notification::NeedsBelowMin {
                process_type: t(),
                min: 2,
            },
            Notification::ScaleFailed {
                process_type: t(),
                to: 3,
                error: "HTTP 503".into(),
            },
            Notification::Unknown {
                what: "the heartbeat".into(),
                why: "timed out".into(),
            },
            Notification::FlapBudgetSpent {
                process_type: t(),
                reversals: 2,
            },
            Notification::DynoHourCapReached { used: 51, cap: 50 },
        ]
    }

    /// The `kind` of each notification is what logs, webhooks and mail say:
    /// a contract, one name each.
    #[test]
    fn each_notification_has_its_own_kind_and_says_what_happened() {
        let kinds: Vec<&str> = every_notification()
            .iter()
            .map(Notification::kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "scale_diff_exceeded",
                "needs_exceed_max",
                "needs_below_min",
                "scale_failed",
                "measurement_unknown",
                "flap_budget_spent",
                "dyno_hour_cap_reached"
            ]
        );
        let texts: Vec<String> = every_notification()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            texts[1].contains("needs 9 dynos but its max is 6"),
            "{texts:?}"
        );
        assert!(texts[3].contains("to 3 failed: HTTP 503"), "{texts:?}");
        assert!(
            texts[6].contains("51 dyno-hours used today, cap 50"),
            "{texts:?}"
        );
    }

    /// Which are sent follows the seed's three switches; the rest always are.
    #[test]
    fn the_seeds_switches_choose_which_notifications_are_sent() {
        let mut s = Settings::default();
        let sent = |s: &Settings| -> Vec<bool> {
            every_notification().iter().map(|n| n.wanted(s)).collect()
        };
        assert_eq!(
            sent(&s),
            [true, true, false, false, true, true, true],
            "the seed's defaults"
        );
        s.notify_needs_exceed_max = false;
        s.notify_needs_below_min = true;
        s.notify_on_scale_fails = true;
        assert_eq!(sent(&s), [true, false, true, true, true, true, true]);
    }

    #[test]
    fn the_web_policy_is_named_capacity_or_seed_and_nothing_else() {
        assert_eq!(WebPolicy::parse(" capacity\n"), Some(WebPolicy::Capacity));
        assert_eq!(WebPolicy::parse("seed"), Some(WebPolicy::Seed));
        assert_eq!(WebPolicy::parse("Seed"), None, "as written in the SPEC");
        assert_eq!(WebPolicy::parse(""), None);
    }

    #[test]
    fn two_quantities_under_one_load_give_the_service_time() {
        // S = 120 ms, load a = 3 dynos' worth: at 4 dynos 480 ms, at 6 dynos 240 ms.
        let s = service_time((4, ms(480.0)), (6, ms(240.0))).unwrap();
        assert!((s.as_secs_f64() * 1000.0 - 120.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn points_that_do_not_fit_the_model_give_nothing() {
        assert_eq!(
            service_time((4, ms(200.0)), (6, ms(300.0))),
            None,
            "more dynos, slower"
        );
        assert_eq!(
            service_time((4, ms(200.0)), (4, ms(300.0))),
            None,
            "one quantity"
        );
        assert_eq!(
            service_time((4, ms(200.0)), (6, ms(200.0))),
            None,
            "more dynos, the same latency: no queueing to model"
        );
        assert_eq!(
            service_time((0, ms(200.0)), (6, ms(100.0))),
            None,
            "no dynos"
        );
        assert_eq!(
            service_time((6, ms(100.0)), (0, ms(200.0))),
            None,
            "no dynos"
        );
    }
}

/// What must survive the worker's restarts (every release restarts it, and
/// the platform cycles dynos daily): per type, what we last set and the
/// reversals the flap budget counts; the heartbeat streak; the service time
/// and the fastest beats of the day; the freeze; today's dyno-seconds.
/// Times are Unix milliseconds, durations microseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub types: BTreeMap<String, TypeSnapshot>,
    pub history: Vec<String>,
    pub fastest: Vec<(i64, u64)>,
    pub service_from_change_us: Option<u64>,
    pub last_external_change_ms: Option<i64>,
    pub day: Option<NaiveDate>,
    pub dyno_seconds_today: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypeSnapshot {
    pub last_set: Option<u32>,
    pub last_direction_up: Option<bool>,
    pub reversals_ms: Vec<i64>,
    pub watched_since_ms: Option<i64>,
}

const SNAPSHOT_VERSION: u32 = 1;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn at_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

impl State {
    pub fn snapshot(&self) -> Snapshot {
        let verdict = |v: &Verdict| match v {
            Verdict::Slow => "slow",
            Verdict::Fast => "fast",
            Verdict::Ok => "ok",
            Verdict::Unknown => "unknown",
        };
        Snapshot {
            version: SNAPSHOT_VERSION,
            types: self
                .index
                .names
                .iter()
                .zip(&self.slots)
                .map(|(name, slot)| {
                    (
                        name.clone(),
                        TypeSnapshot {
                            last_set: slot.last_set,
                            last_direction_up: slot.last_direction.map(|d| d == Direction::Up),
                            reversals_ms: slot
                                .reversals
                                .iter()
                                .map(DateTime::timestamp_millis)
                                .collect(),
                            watched_since_ms: slot.watched_since.map(|w| w.timestamp_millis()),
                        },
                    )
                })
                .collect(),
            history: self
                .history
                .iter()
                .map(|v| verdict(v).to_string())
                .collect(),
            fastest: self
                .fastest
                .iter()
                .map(|(at, d)| (at.timestamp_millis(), micros(*d)))
                .collect(),
            service_from_change_us: self.service_from_change.map(micros),
            last_external_change_ms: self.last_external_change.map(|c| c.timestamp_millis()),
            day: self.day.map(|(d, _, _)| d),
            dyno_seconds_today: self.dyno_seconds_today,
        }
    }

    /// Take a snapshot back (after [`State::layout`] or on a fresh state):
    /// types the policy no longer scales are ignored; a snapshot of another
    /// version is ignored whole (false).
    pub fn restore(&mut self, policy: &Policy, snap: &Snapshot) -> bool {
        if snap.version != SNAPSHOT_VERSION {
            return false;
        }
        self.fit(policy);
        for (name, t) in &snap.types {
            let Some(i) = self.slot_of(name) else {
                continue;
            };
            let slot = &mut self.slots[i];
            slot.last_set = t.last_set;
            slot.last_direction =
                t.last_direction_up
                    .map(|up| if up { Direction::Up } else { Direction::Down });
            slot.reversals = t.reversals_ms.iter().filter_map(|ms| at_ms(*ms)).collect();
            slot.watched_since = t.watched_since_ms.and_then(at_ms);
        }
        self.history = snap
            .history
            .iter()
            .map(|v| match v.as_str() {
                "slow" => Verdict::Slow,
                "fast" => Verdict::Fast,
                "ok" => Verdict::Ok,
                _ => Verdict::Unknown,
            })
            .collect();
        self.fastest = snap
            .fastest
            .iter()
            .filter_map(|(ms, us)| Some((at_ms(*ms)?, Duration::from_micros(*us))))
            .collect();
        self.service_from_change = snap.service_from_change_us.map(Duration::from_micros);
        self.last_external_change = snap.last_external_change_ms.and_then(at_ms);
        if let Some(d) = snap.day {
            // Its bounds are worked out again at the next tick; the same day keeps its count.
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            self.day = Some((d, epoch, epoch));
            self.dyno_seconds_today = snap.dyno_seconds_today;
        }
        true
    }
}
