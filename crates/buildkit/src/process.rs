//! Child processes the way a dyno's init runs them: in their own process
//! group (a signal reaches the whole tree: gunicorn's workers, Celery's
//! pool), stopped with SIGTERM and, after a grace period, SIGKILL; exit codes
//! as a shell reports them; output read line by line from both streams; and
//! SIGTERM/SIGINT caught once for a whole run ([`Stop`]).

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Exit code as a shell reports it: the code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// `exit status 3`, `killed by signal 9`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".to_string(),
    }
}

/// The process group of a child spawned with `process_group(0)`.
#[derive(Debug, Clone, Copy)]
pub struct Group(Pid);

impl Group {
    /// The group whose id is `pgid`.
    pub fn from_pid(pgid: Pid) -> Self {
        Self(pgid)
    }

    pub fn of(child: &Child) -> Self {
        Self(Pid::from_raw(
            i32::try_from(child.id()).expect("pid fits i32"),
        ))
    }

    /// The group's id (its leader's pid).
    pub fn pid(self) -> Pid {
        self.0
    }

    /// Send `signal` to every process of the group (gone already: fine).
    pub fn signal(self, signal: Signal) {
        let _ = killpg(self.0, signal);
    }

    /// SIGTERM (or `first`), then SIGKILL if `exited(grace)` says the child is
    /// still running after the grace period; `exited(d)` waits up to `d`.
    pub fn stop(self, first: Signal, grace: Duration, exited: &mut dyn FnMut(Duration) -> bool) {
        self.signal(first);
        if !exited(grace) {
            self.signal(Signal::SIGKILL);
            exited(Duration::from_secs(5));
        }
    }
}

/// One line of a child's output, its newline kept (the last may lack one).
pub struct Line {
    /// From stderr (else stdout).
    pub stderr: bool,
    pub bytes: Vec<u8>,
}

impl Line {
    /// The text without its line ending, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    }
}

/// The longest line passed on whole: a longer one (a 300 MB line of minified
/// output) is passed on in pieces of at most this many bytes, so memory stays
/// bounded whatever the child writes.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Lines (or pieces) read but not yet consumed, at most: memory stays under
/// `LINES_IN_FLIGHT * MAX_LINE` (4 MiB) however fast the child writes.
pub(crate) const LINES_IN_FLIGHT: usize = 64;

/// Read the child's piped stdout and stderr, line by line as they come, into
/// one channel (closed when both streams end). A line ends at `\n` or `\r`
/// (progress bars redraw with `\r`: each redraw is passed on as it comes);
/// a line longer than [`MAX_LINE`] is cut, at a space near the limit when
/// there is one (a secret, which has none, is never cut in two for the
/// redactor). The reader threads are returned for joining.
pub fn lines(child: &mut Child) -> (mpsc::Receiver<Line>, Vec<std::thread::JoinHandle<()>>) {
    // Bounded: when the consumer stalls (whoever reads our output is slow),
    // the readers wait, the pipes fill and the child blocks on its writes.
    // At most LINES_IN_FLIGHT pieces of MAX_LINE bytes wait here.
    let (tx, rx) = mpsc::sync_channel(LINES_IN_FLIGHT);
    let streams = [
        child
            .stdout
            .take()
            .map(|s| (false, Box::new(s) as Box<dyn Read + Send>)),
        child
            .stderr
            .take()
            .map(|s| (true, Box::new(s) as Box<dyn Read + Send>)),
    ];
    let readers = streams
        .into_iter()
        .flatten()
        .map(|(stderr, stream)| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                read_lines(stream, MAX_LINE, &mut |bytes| {
                    tx.send(Line { stderr, bytes }).is_ok()
                });
            })
        })
        .collect();
    (rx, readers)
}

/// Split `stream` into lines (see [`lines`]); `emit` returns false to stop.
pub(crate) fn read_lines(stream: impl Read, max: usize, emit: &mut dyn FnMut(Vec<u8>) -> bool) {
    let mut reader = BufReader::new(stream);
    let mut line: Vec<u8> = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let room = max.saturating_sub(line.len()).max(1);
        let window = &buf[..buf.len().min(room)];
        if let Some(end) = window.iter().position(|b| *b == b'\n' || *b == b'\r') {
            line.extend_from_slice(&window[..=end]);
            reader.consume(end + 1);
            if !emit(std::mem::take(&mut line)) {
                return;
            }
            continue;
        }
        let n = window.len();
        line.extend_from_slice(window);
        reader.consume(n);
        if line.len() >= max {
            // Cut at the last space in the last KiB, when there is one.
            let cut = line[line.len().saturating_sub(1024)..]
                .iter()
                .rposition(|b| *b == b' ')
                .map_or(line.len(), |i| line.len().saturating_sub(1024) + i + 1);
            let rest = line.split_off(cut);
            if !emit(std::mem::replace(&mut line, rest)) {
                return;
            }
        }
    }
    if !line.is_empty() {
        emit(line);
    }
}

