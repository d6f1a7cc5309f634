//! Fault injection for every peer the probes talk to, each the real service
//! on this machine with `tests/fault-proxy` in between: RabbitMQ over AMQP
//! (:5672), RabbitMQ's management API (:15672), Redis (:6379) and an HTTP
//! heartbeat. For each peer, the same specification:
//!
//! 1. through the proxy it measures as it does directly;
//! 2. a peer that keeps the (kept-alive) connection and stops answering is
//!    *unknown* within the probe's own timeout, never waited out, and the
//!    reason says it timed out (not "Network Error");
//! 3. once the peer answers again, the next probe measures again (a stalled
//!    kept connection is replaced);
//! 4. a cut connection is unknown at worst once, then measured again;
//! 5. a slow wire (each chunk delayed, well inside the timeout) still measures.
//!
//! A missing service fails the test with how to start it: never a skip.

#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use autoscale::Measure;
use autoscale_probes::{heartbeat, heartbeat_agent, RabbitManagement, RabbitProbe, RedisProbe};
use fault_proxy::FaultProxy;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use std::time::{Duration, Instant};

fn require(addr: &str, what: &str) {
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
            .is_ok(),
        "{what} is not listening on {addr}: scripts/services starts it (.ci/run calls it)"
    );
}

fn unique(name: &str) -> String {
    format!(
        "slipway-fault-{}-{}-{name}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// The specification above, for one peer: `probe` measures once through the
/// proxy; `timeout` is the probe's own bound.
fn sweep(
    peer: &str,
    proxy: &FaultProxy,
    timeout: Duration,
    probe: &mut dyn FnMut() -> Measure<u64>,
) {
    let known = |m: &Measure<u64>| matches!(m, Measure::Value(_));
    let first = probe();
    assert!(
        known(&first),
        "{peer}: measured through the proxy: {first:?}"
    );

    proxy.stall();
    let t = Instant::now();
    let stalled = probe();
    let took = t.elapsed();
    assert!(
        matches!(&stalled, Measure::Unknown(why) if why.contains("timed out") || why.contains("no answer")),
        "{peer}: a stalled peer is unknown, and said to have timed out: {stalled:?}"
    );
    assert!(
        took < timeout + Duration::from_secs(2),
        "{peer}: given up at its timeout ({timeout:?}), not waited out: {took:?}"
    );

    proxy.pass();
    proxy.cut(); // what the stall left behind is gone either way
    let mut after = probe();
    if !known(&after) {
        after = probe();
    }
    assert!(
        known(&after),
        "{peer}: measured again once it answers: {after:?}"
    );

    proxy.cut();
    let mut cut = probe();
    if !known(&cut) {
        cut = probe();
    }
    assert!(known(&cut), "{peer}: a cut connection is replaced: {cut:?}");

    proxy.delay(Duration::from_millis(30));
    let slow = probe();
    assert!(known(&slow), "{peer}: a slow wire still measures: {slow:?}");
    proxy.pass();
}

fn first(m: Vec<(String, Measure<u64>)>) -> Measure<u64> {
    m.into_iter().next().unwrap().1
}

/// Run `f` on a channel of a connection of the tests' own (lapin, not the
/// client under test), straight to the broker.
fn on_channel<F: std::future::Future<Output = ()>>(f: impl FnOnce(lapin::Channel) -> F) {
    futures_lite::future::block_on(async {
        let c = lapin::Connection::connect(
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            lapin::ConnectionProperties::default(),
        )
        .await
        .unwrap();
        f(c.create_channel().await.unwrap()).await;
    });
}

/// A durable queue for the broker tests (deleted after).
fn declare(q: &str) {
    on_channel(|ch| async move {
        ch.queue_declare(
            q.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    });
}

fn delete(q: &str) {
    on_channel(|ch| async move {
        let _ = ch
            .queue_delete(q.into(), QueueDeleteOptions::default())
            .await;
    });
}

#[test]
fn rabbitmq_over_amqp_under_stall_cut_and_delay() {
    require("127.0.0.1:5672", "RabbitMQ");
    let q = unique("amqp");
    declare(&q);
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().unwrap());
    let mut probe = RabbitProbe::new(
        &format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port()),
        true,
    );
    let queues = [q.clone()];
    sweep("AMQP", &proxy, Duration::from_secs(5), &mut || {
        first(probe.depths(&queues))
    });
    delete(&q);
}

#[test]
fn rabbitmqs_management_api_under_stall_cut_and_delay() {
    require("127.0.0.1:15672", "RabbitMQ's management API");
    let q = unique("mgmt");
    declare(&q);
    let proxy = FaultProxy::start("127.0.0.1:15672".parse().unwrap());
    let probe = RabbitManagement::new(
        &format!("http://guest:guest@127.0.0.1:{}", proxy.port()),
        "/",
    )
    .unwrap();
    let queues = [q.clone()];
    // The API lists a new queue at its next statistics refresh (every 5 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !matches!(first(probe.depths(&queues)), Measure::Value(_)) {
        assert!(
            Instant::now() < deadline,
            "the management API never listed {q}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    sweep(
        "management API",
        &proxy,
        Duration::from_secs(5),
        &mut || first(probe.depths(&queues)),
    );
    delete(&q);
}

#[test]
fn redis_under_stall_cut_and_delay() {
    require("127.0.0.1:6379", "Redis");
    let proxy = FaultProxy::start("127.0.0.1:6379".parse().unwrap());
    let mut probe = RedisProbe::new(&format!("redis://127.0.0.1:{}/0", proxy.port()));
    let queues = [unique("redis")];
    sweep("Redis", &proxy, Duration::from_secs(3), &mut || {
        first(probe.depths(&queues))
    });
}

#[test]
fn the_heartbeat_under_stall_cut_and_delay() {
    // A real HTTP server that answers every request (keep-alive).
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let _ = req.respond(tiny_http::Response::from_string("{\"status\": \"ok\"}"));
        }
    });
    let proxy = FaultProxy::start(addr);
    let agent = heartbeat_agent(Duration::from_secs(1));
    let url = format!(
        "http://127.0.0.1:{}/heroku-autoscale/heartbeat/v1",
        proxy.port()
    );
    let mut probe = || match heartbeat(&agent, &url).latency {
        Measure::Value(d) => Measure::Value(u64::try_from(d.as_millis()).unwrap()),
        Measure::Unknown(why) => Measure::Unknown(why),
    };
    sweep("heartbeat", &proxy, Duration::from_secs(1), &mut probe);
}
