//! HTTP failures as a user can act on them. ureq's own `kind()` says
//! "Network Error" for a timeout, a refused connection and a reset alike,
//! and its `Display` starts with the URL (which may carry credentials):
//! neither is what a log line should say.

use std::io::ErrorKind;

/// What went wrong with a request, without its URL: `HTTP 503`, `timed
/// out`, or the transport's kind, message and cause
/// (`Connection Failed: Connect error: Connection refused (os error 111)`).
pub fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, _) => format!("HTTP {code}"),
        ureq::Error::Transport(t) => {
            let source = std::error::Error::source(t);
            let io = source.and_then(|s| s.downcast_ref::<std::io::Error>());
            if io.is_some_and(|io| matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock))
            {
                return "timed out".to_string();
            }
            let mut text = t.kind().to_string();
            for part in t
                .message()
                .into_iter()
                .map(str::to_string)
                .chain(source.map(ToString::to_string))
            {
                if !text.contains(&part) {
                    text.push_str(": ");
                    text.push_str(&part);
                }
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_silent_server_is_a_timeout_a_closed_port_is_refused_and_no_url_is_shown() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_millis(300))
            .build();
        let e = agent
            .get(&format!("http://user:pw-in-url@127.0.0.1:{port}/x"))
            .call()
            .unwrap_err();
        assert_eq!(describe(&e), "timed out");
        drop(silent);
        let e = agent
            .get(&format!("http://user:pw-in-url@127.0.0.1:{port}/x"))
            .call()
            .unwrap_err();
        let text = describe(&e);
        assert!(text.contains("refused"), "{text}");
        assert!(
            !text.contains("pw-in-url") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }
}
