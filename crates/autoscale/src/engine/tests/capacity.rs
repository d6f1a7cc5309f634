//! Web under the capacity policy (the default): utilization, boot, overload, slow dependencies, snapshots.

use super::*;

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
