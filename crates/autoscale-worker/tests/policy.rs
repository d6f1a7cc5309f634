//! How a real Celery app's worker types are scaled with nothing declared:
//! the seven-type Procfile (tests/fixtures/celery-procfile), no project.toml.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale::Bound;
use autoscale_worker::{policy_for, AppPolicy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The max of a worker type that declares none (SPEC: `worker-max`).
const DEFAULT_WORKER_MAX: u32 = 5;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/celery-procfile")
}

fn policy(dir: &Path, env: &[(&str, &str)]) -> AppPolicy {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    policy_for(dir, &|k| env.get(k).cloned()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn with_nothing_declared_every_celery_worker_type_scales_from_0_to_worker_max_from_its_own_queues()
{
    let p = policy(&fixture(), &[]);
    let owned: Vec<(String, Vec<String>, Bound, Bound)> = p
        .policy
        .workers
        .iter()
        .map(|(t, r)| (t.clone(), r.queues.clone(), r.min.clone(), r.max.clone()))
        .collect();
    let q = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    let b = |n| Bound::Fixed(n);
    assert_eq!(
        owned,
        [
            // worker_general consumes default,bulk,feedback: default and bulk have a
            // more specific consumer (worker_primary), so only feedback is its own.
            (
                "worker_general".to_string(),
                q(&["feedback"]),
                b(0),
                b(DEFAULT_WORKER_MAX)
            ),
            (
                "worker_high_memory".to_string(),
                q(&["high_memory"]),
                b(0),
                b(DEFAULT_WORKER_MAX)
            ),
            (
                "worker_import".to_string(),
                q(&["user_import"]),
                b(0),
                b(DEFAULT_WORKER_MAX)
            ),
            (
                "worker_primary".to_string(),
                q(&["default", "bulk"]),
                b(0),
                b(DEFAULT_WORKER_MAX)
            ),
            (
                "worker_priority".to_string(),
                q(&["bulk_priority"]),
                b(0),
                b(DEFAULT_WORKER_MAX)
            ),
        ]
    );
    assert!(
        p.policy.singletons.contains("beat"),
        "beat runs -B: never scaled"
    );
    assert_eq!(p.max_sources["worker_import"], "worker-max (none declared)");
}

#[test]
fn worker_max_comes_from_the_environment_or_project_toml_and_a_type_may_declare_its_own() {
    let p = policy(&fixture(), &[("AUTOSCALE_WORKER_MAX_DYNOS", "12")]);
    assert_eq!(p.policy.workers["worker_import"].max, Bound::Fixed(12));

    let app = tempfile::tempdir().unwrap();
    for f in ["Procfile", "manage.py"] {
        std::fs::copy(fixture().join(f), app.path().join(f)).unwrap();
    }
    std::fs::write(
        app.path().join("project.toml"),
        "[_.metadata.slipway.autoscale]\nworker-max = 3\n[_.metadata.slipway.autoscale.types.worker_import]\nmax = 20\n",
    )
    .unwrap();
    let p = policy(app.path(), &[]);
    assert_eq!(p.policy.workers["worker_primary"].max, Bound::Fixed(3));
    assert_eq!(p.policy.workers["worker_import"].max, Bound::Fixed(20));
    assert_eq!(
        p.max_sources["worker_import"],
        "[_.metadata.slipway.autoscale.types] max"
    );
}

#[test]
fn a_max_wait_comes_from_the_environment_or_project_toml_a_type_may_set_its_own_and_0_is_off() {
    use std::time::Duration;
    let wait = |p: &AppPolicy, t: &str| p.policy.workers[t].max_wait;
    assert_eq!(
        wait(&policy(&fixture(), &[]), "worker_import"),
        None,
        "off by default"
    );
    let p = policy(&fixture(), &[("AUTOSCALE_WORKER_MAX_WAIT_SECONDS", "90")]);
    assert_eq!(wait(&p, "worker_import"), Some(Duration::from_secs(90)));

    let app = tempfile::tempdir().unwrap();
    for f in ["Procfile", "manage.py"] {
        std::fs::copy(fixture().join(f), app.path().join(f)).unwrap();
    }
    std::fs::write(
        app.path().join("project.toml"),
        "[_.metadata.slipway.autoscale]\nmax-wait-seconds = 120\n[_.metadata.slipway.autoscale.types.worker_import]\nmax-wait-seconds = 600\n[_.metadata.slipway.autoscale.types.worker_priority]\nmax-wait-seconds = 0\n",
    )
    .unwrap();
    let p = policy(app.path(), &[]);
    assert_eq!(wait(&p, "worker_primary"), Some(Duration::from_mins(2)));
    assert_eq!(wait(&p, "worker_import"), Some(Duration::from_mins(10)));
    assert_eq!(wait(&p, "worker_priority"), None);
    // The environment is the app-wide setting; a type's own still wins.
    let p = policy(app.path(), &[("AUTOSCALE_WORKER_MAX_WAIT_SECONDS", "30")]);
    assert_eq!(wait(&p, "worker_primary"), Some(Duration::from_secs(30)));
    assert_eq!(wait(&p, "worker_import"), Some(Duration::from_mins(10)));

    let err = policy_for(&fixture(), &|k| {
        (k == "AUTOSCALE_WORKER_MAX_WAIT_SECONDS").then(|| "2m".to_string())
    })
    .err()
    .expect("not a number of seconds")
    .to_string();
    assert!(
        err.contains("AUTOSCALE_WORKER_MAX_WAIT_SECONDS=2m") && err.contains("whole seconds"),
        "{err}"
    );
}

#[test]
fn a_catch_all_type_whose_every_queue_has_a_more_specific_consumer_is_not_scaled() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("Procfile"),
        "worker_all: celery -A x worker -Q a,b\nworker_a: celery -A x worker -Q a\nworker_b: celery -A x worker -Q b\n",
    )
    .unwrap();
    let p = policy(app.path(), &[]);
    assert!(!p.policy.workers.contains_key("worker_all"));
    assert!(
        p.policy.singletons.contains("worker_all"),
        "it keeps its quantity"
    );
    assert_eq!(p.policy.workers["worker_a"].queues, ["a"]);
    // Declared queues are the type's own, whatever the others consume.
    std::fs::write(
        app.path().join("project.toml"),
        "[_.metadata.slipway.autoscale.types.worker_all]\nqueues = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let p = policy(app.path(), &[]);
    assert_eq!(p.policy.workers["worker_all"].queues, ["a", "b"]);
}

#[test]
fn web_is_scaled_by_capacity_unless_the_seeds_streaks_are_asked_for_and_a_typo_is_refused() {
    use autoscale::WebPolicy;
    let dir = fixture();
    assert_eq!(policy(&dir, &[]).policy.web_policy, WebPolicy::Capacity);
    assert_eq!(
        policy(&dir, &[("AUTOSCALE_WEB_POLICY", "seed")])
            .policy
            .web_policy,
        WebPolicy::Seed
    );
    let e = policy_for(&dir, &|k| {
        (k == "AUTOSCALE_WEB_POLICY").then(|| "sed".to_string())
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("AUTOSCALE_WEB_POLICY") && e.contains("\"seed\""),
        "{e}"
    );
}

#[test]
fn with_nothing_declared_a_50000_job_burst_and_every_other_queue_drain_in_the_simulation() {
    use autoscale::simulate::{self, Which};
    let app = policy(&fixture(), &[("AUTOSCALE_MAX_DYNOS", "4")]);
    // Five minutes of 50,000 jobs (166.7 a second) into `bulk`, a trickle on
    // every other queue, then four hours of the trickle alone.
    let mut text = String::from("t,rps,service_ms,job_ms,q:default,q:bulk,q:bulk_priority,q:user_import,q:high_memory,q:feedback\n");
    text.push_str("0,5,150,200,0.5,166.67,0.2,0.1,0.05,0.3\n");
    for row in 1..=48 {
        text.push_str(&format!("{},5,150,200,0.5,0,0.2,0.1,0.05,0.3\n", row * 300));
    }
    let rows = simulate::parse_trace("trace.csv", &text).unwrap();
    let (samples, summary) = simulate::run(
        &app.policy,
        Which::Slipway,
        &rows,
        &app.initial,
        Some(&app.consumers),
        &simulate::Conditions::default(),
        10,
    );
    assert!(
        summary.peak_depth > 20_000.0,
        "the burst queued: {summary:?}"
    );
    let last = samples.last().unwrap();
    for (queue, depth) in &last.depths {
        assert!(
            *depth < 5.0,
            "{queue} still holds {depth:.0} jobs: {summary:?}"
        );
    }
    let bulk_drained_at = samples
        .iter()
        .find(|s| s.t > 300.0 && s.depths["bulk"] < 1.0)
        .map(|s| s.t)
        .expect("bulk drained");
    assert!(
        bulk_drained_at < 2.0 * 3600.0,
        "drained after {bulk_drained_at}s: {summary:?}"
    );
}
