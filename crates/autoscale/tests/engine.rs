//! The decision engine, as a specification: the seed's settings, the traps
//! of the research note, and invariants no input can break.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]
#![allow(clippy::field_reassign_with_default, clippy::unnecessary_wraps)] // settings read best as "the default, but ..."

use autoscale::Verdict;
use autoscale::*;
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

#[test]
fn three_slow_heartbeats_scale_web_up_by_the_increment_then_the_streak_restarts() {
    let p = web_policy(5);
    let mut st = State::default();
    for i in 0..2 {
        let t = step(&p, &mut st, &obs(&[("web", 1)], hb(1500)), at(i));
        assert!(
            t.decisions.is_empty(),
            "two slow beats are not a streak of three"
        );
    }
    assert_eq!(st.history(), [Verdict::Slow, Verdict::Slow]);
    let t = step(&p, &mut st, &obs(&[("web", 1)], hb(1001)), at(2));
    assert_eq!(t.decisions.len(), 1);
    assert_eq!((t.decisions[0].from, t.decisions[0].to), (1, 2));
    assert!(
        t.decisions[0]
            .rule
            .contains("3 heartbeats slower than 1000 ms"),
        "{}",
        t.decisions[0].rule
    );
    assert!(
        st.history().is_empty(),
        "a successful scale clears the history (the seed's implicit cooldown)"
    );
    let t = step(&p, &mut st, &obs(&[("web", 2)], hb(1500)), at(3));
    assert!(t.decisions.is_empty());
}

#[test]
fn exactly_the_max_response_time_is_not_slow_and_exactly_the_min_is_not_fast() {
    let p = web_policy(5);
    let mut st = State::default();
    for i in 0..6 {
        tick(&p, &mut st, &obs(&[("web", 2)], hb(1000)), at(i));
    }
    assert!(!st.history().is_empty());
    assert!(st.history().iter().all(|v| *v == Verdict::Ok));
    for i in 0..6 {
        tick(&p, &mut st, &obs(&[("web", 2)], hb(200)), at(i));
    }
    assert!(!st.history().is_empty());
    assert!(st.history().iter().all(|v| *v == Verdict::Ok));
    tick(&p, &mut st, &obs(&[("web", 2)], hb(199)), at(7));
    assert_eq!(st.history().last(), Some(&Verdict::Fast));
}

#[test]
fn five_fast_heartbeats_scale_down_and_one_ok_beat_breaks_the_streak() {
    let p = web_policy(5);
    let mut st = State::default();
    for i in 0..4 {
        assert!(step(&p, &mut st, &obs(&[("web", 3)], hb(50)), at(i))
            .decisions
            .is_empty());
    }
    assert!(
        step(&p, &mut st, &obs(&[("web", 3)], hb(500)), at(4))
            .decisions
            .is_empty(),
        "ok beat"
    );
    for i in 5..9 {
        assert!(step(&p, &mut st, &obs(&[("web", 3)], hb(50)), at(i))
            .decisions
            .is_empty());
    }
    let t = step(&p, &mut st, &obs(&[("web", 3)], hb(50)), at(9));
    assert_eq!((t.decisions[0].from, t.decisions[0].to), (3, 2));
}

#[test]
fn the_increment_and_the_bounds_from_the_settings_apply() {
    let mut s = Settings::default();
    s.increment = 3;
    s.max_dynos = Bound::Fixed(4);
    s.fails_to_scale_up = 1;
    let p = seed_rule(s);
    let mut st = State::default();
    let t = step(&p, &mut st, &obs(&[("web", 2)], hb(2000)), at(0));
    assert_eq!(t.decisions[0].to, 4, "2 + 3 clamped to the max of 4");
}

#[test]
fn a_huge_increment_scales_web_to_its_max_never_past_the_bounds() {
    let mut s = Settings::default();
    s.increment = u32::MAX;
    s.min_dynos = Bound::Fixed(2);
    s.max_dynos = Bound::Fixed(5);
    s.fails_to_scale_up = 1;
    let p = seed_rule(s);
    let mut st = State::default();
    let t = step(&p, &mut st, &obs(&[("web", 2)], hb(2000)), at(0));
    assert_eq!(
        t.decisions[0].to, 5,
        "2 + u32::MAX saturates, then the max of 5"
    );
    let t = step(&p, &mut st, &obs(&[("web", 5)], hb(2000)), at(1));
    assert!(t.decisions.is_empty(), "at the max: {:?}", t.decisions);
}

#[test]
fn slow_at_the_max_notifies_once_per_episode_not_every_beat() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    let p = seed_rule(s);
    let mut st = State::default();
    let mut sent = 0;
    for i in 0..10 {
        let t = step(&p, &mut st, &obs(&[("web", 3)], hb(3000)), at(i));
        assert!(t.decisions.is_empty());
        sent += t
            .notifications
            .iter()
            .filter(|n| matches!(n, Notification::NeedsExceedMax { .. }))
            .count();
    }
    assert_eq!(sent, 1);
    step(&p, &mut st, &obs(&[("web", 3)], hb(500)), at(10));
    let t = step(&p, &mut st, &obs(&[("web", 3)], hb(3000)), at(11));
    assert_eq!(
        t.notifications.len(),
        1,
        "a new episode notifies again: {:?}",
        t.notifications
    );
}

/// What the seed's rule says in the report when it holds: at a bound, the
/// streak and the bound; else the recent verdicts. A simulation that asks
/// for no explanations gets none (decisions still carry theirs).
#[test]
fn the_seed_rule_says_why_it_holds_unless_told_not_to_explain() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 2;
    s.max_dynos = Bound::Fixed(3);
    let p = seed_rule(s);
    let mut st = State::default();
    let t = step(&p, &mut st, &obs(&[("web", 3)], hb(500)), at(0));
    assert_eq!(t.report[0].rule, "holding (recent heartbeats: ok)");
    step(&p, &mut st, &obs(&[("web", 3)], hb(3000)), at(1));
    let t = step(&p, &mut st, &obs(&[("web", 3)], hb(3000)), at(2));
    assert_eq!(t.report[0].rule, "2 slow heartbeats, at the max of 3");
    assert!(t.decisions.is_empty());
    // Outside its bounds, enforcing them comes first: no "needs more" notice.
    let mut st = State::default();
    step(&p, &mut st, &obs(&[("web", 5)], hb(3000)), at(0));
    let t = tick(&p, &mut st, &obs(&[("web", 5)], hb(3000)), at(1));
    assert_eq!(t.decisions.first().map(|d| d.to), Some(3));
    assert!(
        !t.notifications
            .iter()
            .any(|n| matches!(n, Notification::NeedsExceedMax { .. })),
        "{:?}",
        t.notifications
    );
    let mut quiet = p.clone();
    quiet.explain = false;
    let mut st = State::default();
    let t = step(&quiet, &mut st, &obs(&[("web", 3)], hb(500)), at(0));
    assert!(t.report.iter().all(|r| r.rule.is_empty()), "{:?}", t.report);
}

#[test]
fn fast_at_a_min_above_one_notifies_and_the_settings_decide_what_is_sent() {
    let mut s = Settings::default();
    s.min_dynos = Bound::Fixed(2);
    s.passes_to_scale_down = 1;
    let p = seed_rule(s.clone());
    let mut st = State::default();
    let t = step(&p, &mut st, &obs(&[("web", 2)], hb(10)), at(0));
    let n = &t.notifications[0];
    assert!(matches!(n, Notification::NeedsBelowMin { min: 2, .. }));
    assert!(
        !n.wanted(&s),
        "AUTOSCALE_NOTIFY_IF_NEEDS_BELOW_MIN defaults to false"
    );
    let exceed = Notification::NeedsExceedMax {
        process_type: "web".into(),
        needed: 4,
        max: 3,
    };
    assert!(
        exceed.wanted(&s),
        "AUTOSCALE_NOTIFY_IF_NEEDS_EXCEED_MAX defaults to true"
    );
}

