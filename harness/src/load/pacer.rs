//! Waiting for an open loop's next send time with microsecond precision. Tokio's timers tick
//! in whole milliseconds, too coarse for arrivals 200 µs apart (at 5,000 req/s a send left up
//! to 2 ms late); a timerfd armed for the exact instant wakes the runtime's epoll on time.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Tokio's `AsyncFd` needs `AsRawFd`, which nix's `TimerFd` does not implement.
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

pub struct Pacer {
    fd: AsyncFd<Fd>,
}

impl Pacer {
    /// Must be called inside a tokio runtime with IO enabled.
    pub fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // Timer slack (50 µs by default) would let the kernel batch our wake-ups late.
        let _ = nix::sys::prctl::set_timerslack(1_000);
        // SAFETY: `Fd` owns the timer, so the descriptor stays open and the same for as long
        // as the AsyncFd holds it.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(timer), Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self { fd })
    }

    /// Returns at `at`, or at once if it has passed.
    pub async fn until(&self, at: Instant) -> io::Result<()> {
        let now = Instant::now();
        if at <= now {
            return Ok(());
        }
        // A zero TimeSpec would disarm the timer; the wait is at least 1 ns here.
        let wait = TimeSpec::from_duration(at - now);
        self.fd
            .get_ref()
            .0
            .set(Expiration::OneShot(wait), TimerSetTimeFlags::empty())?;
        loop {
            let mut ready = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            match ready.try_io(|fd| {
                nix::unistd::read(fd.get_ref().0.as_fd(), &mut expirations).map_err(io::Error::from)
            }) {
                Ok(result) => return result.map(drop),
                // Woken without an expiry to read: wait again.
                Err(_would_block) => continue,
            }
        }
    }
}
