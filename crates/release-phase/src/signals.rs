//! SIGTERM and SIGINT, caught once for the whole run: waits are interruptible,
//! and the running step's process group receives the same signal.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
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
