//! The Platform API client against the fake API on loopback (real HTTP).

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use fake_platform_api::{FakeApi, Fault};
use platform_api::{ApiError, Client, Token, Update};
use std::time::Duration;

const TOKEN: &str = "hrku-AAAA-secret-token-1234";

fn client(api: &FakeApi, token: &str) -> Client {
    Client::new(
        api.url(),
        "refapp",
        Token::new(token),
        Duration::from_secs(2),
    )
}

#[test]
fn reads_the_formation_with_the_v3_accept_header_bearer_auth_and_a_user_agent() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 2), ("worker_general", 1)]);
    let c = client(&api, TOKEN);
    let f = c.formation().unwrap();
    assert_eq!(
        f.iter()
            .map(|e| (e.process_type.as_str(), e.quantity))
            .collect::<Vec<_>>(),
        [("web", 2), ("worker_general", 1)]
    );
    let r = &api.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/apps/refapp/formation")
    );
    assert_eq!(
        r.header("Accept"),
        Some("application/vnd.heroku+json; version=3")
    );
    assert_eq!(
        r.header("Authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(r
        .header("User-Agent")
        .unwrap()
        .starts_with("slipway-autoscale/"));
    assert_eq!(c.rate_limit_remaining(), Some(4499));
}

#[test]
fn one_batch_patch_updates_several_types_by_their_exact_names_and_nothing_is_sent_for_no_change() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1), ("worker_high_memory", 0)]);
    let c = client(&api, TOKEN);
    c.update_formation(&[
        Update {
            process_type: "web".into(),
            quantity: 3,
        },
        Update {
            process_type: "worker_high_memory".into(),
            quantity: 2,
        },
    ])
    .unwrap();
    assert_eq!(
        (api.quantity("web"), api.quantity("worker_high_memory")),
        (Some(3), Some(2))
    );
    let r = &api.requests()[0];
    assert_eq!(r.method, "PATCH");
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"updates": [{"type": "web", "quantity": 3}, {"type": "worker_high_memory", "quantity": 2}]})
    );
    c.update_formation(&[]).unwrap();
    assert_eq!(api.requests().len(), 1, "no PATCH when nothing changes");
}

#[test]
fn a_bad_token_is_a_fatal_configuration_error_that_never_shows_the_token() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1)]);
    let c = client(&api, "hrku-wrong-token-9999");
    let e = c.formation().unwrap_err();
    assert!(e.is_fatal());
    let shown = format!("{e} {e:?} {c:?}");
    assert!(shown.contains("AUTOSCALE_HEROKU_API_KEY"), "{shown}");
    assert!(
        !shown.contains("hrku-wrong-token-9999") && !shown.contains(TOKEN),
        "{shown}"
    );
    api.push_fault(Fault::Status(403, "forbidden"));
    assert!(client(&api, TOKEN).formation().unwrap_err().is_fatal());
}

#[test]
fn rate_limiting_above_limit_server_errors_and_timeouts_are_typed() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1)]);
    let c = client(&api, TOKEN);
    api.push_fault(Fault::Status(429, "rate_limit"));
    assert!(matches!(c.formation().unwrap_err(), ApiError::RateLimited));
    api.set_limit("web", 4);
    let e = c
        .update_formation(&[Update {
            process_type: "web".into(),
            quantity: 10,
        }])
        .unwrap_err();
    assert!(
        matches!(e, ApiError::AboveLimit { limit: Some(4), .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("the limit is 4"), "{e}");
    api.push_fault(Fault::Status(503, "unavailable"));
    let e = c.formation().unwrap_err();
    assert!(matches!(e, ApiError::Http { status: 503, .. }) && !e.is_fatal());
    api.push_fault(Fault::Delay(Duration::from_millis(300)));
    let impatient = Client::new(
        api.url(),
        "refapp",
        Token::new(TOKEN),
        Duration::from_millis(100),
    );
    assert!(matches!(
        impatient.formation().unwrap_err(),
        ApiError::Transport(_)
    ));
    let e = Client::new(
        api.url(),
        "no-such-app",
        Token::new(TOKEN),
        Duration::from_secs(2),
    )
    .formation()
    .unwrap_err();
    assert!(matches!(e, ApiError::NotFound) && e.is_fatal());
}

#[test]
fn the_remaining_rate_limit_is_tracked_from_every_response() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1)]);
    api.set_rate_limit_remaining(3);
    let c = client(&api, TOKEN);
    c.formation().unwrap();
    assert_eq!(c.rate_limit_remaining(), Some(2));
    c.formation().unwrap();
    assert!(matches!(c.formation().unwrap_err(), ApiError::RateLimited));
    assert_eq!(c.rate_limit_remaining(), Some(0));
}

/// On a kept-alive connection too (issue 17): a stalled answer is given up
/// on at the client's timeout, for a GET and for a PATCH.
#[test]
fn a_stall_on_a_kept_alive_connection_times_out_like_a_new_one() {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1)]);
    let c = client(&api, TOKEN);
    c.formation().unwrap(); // the connection is now pooled
    api.push_fault(Fault::Delay(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let e = c.formation().unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "GET waited {:?}: {e}",
        started.elapsed()
    );
    assert!(
        e.to_string().contains("timed out"),
        "said as what it is: {e}"
    );
    c.formation().ok(); // a fresh, pooled connection again (after the stalled one answers)
    api.push_fault(Fault::Delay(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let e = c
        .update_formation(&[Update {
            process_type: "web".into(),
            quantity: 2,
        }])
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "PATCH waited {:?}: {e}",
        started.elapsed()
    );
}
