use super::plot::{escape, short};
use super::trace::{MAX_DEPTH, MAX_MS, MAX_RPS, MAX_T};
use super::*;
use crate::{Bound, QueueRule, Settings};

/// The model these tests were written for: every decision serves at the
/// next tick, the heartbeat reports latency only, no noise.
fn instant() -> Conditions {
    Conditions {
        service_header: false,
        boot_seconds: 0.0,
        noise: None,
    }
}

fn run(
    policy: &Policy,
    which: Which,
    trace: &[Row],
    initial: &BTreeMap<String, u32>,
    consumers: Option<&BTreeMap<String, Vec<String>>>,
    sample_every: u64,
) -> (Vec<Sample>, Summary) {
    super::run(
        policy,
        which,
        trace,
        initial,
        consumers,
        &instant(),
        sample_every,
    )
}

fn policy() -> Policy {
    let s = Settings {
        max_dynos: Bound::Fixed(10),
        ..Settings::default()
    };
    let mut p = Policy::new(s);
    p.workers.insert(
        "worker_general".into(),
        QueueRule {
            queues: vec!["default".into()],
            jobs_per_dyno: 10,
            max_wait: None,
            min: Bound::Fixed(0),
            max: Bound::Fixed(5),
        },
    );
    p
}

const TRACE: &str = "t,rps,service_ms,q:default,job_ms\n0,5,100,0,1000\n3600,40,100,8,1000\n7200,5,100,0,1000\n10800,5,100,0,1000\n";

#[test]
fn each_column_has_its_own_limit_comments_and_blank_lines_count_as_lines() {
    let err = |t: &str| parse_trace("trace.csv", t).unwrap_err().to_string();
    // Exactly at each limit: accepted; past it: refused, naming the line.
    let at = format!(
        "t,rps,service_ms,job_ms,q:d\n0,{MAX_RPS},{MAX_MS},{MAX_MS},{MAX_DEPTH}\n{MAX_T},1,1,1,1\n"
    );
    assert!(parse_trace("trace.csv", &at).is_ok(), "{at}");
    assert!(err(&format!(
        "t,rps,service_ms\n0,1,1\n# a comment\n\n5,1,{}\n",
        MAX_MS * 2.0
    ))
    .starts_with("trace.csv:5: "));
    assert!(err(&format!(
        "t,rps,service_ms,job_ms\n0,1,1,{}\n5,1,1,1\n",
        MAX_MS * 2.0
    ))
    .contains("column job_ms is over the limit"));
    assert!(err(&format!(
        "t,rps,service_ms,q:d\n0,1,1,{}\n5,1,1,1\n",
        MAX_DEPTH * 2.0
    ))
    .contains("column q:d is over the limit"));
    assert!(
        err(&format!("t,rps,service_ms\n0,{},1\n5,1,1\n", MAX_RPS * 2.0))
            .contains("column rps is over the limit")
    );
    // A leading `#` is a comment; `#` elsewhere is not.
    assert!(err("t,rps,service_ms\n0,1,1\n 5#,1,1\n").starts_with("trace.csv:3: "));
    assert!(err("t,rps,service_ms,x\n0,1,1,2\n5,1,1,2\n").contains("unknown column `x`"));
    assert!(err("t,rps,service_ms\n5,1,1\n5,1,1\n").starts_with("trace.csv:3: t must increase"));
    let rows = parse_trace("trace.csv", "t,rps,service_ms,job_ms\n0,1,0,0\n5,2,20,30\n").unwrap();
    assert_eq!(
        (rows[0].service_ms, rows[0].job_ms),
        (0.001, 0.001),
        "zero is a thousandth"
    );
    assert_eq!(
        (rows[1].t, rows[1].rps, rows[1].service_ms, rows[1].job_ms),
        (5.0, 2.0, 20.0, 30.0)
    );
}

#[test]
fn an_error_names_the_file_and_its_line_or_the_file_alone() {
    let e = parse_trace("day.csv", "t,rps,service_ms\n0,x,1\n").unwrap_err();
    assert_eq!(e.to_string(), format!("day.csv:2: {}", e.message));
    let whole = parse_trace("day.csv", "t,rps,service_ms\n0,1,1\n").unwrap_err();
    assert_eq!(whole.to_string(), format!("day.csv: {}", whole.message));
}

