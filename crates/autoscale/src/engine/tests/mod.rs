//! The decision engine, as a specification: the seed's settings, the traps
//! of the research note, and invariants no input can break.

use super::*;
use crate::{applied, tick, Bound, Settings};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap() + chrono::Duration::seconds(minutes * 60)
}

fn formation(pairs: &[(&str, u32)]) -> Measure<BTreeMap<String, u32>> {
    Measure::Value(pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect())
}

fn hb(ms: u64) -> Option<Measure<Duration>> {
    Some(Measure::Value(Duration::from_millis(ms)))
}

fn obs(f: &[(&str, u32)], heartbeat: Option<Measure<Duration>>) -> Observation {
    Observation {
        queue_ages: BTreeMap::new(),
        formation: formation(f),
        heartbeat,
        queues: BTreeMap::new(),
        released_at: None,
        heartbeat_service: None,
    }
}

/// The seed's rule for web (`AUTOSCALE_WEB_POLICY=seed`): the tests below
/// that speak of streaks specify it; the capacity policy has its own.
fn seed_rule(s: Settings) -> Policy {
    let mut p = Policy::new(s);
    p.web_policy = WebPolicy::Seed;
    p
}

fn web_policy(max: u32) -> Policy {
    let mut s = Settings::default();
    s.max_dynos = Bound::Fixed(max);
    seed_rule(s)
}

/// Tick, and apply every decision successfully; returns the web quantity after.
fn step(p: &Policy, st: &mut State, o: &Observation, now: DateTime<Utc>) -> Tick {
    let t = tick(p, st, o, now);
    for d in &t.decisions {
        applied(p, st, d, Ok(()), now);
    }
    t
}

fn workers_policy() -> Policy {
    let mut p = web_policy(3);
    p.workers.insert(
        "worker_priority".into(),
        QueueRule {
            queues: vec!["bulk_priority".into()],
            jobs_per_dyno: 10,
            max_wait: None,
            min: Bound::Fixed(0),
            max: Bound::Fixed(4),
        },
    );
    p.workers.insert(
        "worker_general".into(),
        QueueRule {
            queues: vec!["default".into(), "bulk".into(), "feedback".into()],
            jobs_per_dyno: 20,
            max_wait: None,
            min: Bound::Fixed(1),
            max: Bound::Fixed(6),
        },
    );
    p.workers.insert(
        "beat".into(),
        QueueRule {
            queues: vec!["default".into()],
            jobs_per_dyno: 1,
            max_wait: None,
            min: Bound::Fixed(0),
            max: Bound::Fixed(9),
        },
    );
    p
}

fn queues(pairs: &[(&str, Option<u64>)]) -> BTreeMap<String, Measure<u64>> {
    pairs
        .iter()
        .map(|(q, d)| {
            (
                (*q).to_string(),
                d.map_or_else(
                    || Measure::Unknown("broker unreachable".into()),
                    Measure::Value,
                ),
            )
        })
        .collect()
}

mod capacity;
mod invariants;
mod seed;
mod workers;
