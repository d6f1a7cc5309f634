//! A fake Heroku Platform API for tests: real HTTP on 127.0.0.1, the two
//! formation endpoints, the checks the real one makes (406 without the v3
//! Accept header, 401 without the right Bearer token, 422 for bad updates
//! and `cannot_run_above_limit`), `RateLimit-Remaining` on every response,
//! every request recorded, and faults injected on demand.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tiny_http::{Header, Method, Response, Server};

pub(crate) const ACCEPT: &str = "application/vnd.heroku+json; version=3";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A fault for the next request(s).
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and error id.
    Status(u16, &'static str),
    /// Wait this long before answering (a client timeout shorter than it fails).
    Delay(Duration),
}

#[derive(Default)]
struct Inner {
    formation: BTreeMap<String, (u32, String)>,
    limits: BTreeMap<String, u32>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    remaining: u32,
}

pub struct FakeApi {
    url: String,
    inner: Arc<Mutex<Inner>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

fn json(
    status: u16,
    body: &serde_json::Value,
    remaining: u32,
) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").expect("header"))
        .with_header(
            Header::from_bytes("RateLimit-Remaining", remaining.to_string()).expect("header"),
        )
}

fn error(
    status: u16,
    id: &str,
    message: &str,
    remaining: u32,
) -> Response<std::io::Cursor<Vec<u8>>> {
    json(
        status,
        &serde_json::json!({"id": id, "message": message, "url": "https://devcenter.heroku.com/articles/platform-api-reference"}),
        remaining,
    )
}

impl FakeApi {
    /// Serve app `app` with `formation` (type -> quantity; size standard-1x), accepting `token`.
    pub fn start(app: &str, token: &str, formation: &[(&str, u32)]) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind the fake Platform API"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let inner = Arc::new(Mutex::new(Inner {
            formation: formation
                .iter()
                .map(|(t, q)| ((*t).to_string(), (*q, "standard-1x".to_string())))
                .collect(),
            remaining: 4500,
            ..Inner::default()
        }));
        let (srv, state, app, token) = (
            server.clone(),
            inner.clone(),
            app.to_string(),
            token.to_string(),
        );
        let thread = std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect();
                let fault = state.lock().expect("lock").faults.pop_front();
                if let Some(Fault::Delay(d)) = &fault {
                    std::thread::sleep(*d);
                }
                let (status, response) = answer(
                    &state,
                    &app,
                    &token,
                    req.method(),
                    req.url(),
                    &headers,
                    &body,
                    fault.as_ref(),
                );
                state.lock().expect("lock").requests.push(Recorded {
                    method: req.method().to_string(),
                    path: req.url().to_string(),
                    headers,
                    body,
                    status,
                });
                let _ = req.respond(response);
            }
        });
        Self {
            url,
            inner,
            server,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("lock").requests.clone()
    }

    pub fn quantity(&self, process_type: &str) -> Option<u32> {
        self.inner
            .lock()
            .expect("lock")
            .formation
            .get(process_type)
            .map(|(q, _)| *q)
    }

    /// Change a quantity behind the client's back (a manual `heroku ps:scale`).
    pub fn set_quantity(&self, process_type: &str, quantity: u32) {
        self.inner
            .lock()
            .expect("lock")
            .formation
            .entry(process_type.into())
            .or_insert((0, "standard-1x".into()))
            .0 = quantity;
    }

    /// The account may run at most `limit` dynos of this type (422 cannot_run_above_limit above it).
    pub fn set_limit(&self, process_type: &str, limit: u32) {
        self.inner
            .lock()
            .expect("lock")
            .limits
            .insert(process_type.into(), limit);
    }

    pub fn set_rate_limit_remaining(&self, remaining: u32) {
        self.inner.lock().expect("lock").remaining = remaining;
    }

    pub fn push_fault(&self, fault: Fault) {
        self.inner.lock().expect("lock").faults.push_back(fault);
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn answer(
    state: &Mutex<Inner>,
    app: &str,
    token: &str,
    method: &Method,
    url: &str,
    headers: &[(String, String)],
    body: &str,
    fault: Option<&Fault>,
) -> (u16, Response<std::io::Cursor<Vec<u8>>>) {
    let mut s = state.lock().expect("lock");
    s.remaining = s.remaining.saturating_sub(1);
    let remaining = s.remaining;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some(Fault::Status(status, id)) = fault {
        let (status, id) = (*status, *id);
        return (
            status,
            error(status, id, &format!("injected {status} {id}"), remaining),
        );
    }
    if remaining == 0 {
        return (
            429,
            error(
                429,
                "rate_limit",
                "Your account reached the API rate limit",
                0,
            ),
        );
    }
    if header("Accept") != Some(ACCEPT) {
        return (
            406,
            error(
                406,
                "not_acceptable",
                "Accept header must be application/vnd.heroku+json; version=3",
                remaining,
            ),
        );
    }
    if header("Authorization") != Some(&format!("Bearer {token}")) {
        return (
            401,
            error(
                401,
                "unauthorized",
                "Invalid credentials provided.",
                remaining,
            ),
        );
    }
    if url != format!("/apps/{app}/formation") {
        return (
            404,
            error(404, "not_found", "Couldn't find that app.", remaining),
        );
    }
    let listing = |s: &Inner| {
        serde_json::Value::Array(
            s.formation
                .iter()
                .map(|(t, (q, size))| serde_json::json!({"type": t, "quantity": q, "size": size, "app": {"name": app}}))
                .collect(),
        )
    };
    match method {
        Method::Get => (200, json(200, &listing(&s), remaining)),
        Method::Patch => {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
                return (400, error(400, "bad_request", "Invalid JSON", remaining));
            };
            let Some(updates) = v["updates"].as_array() else {
                return (
                    422,
                    error(422, "invalid_params", "updates is required", remaining),
                );
            };
            let mut parsed = Vec::new();
            for u in updates {
                let (Some(t), Some(q)) = (u["type"].as_str(), u["quantity"].as_u64()) else {
                    return (
                        422,
                        error(
                            422,
                            "invalid_params",
                            "each update needs type and quantity",
                            remaining,
                        ),
                    );
                };
                if !s.formation.contains_key(t) {
                    return (
                        404,
                        error(
                            404,
                            "not_found",
                            &format!("Couldn't find that formation: {t}"),
                            remaining,
                        ),
                    );
                }
                let q = u32::try_from(q).unwrap_or(u32::MAX);
                if let Some(limit) = s.limits.get(t).copied().filter(|l| q > *l) {
                    let body = serde_json::json!({"id": "cannot_run_above_limit", "message": format!("Cannot run more than {limit} {t} dynos."), "limit": limit});
                    return (422, json(422, &body, remaining));
                }
                parsed.push((t.to_string(), q));
            }
            for (t, q) in parsed {
                if let Some(entry) = s.formation.get_mut(&t) {
                    entry.0 = q;
                }
            }
            (200, json(200, &listing(&s), remaining))
        }
        _ => (
            405,
            error(405, "method_not_allowed", "Method not allowed", remaining),
        ),
    }
}