#[test]
fn axis_labels_are_short_and_titles_are_escaped() {
    assert_eq!(short(2_500_000.0), "2.5M");
    assert_eq!(short(1e6), "1.0M");
    assert_eq!(short(12_345.0), "12k");
    assert_eq!(short(1e4), "10k");
    assert_eq!(short(950.0), "950");
    assert_eq!(short(10.0), "10");
    assert_eq!(short(9.5), "9.5");
    assert_eq!(escape("a<b> & c"), "a&lt;b&gt; &amp; c");
}

#[test]
fn the_trace_is_read_with_line_numbers_in_errors() {
    let rows = parse_trace("trace.csv", TRACE).unwrap();
    assert_eq!(rows.len(), 4);
    assert!((rows[1].queues["default"] - 8.0).abs() < f64::EPSILON);
    assert!(parse_trace("trace.csv", "t,rps\n0,1\n")
        .unwrap_err()
        .to_string()
        .contains("no `service_ms` column"));
    assert!(
        parse_trace("trace.csv", "t,rps,service_ms\n0,1,10\n5,x,10\n")
            .unwrap_err()
            .to_string()
            .starts_with("trace.csv:3:")
    );
    assert!(
        parse_trace("trace.csv", "t,rps,service_ms\n0,1e300,10\n5,1,10\n")
            .unwrap_err()
            .to_string()
            .starts_with("trace.csv:2: `1e300` in column rps is over the limit")
    );
    assert!(
        parse_trace("trace.csv", "t,rps,service_ms\n0,1,10\n1e13,1,10\n")
            .unwrap_err()
            .to_string()
            .starts_with("trace.csv:3: `1e13` in column t is over the limit")
    );
    assert!(
        parse_trace("trace.csv", "t,rps,service_ms\n5,1,10\n5,1,10\n")
            .unwrap_err()
            .to_string()
            .contains("t must increase")
    );
}

/// Long jobs (30 s each, 0.2 a second: six dynos' worth) that the count
/// alone (20 a dyno) lets pile up: with a max wait of two minutes the
/// model's oldest waiting job drives the type, which grows past what the
/// count asks and keeps jobs waiting less.
#[test]
fn a_max_wait_grows_a_worker_type_whose_few_long_jobs_wait() {
    let trace = parse_trace(
        "trace.csv",
        "t,rps,service_ms,q:user_import,job_ms\n0,5,100,0.2,30000\n7200,5,100,0.2,30000\n",
    )
    .unwrap();
    let with = |max_wait: Option<Duration>| {
        let mut p = policy();
        p.workers.clear();
        p.workers.insert(
            "worker_import".into(),
            QueueRule {
                queues: vec!["user_import".into()],
                jobs_per_dyno: 20,
                max_wait,
                min: Bound::Fixed(0),
                max: Bound::Fixed(12),
            },
        );
        let initial = BTreeMap::from([("web".to_string(), 1), ("worker_import".to_string(), 0)]);
        run(&p, Which::Slipway, &trace, &initial, None, 10)
    };
    let (count_only, by_count) = with(None);
    let (aged, by_age) = with(Some(Duration::from_mins(2)));
    let most = |samples: &[Sample]| {
        samples
            .iter()
            .map(|s| s.dynos.get("worker_import").copied().unwrap_or(0))
            .max()
            .unwrap_or(0)
    };
    assert!(
        most(&aged) > most(&count_only),
        "{} vs {}",
        most(&aged),
        most(&count_only)
    );
    assert!(
        by_age.job_hours_waiting < by_count.job_hours_waiting / 2.0,
        "{:.2} job-hours waiting with the max wait, {:.2} without",
        by_age.job_hours_waiting,
        by_count.job_hours_waiting
    );
}

