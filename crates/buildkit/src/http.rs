//! HTTP failures as a user can act on them: `HTTP 503`, `timed out`,
//! `Connection refused (os error 111)`. Never the URL, which may carry
//! credentials (ureq's own messages for a bad URI or a refused plain-HTTP
//! URL quote it).

use std::io::ErrorKind;

/// What went wrong with a request, without its URL.
pub fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => "timed out".to_string(),
            _ => io.to_string(),
        },
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::BadUri(_) => "not a valid URL".to_string(),
        ureq::Error::RequireHttpsOnly(_) => "the URL is not https".to_string(),
        ureq::Error::ConnectProxyFailed(_) => "the proxy refused the connection".to_string(),
        other => other.to_string(),
    }
}

/// The configuration of an agent whose every request ends within `timeout`
/// as a whole (resolving, connecting, sending, waiting for the answer and
/// reading its body, also on a kept-alive connection): a server that stalls
/// or trickles its answer cannot hold a caller past it. A 4xx/5xx answer is
/// `Error::StatusCode` unless the caller turns `http_status_as_error` off
/// (to read those bodies). `.build().new_agent()` makes the agent.
pub fn agent_config(
    timeout: std::time::Duration,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_silent_server_is_a_timeout_a_closed_port_is_refused_and_no_url_is_shown() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let agent = agent_config(Duration::from_millis(300)).build().new_agent();
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
        let e = agent
            .get("http://user:pw-in-url@[bad/x")
            .call()
            .unwrap_err();
        let text = describe(&e);
        assert!(
            text.contains("invalid") && !text.contains("pw-in-url"),
            "{text}"
        );
    }
}
