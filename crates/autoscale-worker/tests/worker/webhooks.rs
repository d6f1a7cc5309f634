//! Notifications to Slack and Discord webhooks, retried a bounded number of times.

use super::*;

/// A webhook on loopback answering each POST with the next status of
/// `statuses` (the last one repeated): what it received.
fn webhook(statuses: &'static [u16]) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", server.server_addr().to_ip().unwrap());
    let received = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let r = received.clone();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let n = {
                let mut got = r.lock().unwrap();
                got.push(body);
                got.len()
            };
            let status = statuses[(n - 1).min(statuses.len() - 1)];
            let _ = req.respond(tiny_http::Response::empty(status));
        }
    });
    (hook, received)
}

/// Slow heartbeats at web's max of 1: "needs exceed max", once per episode.
fn at_the_max_with_a_webhook(hook: String) -> String {
    let api = FakeApi::start("refapp", TOKEN, &[("web", 1), ("beat", 1)]);
    let target = heartbeat_target(150);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        "web: gunicorn app.wsgi\nbeat: celery -A app beat\n",
    )
    .unwrap();
    let mut e = env(&api, &target, AMQP);
    e.insert("AUTOSCALE_MAX_DYNOS", "1".into());
    e.insert("AUTOSCALE_WEBHOOK_URL", hook);
    run_while(dir.path(), &e, false, |w| {
        w.until("the notification's line", |log| {
            log.contains("\"event\":\"notify\"")
        });
        w.until_ticks(ticks(&w.log()) + 1);
    })
    .0
}

#[test]
fn notifications_reach_slack_and_discord_webhooks_as_they_are_and_a_failed_post_is_retried() {
    // The first POST fails (a 503 from a busy webhook), the retry is taken.
    let (hook, received) = webhook(&[503, 204]);
    let log = at_the_max_with_a_webhook(hook);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one notification, tried twice: {got:?} {log}");
    assert_eq!(got[0], got[1], "the same body again");
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["app"], "refapp");
    assert_eq!(v["kind"], "needs_exceed_max");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("web needs 2 dynos but its max is 1"),
        "{v}"
    );
    // What Slack (`text`) and Discord (`content`) post as the message.
    assert_eq!(
        v["text"].as_str().unwrap(),
        format!("[autoscale] refapp: {}", v["message"].as_str().unwrap())
    );
    assert_eq!(v["content"], v["text"]);
    let line = log
        .lines()
        .find(|l| l.contains("\"event\":\"notify\""))
        .unwrap();
    assert!(
        line.contains("\"webhook\":true") && line.contains("\"webhook_attempts\":2"),
        "{line}"
    );
}

#[test]
fn a_webhook_that_keeps_failing_is_tried_a_bounded_number_of_times_and_the_failure_logged() {
    let (hook, received) = webhook(&[500]);
    let log = at_the_max_with_a_webhook(hook.clone());
    assert_eq!(
        received.lock().unwrap().len(),
        3, // tried 3 times (SPEC: AUTOSCALE_WEBHOOK_URL)
        "{log}"
    );
    let line = log
        .lines()
        .find(|l| l.contains("\"event\":\"notify\""))
        .unwrap();
    assert!(
        line.contains("\"webhook\":false")
            && line.contains("\"webhook_error\":\"HTTP 500 (gave up after 3 tries)\""),
        "{line}"
    );
    assert!(
        !log.contains(&hook),
        "the URL (a secret for Slack) is never logged: {log}"
    );
    // A refusal (4xx: a revoked Slack URL) is not retried.
    let (hook, received) = webhook(&[404]);
    let log = at_the_max_with_a_webhook(hook);
    assert_eq!(received.lock().unwrap().len(), 1, "{log}");
    assert!(log.contains("HTTP 404 (not retried"), "{log}");
}