#[test]
fn slipway_follows_the_load_up_and_down_and_scales_the_worker_queue() {
    let initial = BTreeMap::from([("web".to_string(), 1), ("worker_general".to_string(), 0)]);
    let (samples, summary) = run(
        &policy(),
        Which::Slipway,
        &parse_trace("trace.csv", TRACE).unwrap(),
        &initial,
        None,
        1,
    );
    assert_eq!(summary.ticks, 360, "three hours of 30 s ticks");
    let peak_web = samples.iter().map(|s| s.dynos["web"]).max().unwrap();
    assert!(
        peak_web >= 5,
        "40 rps at 10 rps per dyno needs 5+: {peak_web}"
    );
    assert!(
        samples.iter().any(|s| s.dynos["worker_general"] > 0),
        "the queue was worked"
    );
    assert!(
        samples.last().unwrap().dynos["web"] <= 2,
        "back down after the peak"
    );
    let svg = svg(&samples, 1000.0, "test");
    assert!(
        svg.starts_with("<svg") && svg.contains("polyline") && svg.trim_end().ends_with("</svg>")
    );
    let csv = timeline_csv(&samples);
    assert!(
        csv.starts_with("t,rps,latency_ms,dynos:web,dynos:worker_general,depth:default\n"),
        "{csv}"
    );
}

/// A queue only beat consumes (`-Q default -B`, one dyno, never scaled)
/// is served by it: it does not grow all day.
#[test]
fn every_consumer_of_a_queue_serves_it_scaled_or_not() {
    let trace = "t,rps,service_ms,q:default,job_ms\n0,1,100,1,1000\n36000,1,100,1,1000\n";
    let initial = BTreeMap::from([("web".to_string(), 1), ("beat".to_string(), 1)]);
    let consumers = BTreeMap::from([("beat".to_string(), vec!["default".to_string()])]);
    let mut p = policy();
    p.workers.clear();
    let (samples, summary) = run(
        &p,
        Which::Slipway,
        &parse_trace("trace.csv", trace).unwrap(),
        &initial,
        Some(&consumers),
        1,
    );
    assert!(
        summary.peak_depth < 5.0,
        "beat's one dyno keeps up with 1 job/s: peak {}",
        summary.peak_depth
    );
    assert!(samples.iter().all(|s| s.dynos["beat"] == 1), "never scaled");
    let (_, without) = run(
        &p,
        Which::Slipway,
        &parse_trace("trace.csv", trace).unwrap(),
        &initial,
        None,
        1,
    );
    assert!(
        without.peak_depth > 1000.0,
        "without its consumer the queue grows all day"
    );
}

#[test]
fn the_seed_policy_never_scales_workers() {
    let initial = BTreeMap::from([("web".to_string(), 1), ("worker_general".to_string(), 0)]);
    let (samples, summary) = run(
        &policy(),
        Which::Seed,
        &parse_trace("trace.csv", TRACE).unwrap(),
        &initial,
        None,
        1,
    );
    assert!(samples.iter().all(|s| s.dynos["worker_general"] == 0));
    assert!(samples.iter().any(|s| s.dynos["web"] > 1));
    assert!(summary.dyno_hours > 0.0);
}

#[test]
fn new_dynos_serve_only_after_the_boot_delay_and_are_billed_from_the_request() {
    // 40 req/s of 100 ms on 2 dynos: overloaded until more serve.
    let rows = parse_trace("trace.csv", "t,rps,service_ms\n0,40,100\n1800,40,100\n").unwrap();
    let initial: BTreeMap<String, u32> = [("web".to_string(), 2)].into_iter().collect();
    let over = |boot: f64| {
        let c = Conditions {
            boot_seconds: boot,
            ..Conditions::default()
        };
        super::run(&policy(), Which::Oracle, &rows, &initial, None, &c, 1).1
    };
    let (instant, slow) = (over(0.0), over(300.0));
    assert!(
        slow.minutes_over_target >= instant.minutes_over_target + 4.0,
        "five minutes of boot are five more minutes over: {instant:?} {slow:?}"
    );
    assert!(
        slow.web_dyno_hours >= instant.web_dyno_hours,
        "booting dynos are billed"
    );
}

#[test]
fn heartbeat_noise_is_the_same_for_the_same_seed_and_differs_for_another() {
    let rows = parse_trace("trace.csv", TRACE).unwrap();
    let initial: BTreeMap<String, u32> = [("web".to_string(), 1)].into_iter().collect();
    let with = |seed: u64| {
        let c = Conditions {
            noise: Some((0.5, seed)),
            ..Conditions::default()
        };
        super::run(&policy(), Which::Slipway, &rows, &initial, None, &c, 1)
    };
    assert_eq!(with(7), with(7));
    assert_ne!(with(7).0, with(8).0);
}