#[test]
fn a_failed_or_unreachable_heartbeat_is_unknown_never_slow() {
    // The seed counted any exception (wrong URL, refused, 5xx) as slow and ran to max.
    let p = web_policy(10);
    let mut st = State::default();
    let mut notes = Vec::new();
    for i in 0..20 {
        let o = obs(
            &[("web", 1)],
            Some(Measure::Unknown("connection refused".into())),
        );
        let t = step(&p, &mut st, &o, at(i));
        assert!(t.decisions.is_empty());
        notes.extend(t.notifications);
    }
    assert_eq!(notes.len(), 1, "reported once: {notes:?}");
    assert_eq!(
        notes[0].to_string(),
        "the heartbeat is unknown (connection refused): holding"
    );
}

#[test]
fn an_unknown_formation_holds_everything() {
    let p = web_policy(5);
    let mut st = State::default();
    for i in 0..5 {
        let o = Observation {
            queue_ages: BTreeMap::new(),
            formation: Measure::Unknown("HTTP 503".into()),
            heartbeat: hb(5000),
            queues: BTreeMap::new(),
            released_at: None,
            heartbeat_service: None,
        };
        assert!(tick(&p, &mut st, &o, at(i)).decisions.is_empty());
    }
}

#[test]
fn the_formation_is_read_every_tick_and_a_manual_change_freezes_scale_down() {
    // The seed trusted its own last write forever; HireFire cached it 10 minutes.
    let mut s = Settings::default();
    s.max_dynos = Bound::Fixed(8);
    s.passes_to_scale_down = 1;
    let p = seed_rule(s);
    let mut st = State::default();
    step(&p, &mut st, &obs(&[("web", 2)], hb(500)), at(0));
    let t = step(&p, &mut st, &obs(&[("web", 2)], hb(50)), at(1));
    assert_eq!(t.decisions[0].to, 1, "ours: 2 -> 1");
    // Someone runs `heroku ps:scale web=6`; fast beats must not undo it at once.
    let t = step(&p, &mut st, &obs(&[("web", 6)], hb(50)), at(2));
    assert!(t.decisions.is_empty());
    assert!(t.report[0].rule.contains("frozen"), "{}", t.report[0].rule);
    let t = step(&p, &mut st, &obs(&[("web", 6)], hb(50)), at(11));
    assert!(t.decisions.is_empty(), "still within 10 minutes");
    let t = step(&p, &mut st, &obs(&[("web", 6)], hb(50)), at(13));
    assert_eq!(
        (t.decisions[0].from, t.decisions[0].to),
        (6, 5),
        "freeze over"
    );
}

#[test]
fn no_scale_down_within_the_freeze_after_a_release_but_scale_up_is_allowed() {
    let mut s = Settings::default();
    s.passes_to_scale_down = 1;
    s.fails_to_scale_up = 1;
    let p = seed_rule(s);
    let mut st = State::default();
    let mut o = obs(&[("web", 2)], hb(50));
    o.released_at = Some(at(0));
    assert!(step(&p, &mut st, &o, at(3)).decisions.is_empty());
    o.heartbeat = hb(5000);
    assert_eq!(step(&p, &mut st, &o, at(4)).decisions[0].to, 3);
}

#[test]
fn a_schedule_boundary_moves_web_to_the_new_bound_at_once() {
    let mut s = Settings::default();
    s.max_dynos = Bound::parse(r#"{"0:00": 2, "9:00": 5, "17:00": 2}"#).unwrap();
    s.time_zone = chrono_tz::America::Vancouver;
    let p = seed_rule(s);
    let mut st = State::default();
    // 16:59 Vancouver (UTC-8) = 00:59 UTC next day.
    let before = Utc.with_ymd_and_hms(2026, 11, 24, 0, 59, 0).unwrap();
    assert!(step(&p, &mut st, &obs(&[("web", 4)], hb(500)), before)
        .decisions
        .is_empty());
    let after = before + chrono::Duration::minutes(1);
    let t = step(&p, &mut st, &obs(&[("web", 4)], hb(500)), after);
    assert_eq!((t.decisions[0].from, t.decisions[0].to), (4, 2));
    assert_eq!((t.report[0].min, t.report[0].max), (1, 2));
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

#[test]
fn queue_depth_sets_each_worker_type_from_the_sum_of_its_own_queues() {
    let p = workers_policy();
    let mut st = State::default();
    let mut o = obs(
        &[
            ("web", 1),
            ("worker_priority", 0),
            ("worker_general", 1),
            ("beat", 1),
        ],
        None,
    );
    o.queues = queues(&[
        ("bulk_priority", Some(25)),
        ("default", Some(30)),
        ("bulk", Some(70)),
        ("feedback", Some(0)),
    ]);
    let t = step(&p, &mut st, &o, at(0));
    let got: BTreeMap<_, _> = t
        .decisions
        .iter()
        .map(|d| (d.process_type.as_str(), d.to))
        .collect();
    assert_eq!(got.get("worker_priority"), Some(&3), "ceil(25 / 10)");
    assert_eq!(
        got.get("worker_general"),
        Some(&5),
        "ceil((30 + 70 + 0) / 20): its dynos serve every queue it consumes"
    );
    assert!(
        !got.contains_key("beat"),
        "beat is a singleton, never scaled: {got:?}"
    );
    assert!(t.decisions.iter().any(|d| d
        .rule
        .contains("100 waiting in 3 queues (most: 70 in bulk) / 20 per dyno")));
}

#[test]
fn a_worker_need_above_its_max_is_clamped_and_notified() {
    let p = workers_policy();
    let mut st = State::default();
    let mut o = obs(&[("worker_priority", 1)], None);
    o.queues = queues(&[("bulk_priority", Some(1000))]);
    let t = step(&p, &mut st, &o, at(0));
    assert_eq!(t.decisions[0].to, 4);
    assert!(matches!(
        t.notifications[0],
        Notification::NeedsExceedMax {
            needed: 100,
            max: 4,
            ..
        }
    ));
}

#[test]
fn a_worker_needing_exactly_its_max_is_within_it() {
    let p = workers_policy();
    let mut st = State::default();
    let mut o = obs(&[("worker_priority", 1)], None);
    o.queues = queues(&[("bulk_priority", Some(40))]); // 10 a dyno: 4, the max
    let t = step(&p, &mut st, &o, at(0));
    assert_eq!(t.decisions[0].to, 4);
    assert!(t.notifications.is_empty(), "{:?}", t.notifications);
}

#[test]
fn an_unreachable_broker_holds_and_never_scales_to_the_min() {
    // HireFire's Celery macro returned 0 on a broker error: a broker outage scaled to min.
    let p = workers_policy();
    let mut st = State::default();
    let mut o = obs(&[("worker_priority", 3), ("worker_general", 5)], None);
    o.queues = queues(&[
        ("bulk_priority", None),
        ("default", None),
        ("bulk", None),
        ("feedback", None),
    ]);
    for i in 0..30 {
        let t = step(&p, &mut st, &o, at(i));
        assert!(t.decisions.is_empty(), "{:?}", t.decisions);
    }
}

#[test]
fn workers_scale_to_a_zero_min_only_after_the_need_stayed_low_for_the_delay() {
    let p = workers_policy();
    let mut st = State::default();
    let mut o = obs(&[("worker_priority", 2)], None);
    o.queues = queues(&[("bulk_priority", Some(20))]);
    step(&p, &mut st, &o, at(0));
    o.queues = queues(&[("bulk_priority", Some(0))]);
    for i in 1..=5 {
        assert!(
            step(&p, &mut st, &o, at(i)).decisions.is_empty(),
            "minute {i}: the need of minute 0 is in the window"
        );
    }
    let t = step(&p, &mut st, &o, at(6));
    assert_eq!((t.decisions[0].from, t.decisions[0].to), (2, 0));
}

#[test]
fn a_failed_scale_keeps_the_streak_so_the_next_beat_retries_and_is_reported() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 2;
    let p = seed_rule(s.clone());
    let mut st = State::default();
    tick(&p, &mut st, &obs(&[("web", 1)], hb(2000)), at(0));
    let t = tick(&p, &mut st, &obs(&[("web", 1)], hb(2000)), at(1));
    let n = applied(&p, &mut st, &t.decisions[0], Err("HTTP 503".into()), at(1));
    assert_eq!(n[0].to_string(), "scaling web to 2 failed: HTTP 503");
    assert!(
        !n[0].wanted(&s),
        "AUTOSCALE_NOTIFY_ON_SCALE_FAILS defaults to false"
    );
    let t = tick(&p, &mut st, &obs(&[("web", 1)], hb(2000)), at(2));
    assert_eq!(t.decisions[0].to, 2, "retried");
}

#[test]
fn the_flap_budget_holds_a_type_that_keeps_reversing() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.passes_to_scale_down = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.flap_budget_per_hour = Some(2);
    p.freeze = Duration::ZERO;
    let mut st = State::default();
    let mut web = 2;
    let mut held = false;
    for i in 0..10 {
        let beat = if i % 2 == 0 { hb(5000) } else { hb(10) };
        let t = step(&p, &mut st, &obs(&[("web", web)], beat), at(i));
        if let Some(d) = t.decisions.first() {
            web = d.to;
        } else {
            held = true;
            assert!(
                t.report[0].rule.contains("flap budget"),
                "{}",
                t.report[0].rule
            );
            break;
        }
    }
    assert!(held, "reversals beyond the budget are held");
}

