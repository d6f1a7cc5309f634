//! The simulator, pinned: each load trace of `tests/fixtures/traces`, run
//! under Slipway's policy and the seed's, gives exactly the timeline, the
//! summary and the plot kept in `tests/golden/`. The README's bench table
//! and pictures come from these runs; a change to the model, the policies
//! or the plot shows here as a diff to read, not as a silently different
//! figure. After an intended change: `UPDATE_GOLDEN=1 cargo test -p
//! autoscale --test simulate_golden`, and review the diff of the files.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale::simulate::{parse_trace, run, svg, timeline_csv, Conditions, Which};
use autoscale::{Bound, Policy, QueueRule, Settings};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference app's shape: web (1 to 14) and one worker type on the
/// default queue (0 to 6, 20 jobs a dyno), as the bench runs it.
fn policy() -> Policy {
    let s = Settings {
        max_dynos: Bound::Fixed(14),
        ..Settings::default()
    };
    let mut p = Policy::new(s);
    p.workers.insert(
        "worker_general".into(),
        QueueRule {
            queues: vec!["default".into()],
            jobs_per_dyno: 20,
            max_wait: None,
            min: Bound::Fixed(0),
            max: Bound::Fixed(6),
        },
    );
    p
}

/// The file's text, or (with `UPDATE_GOLDEN=1`) write it.
fn matches_golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{name} differs from its golden file at line {}:\n  expected: {}\n  actual:   {}\n(UPDATE_GOLDEN=1 rewrites it after an intended change)",
            line + 1,
            expected.lines().nth(line).unwrap_or("(end)"),
            actual.lines().nth(line).unwrap_or("(end)")
        );
    }
}

/// A trace of `tests/fixtures/traces`, parsed.
fn rows_of(trace: &str) -> Vec<autoscale::simulate::Row> {
    let text = std::fs::read_to_string(
        root()
            .join("../../tests/fixtures/traces")
            .join(format!("{trace}.csv")),
    )
    .unwrap();
    parse_trace("trace.csv", &text).unwrap()
}

/// The formation every pinned run starts from.
fn initial() -> BTreeMap<String, u32> {
    [("web".to_string(), 2), ("worker_general".to_string(), 1)]
        .into_iter()
        .collect()
}

fn pinned(trace: &str) {
    let (rows, initial) = (rows_of(trace), initial());
    for (which, name) in [
        (Which::Slipway, "slipway"),
        (Which::Seed, "seed"),
        (Which::Oracle, "oracle"),
        (Which::OracleInBudget, "oracle-in-budget"),
    ] {
        // A sample every ten ticks (five minutes) keeps the files small; the
        // summary counts every tick.
        let (samples, summary) = run(
            &policy(),
            which,
            &rows,
            &initial,
            None,
            &Conditions::default(),
            10,
        );
        matches_golden(
            &format!("{trace}.{name}.timeline.csv"),
            &timeline_csv(&samples),
        );
        matches_golden(
            &format!("{trace}.{name}.summary.txt"),
            &format!("{summary:#?}\n"),
        );
        if trace == "spike" {
            matches_golden(
                &format!("{trace}.{name}.svg"),
                &svg(&samples, 1000.0, &format!("{trace}: {name}")),
            );
        }
    }
}

#[test]
fn the_spike_trace_runs_exactly_as_pinned() {
    pinned("spike");
}

#[test]
fn the_reference_day_runs_exactly_as_pinned() {
    pinned("refapp-day");
}

#[test]
fn the_ramp_trace_runs_exactly_as_pinned() {
    pinned("ramp");
}

#[test]
fn the_launch_trace_runs_exactly_as_pinned() {
    pinned("launch");
}

#[test]
fn the_herd_trace_runs_exactly_as_pinned() {
    pinned("herd");
}

#[test]
fn the_slow_dependency_trace_runs_exactly_as_pinned() {
    pinned("slow-dependency");
}

#[test]
fn the_pushes_trace_runs_exactly_as_pinned() {
    pinned("pushes");
}

/// The oracles are lower bounds: on every trace, under the same model, no
/// policy keeps web under the target with fewer web dyno-hours than the free
/// oracle, and none that keeps the flap budget (Slipway's does) with fewer
/// than the oracle within it; the budget only ever costs, and both are never
/// over the target where their max lets them be under.
#[test]
fn the_oracles_spend_no_more_web_dyno_hours_than_a_policy_they_bound_on_any_trace() {
    let initial = initial();
    for trace in [
        "spike",
        "refapp-day",
        "ramp",
        "launch",
        "herd",
        "slow-dependency",
        "pushes",
    ] {
        let rows = rows_of(trace);
        let mut p = policy();
        p.settings.max_dynos = Bound::Fixed(40);
        let run = |w| run(&p, w, &rows, &initial, None, &Conditions::default(), 1000).1;
        let (oracle, in_budget, slipway, seed) = (
            run(Which::Oracle),
            run(Which::OracleInBudget),
            run(Which::Slipway),
            run(Which::Seed),
        );
        let bounds = |bound: &autoscale::simulate::Summary,
                      name: &str,
                      other: &autoscale::simulate::Summary| {
            // A policy over the target spends its minutes there: compare
            // only where it kept the latency as well as the bound did.
            if other.minutes_over_target <= bound.minutes_over_target {
                assert!(
                    bound.web_dyno_hours <= other.web_dyno_hours + 1e-9,
                    "{trace}: bound {:.2} web dyno-hours, {name} {:.2}",
                    bound.web_dyno_hours,
                    other.web_dyno_hours
                );
            }
        };
        bounds(&oracle, "slipway", &slipway);
        bounds(&oracle, "seed", &seed);
        bounds(&oracle, "the oracle within the budget", &in_budget);
        bounds(&in_budget, "slipway", &slipway);
        assert!(
            in_budget.max_reversals_day.0 <= 12,
            "{trace}: the oracle within the budget reversed {} times in a day",
            in_budget.max_reversals_day.0
        );
        if trace != "slow-dependency" {
            for (name, o) in [
                ("oracle", &oracle),
                ("oracle within the budget", &in_budget),
            ] {
                assert!(
                    o.minutes_over_target <= 1.0,
                    "{trace}: with room (max 40) the {name} is over the target {:.1} min",
                    o.minutes_over_target
                );
            }
        }
    }
}