/// Termination signals (SIGTERM, SIGINT, SIGHUP, SIGQUIT) caught from
/// [`Forward::catch`] on, and passed on to a child's process group once
/// [`Forward::to`] names it, as a dyno's init does. Caught before the child
/// is spawned, a signal in between cannot kill the parent and orphan it.
/// Dropped: no longer caught or passed on.
pub struct Forward {
    signals: Option<signal_hook::iterator::Signals>,
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Forward {
    pub fn catch() -> std::io::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGQUIT};
        let signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT])?;
        Ok(Self {
            handle: signals.handle(),
            signals: Some(signals),
            thread: None,
        })
    }

    /// Pass every caught signal on to `group` (from now on; once).
    pub fn to(&mut self, group: Group) {
        self.each(move |signal| group.signal(signal));
    }

    /// Call `f` with every caught signal, on a thread of its own (from now
    /// on; once): for a caller that decides per signal what to pass on.
    pub fn each(&mut self, mut f: impl FnMut(Signal) + Send + 'static) {
        if let Some(mut signals) = self.signals.take() {
            self.thread = Some(std::thread::spawn(move || {
                for sig in signals.forever() {
                    if let Ok(signal) = Signal::try_from(sig) {
                        f(signal);
                    }
                }
            }));
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone)]
/// SIGTERM and SIGINT, caught once for the whole run: waits are
/// interruptible, and the caller passes the signal on to its children.
pub struct Stop {
    signal: Arc<AtomicUsize>,
    /// The handlers also write a byte here (a self-pipe): a wait sleeps in
    /// one read with a timeout and wakes at once on a signal, instead of
    /// waking every few milliseconds to look at the flag.
    wake: Arc<UnixStream>,
}

impl Stop {
    /// Register the handlers. Until then, signals have their default effect.
    pub fn install() -> std::io::Result<Self> {
        let signal = Arc::new(AtomicUsize::new(0));
        let (wake, notify) = UnixStream::pair()?;
        notify.set_nonblocking(true)?;
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register_usize(
                sig,
                Arc::clone(&signal),
                usize::try_from(sig).expect("positive"),
            )?;
            signal_hook::low_level::pipe::register(sig, notify.try_clone()?)?;
        }
        Ok(Self {
            signal,
            wake: Arc::new(wake),
        })
    }

    /// The signal received, or 0.
    pub fn signal(&self) -> i32 {
        i32::try_from(self.signal.load(Ordering::SeqCst)).unwrap_or(0)
    }

    pub fn stopped(&self) -> bool {
        self.signal() != 0
    }

    /// Sleep up to `d`; true if a signal arrived (at once when it does).
    pub fn sleep(&self, d: Duration) -> bool {
        // A wait past what the clock can represent is a wait until a signal.
        let until = Instant::now()
            .checked_add(d)
            .unwrap_or_else(|| Instant::now() + Duration::from_hours(24 * 365 * 100));
        let mut buf = [0u8; 16];
        loop {
            if self.stopped() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // A timeout of zero would mean "block forever".
            if self
                .wake
                .set_read_timeout(Some(left.max(Duration::from_micros(1))))
                .is_err()
            {
                std::thread::sleep(left.min(Duration::from_millis(20)));
                continue;
            }
            let _ = (&*self.wake).read(&mut buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        read_lines(input, max, &mut |l| {
            out.push(l);
            true
        });
        out
    }

    #[test]
    fn lines_end_at_newlines_and_at_carriage_returns_so_progress_streams() {
        let got = split(b"one\ntwo\r50%\r100%\nlast", 64);
        assert_eq!(got, [&b"one\n"[..], b"two\r", b"50%\r", b"100%\n", b"last"]);
    }

    #[test]
    fn a_huge_line_comes_in_bounded_pieces_cut_at_a_space_and_nothing_is_lost() {
        let mut input = Vec::new();
        for i in 0..3000 {
            input.extend_from_slice(format!("word{i} ").as_bytes());
        }
        input.extend_from_slice(b"SECRETTOKENWITHOUTSPACES\n");
        let got = split(&input, 4096);
        assert!(got.len() > 4, "{}", got.len());
        assert!(got.iter().all(|l| l.len() <= 4096));
        assert_eq!(got.concat(), input, "every byte, in order");
        assert!(
            got.iter()
                .any(|l| l.windows(24).any(|w| w == b"SECRETTOKENWITHOUTSPACES")),
            "a word is never cut in two"
        );
    }
}
