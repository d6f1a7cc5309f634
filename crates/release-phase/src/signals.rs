//! SIGTERM and SIGINT, caught once for the whole run: waits are interruptible,
//! and the running step's process group receives the same signal.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Stop {
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// Register the handlers. Until then, signals have their default effect.
    pub fn install() -> std::io::Result<Self> {
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register_usize(
                sig,
                Arc::clone(&signal),
                usize::try_from(sig).expect("positive"),
            )?;
        }
        Ok(Self { signal })
    }

    /// The signal received, or 0.
    pub fn signal(&self) -> i32 {
        i32::try_from(self.signal.load(Ordering::SeqCst)).unwrap_or(0)
    }

    pub fn stopped(&self) -> bool {
        self.signal() != 0
    }

    /// Sleep up to `d`; true if a signal arrived.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stopped() {
                return true;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
        self.stopped()
    }
}