#[test]
fn the_daily_dyno_hour_cap_stops_scale_ups() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.daily_dyno_hour_cap = Some(5);
    let mut st = State::default();
    // 5 dynos for one hour: 5 dyno-hours.
    step(&p, &mut st, &obs(&[("web", 5)], hb(500)), at(0));
    let t = step(&p, &mut st, &obs(&[("web", 5)], hb(5000)), at(60));
    assert!(t.decisions.is_empty());
    assert!(t
        .notifications
        .iter()
        .any(|n| matches!(n, Notification::DynoHourCapReached { cap: 5, .. })));
}

#[test]
fn the_dyno_hour_count_starts_again_at_local_midnight_and_scale_ups_resume() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.max_dynos = Bound::Fixed(10);
    s.time_zone = chrono_tz::America::Vancouver; // midnight there is 08:00 UTC
    let mut p = seed_rule(s);
    p.daily_dyno_hour_cap = Some(5);
    p.freeze = Duration::ZERO;
    let mut st = State::default();
    // 22:00 local (06:00 UTC): 5 dynos for the two hours to midnight spend the cap.
    let ten_pm = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap();
    step(&p, &mut st, &obs(&[("web", 5)], hb(500)), ten_pm);
    let before = ten_pm + chrono::Duration::minutes(119);
    let t = step(&p, &mut st, &obs(&[("web", 5)], hb(5000)), before);
    assert!(
        t.decisions.is_empty(),
        "capped before midnight: {:?}",
        t.report
    );
    assert!(
        (st.dyno_hours_today() - 9.9).abs() < 0.1,
        "{}",
        st.dyno_hours_today()
    );
    // Just past local midnight the count is the new day's (about a minute of 5 dynos).
    let after = ten_pm + chrono::Duration::minutes(121);
    let t = step(&p, &mut st, &obs(&[("web", 5)], hb(5000)), after);
    assert!(st.dyno_hours_today() < 0.2, "{}", st.dyno_hours_today());
    assert_eq!(
        t.decisions.first().map(|d| d.to),
        Some(6),
        "scale-ups resume: {:?}",
        t.report
    );
}

#[test]
fn a_clock_set_back_across_midnight_counts_the_day_it_now_reads() {
    let p = seed_rule(Settings::default()); // UTC days
    let mut st = State::default();
    let day2 = Utc.with_ymd_and_hms(2026, 11, 25, 0, 30, 0).unwrap();
    step(&p, &mut st, &obs(&[("web", 5)], hb(500)), day2);
    step(
        &p,
        &mut st,
        &obs(&[("web", 5)], hb(500)),
        day2 + chrono::Duration::hours(1),
    );
    assert!(
        (st.dyno_hours_today() - 5.0).abs() < 0.01,
        "{}",
        st.dyno_hours_today()
    );
    // NTP sets the clock back to 23:30 the day before: that day's count, from zero.
    step(
        &p,
        &mut st,
        &obs(&[("web", 5)], hb(500)),
        day2 - chrono::Duration::hours(1),
    );
    assert!(st.dyno_hours_today() < 0.01, "{}", st.dyno_hours_today());
}

#[test]
fn reversals_older_than_an_hour_no_longer_count_against_the_flap_budget() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.passes_to_scale_down = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.flap_budget_per_hour = Some(2);
    p.flap_budget_per_day = None;
    p.freeze = Duration::ZERO;
    p.scale_down_delay = Duration::ZERO;
    let mut st = State::default();
    let mut web = 2;
    let mut held_at = None;
    for i in 0..10 {
        let beat = if i % 2 == 0 { hb(5000) } else { hb(10) };
        let t = step(&p, &mut st, &obs(&[("web", web)], beat), at(i));
        let Some(d) = t.decisions.first() else {
            held_at = Some(i);
            break;
        };
        web = d.to;
    }
    let held_at = held_at.expect("the budget holds a reversal within the hour");
    // The same scale-down once the reversals are over an hour old.
    let t = step(&p, &mut st, &obs(&[("web", web)], hb(10)), at(held_at + 61));
    assert_eq!(
        t.decisions.first().map(|d| d.to),
        Some(web - 1),
        "{:?}",
        t.report
    );
}

