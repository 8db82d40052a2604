//! REQUEST_WEIGHT accounting (spec §5): a calendar-aligned one-minute window per client IP,
//! shared by all of that IP's connections.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::envelope::RateLimitEntry;

const MINUTE_MICROS: i64 = 60_000_000;

/// Weight used per IP in the current calendar minute.
#[derive(Debug)]
pub(crate) struct WeightLimiter {
    limit: u32,
    windows: HashMap<IpAddr, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    minute: i64,
    used: u32,
}

/// What charging a request's weight found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Charge {
    /// Weight used in this window, this request included.
    pub used: u32,
    /// The limit in force.
    pub limit: u32,
    /// Whether this request went over the limit (and must not be executed).
    pub exceeded: bool,
    /// When the current window ends: the `retryAfter` of a 429.
    pub window_end: Timestamp,
}

impl Charge {
    /// The `rateLimits` entry that reports this charge (spec §5.2).
    pub fn entry(&self) -> RateLimitEntry {
        RateLimitEntry {
            rate_limit_type: "REQUEST_WEIGHT",
            interval: "MINUTE",
            interval_num: 1,
            limit: self.limit,
            count: self.used,
        }
    }
}

impl WeightLimiter {
    /// A limiter allowing `limit` weight per IP per calendar minute.
    pub fn new(limit: u32) -> Self {
        WeightLimiter {
            limit,
            windows: HashMap::new(),
        }
    }

    /// Adds `weight` to `ip`'s window at `now`. A request that takes the count past the limit
    /// is still counted (as on the real API, hammering keeps the count rising) but reported
    /// as exceeded.
    pub fn charge(&mut self, ip: IpAddr, weight: u32, now: Timestamp) -> Charge {
        let minute = now.as_micros().div_euclid(MINUTE_MICROS);
        if self.windows.len() > 4096 {
            // Forget the IPs whose windows are over, so that many clients cannot grow this map.
            self.windows.retain(|_, w| w.minute >= minute);
        }
        let window = self.windows.entry(ip).or_insert(Window { minute, used: 0 });
        if window.minute != minute {
            *window = Window { minute, used: 0 };
        }
        window.used = window.used.saturating_add(weight);
        Charge {
            used: window.used,
            limit: self.limit,
            exceeded: window.used > self.limit,
            window_end: Timestamp::from_micros((minute + 1).saturating_mul(MINUTE_MICROS)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn windows_are_per_ip_and_reset_on_the_minute() {
        let mut limiter = WeightLimiter::new(10);
        let t = Timestamp::from_millis(120_000 + 59_999);
        assert_eq!(limiter.charge(A, 4, t).used, 4);
        assert_eq!(limiter.charge(A, 4, t).used, 8);
        assert_eq!(limiter.charge(B, 1, t).used, 1);
        let next = limiter.charge(A, 2, Timestamp::from_millis(180_000));
        assert_eq!((next.used, next.exceeded), (2, false));
        assert_eq!(next.window_end, Timestamp::from_millis(240_000));
    }

    #[test]
    fn going_over_the_limit_is_reported_and_still_counted() {
        let mut limiter = WeightLimiter::new(3);
        let t = Timestamp::from_millis(5);
        assert!(!limiter.charge(A, 3, t).exceeded);
        let over = limiter.charge(A, 1, t);
        assert_eq!((over.used, over.exceeded), (4, true));
        assert_eq!(over.window_end, Timestamp::from_millis(60_000));
    }
}
