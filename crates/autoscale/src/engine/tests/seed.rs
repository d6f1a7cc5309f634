//! django-heroku-autoscale's rule for web (the seed): streaks, bounds, notifications, freezes and schedules.

use super::*;

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