#[test]
fn a_policy_whose_worker_types_change_is_read_afresh_even_at_the_same_count() {
    let first = workers_policy();
    let mut st = State::default();
    let o = Observation {
        queue_ages: BTreeMap::new(),
        formation: formation(&[
            ("web", 1),
            ("worker_general", 1),
            ("worker_priority", 0),
            ("worker_import", 0),
        ]),
        heartbeat: hb(100),
        queues: queues(&[
            ("default", Some(0)),
            ("bulk", Some(0)),
            ("feedback", Some(0)),
            ("bulk_priority", Some(40)),
            ("user_import", Some(40)),
        ]),
        released_at: None,
        heartbeat_service: None,
    };
    let t = tick(&first, &mut st, &o, at(0));
    assert!(
        t.decisions
            .iter()
            .any(|d| d.process_type == "worker_priority"),
        "{:?}",
        t.decisions
    );
    // The same number of types, one replaced by another.
    let mut replaced = first.clone();
    let rule = replaced.workers.remove("worker_priority").unwrap();
    replaced.workers.insert(
        "worker_import".into(),
        QueueRule {
            queues: vec!["user_import".into()],
            ..rule
        },
    );
    let t = tick(&replaced, &mut st, &o, at(1));
    assert!(
        t.decisions
            .iter()
            .any(|d| d.process_type == "worker_import"),
        "{:?}",
        t.decisions
    );
    assert!(
        !t.decisions
            .iter()
            .any(|d| d.process_type == "worker_priority"),
        "{:?}",
        t.decisions
    );
    // A type made a singleton is no longer scaled.
    let mut singled = replaced.clone();
    singled.singletons.remove("beat");
    singled.singletons.insert("worker_import".into());
    let t = tick(&singled, &mut st, &o, at(2));
    assert!(
        !t.decisions
            .iter()
            .any(|d| d.process_type == "worker_import"),
        "{:?}",
        t.decisions
    );
}

#[test]
fn a_type_that_stays_when_the_policy_changes_keeps_what_was_known_of_it() {
    let mut first = workers_policy();
    first.scale_down_delay = Duration::ZERO;
    let mut st = State::default();
    let busy = Observation {
        queue_ages: BTreeMap::new(),
        formation: formation(&[("web", 1), ("worker_general", 1), ("worker_priority", 0)]),
        heartbeat: hb(100),
        queues: queues(&[
            ("default", Some(100)),
            ("bulk", Some(0)),
            ("feedback", Some(0)),
            ("bulk_priority", Some(0)),
        ]),
        released_at: None,
        heartbeat_service: None,
    };
    let t = step(&first, &mut st, &busy, at(0));
    let general = t
        .decisions
        .iter()
        .find(|d| d.process_type == "worker_general")
        .unwrap();
    assert_eq!(general.to, 5);
    let mut second = first.clone();
    let rule = second.workers.remove("worker_priority").unwrap();
    second.workers.insert(
        "worker_import".into(),
        QueueRule {
            queues: vec!["user_import".into()],
            ..rule
        },
    );
    // worker_general is still at the 5 we set: remembered across the policy
    // change as ours, it is no hand change (no freeze), and with its queues
    // empty it goes down.
    let quiet = Observation {
        queue_ages: BTreeMap::new(),
        formation: formation(&[("web", 1), ("worker_general", 5), ("worker_import", 0)]),
        queues: queues(&[
            ("default", Some(0)),
            ("bulk", Some(0)),
            ("feedback", Some(0)),
            ("user_import", Some(0)),
        ]),
        ..busy
    };
    let t = tick(&second, &mut st, &quiet, at(20));
    assert!(
        t.decisions
            .iter()
            .any(|d| d.process_type == "worker_general" && d.to < 5),
        "{:?}",
        t.report
    );
}

#[test]
fn the_daily_flap_budget_frees_up_a_day_later() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.passes_to_scale_down = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.flap_budget_per_hour = None;
    p.flap_budget_per_day = Some(2);
    p.freeze = Duration::ZERO;
    p.scale_down_delay = Duration::ZERO;
    let mut st = State::default();
    let mut web = 2;
    let mut held_at = None;
    for i in 0..10 {
        let beat = if i % 2 == 0 { hb(5000) } else { hb(10) };
        let t = step(&p, &mut st, &obs(&[("web", web)], beat), at(i * 90));
        let Some(d) = t.decisions.first() else {
            assert!(
                t.report[0].rule.contains("reversals/day"),
                "{}",
                t.report[0].rule
            );
            held_at = Some(i * 90);
            break;
        };
        web = d.to;
    }
    let held_at = held_at.expect("the day's budget holds a reversal");
    let t = step(
        &p,
        &mut st,
        &obs(&[("web", web)], hb(10)),
        at(held_at + 25 * 60),
    );
    assert_eq!(
        t.decisions.first().map(|d| d.to),
        Some(web - 1),
        "{:?}",
        t.report
    );
}

#[test]
fn a_declared_singleton_is_never_scaled_whatever_its_queue() {
    let mut p = workers_policy();
    p.singletons.insert("worker_general".into());
    let mut st = State::default();
    let o = Observation {
        queue_ages: BTreeMap::new(),
        formation: formation(&[("web", 1), ("worker_general", 1), ("worker_priority", 1)]),
        heartbeat: hb(100),
        queues: queues(&[
            ("default", Some(5000)),
            ("bulk", Some(5000)),
            ("bulk_priority", Some(5000)),
        ]),
        released_at: None,
        heartbeat_service: None,
    };
    let t = tick(&p, &mut st, &o, at(0));
    assert!(
        !t.decisions
            .iter()
            .any(|d| d.process_type == "worker_general"),
        "{:?}",
        t.decisions
    );
    assert!(
        t.decisions
            .iter()
            .any(|d| d.process_type == "worker_priority"),
        "the others still scale: {:?}",
        t.decisions
    );
}

#[test]
fn a_large_scale_difference_within_the_period_is_notified() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.increment = 4;
    s.max_dynos = Bound::Fixed(20);
    s.notify_scale_diff_threshold = Some(6);
    s.notify_scale_diff_period = Some(Duration::from_mins(30));
    let p = seed_rule(s);
    let mut st = State::default();
    let t = tick(&p, &mut st, &obs(&[("web", 1)], hb(5000)), at(0));
    assert!(
        applied(&p, &mut st, &t.decisions[0], Ok(()), at(0)).is_empty(),
        "4 <= 6"
    );
    let t = tick(&p, &mut st, &obs(&[("web", 5)], hb(5000)), at(1));
    let n = applied(&p, &mut st, &t.decisions[0], Ok(()), at(1));
    assert_eq!(
        n,
        [Notification::ScaleDiffExceeded {
            diff: 8,
            threshold: 6,
            minutes: 30
        }]
    );
}

fn any_bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        (0u32..8).prop_map(Bound::Fixed),
        proptest::collection::btree_map(0u32..24 * 60, 0u32..8, 1..5).prop_map(|m| {
            Bound::Schedule(
                m.into_iter()
                    .map(|(min, n)| {
                        (
                            chrono::NaiveTime::from_hms_opt(min / 60, min % 60, 0).unwrap(),
                            n,
                        )
                    })
                    .collect(),
            )
        }),
    ]
}

