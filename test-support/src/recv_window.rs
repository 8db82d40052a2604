//! `recvWindow` as the spec documents it (§3.3), derived from the documented legal range
//! rather than from any server's parser: milliseconds matching
//! `^[0-9]{1,20}(\.[0-9]{1,3})?$`, at most 60000.

use std::sync::OnceLock;

use regex::Regex;

use crate::errors::{ApiError, GREATER_THAN_MAXIMUM, ILLEGAL_CHARACTERS};

/// The legal range of `recvWindow`, as the -1100 message quotes it.
pub const LEGAL_RANGE: &str = r"^[0-9]{1,20}(\.[0-9]{1,3})?$";

/// The largest `recvWindow`, in milliseconds.
pub const MAX_MS: u32 = 60_000;

/// `recvWindow` when none is sent, in milliseconds.
pub const DEFAULT_MS: u32 = 5_000;

fn legal_range() -> &'static Regex {
    static RANGE: OnceLock<Regex> = OnceLock::new();
    RANGE.get_or_init(|| Regex::new(LEGAL_RANGE).expect("the documented range is a regex"))
}

/// `recvWindow` text to microseconds.
///
/// # Errors
/// -1100 for text outside the legal range, -1102 above 60000.
pub fn parse_us(text: &str) -> Result<i64, ApiError> {
    if !legal_range().is_match(text) {
        return Err(
            ILLEGAL_CHARACTERS.render(&[("name", "recvWindow"), ("legal_range", LEGAL_RANGE)])
        );
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    // Up to 20 digits: u128 holds them, and any such value over 60000 is just "too large".
    let whole_ms: u128 = whole.parse().unwrap_or(u128::MAX);
    let fraction_us: u128 = format!("{fraction:0<3}").parse().unwrap_or(0);
    let us = whole_ms.saturating_mul(1000).saturating_add(fraction_us);
    match i64::try_from(us) {
        Ok(us) if us <= i64::from(MAX_MS) * 1000 => Ok(us),
        _ => Err(GREATER_THAN_MAXIMUM.render(&[("name", "recvWindow"), ("max", "60000")])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recv_window_follows_the_documented_rules() {
        let too_large = GREATER_THAN_MAXIMUM.render(&[("name", "recvWindow"), ("max", "60000")]);
        assert_eq!(parse_us("6000.346"), Ok(6_000_346));
        assert_eq!(parse_us("6000.3"), Ok(6_000_300));
        assert_eq!(parse_us("0"), Ok(0));
        assert_eq!(parse_us("60000"), Ok(60_000_000));
        assert_eq!(parse_us("60000.001"), Err(too_large.clone()));
        assert_eq!(parse_us("99999999999999999999"), Err(too_large));
        for bad in [
            "1.2345",
            ".5",
            "5.",
            "-1",
            "1e3",
            "",
            "123456789012345678901",
            " 1",
        ] {
            assert_eq!(parse_us(bad).map_err(|e| e.code), Err(-1100), "{bad}");
        }
    }
}
