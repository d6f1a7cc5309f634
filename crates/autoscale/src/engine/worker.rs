//! Worker types: scaled from the depth of the queues they consume.

use super::{
    into_bounds, once, since, DateTime, Duration, Frame, Measure, Notification, Policy, Proposal,
    QueueRule, State, Tick, Utc, VecDeque,
};

/// A worker type: enough dynos for the jobs waiting in all the queues it
/// consumes (`jobs_per_dyno` each: its dynos serve them all, as HireFire's
/// sum of a worker's queues counts them), scaling down only to the highest
/// need of the delay window; an unknown queue holds the type.
pub(super) fn propose_worker(
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
    let mut total: u64 = 0;
    let mut unknown = None;
    let mut deepest: (usize, u64) = (usize::MAX, 0);
    for &qi in queue_ix {
        match &obs.queues[qi] {
            Measure::Value(depth) => {
                total = total.saturating_add(*depth);
                if *depth >= deepest.1 {
                    deepest = (qi, *depth);
                }
            }
            Measure::Unknown(why) => unknown = Some((qi, why.as_str())),
        }
    }
    let per = u64::from(rule.jobs_per_dyno.max(1));
    let by_count = u32::try_from(total.div_ceil(per)).unwrap_or(u32::MAX);
    let (by_age, over_wait) = by_age(rule, obs, queue_ix, current);
    let need = by_count.max(by_age);
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
    let waiting = if queue_ix.len() > 1 {
        format!(
            "{total} waiting in {} queues (most: {} in {deepest_name})",
            queue_ix.len(),
            deepest.1
        )
    } else {
        format!("{total} waiting in {deepest_name}")
    };
    let waiting = match over_wait {
        Some((target, (age, qi))) if by_age > by_count => format!(
            "{waiting}; the oldest waited {}s in {} (max wait {}s)",
            age.as_secs(),
            state.index.queues[qi],
            target.as_secs()
        ),
        _ => waiting,
    };
    let rule = if bound {
        format!("outside [{min}, {max}]")
    } else if to == current && need < current && stable_need < current {
        // Lower, and held by the delay: say so, and why it is that long.
        why!(
            explain,
            "holding: {waiting} ({} per dyno) needs {need}; lower for less than the {}s delay{}",
            rule.jobs_per_dyno,
            delay.as_secs(),
            if delay > policy.scale_down_delay {
                format!(
                    " (doubled for this type's reversals in the last day, from {}s)",
                    policy.scale_down_delay.as_secs()
                )
            } else {
                String::new()
            }
        )
    } else if to == current {
        why!(
            explain,
            "holding: {waiting} ({} per dyno)",
            rule.jobs_per_dyno
        )
    } else {
        format!("{waiting} / {} per dyno", rule.jobs_per_dyno)
    };
    Some(Proposal::new(i, current, (min, max), to, rule, bound))
}

/// The oldest waiting job of the type's queues, where measured, past its max
/// wait: a job waits about backlog / throughput, and throughput grows with
/// dynos, so a wait of k times the target needs k times the dynos (at least
/// one more). With the max wait, the age and the queue it was seen in.
#[allow(clippy::type_complexity)]
fn by_age(
    rule: &QueueRule,
    obs: &Frame,
    queue_ix: &[usize],
    current: u32,
) -> (u32, Option<(Duration, (Duration, usize))>) {
    let oldest = queue_ix
        .iter()
        .filter_map(|&qi| obs.queue_ages.get(qi).copied().flatten().map(|a| (a, qi)))
        .max();
    let over_wait = rule
        .max_wait
        .zip(oldest)
        .filter(|(target, (age, _))| age > target && !target.is_zero());
    let need = over_wait.map_or(0, |(target, (age, _))| {
        let ratio = age.as_secs_f64() / target.as_secs_f64();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = (f64::from(current.max(1)) * ratio)
            .ceil()
            .min(f64::from(u32::MAX)) as u32;
        n.max(current.saturating_add(1))
    });
    (need, over_wait)
}

/// Scale down only to the highest need of the delay window (HPA's
/// stabilization). A monotonic max-queue: needs decrease from front to back,
/// so the front is the window's highest need (O(1) per tick, whatever the window).
pub(super) fn stabilized_need(
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
