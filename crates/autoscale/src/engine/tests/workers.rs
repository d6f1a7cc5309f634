//! Worker types sized by their queues, and the guards every type shares: the flap budget, the daily dyno-hour cap, singletons.

use super::*;

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