fn any_measure<T: std::fmt::Debug + Clone + 'static>(
    v: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Measure<T>> {
    prop_oneof![4 => v.prop_map(Measure::Value), 1 => Just(Measure::Unknown("error".into()))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever is observed, whenever: decisions stay within [min, max] at that
    /// instant, never touch singletons, never act on an unknown measurement
    /// except to enforce a bound, and never scale down inside the freeze.
    #[test]
    fn no_input_breaks_the_invariants(
        min in any_bound(), max in any_bound(), wmax in any_bound(), seed in any::<bool>(),
        tz in prop_oneof![Just(chrono_tz::UTC), Just(chrono_tz::Europe::London), Just(chrono_tz::America::Vancouver), Just(chrono_tz::Australia::Lord_Howe)],
        steps in proptest::collection::vec((
            -120i64..4000,                                  // clock jump in seconds (backwards too)
            any_measure(0u32..12), any_measure(0u32..12), any_measure(0u32..3),
            proptest::option::of(any_measure(0u64..3000)),  // heartbeat ms
            any_measure(0u64..500), any_measure(0u64..500),
            any::<bool>(),                                  // release now?
            any::<bool>(),                                  // call succeeds?
        ), 1..60),
    ) {
        let mut s = Settings::default();
        s.min_dynos = min;
        s.max_dynos = max;
        s.time_zone = tz;
        s.fails_to_scale_up = 2;
        s.passes_to_scale_down = 2;
        let mut p = Policy::new(s);
        p.web_policy = if seed { WebPolicy::Seed } else { WebPolicy::Capacity };
        p.workers.insert("worker_general".into(), QueueRule { queues: vec!["default".into(), "bulk".into()], jobs_per_dyno: 25, max_wait: None, min: Bound::Fixed(0), max: wmax });
        p.workers.insert("beat".into(), QueueRule { queues: vec!["default".into()], jobs_per_dyno: 1, max_wait: None, min: Bound::Fixed(0), max: Bound::Fixed(5) });
        let mut st = State::default();
        let mut now = Utc.with_ymd_and_hms(2026, 3, 28, 22, 0, 0).unwrap();
        let mut last_release: Option<DateTime<Utc>> = None;
        for (jump, web, general, beat, heartbeat, d, b, release, ok) in steps {
            now += chrono::Duration::seconds(jump);
            if release { last_release = Some(now); }
            let f = match (&web, &general, &beat) {
                (Measure::Value(w), Measure::Value(g), Measure::Value(bt)) => formation(&[("web", *w), ("worker_general", *g), ("beat", *bt)]),
                _ => Measure::Unknown("api".into()),
            };
            let o = Observation {
                queue_ages: BTreeMap::new(),
                formation: f.clone(),
                heartbeat: heartbeat.map(|h| match h { Measure::Value(ms) => Measure::Value(Duration::from_millis(ms)), Measure::Unknown(w) => Measure::Unknown(w) }),
                queues: [("default".to_string(), d.clone()), ("bulk".to_string(), b.clone())].into_iter().collect(),
                released_at: last_release,
                heartbeat_service: None,
            };
            let t = tick(&p, &mut st, &o, now);
            if matches!(f, Measure::Unknown(_)) {
                prop_assert!(t.decisions.is_empty());
                continue;
            }
            // A type outside its bounds is moved back inside them, whatever
            // else holds it: a freeze, a flap hold, a queue or heartbeat unknown.
            for (kind, current) in [("web", &web), ("worker_general", &general)] {
                let (Measure::Value(current), Some((lo, hi))) = (current, p.bounds(kind, now)) else { continue };
                if *current < lo || *current > hi {
                    prop_assert!(
                        t.decisions.iter().any(|d| d.process_type == kind && d.to >= lo && d.to <= hi),
                        "{kind} at {current} outside [{lo}, {hi}] was not moved back: {:?}", t.decisions
                    );
                }
            }
            for dec in &t.decisions {
                prop_assert!(dec.process_type != "beat", "singleton scaled: {dec:?}");
                let (lo, hi) = p.bounds(&dec.process_type, now).unwrap();
                prop_assert!(dec.to >= lo && dec.to <= hi, "{dec:?} outside [{lo}, {hi}]");
                let enforcing_bound = dec.from < lo || dec.from > hi;
                if !enforcing_bound {
                    if dec.process_type == "worker_general" {
                        prop_assert!(matches!(d, Measure::Value(_)) && matches!(b, Measure::Value(_)), "acted on an unknown queue: {dec:?}");
                    }
                    if dec.to < dec.from {
                        if let Some(r) = last_release {
                            prop_assert!(now - r >= chrono::Duration::from_std(p.freeze).unwrap() || r > now, "scale-down in the freeze: {dec:?}");
                        }
                    }
                }
                let _ = applied(&p, &mut st, dec, if ok { Ok(()) } else { Err("503".into()) }, now);
            }
        }
    }
}

// ---- Web, the capacity policy (the default) ----

fn capacity_policy(max: u32) -> Policy {
    let mut s = Settings::default();
    s.max_dynos = Bound::Fixed(max);
    let mut p = Policy::new(s);
    p.freeze = Duration::ZERO;
    p
}

fn at_secs(secs: i64) -> DateTime<Utc> {
    at(0) + chrono::Duration::seconds(secs)
}

#[test]
fn one_slow_heartbeat_moves_web_as_far_as_its_utilization_needs_not_one_increment_per_streak() {
    let p = capacity_policy(30);
    let mut st = State::default();
    // A quiet beat shows the service time (100 ms) ...
    step(&p, &mut st, &obs(&[("web", 8)], hb(100)), at_secs(0));
    // ... then the load comes: 5 s at 8 dynos is 98% busy (the clamp).
    let t = step(&p, &mut st, &obs(&[("web", 8)], hb(5000)), at_secs(30));
    assert_eq!(t.decisions.len(), 1, "{:?}", t.report);
    assert_eq!(
        t.decisions[0].to, 10,
        "ceil(8 x 0.98 / 0.85): {}",
        t.decisions[0].rule
    );
    assert!(
        t.decisions[0].rule.contains("98% busy on 8"),
        "{}",
        t.decisions[0].rule
    );
}

#[test]
fn web_reads_the_median_of_its_last_three_heartbeats_so_one_slow_beat_is_not_a_load() {
    let p = capacity_policy(30);
    let mut st = State::default();
    for (i, ms) in [200, 200, 1500].into_iter().enumerate() {
        let t = step(
            &p,
            &mut st,
            &obs(&[("web", 4)], hb(ms)),
            at_secs(30 * i64::try_from(i).unwrap()),
        );
        assert!(
            t.decisions.is_empty(),
            "beat {i} ({ms} ms): {:?}",
            t.decisions
        );
    }
    // A second slow beat makes the median slow.
    let t = step(&p, &mut st, &obs(&[("web", 4)], hb(1500)), at_secs(90));
    assert!(
        t.decisions.first().is_some_and(|d| d.to > 4),
        "{:?}",
        t.report
    );
}

#[test]
fn the_fastest_beat_stands_for_the_service_time_for_a_day_and_no_longer() {
    let p = capacity_policy(30);
    let day = 24 * 3600;
    let after = |later: i64| {
        let mut st = State::default();
        step(&p, &mut st, &obs(&[("web", 4)], hb(50)), at_secs(0));
        let t = step(&p, &mut st, &obs(&[("web", 4)], hb(400)), at_secs(later));
        t.decisions.first().map(|d| d.to)
    };
    // A day on, 400 ms against a 50 ms service time is 88% busy: one more dyno.
    assert_eq!(after(day), Some(5));
    // A moment past the day, 400 ms is all there is: the load looks light,
    // and after a day at 4 web gives a quarter back.
    assert_eq!(after(day + 1), Some(3));
    // A clock set back two days: the fast beat is from a "future" that no
    // longer holds; it is forgotten, not kept until the clock catches up.
    let mut st = State::default();
    step(&p, &mut st, &obs(&[("web", 4)], hb(50)), at_secs(0));
    let t = step(&p, &mut st, &obs(&[("web", 4)], hb(400)), at_secs(-2 * day));
    assert!(t.decisions.iter().all(|d| d.to <= 4), "{:?}", t.report);
}

/// The utilization aimed at leaves room for the service time: latency at
/// 90% of the target, and never under 1.5x the service time (a slow app
/// aims lower, so it is given more dynos for the same load).
#[test]
fn web_needing_more_than_its_max_goes_to_the_max_and_says_so_once() {
    let needs = |max: u32| {
        let p = capacity_policy(max);
        let mut st = State::default();
        step(&p, &mut st, &obs(&[("web", 8)], hb(100)), at_secs(0));
        // 98% busy on 8: 10 needed (as above).
        let t = step(&p, &mut st, &obs(&[("web", 8)], hb(5000)), at_secs(30));
        let again = step(&p, &mut st, &obs(&[("web", max)], hb(5000)), at_secs(60));
        (
            t.decisions.first().map(|d| d.to),
            t.notifications,
            again.notifications,
        )
    };
    let (to, said, again) = needs(9);
    assert_eq!(to, Some(9));
    assert_eq!(
        said,
        [Notification::NeedsExceedMax {
            process_type: "web".into(),
            needed: 10,
            max: 9
        }]
    );
    assert!(again.is_empty(), "once per episode: {again:?}");
    let (to, said, _) = needs(10);
    assert_eq!(to, Some(10));
    assert!(said.is_empty(), "exactly the max is within it: {said:?}");
}

/// Down, web keeps a margin under the utilization it aims at (hysteresis):
/// 56% busy on 8 with an aim of 85% needs 8 x 0.56 / (0.85 x 0.85) = 6.2,
/// so 7 dynos, not the 6 a quarter step would allow.
#[test]
fn web_goes_down_to_what_its_load_needs_with_a_margin() {
    let p = capacity_policy(30);
    let mut st = State::default();
    tick(&p, &mut st, &obs(&[("web", 8)], hb(100)), at_secs(0));
    let mut first = None;
    for i in 1..40 {
        let t = tick(&p, &mut st, &obs(&[("web", 8)], hb(227)), at_secs(30 * i));
        if let Some(d) = t.decisions.first() {
            first = Some(d.to);
            break;
        }
    }
    assert_eq!(first, Some(7));
}

#[test]
fn web_aims_its_utilization_at_what_its_service_time_allows() {
    let p = capacity_policy(30);
    let rule = |service_ms: u64| {
        let mut st = State::default();
        step(&p, &mut st, &obs(&[("web", 4)], hb(service_ms)), at_secs(0));
        let t = step(&p, &mut st, &obs(&[("web", 4)], hb(1000)), at_secs(30));
        t.decisions.first().map(|d| (d.to, d.rule.clone()))
    };
    // 500 ms: aim 1 - 500/900 = 44%; 50% busy on 4 needs 5.
    let (to, why) = rule(500).unwrap();
    assert_eq!(to, 5, "{why}");
    assert!(why.contains("50% busy on 4, 5 for 44%"), "{why}");
    // 650 ms: 1.5 x 650 = 975 ms is above 900: aim 1 - 650/975 = 33%.
    let (to, why) = rule(650).unwrap();
    assert_eq!(to, 5, "{why}");
    assert!(why.contains("35% busy on 4, 5 for 33%"), "{why}");
}

#[test]
fn web_goes_down_only_after_its_need_stayed_low_for_the_delay_and_a_quarter_at_a_time() {
    let p = capacity_policy(30);
    let mut st = State::default();
    let mut web = 8;
    // 110 ms against a 100 ms service time: 9% busy, one dyno would do.
    for i in 0..=20 {
        let beat = if i == 0 { hb(100) } else { hb(110) };
        let t = step(&p, &mut st, &obs(&[("web", web)], beat), at_secs(i * 30));
        if let Some(d) = t.decisions.first() {
            assert!(
                i * 30 >= 300,
                "down at {}s, before the 5-minute delay",
                i * 30
            );
            assert_eq!(
                d.to,
                web - web.div_ceil(4),
                "a quarter at a time: {}",
                d.rule
            );
            web = d.to;
        }
    }
    assert!(web < 8, "it did go down");
}

#[test]
fn without_a_heartbeat_since_the_last_change_web_holds() {
    let p = capacity_policy(30);
    let mut st = State::default();
    step(&p, &mut st, &obs(&[("web", 2)], hb(100)), at_secs(0));
    step(&p, &mut st, &obs(&[("web", 2)], hb(3000)), at_secs(30));
    let t = step(
        &p,
        &mut st,
        &obs(&[("web", 3)], Some(Measure::Unknown("timeout".into()))),
        at_secs(60),
    );
    assert!(t.decisions.is_empty(), "{:?}", t.decisions);
}

#[test]
fn a_scale_down_that_reverses_an_increase_waits_for_the_flap_budget_but_an_increase_never_does() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.passes_to_scale_down = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.freeze = Duration::ZERO;
    p.scale_down_delay = Duration::ZERO;
    let mut st = State::default();
    let mut web = 2;
    let mut go = |beat: u64, minute: i64, web: &mut u32| {
        let t = step(&p, &mut st, &obs(&[("web", *web)], hb(beat)), at(minute));
        if let Some(d) = t.decisions.first() {
            *web = d.to;
        }
        t
    };
    go(5000, 0, &mut web); // up: 3
    go(10, 1, &mut web); // down, a reversal: 2 (none in the last hour: room for it and an increase)
    go(5000, 2, &mut web); // up, a reversal: 3 (never held)
    assert_eq!(web, 3);
    let t = go(10, 3, &mut web); // down again: two reversals this hour, no room
    assert!(t.decisions.is_empty(), "{:?}", t.decisions);
    assert!(
        t.report[0].rule.contains("flap budget (2 reversals/hour)"),
        "{}",
        t.report[0].rule
    );
    go(5000, 4, &mut web);
    assert_eq!(web, 4, "an increase goes ahead whatever the budget");
    go(10, 62, &mut web);
    assert_eq!(web, 4, "the reversal of minute 2 still counts");
    go(10, 63, &mut web);
    assert_eq!(
        web, 3,
        "over an hour after the last reversal, the budget has room again"
    );
}

