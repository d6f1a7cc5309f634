//! Notifications posted to `AUTOSCALE_WEBHOOK_URL`.
//!
//! The body is JSON that Slack's and Discord's incoming webhooks accept as
//! it is (both read `text`; Discord also `content`), with the structured
//! fields beside it for a program of the app's own:
//! `{"text": "[autoscale] myapp: web needs 5 dynos ...", "content": "...",
//! "app": "myapp", "kind": "needs_exceed_max", "message": "web needs ..."}`.
//!
//! Delivery is bounded: at most [`ATTEMPTS`] tries within [`BUDGET`] in
//! all, retrying only what a retry can mend (no answer, a timeout, HTTP 429
//! or 5xx); a 4xx says the URL or the body is wrong and is not retried. The
//! outcome is returned for the tick's log line; a failure never stops the
//! autoscaler.

use std::time::{Duration, Instant};

/// Tries per notification.
pub(crate) const ATTEMPTS: u32 = 3;
/// The whole delivery, every try and the pauses between them: a tick is
/// never held longer than this by a slow or broken webhook.
pub(crate) const BUDGET: Duration = Duration::from_secs(10);
/// The pause after the first failed try; doubled after each next one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// How a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// Tries made (1 when the first one was accepted).
    pub(crate) attempts: u32,
    /// Why the last try failed, without the URL; `None` when delivered.
    pub(crate) error: Option<String>,
}

impl Delivery {
    pub(crate) fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// The JSON body for one notification.
pub(crate) fn body(app: &str, kind: &str, message: &str) -> serde_json::Value {
    let text = format!("[autoscale] {app}: {message}");
    serde_json::json!({
        "text": text,
        "content": text,
        "app": app,
        "kind": kind,
        "message": message,
    })
}

/// Post `body` to `url`, retrying within the bounds above.
pub(crate) fn post(url: &str, body: &serde_json::Value) -> Delivery {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let left = BUDGET.saturating_sub(started.elapsed());
        let agent = buildkit::http::agent_config(left.min(Duration::from_secs(5)))
            .build()
            .new_agent();
        let (error, retry) = match agent.post(url).send_json(body) {
            Ok(_) => {
                return Delivery {
                    attempts,
                    error: None,
                }
            }
            Err(ureq::Error::StatusCode(code)) => {
                (format!("HTTP {code}"), code == 429 || code >= 500)
            }
            Err(e) => (buildkit::http::describe(&e), true),
        };
        let out_of_time = started.elapsed() + pause >= BUDGET;
        if !retry || attempts >= ATTEMPTS || out_of_time {
            let why = if retry {
                format!("{error} (gave up after {attempts} tries)")
            } else {
                format!("{error} (not retried: the webhook refused the request)")
            };
            return Delivery {
                attempts,
                error: Some(why),
            };
        }
        std::thread::sleep(pause);
        pause *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_slack_and_discord_text_beside_the_structured_fields() {
        let b = body(
            "myapp",
            "needs_exceed_max",
            "web needs 5 dynos but its max is 3",
        );
        assert_eq!(
            b["text"],
            "[autoscale] myapp: web needs 5 dynos but its max is 3"
        );
        assert_eq!(b["content"], b["text"]);
        assert_eq!(b["app"], "myapp");
        assert_eq!(b["kind"], "needs_exceed_max");
        assert_eq!(b["message"], "web needs 5 dynos but its max is 3");
    }
}
