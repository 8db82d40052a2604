//! The injectable clock every time-dependent rule reads.
//!
//! The server never calls `SystemTime::now()` directly: timestamps, `recvWindow` checks,
//! rate-limit windows, keepalive pings and the connection lifetime all go through a
//! [`Clock`]. Tests freeze it, advance it, or skew it, and every connection notices at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// A point in time: microseconds since the Unix epoch.
///
/// Microseconds, because the API accepts and returns them (`timeUnit=MICROSECOND`);
/// milliseconds are derived by truncation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from microseconds since the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// A timestamp from milliseconds since the epoch (saturating).
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis.saturating_mul(1000))
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch, rounded towards the past.
    pub const fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This timestamp moved forward by `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_micros(d)))
    }

    /// This timestamp moved back by `d` (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_micros(d)))
    }

    /// Wall-clock time of this machine.
    pub fn system_now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(duration_micros(d)),
            Err(before_epoch) => Timestamp(-duration_micros(before_epoch.duration())),
        }
    }
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// System time plus an offset (zero unless the clock was skewed or set).
    Live { offset_micros: i64 },
    /// Time stands still at this instant until advanced.
    Frozen { at: Timestamp },
}

impl Mode {
    fn now(self) -> Timestamp {
        match self {
            Mode::Live { offset_micros } => {
                Timestamp(Timestamp::system_now().0.saturating_add(offset_micros))
            }
            Mode::Frozen { at } => at,
        }
    }
}

/// How a clock ran at one moment: see [`Clock::snapshot`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClockState(Mode);

/// A shared, cheaply cloned clock: system time by default; frozen, advanced or skewed on demand.
///
/// All clones observe the same time. Changing it wakes every task waiting in
/// [`Clock::sleep_until`], so keepalive pings and lifetimes follow a frozen clock exactly.
///
/// ```
/// use std::time::Duration;
/// use mock_server::{Clock, Timestamp};
///
/// let clock = Clock::frozen_at(Timestamp::from_millis(1_700_000_000_000));
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(clock.now().as_millis(), 1_700_000_061_000);
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    mode: Arc<watch::Sender<Mode>>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// A clock that follows the machine's wall-clock time.
    pub fn system() -> Self {
        Clock::with_mode(Mode::Live { offset_micros: 0 })
    }

    /// A clock frozen at `at` until advanced or resumed.
    pub fn frozen_at(at: Timestamp) -> Self {
        Clock::with_mode(Mode::Frozen { at })
    }

    fn with_mode(mode: Mode) -> Self {
        let (tx, _) = watch::channel(mode);
        Clock { mode: Arc::new(tx) }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.mode.borrow().now()
    }

    /// A reader of this clock in milliseconds, for a client that signs requests: handed
    /// to `ws_client::ClientBuilder::clock` (any `Fn() -> i64` is a client clock), the
    /// client's `timestamp` follows this clock, frozen, advanced or skewed, so that signed
    /// requests pass the `recvWindow` check (spec §3.3) instead of failing with -1021.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mock_server::{Clock, Timestamp};
    ///
    /// let clock = Clock::frozen_at(Timestamp::from_millis(1_700_000_000_000));
    /// let timestamp = clock.millis_fn();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(timestamp(), 1_700_000_001_000);
    /// ```
    pub fn millis_fn(&self) -> impl Fn() -> i64 + Send + Sync + 'static {
        let clock = self.clone();
        move || clock.now().as_millis()
    }

    /// Stops time at the current instant.
    pub fn freeze(&self) {
        self.mode.send_modify(|mode| {
            *mode = Mode::Frozen { at: mode.now() };
        });
    }

    /// Stops time at exactly `at`.
    pub(crate) fn freeze_at(&self, at: Timestamp) {
        self.mode.send_replace(Mode::Frozen { at });
    }

    /// Lets time run again from the current reading, at wall-clock speed.
    pub fn resume(&self) {
        self.mode.send_modify(|mode| {
            let now = mode.now();
            *mode = Mode::Live {
                offset_micros: now.0.saturating_sub(Timestamp::system_now().0),
            };
        });
    }

    /// Moves time forward by `d`, frozen or not. On a running clock this is a lasting skew.
    pub fn advance(&self, d: Duration) {
        let micros = duration_micros(d);
        self.mode.send_modify(|mode| match mode {
            Mode::Live { offset_micros } => *offset_micros = offset_micros.saturating_add(micros),
            Mode::Frozen { at } => *at = Timestamp(at.0.saturating_add(micros)),
        });
    }

    /// Sets the current reading to `at`, keeping the clock frozen or running as it was.
    /// Setting it into the past is allowed (a server clock that jumps back).
    pub fn set(&self, at: Timestamp) {
        self.mode.send_modify(|mode| match mode {
            Mode::Live { offset_micros } => {
                *offset_micros = at.0.saturating_sub(Timestamp::system_now().0);
            }
            Mode::Frozen { at: frozen } => *frozen = at,
        });
    }

    /// How the clock runs now, to [`restore`](Self::restore) later.
    pub(crate) fn snapshot(&self) -> ClockState {
        ClockState(*self.mode.borrow())
    }

    /// Runs the clock as it ran at `state`: frozen at the same instant, or running with the
    /// same offset from the machine's time.
    pub(crate) fn restore(&self, state: ClockState) {
        self.mode.send_replace(state.0);
    }

    /// Whether time is frozen.
    pub fn is_frozen(&self) -> bool {
        matches!(*self.mode.borrow(), Mode::Frozen { .. })
    }

    /// Completes once this clock reads `deadline` or later, however the clock gets there.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        let mut changes = self.mode.subscribe();
        loop {
            let mode = *changes.borrow_and_update();
            let now = mode.now();
            if now >= deadline {
                return;
            }
            match mode {
                Mode::Live { .. } => {
                    let wait = Duration::from_micros(deadline.0.abs_diff(now.0));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = changes.changed() => {}
                    }
                }
                Mode::Frozen { .. } => {
                    // The sender lives as long as `self`, so this cannot fail.
                    let _ = changes.changed().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_stands_still_until_advanced() {
        let clock = Clock::frozen_at(Timestamp::from_millis(1_000));
        assert_eq!(clock.now(), Timestamp::from_millis(1_000));
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now().as_millis(), 2_500);
        clock.set(Timestamp::from_millis(10));
        assert_eq!(clock.now().as_micros(), 10_000);
    }

    #[test]
    fn advancing_a_running_clock_skews_it() {
        let clock = Clock::system();
        clock.advance(Duration::from_secs(3600));
        let skew = clock.now().as_millis() - Timestamp::system_now().as_millis();
        assert!((3_599_000..=3_601_000).contains(&skew), "skew {skew}");
    }

    #[test]
    fn millis_round_towards_the_past() {
        assert_eq!(Timestamp::from_micros(1_999).as_millis(), 1);
        assert_eq!(Timestamp::from_micros(-1).as_millis(), -1);
    }

    #[tokio::test]
    async fn sleepers_wake_when_a_frozen_clock_is_advanced() {
        let clock = Clock::frozen_at(Timestamp::from_millis(0));
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(Timestamp::from_millis(20_000)).await }
        });
        clock.advance(Duration::from_secs(10));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(10));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper woke")
            .expect("sleeper did not panic");
    }
}