#[test]
fn a_worker_type_that_keeps_turning_round_waits_twice_as_long_each_time() {
    let mut p = workers_policy();
    // The doubling alone (the flap budget would hold the same downs for its hour).
    p.flap_budget_per_hour = None;
    p.flap_budget_per_day = None;
    let mut st = State::default();
    let mut o = obs(&[("worker_priority", 0)], None);
    let mut n = 0;
    let mut downs = Vec::new();
    let mut minute = 0;
    // Work arrives, is done, arrives again: each down waits for the doubled
    // delay. The fourth round comes a quiet day later: reversals over a day
    // old count no more.
    for round in 0..4 {
        if round == 3 {
            minute += 24 * 60;
        }
        o.formation = formation(&[("worker_priority", n)]);
        o.queues = queues(&[("bulk_priority", Some(20))]);
        if let Some(d) = step(&p, &mut st, &o, at(minute)).decisions.first() {
            n = d.to;
        }
        o.queues = queues(&[("bulk_priority", Some(0))]);
        let idle_from = minute;
        loop {
            minute += 1;
            o.formation = formation(&[("worker_priority", n)]);
            if let Some(d) = step(&p, &mut st, &o, at(minute)).decisions.first() {
                n = d.to;
                downs.push(minute - idle_from);
                break;
            }
            assert!(minute - idle_from < 200, "never went down");
        }
        minute += 61; // past the flap budget's hour
    }
    // Each round trip is two reversals (the fall after a rise, the rise
    // after a fall): the 5-minute delay, then x4, then x16; a tick after each.
    // A day later only that day's rise counts: x2.
    assert_eq!(downs, [6, 21, 81, 11], "waits in minutes");
}

