//! A TCP proxy on loopback that puts faults between a client and a real
//! peer: the peer stays real (PostgreSQL, Redis, RabbitMQ, an HTTP server),
//! only the wire between misbehaves, the way a hung proxy, a stalled server
//! or a dropped network does.
//!
//! - [`FaultProxy::stall`]: bytes are still accepted (TCP acknowledges
//!   them) but nothing more is forwarded either way; connections stay open.
//!   Keepalives see nothing wrong: only a client-side deadline helps.
//! - [`FaultProxy::delay`]: each chunk waits before it is forwarded.
//! - [`FaultProxy::cut`]: every open connection is closed, both sides.
//! - [`FaultProxy::pass`]: back to forwarding (held bytes go on, in order).
//! - [`FaultProxy::stall_on`]: stall from the first chunk a client sends
//!   that contains some bytes (a query's text, a command): the fault lands
//!   on one chosen request, not wherever the clock puts it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Stall,
    Delay(Duration),
}

#[derive(Default)]
struct Shared {
    mode: Mutex<Option<Mode>>,
    open: Mutex<Vec<TcpStream>>,
    accepted: Mutex<usize>,
    /// Bytes that, seen in a chunk from a client, switch the mode to stall.
    trigger: Mutex<Option<Vec<u8>>>,
    /// The trigger fired: a chunk carrying it is held.
    fired: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn mode(&self) -> Mode {
        self.mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or(Mode::Pass)
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = Some(mode);
    }
    /// A chunk from a client: stall before it when it carries the trigger
    /// (the trigger fires once).
    fn check(&self, chunk: &[u8]) {
        let mut trigger = self.trigger.lock().unwrap_or_else(PoisonError::into_inner);
        let fires = trigger
            .as_deref()
            .is_some_and(|t| !t.is_empty() && chunk.windows(t.len()).any(|w| w == t));
        if fires {
            *trigger = None;
            self.set(Mode::Stall);
            self.fired.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// A proxy from a loopback port to `upstream`, for the life of the value
/// (its threads end with the test process).
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward each connection to `upstream`.
    ///
    /// # Panics
    /// When no loopback port can be had (test support: a panic is the report).
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                *s.accepted.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                let Ok(server) = TcpStream::connect(upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                for stream in [&client, &server] {
                    if let Ok(c) = stream.try_clone() {
                        s.open
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(c);
                    }
                }
                pump(&s, &client, &server, true);
                pump(&s, &server, &client, false);
            }
        });
        Self { addr, shared }
    }

    /// The proxy's address, to give the client instead of the peer's.
    #[cfg(test)]
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections the proxy has accepted.
    #[cfg(test)]
    fn accepted(&self) -> usize {
        *self
            .shared
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Forward nothing more, either way; keep every connection open.
    pub fn stall(&self) {
        self.shared.set(Mode::Stall);
    }

    /// Stall (as [`Self::stall`]) from the first chunk a client sends that
    /// contains `bytes`; that chunk is held too, so the peer never sees it.
    /// A chunk is what one read returned: a request written at once (a
    /// PostgreSQL query's Parse message, a Redis command) is one.
    pub fn stall_on(&self, bytes: &[u8]) {
        *self
            .shared
            .trigger
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(bytes.to_vec());
    }

    /// Whether the bytes of [`Self::stall_on`] have been seen, so the request
    /// carrying them is now held: a client is in the stall from then on.
    pub fn stalled_on_trigger(&self) -> bool {
        self.shared.fired.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Forward each chunk after `d`.
    pub fn delay(&self, d: Duration) {
        self.shared.set(Mode::Delay(d));
    }

    /// Forward as it comes (held bytes go on first).
    pub fn pass(&self) {
        self.shared.set(Mode::Pass);
    }

    /// Close every open connection, both sides (new ones are still proxied).
    pub fn cut(&self) {
        for s in self
            .shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Copy `from` to `to` on a thread, obeying the mode before each chunk
/// (`from_client`: the chunks the trigger is looked for in).
fn pump(shared: &Arc<Shared>, from: &TcpStream, to: &TcpStream, from_client: bool) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let shared = shared.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if from_client {
                shared.check(&buf[..n]);
            }
            loop {
                match shared.mode() {
                    Mode::Pass => break,
                    Mode::Delay(d) => {
                        std::thread::sleep(d);
                        break;
                    }
                    Mode::Stall => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// An echo server: each line comes back.
    fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().map_while(Result::ok) {
                std::thread::spawn(move || {
                    let mut w = s.try_clone().unwrap();
                    for line in std::io::BufReader::new(s).lines().map_while(Result::ok) {
                        let _ = writeln!(w, "{line}");
                    }
                });
            }
        });
        addr
    }

    fn ask(
        s: &mut TcpStream,
        r: &mut std::io::BufReader<TcpStream>,
        text: &str,
    ) -> std::io::Result<String> {
        writeln!(s, "{text}")?;
        let mut line = String::new();
        r.read_line(&mut line)?;
        Ok(line.trim_end().to_string())
    }

    #[test]
    fn a_stalled_connection_stays_open_answers_nothing_and_resumes_in_order() {
        let p = FaultProxy::start(echo());
        let mut s = TcpStream::connect(p.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        assert_eq!(ask(&mut s, &mut r, "one").unwrap(), "one");
        p.stall();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let e = ask(&mut s, &mut r, "two").unwrap_err();
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::WouldBlock,
            "no answer, no close"
        );
        p.pass();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "two", "the held bytes went on");
        assert_eq!(p.accepted(), 1);
    }

    #[test]
    fn a_cut_closes_open_connections_and_new_ones_still_pass() {
        let p = FaultProxy::start(echo());
        let mut s = TcpStream::connect(p.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        assert_eq!(ask(&mut s, &mut r, "one").unwrap(), "one");
        p.cut();
        assert!(
            ask(&mut s, &mut r, "two").map_or(true, |l| l.is_empty()),
            "closed"
        );
        let mut s = TcpStream::connect(p.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        assert_eq!(ask(&mut s, &mut r, "three").unwrap(), "three");
    }

    #[test]
    fn a_stall_on_bytes_holds_the_request_that_carries_them_and_what_follows() {
        let p = FaultProxy::start(echo());
        p.stall_on(b"SELECT pg_locks");
        let mut s = TcpStream::connect(p.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        assert_eq!(ask(&mut s, &mut r, "SELECT 1").unwrap(), "SELECT 1");
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let e = ask(&mut s, &mut r, "x SELECT pg_locks y").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "held");
        let e = ask(&mut s, &mut r, "SELECT 1").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "still held");
        p.pass();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "x SELECT pg_locks y", "in order");
        line.clear();
        r.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), "SELECT 1");
        assert_eq!(
            ask(&mut s, &mut r, "SELECT pg_locks").unwrap(),
            "SELECT pg_locks",
            "the trigger fires once"
        );
    }

    #[test]
    fn a_delay_holds_each_chunk() {
        let p = FaultProxy::start(echo());
        p.delay(Duration::from_millis(200));
        let mut s = TcpStream::connect(p.addr()).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        let t = std::time::Instant::now();
        assert_eq!(ask(&mut s, &mut r, "x").unwrap(), "x");
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "both ways: {:?}",
            t.elapsed()
        );
    }
}
