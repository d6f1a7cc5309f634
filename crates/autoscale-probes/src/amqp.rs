//! Queue depth by AMQP 0-9-1 passive declare, on one blocking socket, in one
//! round trip per tick: all declares go out in one write on one channel and
//! the answers come back in order. Frames are
//! encoded and parsed by `amq-protocol` (lapin's codec); the conversation is
//! ours because it is small: handshake, open channels, passive declares.
//!
//! Why not a full client: amiquip (one I/O thread, a channel hop per call)
//! cost ~2.5 ms of CPU for six declares a tick, lapin's executor doubled the
//! worker's memory. Here a tick is one `write` and, usually, one `read`.

use crate::error::ProbeError;
use amq_protocol::frame::{gen_frame, parse_frame, AMQPFrame, ProtocolVersion};
use amq_protocol::protocol::{channel, connection, queue, AMQPClass};
use amq_protocol::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long any answer may take before the broker is unknown this tick.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The connection: plain AMQP, or AMQP over TLS (`amqps://`).
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

pub(crate) struct Amqp {
    stream: Stream,
    /// Bytes read and not yet parsed.
    pending: Vec<u8>,
    /// Channel 1 is open (a missing queue closes it).
    open: bool,
}

pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `amqps://`: TLS, verifying the certificate unless told not to.
    pub(crate) tls: Option<bool>,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) vhost: String,
}

fn method(channel: u16, class: AMQPClass) -> AMQPFrame {
    AMQPFrame::Method(channel, class)
}

