//! Invariants no input can break (property tests).

use super::*;

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