#[test]
fn a_heartbeat_that_reports_its_own_time_shows_web_s_utilization_from_the_first_beat() {
    let p = capacity_policy(30);
    // Without the report, a first beat of 1 s is all there is to compare with: nothing to act on.
    let mut st = State::default();
    let t = step(&p, &mut st, &obs(&[("web", 4)], hb(1000)), at_secs(0));
    assert!(t.decisions.is_empty(), "{:?}", t.decisions);
    // With it (100 ms inside the dyno, 900 ms waiting): 90% busy on 4, 5 for 85%.
    let mut st = State::default();
    let mut o = obs(&[("web", 4)], hb(1000));
    o.heartbeat_service = Some(Duration::from_millis(100));
    let t = step(&p, &mut st, &o, at_secs(0));
    assert_eq!(t.decisions.len(), 1, "{:?}", t.report);
    assert_eq!(t.decisions[0].to, 5, "{}", t.decisions[0].rule);
    assert!(
        t.decisions[0].rule.contains("service 100 ms"),
        "{}",
        t.decisions[0].rule
    );
}

#[test]
fn the_reported_service_time_is_the_median_of_the_last_three_reports() {
    let p = capacity_policy(30);
    let mut st = State::default();
    let mut last = None;
    for (i, service) in [100, 100, 900].into_iter().enumerate() {
        let mut o = obs(&[("web", 4)], hb(1000));
        o.heartbeat_service = Some(Duration::from_millis(service));
        last = tick(&p, &mut st, &o, at_secs(30 * i64::try_from(i).unwrap()))
            .decisions
            .first()
            .map(|d| d.rule.clone());
    }
    let rule = last.expect("a decision");
    assert!(
        rule.contains("service 100 ms"),
        "one slow report among three is not the service time: {rule}"
    );
}

#[test]
fn a_restored_snapshot_keeps_the_flap_budget_the_freeze_and_the_streak_across_a_restart() {
    let mut s = Settings::default();
    s.fails_to_scale_up = 1;
    s.passes_to_scale_down = 1;
    s.max_dynos = Bound::Fixed(10);
    let mut p = seed_rule(s);
    p.freeze = Duration::ZERO;
    p.scale_down_delay = Duration::ZERO;
    let mut st = State::default();
    let mut web = 2;
    for (beat, minute) in [(5000, 0), (10, 1), (5000, 2)] {
        if let Some(d) = step(&p, &mut st, &obs(&[("web", web)], hb(beat)), at(minute))
            .decisions
            .first()
        {
            web = d.to;
        }
    }
    assert_eq!(web, 3, "up, down, up: two reversals this hour");
    // The worker restarts: its state comes back from what it saved.
    let saved = serde_json_round_trip(&st.snapshot());
    let mut restarted = State::default();
    assert!(restarted.restore(&p, &saved));
    let t = step(&p, &mut restarted, &obs(&[("web", 3)], hb(10)), at(3));
    assert!(
        t.decisions.is_empty(),
        "the budget is spent after the restart too: {:?}",
        t.report
    );
    let fresh = step(
        &p,
        &mut State::default(),
        &obs(&[("web", 3)], hb(10)),
        at(3),
    );
    assert_eq!(
        fresh.decisions.len(),
        1,
        "without it, the down would go ahead"
    );
}

#[test]
fn a_restored_snapshot_keeps_each_verdict_of_the_streak_and_the_fastest_beat() {
    let p = web_policy(5);
    let mut st = State::default();
    for (i, ms) in [1500, 100, 500].into_iter().enumerate() {
        tick(
            &p,
            &mut st,
            &obs(&[("web", 2)], hb(ms)),
            at(i64::try_from(i).unwrap()),
        );
    }
    assert_eq!(st.history(), [Verdict::Slow, Verdict::Fast, Verdict::Ok]);
    let mut restarted = State::default();
    assert!(restarted.restore(&p, &serde_json_round_trip(&st.snapshot())));
    assert_eq!(
        restarted.history(),
        st.history(),
        "every verdict comes back as itself"
    );
    // The fastest beat (100 ms) comes back too: the capacity policy reads the
    // same service time after the restart as before it.
    let cap = capacity_policy(30);
    let mut before = State::default();
    tick(&cap, &mut before, &obs(&[("web", 4)], hb(100)), at(0));
    let mut after = State::default();
    assert!(after.restore(&cap, &serde_json_round_trip(&before.snapshot())));
    let next = |st: &mut State| {
        tick(&cap, st, &obs(&[("web", 4)], hb(1000)), at(1))
            .decisions
            .first()
            .map(|d| (d.to, d.rule.clone()))
    };
    let (a, b) = (next(&mut before), next(&mut after));
    assert!(
        a.as_ref()
            .is_some_and(|(_, r)| r.contains("service 100 ms")),
        "{a:?}"
    );
    // (The latencies themselves are measured afresh after a restart.)
    assert!(
        b.as_ref()
            .is_some_and(|(to, r)| *to == 5 && r.contains("service 100 ms")),
        "{b:?}"
    );
}

#[test]
fn a_worker_change_leaves_webs_streak_alone() {
    let p = workers_policy(); // web by the seed's rule: three slow beats
    let mut st = State::default();
    let mut o = obs(
        &[("web", 1), ("worker_general", 1), ("worker_priority", 0)],
        hb(1500),
    );
    o.queues = queues(&[
        ("default", Some(0)),
        ("bulk", Some(0)),
        ("feedback", Some(0)),
        ("bulk_priority", Some(0)),
    ]);
    tick(&p, &mut st, &o, at(0));
    tick(&p, &mut st, &o, at(1));
    // worker_priority is scaled by hand meanwhile... and by us.
    let worker = Decision {
        process_type: "worker_priority".into(),
        from: 0,
        to: 2,
        rule: "test".into(),
    };
    applied(&p, &mut st, &worker, Ok(()), at(1));
    assert_eq!(st.history(), [Verdict::Slow, Verdict::Slow]);
    let t = tick(&p, &mut st, &o, at(2));
    assert!(
        t.decisions
            .iter()
            .any(|d| d.process_type == "web" && d.to == 2),
        "{:?}",
        t.report
    );
}

#[test]
fn the_scale_difference_counts_the_period_only_and_notifies_above_the_threshold() {
    let mut s = Settings::default();
    s.notify_scale_diff_threshold = Some(6);
    s.notify_scale_diff_period = Some(Duration::from_mins(30));
    let p = seed_rule(s);
    let mut st = State::default();
    let change = |from: u32, to: u32| Decision {
        process_type: "web".into(),
        from,
        to,
        rule: String::new(),
    };
    tick(&p, &mut st, &obs(&[("web", 1)], hb(500)), at(0));
    assert!(applied(&p, &mut st, &change(1, 5), Ok(()), at(0)).is_empty());
    // 31 minutes on, the first change is out of the period: 4 + 2 is not above 6.
    assert!(applied(&p, &mut st, &change(5, 7), Ok(()), at(31)).is_empty());
    assert!(
        applied(&p, &mut st, &change(7, 11), Ok(()), at(32)).is_empty(),
        "2 + 4 = 6: at, not above"
    );
    let n = applied(&p, &mut st, &change(11, 12), Ok(()), at(33));
    assert!(
        matches!(
            n.as_slice(),
            [Notification::ScaleDiffExceeded { diff: 7, .. }]
        ),
        "{n:?}"
    );
}

