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
    /// Max direction reversals per type per hour.
    pub flap_budget_per_hour: Option<u32>,
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
            flap_budget_per_hour: Some(6),
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

    fn scaled(&self, process_type: &str) -> bool {
        !self.singletons.contains(process_type)
            && (self.web_type.as_deref() == Some(process_type)
                || self.workers.contains_key(process_type))
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

#[derive(Debug, Clone, Default)]
pub struct State {
    history: VecDeque<Verdict>,
    /// What we last set each type to (a different reading is someone else's change).
    last_set: BTreeMap<String, u32>,
    last_external_change: Option<DateTime<Utc>>,
    last_direction: BTreeMap<String, Direction>,
    reversals: BTreeMap<String, VecDeque<DateTime<Utc>>>,
    needs: BTreeMap<String, VecDeque<(DateTime<Utc>, u32)>>,
    changes: VecDeque<(DateTime<Utc>, u32)>,
    day: Option<NaiveDate>,
    dyno_seconds_today: f64,
    last_tick: Option<(DateTime<Utc>, u32)>,
    /// Conditions already notified, until they clear (notify once, not every tick).
    active: BTreeSet<String>,
}

impl State {
    pub fn history(&self) -> Vec<Verdict> {
        self.history.iter().copied().collect()
    }

    pub fn dyno_hours_today(&self) -> f64 {
        self.dyno_seconds_today / 3600.0
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
            Notification::FlapBudgetSpent { process_type, reversals } => write!(f, "{process_type} reversed direction {reversals} times in the last hour: holding"),
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
}

fn since(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (now - then).to_std().unwrap_or(Duration::ZERO)
}

impl State {
    fn notify_once(&mut self, key: String, n: Notification, out: &mut Vec<Notification>) {
        if self.active.insert(key) {
            out.push(n);
        }
    }

    fn clear(&mut self, prefix: &str) {
        if !self.active.is_empty() {
            self.active.retain(|k| !k.starts_with(prefix));
        }
    }

    fn is_active(&self, kind: &str, t: &str) -> bool {
        self.active
            .iter()
            .any(|k| k.len() == kind.len() + t.len() && k.starts_with(kind) && k.ends_with(t))
    }

    /// [`Self::notify_once`] keyed by kind and type, allocating only when new.
    fn notify_once_for(
        &mut self,
        kind: &str,
        t: &str,
        n: impl FnOnce() -> Notification,
        out: &mut Vec<Notification>,
    ) {
        if !self.is_active(kind, t) {
            self.active.insert(format!("{kind}{t}"));
            out.push(n());
        }
    }

    fn clear_for(&mut self, kind: &str, t: &str) {
        if self.is_active(kind, t) {
            self.active.remove(&format!("{kind}{t}"));
        }
    }

    fn account(&mut self, policy: &Policy, formation: &BTreeMap<String, u32>, now: DateTime<Utc>) {
        let scaled: u32 = formation
            .iter()
            .filter(|(t, _)| policy.scaled(t))
            .map(|(_, q)| *q)
            .sum();
        let today = now.with_timezone(&policy.settings.time_zone).date_naive();
        if self.day != Some(today) {
            self.day = Some(today);
            self.dyno_seconds_today = 0.0;
            self.clear("cap");
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

/// Decide this tick. Decisions are proposals: report each call's result with [`applied`].
pub fn tick(policy: &Policy, state: &mut State, obs: &Observation, now: DateTime<Utc>) -> Tick {
    let mut out = Tick::default();
    let s = &policy.settings;
    let explain = policy.explain;

    // The heartbeat verdict joins the history whatever else happens.
    if let Some(hb) = &obs.heartbeat {
        let v = match hb {
            Measure::Value(d) if *d > s.max_response => Verdict::Slow,
            Measure::Value(d) if *d < s.min_response => Verdict::Fast,
            Measure::Value(_) => Verdict::Ok,
            Measure::Unknown(why) => {
                state.notify_once(
                    "unknown:heartbeat".into(),
                    Notification::Unknown {
                        what: "the heartbeat".into(),
                        why: why.clone(),
                    },
                    &mut out.notifications,
                );
                Verdict::Unknown
            }
        };
        if v != Verdict::Unknown {
            state.clear("unknown:heartbeat");
        }
        state.history.push_back(v);
        let keep = s.fails_to_scale_up.max(s.passes_to_scale_down) as usize;
        while state.history.len() > keep {
            state.history.pop_front();
        }
    }

    let formation = match &obs.formation {
        Measure::Value(f) => {
            state.clear("unknown:formation");
            f
        }
        Measure::Unknown(why) => {
            state.notify_once(
                "unknown:formation".into(),
                Notification::Unknown {
                    what: "the formation".into(),
                    why: why.clone(),
                },
                &mut out.notifications,
            );
            return out;
        }
    };
    state.account(policy, formation, now);

    // Someone else changed the formation (a deploy, a manual `heroku ps:scale`): freeze.
    for (t, q) in formation {
        if state.last_set.get(t).is_some_and(|set| set != q) {
            state.last_external_change = Some(now);
            state.last_set.insert(t.clone(), *q);
        }
    }
    if let Some(r) = obs.released_at {
        if state.last_external_change.is_none_or(|c| r > c) {
            state.last_external_change = Some(r);
        }
    }

    let mut proposals: Vec<(String, u32, u32, u32, u32, String, bool)> = Vec::new();
    if let Some(web) = policy
        .web_type
        .as_deref()
        .filter(|w| !policy.singletons.contains(*w))
    {
        if let (Some(current), Some((min, max))) = (formation.get(web), policy.bounds(web, now)) {
            let current = *current;
            let n_up = s.fails_to_scale_up as usize;
            let n_down = s.passes_to_scale_down as usize;
            let streak = |n: usize, v: Verdict| {
                state.history.len() >= n && state.history.iter().rev().take(n).all(|x| *x == v)
            };
            let (slow, fast) = (streak(n_up, Verdict::Slow), streak(n_down, Verdict::Fast));
            let (to, rule, bound) = if current < min {
                (min, format!("below the min of {min}"), true)
            } else if current > max {
                (max, format!("above the max of {max}"), true)
            } else if slow {
                if current >= max {
                    state.notify_once_for(
                        "max:",
                        web,
                        || Notification::NeedsExceedMax {
                            process_type: web.into(),
                            needed: current + s.increment,
                            max,
                        },
                        &mut out.notifications,
                    );
                    (
                        current,
                        why!(explain, "{n_up} slow heartbeats, at the max of {max}"),
                        false,
                    )
                } else {
                    (
                        (current + s.increment).min(max),
                        format!(
                            "{n_up} heartbeats slower than {} ms",
                            s.max_response.as_millis()
                        ),
                        false,
                    )
                }
            } else if fast {
                if current <= min {
                    // The seed: "at the min ... (but above one)": a min of 1 has nothing to learn.
                    if min > 1 {
                        state.notify_once_for(
                            "min:",
                            web,
                            || Notification::NeedsBelowMin {
                                process_type: web.into(),
                                min,
                            },
                            &mut out.notifications,
                        );
                    }
                    (
                        current,
                        why!(explain, "{n_down} fast heartbeats, at the min of {min}"),
                        false,
                    )
                } else {
                    (
                        current.saturating_sub(s.increment).max(min),
                        format!(
                            "{n_down} heartbeats faster than {} ms",
                            s.min_response.as_millis()
                        ),
                        false,
                    )
                }
            } else if !explain {
                (current, String::new(), false)
            } else {
                let shown: Vec<&str> = state
                    .history
                    .iter()
                    .map(|v| match v {
                        Verdict::Slow => "slow",
                        Verdict::Fast => "fast",
                        Verdict::Ok => "ok",
                        Verdict::Unknown => "unknown",
                    })
                    .collect();
                (
                    current,
                    format!(
                        "holding (recent heartbeats: {})",
                        if shown.is_empty() {
                            "none".to_string()
                        } else {
                            shown.join(",")
                        }
                    ),
                    false,
                )
            };
            if !slow {
                state.clear_for("max:", web);
            }
            if !fast {
                state.clear_for("min:", web);
            }
            proposals.push((web.to_string(), current, to, min, max, rule, bound));
        }
    }

    for (t, rule) in &policy.workers {
        if policy.singletons.contains(t) {
            continue;
        }
        let (Some(current), Some((min, max))) = (formation.get(t), policy.bounds(t, now)) else {
            continue;
        };
        let current = *current;
        let mut need: u32 = 0;
        let mut unknown = None;
        let mut deepest: (&str, u64) = ("", 0);
        for q in &rule.queues {
            match obs.queues.get(q) {
                Some(Measure::Value(depth)) => {
                    let per = u64::from(rule.jobs_per_dyno.max(1));
                    let n = u32::try_from(depth.div_ceil(per)).unwrap_or(u32::MAX);
                    if n >= need {
                        need = n;
                        deepest = (q.as_str(), *depth);
                    }
                }
                Some(Measure::Unknown(why)) => unknown = Some((q.as_str(), why.as_str())),
                None => unknown = Some((q.as_str(), "not measured")),
            }
        }
        if let Some((q, why)) = unknown {
            state.notify_once_for(
                "unknown:queue:",
                q,
                || Notification::Unknown {
                    what: format!("queue {q}"),
                    why: why.to_string(),
                },
                &mut out.notifications,
            );
            let (to, rule, bound) = if current < min {
                (min, format!("below the min of {min}"), true)
            } else if current > max {
                (max, format!("above the max of {max}"), true)
            } else {
                (
                    current,
                    why!(explain, "holding: queue {q} is unknown"),
                    false,
                )
            };
            proposals.push((t.clone(), current, to, min, max, rule, bound));
            continue;
        }
        for q in &rule.queues {
            state.clear_for("unknown:queue:", q);
        }
        // Scale down only to the highest need of the delay window (HPA's stabilization).
        if !state.needs.contains_key(t) {
            state.needs.insert(t.clone(), VecDeque::new());
        }
        let window = state.needs.get_mut(t).expect("inserted");
        // A monotonic max-queue: needs decrease from front to back, so the
        // front is the window's highest need (O(1) per tick, whatever the window).
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
            .is_some_and(|(at, _)| since(now, *at) > policy.scale_down_delay)
        {
            window.pop_front();
        }
        let stable_need = window.front().map_or(need, |(_, n)| *n);
        let wanted = if need >= current {
            need
        } else {
            stable_need.min(current)
        };
        if need > max {
            state.notify_once_for(
                "max:",
                t,
                || Notification::NeedsExceedMax {
                    process_type: t.clone(),
                    needed: need,
                    max,
                },
                &mut out.notifications,
            );
        } else {
            state.clear_for("max:", t);
        }
        let to = wanted.clamp(min, max);
        let bound = current < min || current > max;
        let rule = if bound {
            format!("outside [{min}, {max}]")
        } else if to == current {
            why!(
                explain,
                "holding: {} waiting in {} ({} per dyno)",
                deepest.1,
                deepest.0,
                rule.jobs_per_dyno
            )
        } else {
            format!(
                "{} waiting in {} / {} per dyno",
                deepest.1, deepest.0, rule.jobs_per_dyno
            )
        };
        proposals.push((t.clone(), current, to, min, max, rule, bound));
    }

    // Guards: freeze, flap budget, dyno-hour cap. Bound enforcement passes them all.
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
        state.notify_once_for(
            "cap",
            "",
            || Notification::DynoHourCapReached { used, cap },
            &mut out.notifications,
        );
    }
    for (t, current, mut to, min, max, mut rule, bound) in proposals {
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
            if to != current && state.last_direction.get(&t).is_some_and(|d| *d != dir) {
                if let Some(budget) = policy.flap_budget_per_hour {
                    if !state.reversals.contains_key(&t) {
                        state.reversals.insert(t.clone(), VecDeque::new());
                    }
                    let recent = state.reversals.get_mut(&t).expect("inserted");
                    while recent
                        .front()
                        .is_some_and(|at| since(now, *at) > Duration::from_hours(1))
                    {
                        recent.pop_front();
                    }
                    let count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
                    if count >= budget {
                        state.notify_once_for(
                            "flap:",
                            &t,
                            || Notification::FlapBudgetSpent {
                                process_type: t.clone(),
                                reversals: count,
                            },
                            &mut out.notifications,
                        );
                        rule = why!(
                            explain,
                            "{rule}; held: flap budget ({budget} reversals/hour) spent"
                        );
                        to = current;
                    } else {
                        state.clear_for("flap:", &t);
                    }
                }
            }
        }
        if to != current {
            out.decisions.push(Decision {
                process_type: t.clone(),
                from: current,
                to,
                rule: rule.clone(),
            });
        }
        out.report.push(TypeReport {
            process_type: t,
            current,
            min,
            max,
            rule,
        });
    }
    out
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
    } else {
        {
            let t = &decision.process_type;
            state.last_set.insert(t.clone(), decision.to);
            if policy.web_type.as_deref() == Some(t.as_str()) {
                state.history.clear();
            }
            let dir = if decision.to > decision.from {
                Direction::Up
            } else {
                Direction::Down
            };
            if state
                .last_direction
                .insert(t.clone(), dir)
                .is_some_and(|d| d != dir)
            {
                state.reversals.entry(t.clone()).or_default().push_back(now);
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
                    state.notify_once(
                        "diff".into(),
                        Notification::ScaleDiffExceeded {
                            diff: total,
                            threshold,
                            minutes: period.as_secs() / 60,
                        },
                        &mut out,
                    );
                } else {
                    state.clear("diff");
                }
            }
        }
    }
    out
}
