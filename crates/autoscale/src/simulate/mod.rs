//! Replaying a load trace through a policy against a simple queueing model of
//! dynos: the timeline, an SVG plot and a summary (dyno-hours, minutes over
//! the latency target, direction reversals). `Seed` runs the original
//! algorithm (web only, the same streaks, no freeze, no queue scaling) for
//! comparison.
//!
//! Trace CSV: a header, then rows; the load holds until the next row.
//! `t` (seconds), `rps` (web requests per second), `service_ms` (one
//! request's service time on one dyno), and per queue `q:<name>` (jobs
//! arriving per second); optional `job_ms` (one job's time on one worker
//! dyno, default 1000) and `dep_ms` (time every request waits on a slow
//! dependency, holding its dyno as gunicorn's sync workers do: a latency
//! floor no dyno count lowers).
//!
//! Beyond the trace ([`Conditions`]): the heartbeat's reported service time
//! (`X-Slipway-Service-Ms`, on by default), the boot delay of a new dyno
//! (60 s: the time Heroku gives a web dyno to bind `$PORT`), and optional
//! seeded noise on each heartbeat. `Oracle` replays a perfect-foresight
//! schedule under the same model: the lower bound reports are measured
//! against.

// Plot coordinates and small counts as f64: no precision is at stake.
#![allow(clippy::cast_precision_loss, clippy::many_single_char_names)]

mod model;
mod oracle;
mod plot;
mod trace;

pub use plot::{svg, timeline_csv};
pub use trace::{parse_trace, Row};

use model::Model;

use crate::engine::{applied, tick_frame, Frame, Measure, Policy, State, Verdict};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Slipway,
    Seed,
    /// Perfect foresight: web at the fewest dynos that keep the latency under
    /// the target at every moment (within its bounds), each started a boot
    /// delay before it is needed and stopped as soon as it is not; worker
    /// types follow Slipway's policy. Its web dyno-hours are the lower bound
    /// a web policy is measured against.
    Oracle,
    /// Perfect foresight within the flap budget: as `Oracle`, with no more
    /// direction reversals over the trace than the daily budget allows (the
    /// free oracle when there is none). The bound for a policy that keeps it.
    OracleInBudget,
}

/// What the model sees beyond the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    /// The heartbeat reports the time it spent inside the dyno
    /// (`X-Slipway-Service-Ms`, as the shipped Django endpoint does); false:
    /// an endpoint that reports latency only, and the policy estimates.
    pub service_header: bool,
    /// Seconds from a scale-up until the new dynos serve (billed from the
    /// request). Default 60: Heroku gives a web dyno 60 s to bind `$PORT`
    /// (R10 past it) and documents no shorter typical boot, so the model
    /// takes the documented bound for every size.
    pub boot_seconds: f64,
    /// Each heartbeat's two parts (time in the dyno, time waiting) each
    /// times an independent factor in `[1 - a, 1 + a]`, from a generator
    /// seeded with the second value: the same seed, the same run.
    pub noise: Option<(f64, u64)>,
}

