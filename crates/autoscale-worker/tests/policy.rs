//! How a real Celery app's worker types are scaled with nothing declared:
//! the seven-type Procfile (tests/fixtures/celery-procfile), no project.toml.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale::Bound;
use autoscale_worker::{policy_for, AppPolicy, DEFAULT_WORKER_MAX};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