/// The worker stores the snapshot as JSON: the same round trip.
fn serde_json_round_trip(s: &Snapshot) -> Snapshot {
    let json = serde_json::to_string(s).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// A heartbeat that spends longer inside the dyno than the target (a slow
/// dependency): web is scaled by the time it waited only, no dyno is added
/// for the rest, and one notification says why.
#[test]
fn a_heartbeat_slow_inside_the_dyno_buys_no_dynos_and_says_so_once() {
    let p = capacity_policy(30);
    let mut st = State::default();
    let mut notes = Vec::new();
    for i in 0..6 {
        let mut o = obs(&[("web", 4)], hb(1500));
        // 1.4 s of the 1.5 s inside the dyno: 100 ms waiting.
        o.heartbeat_service = Some(Duration::from_millis(1400));
        let t = step(&p, &mut st, &o, at_secs(i * 30));
        assert!(
            t.decisions.iter().all(|d| d.to <= 4),
            "no dynos that cannot help: {:?}",
            t.decisions
        );
        notes.extend(t.notifications);
    }
    let slow: Vec<String> = notes
        .iter()
        .filter(|n| n.kind() == "slow_inside_dyno")
        .map(ToString::to_string)
        .collect();
    assert_eq!(slow.len(), 1, "{notes:?}");
    assert!(
        slow[0]
            .starts_with("web's heartbeat spent 1400 ms inside the dyno, over the 1000 ms target"),
        "{}",
        slow[0]
    );
}

/// The flap budget keeps room for an increase after a scale-down, but not
/// by holding a mostly idle type: after a spike, web goes down although a
/// reversal is in the hour, where keeping room would hold it at the peak.
#[test]
fn the_flap_budget_does_not_hold_a_mostly_idle_type_at_its_peak() {
    let p = capacity_policy(30);
    let mut st = State::default();
    let service = Some(Duration::from_millis(100));
    let mut web = 4;
    let tick_at = |st: &mut State, web: &mut u32, ms: u64, secs: i64| {
        let mut o = obs(&[("web", *web)], hb(ms));
        o.heartbeat_service = service;
        let t = step(&p, st, &o, at_secs(secs));
        for d in &t.decisions {
            *web = d.to;
        }
        t
    };
    // Down (4 -> fewer) on a quiet load, then a spike sends it up: a reversal.
    let mut secs = 0;
    while web == 4 && secs < 3600 {
        tick_at(&mut st, &mut web, 110, secs);
        secs += 30;
    }
    assert!(web < 4, "went down on a quiet load");
    let low = web;
    tick_at(&mut st, &mut web, 5000, secs);
    secs += 30;
    assert!(web > low, "the spike sent it up");
    let peak = web;
    // Quiet again within the hour: most of web is idle.
    let mut held_at_peak = 0;
    for _ in 0..30 {
        let t = tick_at(&mut st, &mut web, 110, secs);
        secs += 30;
        if web == peak && t.report.iter().any(|r| r.rule.contains("flap budget")) {
            held_at_peak += 1;
        }
    }
    assert!(
        web < peak,
        "back down within the hour, from {peak} to {web}"
    );
    assert_eq!(held_at_peak, 0, "never held at the peak by the budget");
}

/// A sudden overload: the time requests wait for a dyno grows by 5 s every
/// second (arrivals six times what 2 dynos serve). Web goes at once to what
/// six times the load needs and what clears the queued backlog within two
/// boot delays, read from the two beats the 2 dynos served (the first step's
/// dyno still boots), not 15% more per beat. When the daily flap budget
/// would leave no room to come down again, the dynos bought stay all day:
/// then only what the arrivals need.
#[test]
fn an_overload_is_read_from_how_fast_the_wait_grows() {
    let web_after = |flap_budget_per_day: Option<u32>| {
        let mut p = capacity_policy(40);
        p.flap_budget_per_day = flap_budget_per_day;
        let mut st = State::default();
        let service = Some(Duration::from_millis(150));
        let mut web = 2;
        let mut beat = |wait_ms: u64, secs: i64| {
            let mut o = obs(&[("web", web)], hb(150 + wait_ms));
            o.heartbeat_service = service;
            let t = step(&p, &mut st, &o, at_secs(secs));
            for d in &t.decisions {
                web = d.to;
            }
            web
        };
        // A quiet start, then waits of 2 s and 152 s, 30 s apart: growth 5/s.
        beat(10, 0);
        assert_eq!(beat(10, 30), 2);
        let after_first = beat(2_000, 60);
        (after_first, beat(152_000, 90))
    };
    // (2 dynos x 6 + 152 s x 2 dynos / 120 s) / 0.85 (the utilization
    // aimed at) = 17.1.
    let (after_first, web) = web_after(Some(12));
    assert_eq!(
        web, 18,
        "one step to what the arrivals need and the backlog's drain (was {after_first})"
    );
    assert_eq!(web_after(None).1, 18);
    // A budget of 1: after any reversal none is left. 2 x 6 / 0.85 = 14.1.
    assert_eq!(web_after(Some(1)).1, 15, "the arrivals' need only");
}

/// The age signal (Judoscale's and HireFire's "queue latency"): a type with
/// a max wait grows by how far past it the oldest waiting job of its queues
/// is, even when the count of jobs alone asks for no more; without a max
/// wait, or with no age measured, the count alone decides.
#[test]
fn a_worker_type_with_a_max_wait_grows_by_how_long_its_oldest_job_waited() {
    let policy = |max_wait: Option<Duration>| {
        let mut p = Policy::new(Settings::default());
        p.web_type = None;
        p.workers.insert(
            "worker_import".into(),
            QueueRule {
                queues: vec!["user_import".into(), "bulk".into()],
                jobs_per_dyno: 10,
                max_wait,
                min: Bound::Fixed(0),
                max: Bound::Fixed(10),
            },
        );
        p
    };
    let observe = |ages: &[(&str, u64)]| Observation {
        queue_ages: ages
            .iter()
            .map(|(q, s)| ((*q).to_string(), Duration::from_secs(*s)))
            .collect(),
        formation: formation(&[("worker_import", 2)]),
        heartbeat: None,
        // Six long imports waiting: one dyno's worth by count.
        queues: queues(&[("user_import", Some(6)), ("bulk", Some(0))]),
        released_at: None,
        heartbeat_service: None,
    };
    let decide = |p: &Policy, o: &Observation| {
        let t = tick(p, &mut State::default(), o, at(0));
        t.decisions
            .iter()
            .find(|d| d.process_type == "worker_import")
            .map(|d| (d.to, d.rule.clone()))
    };
    let minute = Some(Duration::from_mins(1));
    // The oldest of the two queues waited 150 s against 60: 2 x 2.5 = 5.
    let (to, rule) = decide(
        &policy(minute),
        &observe(&[("user_import", 150), ("bulk", 3)]),
    )
    .expect("grown by the age");
    assert_eq!(to, 5, "{rule}");
    assert!(
        rule.contains("the oldest waited 150s in user_import (max wait 60s)"),
        "{rule}"
    );
    // Just past the target: at least one more.
    let (to, _) = decide(&policy(minute), &observe(&[("user_import", 61)])).expect("one more");
    assert_eq!(to, 3);
    // Under the target, or unmeasured, or no max wait: the count (1) holds
    // the 2 dynos (a decrease waits for the scale-down delay).
    for (p, ages) in [
        (policy(minute), vec![("user_import", 59)]),
        (policy(minute), vec![]),
        (policy(None), vec![("user_import", 600)]),
    ] {
        assert_eq!(decide(&p, &observe(&ages)), None, "{ages:?}");
    }
}