impl Default for Conditions {
    fn default() -> Self {
        Self {
            service_header: true,
            boot_seconds: 60.0,
            noise: None,
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): the noise generator. Written out
/// (not the `rand` crate) for determinism: golden timelines must not change
/// when a dependency changes its generators.
struct SplitMix(u64);

impl SplitMix {
    /// A factor uniform in `[1 - a, 1 + a]`.
    fn factor(&mut self, a: f64) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        1.0 - a + 2.0 * a * unit
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub(crate) rps: f64,
    pub(crate) latency_ms: f64,
    pub(crate) dynos: BTreeMap<String, u32>,
    pub depths: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub ticks: u64,
    pub dyno_hours: f64,
    /// Web's alone.
    pub web_dyno_hours: f64,
    pub minutes_over_target: f64,
    /// Of those, the minutes web was already at its max: they measure the max,
    /// not the policy.
    pub minutes_over_target_at_max: f64,
    pub reversals: u32,
    /// The most direction reversals of any one type in any hour, and in any
    /// 24 hours (the whole trace when shorter), with that type.
    pub max_reversals_hour: (u32, String),
    pub max_reversals_day: (u32, String),
    /// Minutes from the moment the load last fell until web was back at what
    /// the trace's final load needs (at least its min): `None`: it never was;
    /// `Some(0)`: the load never rose.
    pub minutes_back_to_min: Option<f64>,
    /// Queued jobs integrated over time: job-hours spent waiting.
    pub job_hours_waiting: f64,
    pub peak_depth: f64,
}

/// The seed's algorithm, for comparison: web only, streaks, ±increment,
/// clamped; the history cleared after each scale.
struct Seed {
    history: Vec<Verdict>,
}

fn seed_decide(
    p: &Policy,
    s: &mut Seed,
    latency: Duration,
    current: u32,
    now: DateTime<Utc>,
) -> u32 {
    let st = &p.settings;
    let v = if latency > st.max_response {
        Verdict::Slow
    } else if latency < st.min_response {
        Verdict::Fast
    } else {
        Verdict::Ok
    };
    s.history.push(v);
    let keep = st.fails_to_scale_up.max(st.passes_to_scale_down) as usize;
    if s.history.len() > keep {
        s.history.remove(0);
    }
    let (min, max) = (
        st.min_dynos.at(now, st.time_zone).max(1),
        st.max_dynos.at(now, st.time_zone),
    );
    let last = |n: u32, v: Verdict| {
        s.history.len() >= n as usize && s.history.iter().rev().take(n as usize).all(|x| *x == v)
    };
    let to = if current < min || current > max {
        current.clamp(min, max.max(min))
    } else if last(st.fails_to_scale_up, Verdict::Slow) {
        (current + st.increment).min(max)
    } else if last(st.passes_to_scale_down, Verdict::Fast) {
        current.saturating_sub(st.increment).max(min)
    } else {
        current
    };
    if to != current {
        s.history.clear();
    }
    to
}

/// This autoscaler's engine, fed by position ([`Frame`]) from the model.
struct Engine {
    state: State,
    /// The model's position of each engine type and queue.
    type_pos: Vec<usize>,
    queue_pos: Vec<Option<usize>>,
    formation: Vec<Option<u32>>,
    queues: Vec<Measure<u64>>,
    /// The oldest waiting job's age per trace queue, then per engine queue.
    model_ages: Vec<Option<Duration>>,
    ages: Vec<Option<Duration>>,
}

impl Engine {
    fn new(policy: &Policy, model: &Model) -> Self {
        let mut state = State::default();
        let (engine_types, engine_queues) = state.layout(policy);
        let type_pos: Vec<usize> = engine_types
            .iter()
            .map(|t| model.names.iter().position(|n| n == t).expect("added"))
            .collect();
        let queue_pos: Vec<Option<usize>> = engine_queues
            .iter()
            .map(|q| model.qnames.iter().position(|x| x == q))
            .collect();
        // A queue the trace does not have is unknown, as on a broker without it.
        let queues = queue_pos
            .iter()
            .map(|p| match p {
                Some(_) => Measure::Value(0),
                None => Measure::Unknown("not in the trace".into()),
            })
            .collect();
        Self {
            state,
            model_ages: vec![None; model.qnames.len()],
            ages: vec![None; queue_pos.len()],
            formation: vec![None; type_pos.len()],
            type_pos,
            queue_pos,
            queues,
        }
    }

    fn decide(
        &mut self,
        policy: &Policy,
        model: &Model,
        (latency, service): (Duration, Option<Duration>),
        (t, now): (f64, DateTime<Utc>),
        changes: &mut Vec<(usize, u32)>,
    ) {
        for (slot, p) in self.queues.iter_mut().zip(&self.queue_pos) {
            if let Some(p) = p {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let depth = model.depths[*p].round() as u64;
                *slot = Measure::Value(depth);
            }
        }
        for (slot, p) in self.formation.iter_mut().zip(&self.type_pos) {
            *slot = Some(model.quantity[*p]);
        }
        model.oldest_ages(t, &mut self.model_ages);
        for (slot, p) in self.ages.iter_mut().zip(&self.queue_pos) {
            *slot = p.and_then(|p| self.model_ages[p]);
        }
        let heartbeat = Measure::Value(latency);
        let frame = Frame {
            formation: Ok(&self.formation),
            heartbeat: Some(&heartbeat),
            queues: &self.queues,
            queue_ages: &self.ages,
            released_at: None,
            heartbeat_service: service,
        };
        let out = tick_frame(policy, &mut self.state, &frame, now);
        for d in &out.decisions {
            applied(policy, &mut self.state, d, Ok(()), now);
            if let Some(i) = model.names.iter().position(|n| *n == d.process_type) {
                changes.push((i, d.to));
            }
        }
    }
}

/// Run the trace. `initial` is the starting formation; `consumers`, every
/// process type that consumes queues with the queues it consumes (scaled or
/// not: beat run with `-B`, a catch-all at a fixed quantity; None: the
/// policy's worker types); `sample_every` ticks one sample is kept.
pub fn run(
    policy: &Policy,
    which: Which,
    trace: &[Row],
    initial: &BTreeMap<String, u32>,
    consumers: Option<&BTreeMap<String, Vec<String>>>,
    conditions: &Conditions,
    sample_every: u64,
) -> (Vec<Sample>, Summary) {
    let from_policy: BTreeMap<String, Vec<String>>;
    let consumers = if let Some(c) = consumers {
        c
    } else {
        from_policy = policy
            .workers
            .iter()
            .map(|(t, r)| (t.clone(), r.queues.clone()))
            .collect();
        &from_policy
    };
    let interval = policy.settings.heartbeat_interval.as_secs_f64().max(0.001);
    let start = at(0.0);
    let mut model = Model::new(policy, trace, initial, consumers);
    model.boot_seconds = conditions.boot_seconds.max(0.0);
    let mut noise = conditions
        .noise
        .map(|(a, seed)| (a.clamp(0.0, 0.99), SplitMix(seed)));
    let mut engine = Engine::new(policy, &model);
    let mut seed = Seed {
        history: Vec::new(),
    };
    let mut samples = Vec::new();
    let mut summary = Summary::default();
    let mut last_dir: Vec<i8> = vec![0; model.names.len()];
    let mut reversal_times: Vec<Vec<f64>> = vec![Vec::new(); model.names.len()];
    let fall = load_falls_at(policy, trace, start);
    let mut back_at_min: Option<f64> = None;
    let target_ms = policy.settings.max_response.as_secs_f64() * 1000.0;
    let mut changes: Vec<(usize, u32)> = Vec::new();
    let oracle_web = oracle_schedule(
        policy,
        trace,
        model.quantity[model.web_i],
        model.boot_seconds,
        which,
    );
    for (tick, (row_i, t)) in ticks(trace, interval).enumerate() {
        let row = &trace[row_i];
        model.boot(t);
        let latency_ms = model.step(row_i, row, t, interval, &mut summary);
        let now = at(t);
        let web_now = model.quantity[model.web_i];
        let web_max = policy
            .bounds(&model.names[model.web_i], now)
            .map_or(u32::MAX, |(_, max)| max);
        summary.web_dyno_hours += f64::from(web_now) * interval / 3600.0;
        if latency_ms > target_ms {
            summary.minutes_over_target += interval / 60.0;
            if web_now >= web_max {
                summary.minutes_over_target_at_max += interval / 60.0;
            }
        }
        if let Some((f, low)) = fall {
            if t >= f && back_at_min.is_none() && web_now <= low {
                back_at_min = Some(t);
            }
        }
        let (latency, service) = heartbeat(row, latency_ms, noise.as_mut(), conditions);
        changes.clear();
        match which {
            Which::Seed => {
                let cur = model.quantity[model.web_i];
                let to = seed_decide(policy, &mut seed, latency, cur, now);
                if to != cur {
                    changes.push((model.web_i, to));
                }
            }
            Which::Slipway => {
                engine.decide(policy, &model, (latency, service), (t, now), &mut changes);
            }
            Which::Oracle | Which::OracleInBudget => {
                engine.decide(policy, &model, (latency, service), (t, now), &mut changes);
                changes.retain(|(i, _)| *i != model.web_i);
                let cur = model.quantity[model.web_i];
                let to = oracle_web[tick];
                if to != cur {
                    changes.push((model.web_i, to));
                }
            }
        }
        for &(i, to) in &changes {
            let from = model.quantity[i];
            model.set(i, to, t);
            let dir: i8 = if to > from { 1 } else { -1 };
            if last_dir[i] != 0 && last_dir[i] != dir {
                summary.reversals += 1;
                reversal_times[i].push(t);
            }
            last_dir[i] = dir;
        }
        if summary.ticks % sample_every.max(1) == 0 {
            samples.push(model.sample(t, row.rps, latency_ms));
        }
        summary.ticks += 1;
    }
    most_reversals(&mut summary, &reversal_times, &model.names);
    summary.minutes_back_to_min = match (fall, back_at_min) {
        (None, _) => Some(0.0),
        (Some((f, _)), Some(b)) => Some((b - f) / 60.0),
        (Some(_), None) => None,
    };
    (samples, summary)
}

/// The ticks of a run, one heartbeat interval apart from the trace's first
/// row until its last: each the row in force and the time. [`run`] and the
/// oracles' schedules walk the same ticks, so a schedule's `k`th quantity
/// is the `k`th tick's.
fn ticks(trace: &[Row], interval: f64) -> impl Iterator<Item = (usize, f64)> + '_ {
    let end = trace[trace.len() - 1].t;
    let mut row_i = 0;
    std::iter::successors(Some(trace[0].t), move |t| Some(t + interval))
        .take_while(move |t| *t < end)
        .map(move |t| {
            while row_i + 1 < trace.len() && trace[row_i + 1].t <= t {
                row_i += 1;
            }
            (row_i, t)
        })
}

/// The simulated clock: `t` seconds into a Monday in January, UTC.
fn at(t: f64) -> DateTime<Utc> {
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("valid");
    #[allow(clippy::cast_possible_truncation)]
    let ms = (t * 1000.0) as i64;
    start + chrono::Duration::milliseconds(ms)
}

/// The heartbeat: the time inside the dyno (the request's own service and
/// its dependency's wait) and the time it waited for a dyno, each with its
/// noise; and the first as the endpoint reports it, if it does. The model's
/// latency under overload may exceed what a Duration holds.
fn heartbeat(
    row: &Row,
    latency_ms: f64,
    noise: Option<&mut (f64, SplitMix)>,
    conditions: &Conditions,
) -> (Duration, Option<Duration>) {
    let inside_ms = (row.service_ms + row.dep_ms).min(latency_ms);
    let (f_inside, f_wait) = noise.map_or((1.0, 1.0), |(a, g)| (g.factor(*a), g.factor(*a)));
    let beat_ms = inside_ms * f_inside + (latency_ms - inside_ms) * f_wait;
    let ms = |v: f64| Duration::try_from_secs_f64(v / 1000.0).unwrap_or(Duration::MAX);
    (
        ms(beat_ms),
        conditions.service_header.then(|| ms(inside_ms * f_inside)),
    )
}

/// Web's perfect-foresight schedule, one quantity per tick of [`run`]'s
/// loop (none for a policy that is no oracle): the free bound, or (with a
/// daily reversal budget) the cheapest that keeps it over the whole trace
/// (the budget times the days it spans: a relaxation of the sliding day, so
/// still a lower bound).
fn oracle_schedule(
    policy: &Policy,
    trace: &[Row],
    initial_web: u32,
    boot: f64,
    which: Which,
) -> Vec<u32> {
    let in_budget = match which {
        Which::Slipway | Which::Seed => return Vec::new(),
        Which::Oracle => false,
        Which::OracleInBudget => true,
    };
    let interval = policy.settings.heartbeat_interval.as_secs_f64().max(0.001);
    let end = trace[trace.len() - 1].t;
    let floors: Vec<(u32, u32)> = ticks(trace, interval)
        .map(|(row_i, t)| oracle::web_floor(policy, trace, row_i, t, boot, at(t)))
        .collect();
    match policy.flap_budget_per_day.filter(|_| in_budget) {
        None => floors.iter().map(|&(floor, _)| floor).collect(),
        Some(per_day) => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let days = ((end - trace[0].t) / 86_400.0).ceil().max(1.0) as u32;
            oracle::budgeted(&floors, initial_web, per_day.saturating_mul(days))
        }
    }
}

