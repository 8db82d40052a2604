//! Timing security (spec §3.3): `timestamp` in ms or µs, `recvWindow` in ms with up to three
//! decimals, default 5000, at most 60000.

use crate::clock::Timestamp;
use crate::error::ApiError;

/// `recvWindow` when none is sent, in microseconds.
const DEFAULT_RECV_WINDOW_MICROS: i64 = 5_000_000;
/// The largest `recvWindow` accepted, in microseconds.
const MAX_RECV_WINDOW_MICROS: i64 = 60_000_000;
/// How far ahead of the server a timestamp may be, in microseconds (exclusive).
const AHEAD_TOLERANCE_MICROS: i64 = 1_000_000;
/// Timestamps from this value up are read as microseconds: 10^15 ms is the year 33658,
/// 10^15 µs is 2001, before any timestamp the API accepts (2017).
const MICROSECOND_THRESHOLD: i64 = 1_000_000_000_000_000;

const TIMESTAMP_RANGE: &str = "^[0-9]{1,20}$";
const RECV_WINDOW_RANGE: &str = "^[0-9]{1,20}(\\.[0-9]{1,3})?$";

/// Parses `timestamp`: 1 to 20 digits, milliseconds or microseconds since the epoch.
///
/// # Errors
/// [`ApiError::IllegalChars`] for anything but digits.
pub(crate) fn parse_timestamp(text: &str) -> Result<Timestamp, ApiError> {
    parse_time_param("timestamp", text)
}

/// Parses a time param called `param` (`timestamp`, `startTime`, `endTime`): 1 to 20 digits,
/// milliseconds or microseconds since the epoch (web-socket-api.md:121).
///
/// # Errors
/// [`ApiError::IllegalChars`] naming `param` for anything but digits.
pub(crate) fn parse_time_param(param: &'static str, text: &str) -> Result<Timestamp, ApiError> {
    let illegal = ApiError::IllegalChars {
        param,
        legal_range: TIMESTAMP_RANGE,
    };
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(illegal);
    }
    // Up to 20 digits may exceed i64: such a value is simply far in the future.
    let value = text
        .parse::<u64>()
        .map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    let value = value.unwrap_or(i64::MAX);
    Ok(if value >= MICROSECOND_THRESHOLD {
        Timestamp::from_micros(value)
    } else {
        Timestamp::from_millis(value)
    })
}

/// Parses `recvWindow` into microseconds: milliseconds with up to three decimals, at most 60000.
///
/// # Errors
/// [`ApiError::IllegalChars`] for a malformed number, [`ApiError::GreaterThan`] above 60000.
pub(crate) fn parse_recv_window(text: &str) -> Result<i64, ApiError> {
    let illegal = ApiError::IllegalChars {
        param: "recvWindow",
        legal_range: RECV_WINDOW_RANGE,
    };
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 20
        || !digits(whole)
        || fraction.len() > 3
        || (text.contains('.') && fraction.is_empty())
        || !digits(fraction)
    {
        return Err(illegal);
    }
    // All digits, at most 20: parsing fails only above u64::MAX, which is too big, not illegal.
    let whole: u64 = whole.parse().unwrap_or(u64::MAX);
    let mut fraction_micros: i64 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        fraction_micros += i64::from(b - b'0') * [100, 10, 1][i];
    }
    let micros = i64::try_from(whole)
        .ok()
        .and_then(|ms| ms.checked_mul(1000))
        .and_then(|us| us.checked_add(fraction_micros));
    match micros {
        Some(us) if us <= MAX_RECV_WINDOW_MICROS => Ok(us),
        _ => Err(ApiError::GreaterThan {
            param: "recvWindow",
            max: "60000",
        }),
    }
}

/// Accepts iff `timestamp < now + 1000 ms` and `now - timestamp <= recvWindow` (spec §3.3).
///
/// The sanity rule of 2024-12-09 (before 2017 or more than 10 s ahead) is covered by these
/// two: such timestamps always fail one of them.
///
/// # Errors
/// The two -1021 errors: [`ApiError::TimestampAhead`], [`ApiError::OutsideRecvWindow`].
pub(crate) fn check(
    timestamp: Timestamp,
    recv_window_micros: Option<i64>,
    now: Timestamp,
) -> Result<(), ApiError> {
    let window = recv_window_micros.unwrap_or(DEFAULT_RECV_WINDOW_MICROS);
    let ts = timestamp.as_micros();
    let now = now.as_micros();
    if ts >= now.saturating_add(AHEAD_TOLERANCE_MICROS) {
        Err(ApiError::TimestampAhead)
    } else if now.saturating_sub(ts) > window {
        Err(ApiError::OutsideRecvWindow)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_700_000_000_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn milliseconds_and_microseconds_are_both_read() {
        assert_eq!(parse_timestamp("1700000000000"), Ok(at(NOW_MS)));
        assert_eq!(
            parse_timestamp("1700000000000123"),
            Ok(Timestamp::from_micros(1_700_000_000_000_123))
        );
        assert_eq!(
            parse_timestamp("99999999999999999999"),
            Ok(Timestamp::from_micros(i64::MAX))
        );
        for bad in ["", "-1", "1.5", "12a", "123456789012345678901"] {
            assert!(
                matches!(
                    parse_timestamp(bad),
                    Err(ApiError::IllegalChars {
                        param: "timestamp",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn recv_window_takes_three_decimals_and_at_most_60000() {
        assert_eq!(parse_recv_window("5000"), Ok(5_000_000));
        assert_eq!(parse_recv_window("6000.346"), Ok(6_000_346));
        assert_eq!(parse_recv_window("0.5"), Ok(500));
        assert_eq!(parse_recv_window("60000"), Ok(60_000_000));
        assert_eq!(
            parse_recv_window("99999999999999999999"),
            Err(ApiError::GreaterThan {
                param: "recvWindow",
                max: "60000"
            })
        );
        assert_eq!(
            parse_recv_window("60000.001"),
            Err(ApiError::GreaterThan {
                param: "recvWindow",
                max: "60000"
            })
        );
        for bad in ["1.2345", ".5", "5.", "-1", "1e3", ""] {
            assert!(
                matches!(
                    parse_recv_window(bad),
                    Err(ApiError::IllegalChars {
                        param: "recvWindow",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_two_rules_have_exact_edges() {
        let now = at(NOW_MS);
        assert_eq!(check(at(NOW_MS + 999), None, now), Ok(()));
        assert_eq!(
            check(at(NOW_MS + 1000), None, now),
            Err(ApiError::TimestampAhead)
        );
        assert_eq!(check(at(NOW_MS - 5000), None, now), Ok(()));
        assert_eq!(
            check(at(NOW_MS - 5001), None, now),
            Err(ApiError::OutsideRecvWindow)
        );
        assert_eq!(check(at(NOW_MS - 5001), Some(5_001_000), now), Ok(()));
        assert_eq!(
            check(Timestamp::from_micros(NOW_MS * 1000 - 5_000_001), None, now),
            Err(ApiError::OutsideRecvWindow)
        );
        assert_eq!(
            check(at(1_400_000_000_000), Some(60_000_000), now),
            Err(ApiError::OutsideRecvWindow)
        );
    }
}
