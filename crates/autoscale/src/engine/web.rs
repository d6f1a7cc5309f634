//! Web: the capacity policy (latency read as utilization) and the seed's
//! streak rule.

use super::{
    into_bounds, once, since, stabilized_need, DateTime, Duration, Notification, Policy, Proposal,
    State, Tick, Utc, VecDeque, Verdict, WebPolicy,
};

/// Heartbeats the capacity policy takes the median of.
pub(super) const LATENCY_WINDOW: usize = 3;
/// How far back the fastest heartbeat stands for the service time: a day, so
/// the night's quiet (utilization near zero) shows the service time itself;
/// over a busy hour the fastest beat is already slowed by queueing, and the
/// utilization would be underestimated.
pub(super) const SERVICE_TIME_WINDOW: Duration = Duration::from_hours(24);
/// The capacity policy aims web's latency at this share of the target.
pub(super) const LATENCY_GOAL: f64 = 0.9;
/// A scale-down keeps this margin under the utilization aimed at (hysteresis:
/// a dyno removed is not wanted back at the next wobble).
pub(super) const DOWN_MARGIN: f64 = 0.85;
/// A scale-down removes at most 1/DOWN_STEP of web's dynos (at least one).
pub(super) const DOWN_STEP: u32 = 4;

/// Web: by the capacity its latency shows (default) or the seed's streaks.
pub(super) fn propose_web(
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
pub(super) fn web_now(
    policy: &Policy,
    state: &State,
    now: DateTime<Utc>,
) -> Option<(u32, u32, u32)> {
    let s = &policy.settings;
    if !state.index.web {
        return None;
    }
    let current = state.current[0]?;
    let max = s.max_dynos.at(now, s.time_zone);
    Some((current, s.min_dynos.at(now, s.time_zone).min(max), max))
}

/// The capacity policy (see [`WebPolicy::Capacity`]).
pub(super) fn propose_web_capacity(
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
    let Some(need) = capacity_needs(policy, state, current, now) else {
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
    if need.inside_over_target {
        let n = Notification::SlowInsideDyno {
            process_type: web.into(),
            inside_ms: u64::try_from(need.service.as_millis()).unwrap_or(u64::MAX),
            target_ms: u64::try_from(policy.settings.max_response.as_millis()).unwrap_or(u64::MAX),
        };
        once(&mut slot.notified_slow_inside, || n, &mut out.notifications);
    } else {
        slot.notified_slow_inside = false;
    }
    let (to, rule) = if need.up > current {
        (need.up.min(max), need.rule(current))
    } else if stable < current && current > min && watched {
        // At most a quarter at a time: the next heartbeats, at the new
        // quantity, say whether to go on (an underestimated load shows at once).
        let floor = current - current.div_ceil(DOWN_STEP);
        let rule = format!("{}; lower for {}s", need.rule(current), delay.as_secs());
        let mut p = Proposal::new(0, current, bounds, stable.max(min).max(floor), rule, false);
        p.settles_at = stable.max(min);
        return Some(p);
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
pub(super) struct WebNeed {
    /// The heartbeat's own time inside the dyno is over the target.
    pub(super) inside_over_target: bool,
    pub(super) latency: Duration,
    pub(super) samples: usize,
    pub(super) service: Duration,
    pub(super) busy: f64,
    pub(super) aim: f64,
    pub(super) up: u32,
    pub(super) down: u32,
}

impl WebNeed {
    pub(super) fn rule(&self, current: u32) -> String {
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
pub(super) fn capacity_needs(
    policy: &Policy,
    state: &mut State,
    current: u32,
    now: DateTime<Utc>,
) -> Option<WebNeed> {
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
    let reported = median(&state.services);
    let service = reported.map_or_else(
        || {
            state
                .service_from_change
                .map_or(fastest, |d| d.min(fastest))
        },
        |reported| reported.min(latency),
    );
    let (l, st) = (latency.as_secs_f64().max(1e-6), service.as_secs_f64());
    let busy = (1.0 - st / l).clamp(0.0, 0.98);
    let target = s.max_response.as_secs_f64();
    // A service time over the target cannot be waited out: aim at that
    // floor plus the target's worth of waiting, not at a third busy.
    let goal = if st >= target {
        st + target
    } else {
        (target * LATENCY_GOAL).max(st * 1.5)
    };
    let aim = (1.0 - st / goal).clamp(0.3, 0.85);
    let n = f64::from(current.max(1));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let dynos = |x: f64| x.ceil().clamp(1.0, f64::from(u32::MAX)) as u32;
    // While a scale-up boots, the beats were served by the dynos from before
    // it: their busy share is theirs, and read against all of `current` it
    // would buy the booting dynos a second time (a push to 40 req/s went to
    // 8 dynos, then to the max of 10 on the next beat, and was held there).
    let n_serving = f64::from(serving(state, current, now).max(1));
    let mut up = dynos(n_serving * busy / aim);
    // Over the target with an estimated service time, the estimate may be
    // what is wrong: one more step. A measured one says how much of the
    // latency was waiting for a dyno; the rest (a slow dependency, slow
    // code) more dynos do not lower, and buying them is waste.
    if latency > s.max_response && reported.is_none() {
        up = up.max(current.saturating_add(s.increment));
    }
    // A backlog draining fast (the wait down by a quarter between two beats,
    // the latest served by every dyno) is capacity over the arrivals: its
    // latency is the queue left from before, not a share of busy dynos.
    // Two beats the same dynos served say how fast requests arrive (the
    // backlog shrinks at `capacity - arrivals`): aim at that; right after a
    // boot the two beats had different dynos, and one beat is held.
    match draining(state, current) {
        Some(Drain::Arrivals(a)) => up = up.min(dynos(a / aim)),
        Some(Drain::JustBooted) => up = up.min(current),
        None => {}
    }
    if let Some(overload) = overload(policy, state) {
        // Requests arrive `overload` times faster than the dynos that
        // measured it serve them: as many as that, aimed as usual.
        // and enough more to clear the backlog already queued within a
        // boot delay of the new dynos serving.
        let arrivals = f64::from(overload.serving) * overload.ratio;
        // Not when this increase spends the last reversal the daily budget
        // has room to come down from: the dynos bought stay all day, and a
        // backlog drains, if more slowly, at the arrivals' need.
        let drain = if final_increase(policy, state, now) {
            0.0
        } else {
            overload.backlog / (BOOT.as_secs_f64() * 2.0)
        };
        up = up.max(dynos((arrivals + drain) / aim));
    }
    Some(WebNeed {
        inside_over_target: reported.is_some_and(|r| r > s.max_response),
        latency,
        samples: state.latencies.len(),
        service,
        busy,
        aim,
        up,
        down: dynos(n * busy / (aim * DOWN_MARGIN)),
    })
}

/// How long a new web dyno takes to serve, for reading an overload: the 60 s
/// Heroku gives a web dyno to bind `$PORT`. Beats within it of a scale-up
/// were served by the dynos from before it.
const BOOT: Duration = Duration::from_mins(1);

/// An overload, read from the time the last two heartbeats waited for a
/// dyno (measured: latency minus the reported service time). A backlog
/// grows at `arrivals - capacity`, so each request waits longer by
/// `(arrivals - capacity) / capacity` seconds per second: the arrival rate
/// is `1 + growth` times the capacity of the dynos serving then. Only with
/// a measured service time, over the target, and growing.
struct Overload {
    ratio: f64,
    serving: u32,
    /// The work queued at the latest beat, in dyno-seconds (its wait times
    /// the dynos that serve it).
    backlog: f64,
}

/// The web dynos serving at `now` out of `current`: those from before the
/// last scale-up while its new ones boot.
pub(super) fn serving(state: &State, current: u32, now: DateTime<Utc>) -> u32 {
    match state.web_up {
        Some((at, from)) if since(now, at) < BOOT => from,
        _ => current,
    }
}

/// Note a beat's measured wait for a dyno, with how many web dynos were
/// serving it (those from before a scale-up still within its boot).
pub(super) fn record_wait(
    state: &mut State,
    latency: Duration,
    service: Duration,
    now: DateTime<Utc>,
) {
    if !state.index.web {
        return;
    }
    let Some(current) = state.current.first().copied().flatten() else {
        return;
    };
    let serving = serving(state, current, now);
    let waits = &mut state.waits;
    if waits.back().is_some_and(|(at, _, _)| *at >= now) {
        waits.clear(); // the clock went back
    }
    waits.push_back((now, latency.saturating_sub(service), serving));
    while waits.len() > 2 {
        waits.pop_front();
    }
}

/// After an increase now (a reversal if web last went down), the daily flap
/// budget has no room for a decrease (the guard keeps room for a reversal
/// and the one that may follow): whatever web goes up to, it keeps all day.
fn final_increase(policy: &Policy, state: &mut State, now: DateTime<Utc>) -> bool {
    let (Some(slot), Some(budget)) = (state.slots.first_mut(), policy.flap_budget_per_day) else {
        return false;
    };
    let after = u32::try_from(slot.reversals_in_day(now))
        .unwrap_or(u32::MAX)
        .saturating_add(u32::from(
            slot.last_direction == Some(super::Direction::Down),
        ));
    after.saturating_add(super::guard::room(false)) > budget
}

/// A backlog draining fast: the wait down by a quarter between two beats,
/// the latest served by every dyno.
enum Drain {
    /// Both beats had the same dynos: the arrival rate, in dynos' worth of work.
    Arrivals(f64),
    /// The new dynos of a scale-up served the latest beat only.
    JustBooted,
}

/// The last two beats' waits for a dyno, how fast the wait changed between
/// them (seconds per second) and how many dynos served each.
struct Slope {
    growth: f64,
    waits: (Duration, Duration),
    serving: (u32, u32),
}

fn slope(state: &State) -> Option<Slope> {
    let (&(t1, w1, n1), &(t2, w2, n2)) = (state.waits.front()?, state.waits.back()?);
    let dt = (t2 - t1).to_std().ok()?.as_secs_f64();
    (dt > 0.0).then(|| Slope {
        growth: (w2.as_secs_f64() - w1.as_secs_f64()) / dt,
        waits: (w1, w2),
        serving: (n1, n2),
    })
}

fn draining(state: &State, current: u32) -> Option<Drain> {
    let Slope {
        growth,
        waits: (w1, w2),
        serving: (n1, n2),
    } = slope(state)?;
    if n2 != current || w2.saturating_mul(4) >= w1.saturating_mul(3) {
        return None;
    }
    Some(if n1 == n2 {
        Drain::Arrivals(f64::from(n2) * (1.0 + growth).max(0.0))
    } else {
        Drain::JustBooted
    })
}

fn overload(policy: &Policy, state: &State) -> Option<Overload> {
    let Slope {
        growth,
        waits: (w1, w2),
        serving: (n1, n2),
    } = slope(state)?;
    let latest = *state.latencies.back()?;
    if n1 != n2 || latest <= policy.settings.max_response || w2 <= w1 {
        return None;
    }
    Some(Overload {
        ratio: 1.0 + growth,
        serving: n2.max(1),
        backlog: w2.as_secs_f64() * f64::from(n2.max(1)),
    })
}

pub(super) fn median(latencies: &VecDeque<Duration>) -> Option<Duration> {
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
pub(super) fn service_time(
    (n1, l1): (u32, Duration),
    (n2, l2): (u32, Duration),
) -> Option<Duration> {
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
pub(super) fn propose_web_seed(
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
pub(super) struct Streak {
    pub(super) n: usize,
    /// `("slow", "slower", max_response)` or `("fast", "faster", min_response)`.
    pub(super) said: (&'static str, &'static str, Duration),
    /// The bound it pushes against: `("max", max)` or `("min", min)`.
    pub(super) bound: (&'static str, u32),
    pub(super) at_bound: bool,
    pub(super) next: u32,
}

pub(super) fn holding_rule(history: &VecDeque<Verdict>) -> String {
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

#[cfg(test)]
mod capacity_tests {
    use super::*;
    use crate::settings::Settings;

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
