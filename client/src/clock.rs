//! Where signed requests get their `timestamp` from.

use std::time::{SystemTime, UNIX_EPOCH};

/// The source of the `timestamp` a signed request carries (spec §3.3).
///
/// The default reads the system clock. Replace it to send stale or future timestamps on
/// purpose, or to follow a test server's clock; any `Fn() -> i64` closure is a `Clock`:
///
/// ```
/// use ws_client::Client;
///
/// // Ten minutes in the past: outside any recvWindow.
/// let builder = Client::builder("ws://127.0.0.1:9443/ws-api/v3")
///     .clock(|| 1_700_000_000_000_i64 - 600_000);
/// ```
///
/// Against the in-process mock on a frozen or skewed clock, the system clock's timestamps
/// are refused with -1021; `mock_server::Clock::millis_fn` makes the client follow the
/// mock's clock in one call:
///
/// ```
/// use mock_server::{Clock, MockServer, Timestamp};
/// use ws_client::Client;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = MockServer::builder()
///     .clock(Clock::frozen_at(Timestamp::from_millis(1_700_000_000_000)))
///     .start()
///     .await?;
/// let builder = Client::builder(&server.url()).clock(server.clock().millis_fn());
/// # Ok(()) }
/// ```
pub trait Clock: Send + Sync {
    /// The value for `timestamp`: milliseconds since the Unix epoch (the API also takes
    /// microseconds, told apart by magnitude).
    fn timestamp(&self) -> i64;
}

impl<F> Clock for F
where
    F: Fn() -> i64 + Send + Sync,
{
    fn timestamp(&self) -> i64 {
        self()
    }
}

/// This machine's wall-clock time, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn timestamp(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_milliseconds_after_2017() {
        // 2017-01-01 in ms: the API rejects anything earlier (spec §3.3).
        assert!(SystemClock.timestamp() > 1_483_228_800_000);
        assert!(SystemClock.timestamp() < 1_000_000_000_000_000);
    }

    #[test]
    fn a_closure_is_a_clock() {
        let fixed = || 42_i64;
        assert_eq!(Clock::timestamp(&fixed), 42);
    }
}
