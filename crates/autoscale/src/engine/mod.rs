//! The decision engine: `(policy, state, observation, now) -> decisions`.
//! Pure: no HTTP, no clock; the caller measures, calls [`tick`], makes the
//! calls and reports each result back with [`applied`].
//!
//! Rooms: [`policy`] (what it is told), [`state`] (what it remembers),
//! `web` and `worker` (what each kind of type needs), `guard` (what may
//! hold a change), [`record`] (what a tick says), `snapshot` (what survives
//! a restart). This file: one tick, end to end.

use crate::schedule::Bound;
use crate::settings::Settings;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

/// A rule's text, built only when someone will read it.
macro_rules! why {
    ($needed:expr, $($arg:tt)*) => {
        if $needed { format!($($arg)*) } else { String::new() }
    };
}

mod guard;
mod policy;
mod record;
mod snapshot;
mod state;
mod web;
mod worker;

pub use policy::{Measure, Policy, QueueRule, WebPolicy};
pub(crate) use record::TypeReport;
pub use record::{Decision, Notification, Tick};
pub use snapshot::Snapshot;
pub use state::State;
pub(crate) use state::Verdict;

use guard::guard_and_report;
use state::{Direction, Proposal, Slot};
use web::{median, propose_web, LATENCY_WINDOW, SERVICE_TIME_WINDOW};
use worker::{propose_worker, stabilized_need};

/// What the caller measured this tick.
#[derive(Debug, Clone)]
pub struct Observation {
    /// `GET /apps/{app}/formation`, read every tick.
    pub formation: Measure<BTreeMap<String, u32>>,
    /// `None`: no heartbeat this tick.
    pub heartbeat: Option<Measure<Duration>>,
    /// Depth per queue.
    pub queues: BTreeMap<String, Measure<u64>>,
    /// How long the oldest waiting job of a queue has waited, where the
    /// broker shows it (Redis, jobs stamped by the shipped `heroku_autoscale`
    /// app); a queue not in it is judged by its depth alone.
    pub queue_ages: BTreeMap<String, Duration>,
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

/// An observation by position (see [`State::layout`]): what [`tick`] turns an
/// [`Observation`] into, and what a caller that measures many ticks (the
/// simulator) gives directly, so a tick looks up no names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// Each scaled type's quantity (`None`: not in the formation), or why the formation is unknown.
    pub(crate) formation: Result<&'a [Option<u32>], &'a str>,
    pub(crate) heartbeat: Option<&'a Measure<Duration>>,
    /// Each queue's depth.
    pub(crate) queues: &'a [Measure<u64>],
    /// Each queue's oldest waiting job's age, by the same position, where
    /// measured (empty: none measured).
    pub(crate) queue_ages: &'a [Option<Duration>],
    pub(crate) released_at: Option<DateTime<Utc>>,
    /// See [`Observation::heartbeat_service`].
    pub(crate) heartbeat_service: Option<Duration>,
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
    let queue_ages: Vec<Option<Duration>> = state
        .index
        .queues
        .iter()
        .map(|q| obs.queue_ages.get(q).copied())
        .collect();
    let frame = Frame {
        formation,
        heartbeat: obs.heartbeat.as_ref(),
        queues: &queues,
        queue_ages: &queue_ages,
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
pub(crate) fn tick_frame(
    policy: &Policy,
    state: &mut State,
    obs: &Frame,
    now: DateTime<Utc>,
) -> Tick {
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
    if let (Some(Measure::Value(latency)), Some(service)) = (&obs.heartbeat, obs.heartbeat_service)
    {
        web::record_wait(state, *latency, service, now);
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
        let serving = web::serving(state, decision.from, now);
        state.web_up = (decision.to > decision.from).then_some((now, serving));
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

// An unwrap in a test is an assertion; settings read best as "the default, but ...".
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::field_reassign_with_default,
    clippy::unnecessary_wraps
)]
mod tests;
