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
            // The io error at the bottom of the chain says it best
            // ("Connection refused (os error 111)"); ureq's layers above it
            // repeat "Network Error".
            let mut source = std::error::Error::source(t);
            while let Some(s) = source {
                if let Some(io) = s.downcast_ref::<std::io::Error>() {
                    return match io.kind() {
                        ErrorKind::TimedOut | ErrorKind::WouldBlock => "timed out".to_string(),
                        _ => io.to_string(),
                    };
                }
                source = s.source();
            }
            match t.message() {
                Some(m) => format!("{}: {m}", t.kind()),
                None => t.kind().to_string(),
            }
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
        assert!(text.starts_with("Connection refused"), "{text}");
        assert!(
            !text.contains("pw-in-url") && !text.contains("127.0.0.1"),
            "{text}"
        );
    }
}