/// The most reversals of any type in any hour and any day, with that type.
fn most_reversals(summary: &mut Summary, reversal_times: &[Vec<f64>], names: &[String]) {
    for (i, times) in reversal_times.iter().enumerate() {
        for (window, worst) in [
            (3600.0, &mut summary.max_reversals_hour),
            (86_400.0, &mut summary.max_reversals_day),
        ] {
            let most = most_in_window(times, window);
            if most > worst.0 {
                *worst = (most, names[i].clone());
            }
        }
    }
}

/// The most events (sorted times, seconds) in any window of `len` seconds.
fn most_in_window(times: &[f64], len: f64) -> u32 {
    let mut most = 0;
    let mut from = 0;
    for (to, t) in times.iter().enumerate() {
        while times[from] <= t - len {
            from += 1;
        }
        most = most.max(to + 1 - from);
    }
    u32::try_from(most).unwrap_or(u32::MAX)
}

/// When the load last fell (the row after the last one above 1.5 times the
/// trace's final load), and the web quantity that final load needs at 70%
/// utilization (at least the min): web is "back" when it is there again.
/// `None` when the load never rose.
fn load_falls_at(policy: &Policy, trace: &[Row], start: DateTime<Utc>) -> Option<(f64, u32)> {
    let tz = policy.settings.time_zone;
    let min = policy
        .settings
        .min_dynos
        .at(start, tz)
        .min(policy.settings.max_dynos.at(start, tz))
        .max(1);
    let last = trace.last()?;
    let last_high = trace.iter().rposition(|r| r.rps > 1.5 * last.rps)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let needed = (last.rps * last.service_ms / 1000.0 / 0.7).ceil() as u32;
    Some((trace.get(last_high + 1)?.t, needed.max(min)))
}

#[cfg(test)]
mod tests;