fn encode(frames: &[AMQPFrame]) -> Result<Vec<u8>, ProbeError> {
    let mut out = Vec::with_capacity(64 * frames.len());
    for f in frames {
        let (bytes, _) = cookie_factory::gen(gen_frame(f), Vec::new())
            .map_err(|e| ProbeError::Protocol(format!("AMQP frame: {e:?}")))?;
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// A TLS client over `tcp`: the certificate verified against the Mozilla roots,
/// or (`verify` false: a broker with a self-signed certificate) only encrypted.
fn tls(
    host: &str,
    verify: bool,
    tcp: TcpStream,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, ProbeError> {
    let config = buildkit::tls::client_config(verify);
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| ProbeError::Config(format!("{host} is not a TLS server name: {e}")))?;
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| ProbeError::Protocol(format!("TLS: {e}")))?;
    Ok(rustls::StreamOwned::new(conn, tcp))
}

impl Amqp {
    pub(crate) fn connect(t: &Target) -> Result<Self, ProbeError> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(t.host.as_str(), t.port))
            .map_err(ProbeError::io(format!("resolving {}", t.host)))?
            .next()
            .ok_or_else(|| ProbeError::Protocol(format!("{} does not resolve", t.host)))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
            .map_err(ProbeError::io(format!("connecting to {addr}")))?;
        // Small frames, one round trip: Nagle with delayed ACKs would add ~40 ms.
        stream
            .set_nodelay(true)
            .map_err(ProbeError::io("configuring the connection"))?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(ProbeError::io("configuring the connection"))?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(ProbeError::io("configuring the connection"))?;
        let stream = match t.tls {
            None => Stream::Plain(stream),
            Some(verify) => Stream::Tls(Box::new(tls(&t.host, verify, stream)?)),
        };
        let mut c = Self {
            stream,
            pending: Vec::with_capacity(4096),
            open: false,
        };
        c.send(&[AMQPFrame::ProtocolHeader(ProtocolVersion::amqp_0_9_1())])?;
        match c.next_frame()? {
            AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Start(start))) => {
                if !start
                    .mechanisms
                    .to_string()
                    .split(' ')
                    .any(|m| m == "PLAIN")
                {
                    return Err(ProbeError::Protocol(
                        "the broker does not offer PLAIN authentication".into(),
                    ));
                }
            }
            other => {
                return Err(ProbeError::Protocol(format!(
                    "unexpected first frame from the broker: {other:?}"
                )))
            }
        }
        let mut properties = FieldTable::default();
        properties.insert(
            "product".into(),
            AMQPValue::LongString("slipway-autoscale".into()),
        );
        // Without it RabbitMQ answers a wrong password by closing the socket
        // ("connection reset"); with it, by Connection.Close 403 ACCESS_REFUSED.
        let mut capabilities = FieldTable::default();
        capabilities.insert(
            "authentication_failure_close".into(),
            AMQPValue::Boolean(true),
        );
        properties.insert("capabilities".into(), AMQPValue::FieldTable(capabilities));
        let response = format!("\0{}\0{}", t.username, t.password);
        c.send(&[method(
            0,
            AMQPClass::Connection(connection::AMQPMethod::StartOk(connection::StartOk {
                client_properties: properties,
                mechanism: "PLAIN".into(),
                response: LongString::from(response),
                locale: "en_US".into(),
            })),
        )])?;
        let tune = match c.next_frame() {
            Ok(AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Tune(tune)))) => tune,
            Ok(AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Close(close)))) => {
                return Err(ProbeError::Protocol(format!(
                    "the broker refused the login ({} {}): check the user and password in the broker URL",
                    close.reply_code,
                    close.reply_text.as_str()
                )))
            }
            // Brokers that ignore the capability just hang up on a bad login.
            Err(ProbeError::Io { .. }) => {
                return Err(ProbeError::Protocol(
                    "the broker closed the connection right after the login: usually a wrong user or password in the broker URL".into(),
                ))
            }
            Err(e) => return Err(e),
            Ok(other) => {
                return Err(ProbeError::Protocol(format!(
                    "unexpected frame during login: {other:?}"
                )))
            }
        };
        // Heartbeats off: the probe speaks every tick, and a dead connection
        // fails the next write or read, which reconnects.
        c.send(&[
            method(
                0,
                AMQPClass::Connection(connection::AMQPMethod::TuneOk(connection::TuneOk {
                    channel_max: tune.channel_max,
                    frame_max: tune.frame_max.max(4096),
                    heartbeat: 0,
                })),
            ),
            method(
                0,
                AMQPClass::Connection(connection::AMQPMethod::Open(connection::Open {
                    virtual_host: ShortString::from(t.vhost.as_str()),
                })),
            ),
        ])?;
        match c.next_frame()? {
            AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::OpenOk(_))) => Ok(c),
            AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Close(close))) => {
                Err(ProbeError::Protocol(format!(
                    "the broker refused virtual host {:?} ({} {})",
                    t.vhost,
                    close.reply_code,
                    close.reply_text.as_str()
                )))
            }
            other => Err(ProbeError::Protocol(format!(
                "unexpected frame opening the connection: {other:?}"
            ))),
        }
    }

    fn send(&mut self, frames: &[AMQPFrame]) -> Result<(), ProbeError> {
        let bytes = encode(frames)?;
        self.stream
            .write_all(&bytes)
            .map_err(ProbeError::io("writing to the broker"))
    }

    /// The next frame from the broker, reading as much as it takes.
    fn next_frame(&mut self) -> Result<AMQPFrame, ProbeError> {
        loop {
            if !self.pending.is_empty() {
                match parse_frame(self.pending.as_slice()) {
                    Ok((rest, frame)) => {
                        let used = self.pending.len() - rest.len();
                        self.pending.drain(..used);
                        return Ok(frame);
                    }
                    Err(nom::Err::Incomplete(_)) => {}
                    Err(e) => {
                        return Err(ProbeError::Protocol(format!(
                            "unreadable frame from the broker: {e:?}"
                        )))
                    }
                }
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(ProbeError::Protocol(
                        "the broker closed the connection".into(),
                    ))
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return Err(ProbeError::Protocol(format!(
                        "no answer from the broker in {}s",
                        TIMEOUT.as_secs()
                    )))
                }
                Err(e) => return Err(ProbeError::io("reading from the broker")(e)),
            }
        }
    }

    /// Ready messages per queue, in `queues`' order. `Err`: the connection is
    /// unusable (the caller reconnects next tick); per queue, `Err` is why that
    /// queue is unknown.
    ///
    /// One channel, every declare in one write: the broker answers them in
    /// order, and its channel writer sends the answers together, so a tick is
    /// usually one `write` and one `read`. A missing queue closes the channel
    /// (the declares after it are dropped by the broker): that queue is
    /// unknown, and the rest are asked again on a reopened channel.
    pub(crate) fn depths(
        &mut self,
        queues: &[String],
    ) -> Result<Vec<Result<u64, String>>, ProbeError> {
        const CH: u16 = 1;
        let mut out: Vec<Result<u64, String>> = Vec::with_capacity(queues.len());
        while out.len() < queues.len() {
            let rest = &queues[out.len()..];
            let mut frames = Vec::with_capacity(rest.len() + 1);
            let opening = !self.open;
            if opening {
                frames.push(method(
                    CH,
                    AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {})),
                ));
            }
            for q in rest {
                frames.push(method(
                    CH,
                    AMQPClass::Queue(queue::AMQPMethod::Declare(queue::Declare {
                        queue: ShortString::from(q.as_str()),
                        passive: true,
                        durable: false,
                        exclusive: false,
                        auto_delete: false,
                        nowait: false,
                        arguments: FieldTable::default(),
                    })),
                ));
            }
            self.send(&frames)?;
            let mut awaiting_open = opening;
            let asked = out.len() + rest.len();
            while out.len() < asked {
                let AMQPFrame::Method(ch, class) = self.next_frame()? else {
                    continue; // heartbeats, stray content: not ours
                };
                match class {
                    AMQPClass::Connection(connection::AMQPMethod::Close(close)) => {
                        return Err(ProbeError::Protocol(format!(
                            "the broker closed the connection ({} {})",
                            close.reply_code,
                            close.reply_text.as_str()
                        )));
                    }
                    _ if ch != CH => {}
                    AMQPClass::Channel(channel::AMQPMethod::OpenOk(_)) if awaiting_open => {
                        awaiting_open = false;
                        self.open = true;
                    }
                    AMQPClass::Queue(queue::AMQPMethod::DeclareOk(ok)) => {
                        out.push(Ok(u64::from(ok.message_count)));
                    }
                    AMQPClass::Channel(channel::AMQPMethod::Close(close)) => {
                        let q = &queues[out.len()];
                        out.push(Err(if close.reply_code == 404 {
                            format!("queue {q} does not exist on the broker")
                        } else {
                            format!(
                                "RabbitMQ: {} {} (queue {q})",
                                close.reply_code,
                                close.reply_text.as_str()
                            )
                        }));
                        self.open = false;
                        self.send(&[method(
                            CH,
                            AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {})),
                        )])?;
                        break; // the declares after it were dropped: ask again
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

impl Drop for Amqp {
    fn drop(&mut self) {
        // A polite close; the broker logs an abrupt one as a warning.
        let _ = self.send(&[method(
            0,
            AMQPClass::Connection(connection::AMQPMethod::Close(connection::Close {
                reply_code: 200,
                reply_text: "bye".into(),
                class_id: 0,
                method_id: 0,
            })),
        )]);
    }
}
