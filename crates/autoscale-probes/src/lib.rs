//! What the autoscaler measures. Every probe answers a [`Measure`]: a value,
//! or unknown with the reason. A failure is never "zero" and never "slow".

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

use autoscale::Measure;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod amqp;
mod error;
pub use error::ProbeError;

/// The heartbeat URL: absolute, or the seed's path joined to the app's URL.
pub fn heartbeat_url(setting: &str, app_url: Option<&str>) -> Result<String, ProbeError> {
    if setting.starts_with("http://") || setting.starts_with("https://") {
        return Ok(setting.to_string());
    }
    let base = app_url.ok_or_else(|| {
        ProbeError::Config(format!("AUTOSCALE_HEARTBEAT_URL is the path {setting:?}, but the app's URL is unknown: set AUTOSCALE_APP_URL (e.g. https://myapp.herokuapp.com) or give an absolute AUTOSCALE_HEARTBEAT_URL"))
    })?;
    Ok(format!(
        "{}/{}",
        base.trim_end_matches('/'),
        setting.trim_start_matches('/')
    ))
}

/// A heartbeat's latency, and the time it reported spending inside the dyno
/// (`X-Slipway-Service-Ms`, sent by the `heroku_autoscale` app
/// slipway/release-phase ships; absent from other endpoints).
pub struct Heartbeat {
    pub latency: Measure<Duration>,
    pub service: Option<Duration>,
}

/// GET the heartbeat; the latency is measured on the monotonic clock. A
/// timeout, a refused connection or a non-2xx answer is unknown (the seed
/// counted them as slow and scaled to max on a wrong URL).
pub fn heartbeat(agent: &ureq::Agent, url: &str) -> Heartbeat {
    let started = Instant::now();
    match agent.get(url).call() {
        // Read the body: the response is complete only then. A body that
        // does not arrive within the timeout is unknown, never "slow" (issue 17).
        Ok(mut r) => {
            let service = r
                .headers()
                .get("X-Slipway-Service-Ms")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok());
            let latency = match r.body_mut().read_to_vec() {
                Ok(_) => Measure::Value(started.elapsed()),
                Err(e) => Measure::Unknown(format!(
                    "the heartbeat's body did not arrive: {}",
                    buildkit::http::describe(&e)
                )),
            };
            Heartbeat { latency, service }
        }
        Err(ureq::Error::StatusCode(code)) => Heartbeat {
            latency: Measure::Unknown(format!("HTTP {code} from the heartbeat")),
            service: None,
        },
        Err(e) => Heartbeat {
            latency: Measure::Unknown(format!("the heartbeat: {}", buildkit::http::describe(&e))),
            service: None,
        },
    }
}

/// An agent whose timeout bounds a heartbeat (a timeout is unknown, not slow).
pub fn heartbeat_agent(timeout: Duration) -> ureq::Agent {
    buildkit::http::agent_config(timeout)
        .user_agent(concat!("slipway-autoscale/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// A RabbitMQ connection kept across ticks (an AMQP handshake per tick would
/// cost more than everything else the worker does); reopened after a failure.
pub struct RabbitProbe {
    url: String,
    conn: Option<amqp::Amqp>,
    /// `amqps://`: verify the broker's certificate (CloudAMQP's verify; a
    /// self-signed one needs `AUTOSCALE_AMQP_VERIFY_TLS=false`).
    verify_tls: bool,
}

impl RabbitProbe {
    /// `verify_tls`: for `amqps://`, verify the broker's certificate.
    pub fn new(amqp_url: &str, verify_tls: bool) -> Self {
        Self {
            url: amqp_url.to_string(),
            conn: None,
            verify_tls,
        }
    }

    /// Ready messages per queue, by AMQP passive declare (which counts Ready
    /// messages only: unacked ones, held by busy workers, are not in it).
    /// A missing queue or an unreachable broker is unknown.
    pub fn depths(&mut self, queues: &[String]) -> Vec<(String, Measure<u64>)> {
        let all_unknown = |why: &str| {
            queues
                .iter()
                .map(|q| (q.clone(), Measure::Unknown(why.to_string())))
                .collect()
        };
        if self.conn.is_none() {
            match amqp_target(&self.url, self.verify_tls).and_then(|t| amqp::Amqp::connect(&t)) {
                Ok(c) => self.conn = Some(c),
                Err(e) => {
                    return all_unknown(&format!(
                        "RabbitMQ unreachable: {}",
                        redact_url_error(&e.to_string(), &self.url)
                    ))
                }
            }
        }
        let conn = self.conn.as_mut().expect("connected");
        match conn.depths(queues) {
            Ok(answers) => queues
                .iter()
                .zip(answers)
                .map(|(q, a)| {
                    (
                        q.clone(),
                        match a {
                            Ok(n) => Measure::Value(n),
                            Err(why) => Measure::Unknown(why),
                        },
                    )
                })
                .collect(),
            Err(e) => {
                self.conn = None;
                all_unknown(&format!(
                    "RabbitMQ: {}",
                    redact_url_error(&e.to_string(), &self.url)
                ))
            }
        }
    }
}

/// Where and as whom to connect, from an `amqp://user:pass@host:port/vhost` URL.
fn amqp_target(amqp_url: &str, verify_tls: bool) -> Result<amqp::Target, ProbeError> {
    let url = url::Url::parse(amqp_url)
        .map_err(|e| ProbeError::Config(format!("not an AMQP URL: {e}")))?;
    let tls = match url.scheme() {
        "amqp" | "pyamqp" => None,
        "amqps" => Some(verify_tls),
        other => {
            return Err(ProbeError::Config(format!(
                "unsupported broker URL scheme {other}://; use amqp:// or amqps://"
            )))
        }
    };
    let decode = |s: &str| percent_decode(s);
    Ok(amqp::Target {
        host: url.host_str().unwrap_or("localhost").to_string(),
        port: url
            .port()
            .unwrap_or(if tls.is_some() { 5671 } else { 5672 }),
        tls,
        username: if url.username().is_empty() {
            "guest".to_string()
        } else {
            decode(url.username())
        },
        password: url.password().map_or_else(|| "guest".to_string(), decode),
        vhost: amqp_vhost(amqp_url),
    })
}

/// Messages per queue from RabbitMQ's management API (HTTP): Ready *plus*
/// Unacked, i.e. the jobs waiting and the jobs workers hold. With a prefetch
/// or late acks, busy workers hold messages that a passive declare never
/// counts; scaling on Ready alone would take their dynos away mid-job.
/// One GET per tick for every queue. The API refreshes its counts every 5 s
/// (RabbitMQ's `collect_statistics_interval`).
pub struct RabbitManagement {
    agent: ureq::Agent,
    /// `{base}/api/queues/{vhost}?columns=...`, without credentials.
    url: String,
    authorization: Option<String>,
}

impl RabbitManagement {
    /// `api_url`: the management base URL with credentials
    /// (`https://user:pass@host` on CloudAMQP, `http://guest:guest@127.0.0.1:15672`
    /// locally); `vhost`: the broker URL's virtual host.
    pub fn new(api_url: &str, vhost: &str) -> Result<Self, ProbeError> {
        use base64::Engine as _;
        let mut url = url::Url::parse(api_url).map_err(|e| {
            ProbeError::Config(format!("AUTOSCALE_RABBITMQ_MANAGEMENT_URL is not a URL ({e}): give the management API's base, e.g. https://user:password@host"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProbeError::Config(format!(
                "AUTOSCALE_RABBITMQ_MANAGEMENT_URL must be http:// or https://, not {}://",
                url.scheme()
            )));
        }
        let decode = |s: &str| percent_decode(s);
        let authorization = (!url.username().is_empty()).then(|| {
            let user = decode(url.username());
            let password = url.password().map(decode).unwrap_or_default();
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let base = url.as_str().trim_end_matches('/').to_string();
        let base = base.strip_suffix("/api").unwrap_or(&base).to_string();
        let vhost: String = url::form_urlencoded::byte_serialize(vhost.as_bytes()).collect();
        Ok(Self {
            // One deadline for the whole request, also on a kept-alive
            // connection from the pool (a stalled answer waited 65 s in
            // tests/faults.rs, until the server's idle timeout, before
            // requests had one).
            agent: buildkit::http::agent_config(Duration::from_secs(5))
                .user_agent(concat!("slipway-autoscale/", env!("CARGO_PKG_VERSION")))
                .build()
                .new_agent(),
            url: format!(
                "{base}/api/queues/{vhost}?columns=name,messages_ready,messages_unacknowledged"
            ),
            authorization,
        })
    }

    pub fn depths(&self, queues: &[String]) -> Vec<(String, Measure<u64>)> {
        #[derive(serde::Deserialize)]
        struct Row {
            name: String,
            messages_ready: Option<u64>,
            messages_unacknowledged: Option<u64>,
        }
        let mut request = self.agent.get(&self.url);
        if let Some(a) = &self.authorization {
            request = request.header("Authorization", a);
        }
        let rows: Result<Vec<Row>, String> = match request.call() {
            Ok(mut r) => r.body_mut().read_json().map_err(|e| {
                format!(
                    "RabbitMQ management API: unreadable answer ({})",
                    buildkit::http::describe(&e)
                )
            }),
            Err(ureq::Error::StatusCode(401)) => Err(
                "RabbitMQ management API: 401, the credentials in AUTOSCALE_RABBITMQ_MANAGEMENT_URL were refused (the user needs the `monitoring` tag)".into(),
            ),
            Err(ureq::Error::StatusCode(code)) => {
                Err(format!("RabbitMQ management API: HTTP {code}"))
            }
            Err(e) => Err(format!(
                "RabbitMQ management API unreachable: {}",
                buildkit::http::describe(&e)
            )),
        };
        queues
            .iter()
            .map(|q| {
                let m = match &rows {
                    Err(why) => Measure::Unknown(why.clone()),
                    Ok(rows) => match rows.iter().find(|r| &r.name == q) {
                        None => Measure::Unknown(format!("queue {q} does not exist on the broker")),
                        Some(Row {
                            messages_ready: Some(r),
                            messages_unacknowledged: Some(u),
                            ..
                        }) => Measure::Value(r + u),
                        Some(_) => Measure::Unknown(format!(
                            "queue {q} has no statistics yet (the management API publishes them every few seconds)"
                        )),
                    },
                };
                (q.clone(), m)
            })
            .collect()
    }
}

/// The virtual host named by an AMQP URL (`/` when the path is empty).
pub fn amqp_vhost(amqp_url: &str) -> String {
    let Ok(url) = url::Url::parse(amqp_url) else {
        return "/".into();
    };
    match url.path().strip_prefix('/') {
        None | Some("") => "/".to_string(),
        Some(v) => percent_decode(v),
    }
}

/// A URL's user, password or path segment as it was meant: `%XX` decoded,
/// and `+` kept (it is a space only in form data, never in a URL's userinfo
/// or path: a password with `+` was read with a space, issue 14).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A Redis connection kept across ticks; every `LLEN` of a tick in one
/// script, so one reply; reopened after a failure.
pub struct RedisProbe {
    url: String,
    conn: Option<redis::Connection>,
}

impl RedisProbe {
    /// `redis://` or `rediss://` (TLS), used as given: a `#insecure`
    /// fragment connects without verifying the certificate (the worker adds
    /// it for Heroku's self-signed Key-Value Store unless
    /// `AUTOSCALE_REDIS_VERIFY_TLS=true`).
    pub fn new(redis_url: &str) -> Self {
        Self {
            url: redis_url.to_string(),
            conn: None,
        }
    }

    /// Waiting messages per queue, as Celery's Redis transport stores them:
    /// a list named after the queue, plus one list per priority step
    /// (`name\x06\x163`, `\x166`, `\x169`). An unreachable server is unknown.
    pub fn depths(&mut self, queues: &[String]) -> Vec<(String, Measure<u64>)> {
        self.read(queues, None).0
    }

    /// The depths, and per queue whose oldest waiting job carries the
    /// publish time the shipped `heroku_autoscale` app stamps on every Celery
    /// task (`slipway_published_at` header), how long that job has waited at `now`.
    #[allow(clippy::type_complexity)]
    pub fn depths_and_ages(
        &mut self,
        queues: &[String],
        now: SystemTime,
    ) -> (Vec<(String, Measure<u64>)>, Vec<(String, Duration)>) {
        self.read(queues, Some(now))
    }

    /// The depths, and the ages at `now` when asked for (the broker reads
    /// each list's last job only then).
    #[allow(clippy::type_complexity)]
    fn read(
        &mut self,
        queues: &[String],
        ages_at: Option<SystemTime>,
    ) -> (Vec<(String, Measure<u64>)>, Vec<(String, Duration)>) {
        const SUFFIXES: [&str; 4] = ["", "\x06\x163", "\x06\x166", "\x06\x169"];
        let all_unknown = |why: String| {
            (
                queues
                    .iter()
                    .map(|q| (q.clone(), Measure::Unknown(why.clone())))
                    .collect(),
                Vec::new(),
            )
        };
        if self.conn.is_none() {
            let conn = redis::Client::open(self.url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(3)));
            match conn {
                Ok(c) => {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
                    let _ = c.set_write_timeout(Some(Duration::from_secs(3)));
                    self.conn = Some(c);
                }
                Err(e) => {
                    return all_unknown(format!(
                        "Redis unreachable: {}",
                        redact_url_error(&e.to_string(), &self.url)
                    ))
                }
            }
        }
        // One script, one reply: the read timeout bounds the whole tick.
        // A pipeline is one reply per command, and redis-rs reads on after a
        // timed-out reply, so a stalled server held a tick 3 s per list
        // (12 s for one queue, 72 s for the reference app's six).
        let mut invocation = LLENS.prepare_invoke();
        for q in queues {
            for suffix in SUFFIXES {
                invocation.key(format!("{q}{suffix}"));
            }
            invocation.arg(q);
        }
        invocation.arg(if ages_at.is_some() { "1" } else { "0" });
        invocation.key(UNACKED_KEY);
        let conn = self.conn.as_mut().expect("connected");
        match invocation.invoke::<Vec<u64>>(conn) {
            Ok(counts) => {
                let (lengths, rest) = counts.split_at(queues.len() * SUFFIXES.len());
                let (reserved, oldest_ms) = rest.split_at(queues.len());
                let depths = queues
                    .iter()
                    .zip(lengths.chunks(SUFFIXES.len()))
                    .zip(reserved)
                    .map(|((q, n), r)| (q.clone(), Measure::Value(n.iter().sum::<u64>() + r)))
                    .collect();
                // 0: no stamped job waiting. A stamp ahead of this clock
                // (another dyno's) is a job that has just arrived.
                let ages = ages_at.map_or_else(Vec::new, |now| {
                    queues
                        .iter()
                        .zip(oldest_ms)
                        .filter(|(_, ms)| **ms > 0)
                        .map(|(q, ms)| {
                            let published = UNIX_EPOCH + Duration::from_millis(*ms);
                            (q.clone(), now.duration_since(published).unwrap_or_default())
                        })
                        .collect()
                });
                (depths, ages)
            }
            Err(e) => {
                self.conn = None;
                // A read timeout reads "Resource temporarily unavailable" (EAGAIN).
                let what = if e.is_timeout() {
                    "timed out (no answer in 3s)".to_string()
                } else {
                    redact_url_error(&e.to_string(), &self.url)
                };
                all_unknown(format!("Redis: {what}"))
            }
        }
    }
}

/// kombu's hash of the messages its consumers hold unacknowledged (the
/// Redis transport's `Channel.unacked_key`, default `unacked`;
/// `QoS.append` sets `<delivery tag> -> [message, exchange, routing key]`
/// in kombu 5.7's `kombu/transport/redis.py`). A Celery worker takes its
/// prefetch from the list into it: jobs reserved but not started, which
/// RabbitMQ counts as Unacked. Counting them with the lists keeps busy
/// workers from being scaled away while their queue's list looks empty.
const UNACKED_KEY: &str = "unacked";

// `slipway_published_at`: the header the shipped `heroku_autoscale` app adds
// to every Celery task it publishes (Celery's `before_task_publish` signal): the publish time,
// seconds since the epoch. kombu's Redis transport pushes a message's JSON
// (headers included) on the left of its list and workers pop on the right
// (`_put`'s `lpush`, `_brpop_start`'s `BRPOP`, `_get`'s `rpop` in kombu
// 5.7's `kombu/transport/redis.py`): a list's oldest job is its last.

/// Every list's `LLEN` (the keys but the last, four per queue), in order,
/// then per queue (`ARGV` but the last, in order) the jobs in the
/// unacknowledged hash (the last key) whose routing key is that queue, then
/// per queue the earliest `slipway_published_at` header of its lists' last jobs in
/// milliseconds (0: none stamped, or not asked for: the last `ARGV` is `1`
/// to read them): one reply. The stamp is found in the job's raw JSON (its
/// headers are plain JSON; kombu's Redis transport base64-encodes the body),
/// not by decoding it: a large job costs the broker a scan, not a parse.
static LLENS: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(LLENS_LUA));

const LLENS_LUA: &str = r#"
local nq = #ARGV - 1
local ages = ARGV[#ARGV] == '1'
local lists = #KEYS - 1
local n = {}
for i = 1, lists do n[i] = redis.call('LLEN', KEYS[i]) end
local at = {}
for i = 1, nq do at[ARGV[i]] = i; n[lists + i] = 0 end
for _, v in ipairs(redis.call('HVALS', KEYS[lists + 1])) do
  local ok, d = pcall(cjson.decode, v)
  if ok and type(d) == 'table' and type(d[3]) == 'string' then
    local i = at[d[3]]
    if i then n[lists + i] = n[lists + i] + 1 end
  end
end
local per = nq > 0 and lists / nq or 0
for i = 1, nq do
  local oldest = 0
  for j = (i - 1) * per + 1, i * per do
    if ages and n[j] > 0 then
      local raw = redis.call('LINDEX', KEYS[j], -1)
      local s = type(raw) == 'string' and string.match(raw, '"slipway_published_at": *([%d%.]+)')
      local stamp = s and tonumber(s)
      if stamp and stamp > 0 then
        local ms = math.floor(stamp * 1000)
        if oldest == 0 or ms < oldest then oldest = ms end
      end
    end
  end
  n[lists + nq + i] = oldest
end
return n
"#;

/// Broker errors can quote the URL, password included: never let it through.
fn redact_url_error(message: &str, url: &str) -> String {
    let mut out = message.replace(url, "<broker URL>");
    if let Some(password) = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
    {
        out = out.replace(password, "[REDACTED]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header the shipped `heroku_autoscale` app stamps (see `LLENS_LUA`).
    const PUBLISHED_AT: &str = "slipway_published_at";

    #[test]
    fn the_redis_script_reads_the_header_the_django_app_stamps() {
        assert!(LLENS_LUA.contains(&format!("'\"{PUBLISHED_AT}\":")));
        let app =
            include_str!("../../../buildpacks/release-phase/python/heroku_autoscale/stamp.py");
        assert!(
            app.contains(&format!("\"{PUBLISHED_AT}\"")),
            "stamp.py sets {PUBLISHED_AT}"
        );
    }

    #[test]
    fn user_password_and_vhost_are_percent_decoded_and_a_plus_stays_a_plus() {
        let t = amqp_target(
            "amqp://us%40er:pa+ss%2Bw%3A@broker.example:5671/v%2Fh",
            true,
        )
        .unwrap();
        assert_eq!(t.username, "us@er");
        assert_eq!(t.password, "pa+ss+w:");
        assert_eq!(t.vhost, "v/h");
        assert_eq!(t.port, 5671);
    }

    #[test]
    fn the_seeds_relative_url_is_joined_to_the_app_url() {
        assert_eq!(
            heartbeat_url(
                "/heroku-autoscale/heartbeat/v1",
                Some("https://myapp.herokuapp.com/")
            )
            .unwrap(),
            "https://myapp.herokuapp.com/heroku-autoscale/heartbeat/v1"
        );
        assert_eq!(
            heartbeat_url("http://127.0.0.1:5000/hb", None).unwrap(),
            "http://127.0.0.1:5000/hb"
        );
        assert!(heartbeat_url("/hb", None)
            .unwrap_err()
            .to_string()
            .contains("AUTOSCALE_APP_URL"));
    }

    #[test]
    fn broker_errors_never_carry_the_password() {
        let url = "amqp://user:s3cr3t-pass@broker.example:5672/vhost";
        let shown = redact_url_error(
            &format!("failed to connect to {url}: refused (s3cr3t-pass)"),
            url,
        );
        assert!(!shown.contains("s3cr3t-pass"), "{shown}");
    }
}
