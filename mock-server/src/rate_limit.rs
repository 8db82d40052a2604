//! Per-IP limits (spec §5): REQUEST_WEIGHT in calendar-aligned one-minute windows shared by
//! all of an IP's connections, new CONNECTIONS in five-minute windows, and the automatic
//! bans that follow repeated 429s.

use std::net::IpAddr;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::envelope::RateLimitEntry;

const MINUTE_MICROS: i64 = 60_000_000;
const FIVE_MINUTES_MICROS: i64 = 5 * MINUTE_MICROS;

/// When an IP gets banned, and for how long (spec §5.3: "2 minutes to 3 days for repeat
/// offenders"; the thresholds are not documented).
///
/// In its serde form it is part of [`Config`](crate::Config)'s: the keys `ban-after` and
/// `ban-durations` (`["2m", "10m"]`), each defaulted when left out; read alone, it refuses
/// any other key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BanPolicy {
    /// An IP is banned on its next over-limit request once this many of its requests were
    /// refused with 429 in one window. Zero disables bans.
    #[serde(rename = "ban-after")]
    pub after_refusals: u32,
    /// How long each successive ban of the same IP lasts; the last one repeats.
    #[serde(rename = "ban-durations", with = "crate::config::duration_list")]
    pub durations: Vec<Duration>,
}

impl Default for BanPolicy {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        BanPolicy {
            after_refusals: 10,
            durations: vec![
                minutes(2),
                minutes(10),
                minutes(30),
                minutes(60),
                minutes(6 * 60),
                minutes(24 * 60),
                minutes(3 * 24 * 60),
            ],
        }
    }
}

/// What the limiter remembers of one IP.
#[derive(Debug, Clone, Copy, Default)]
struct IpState {
    weight_minute: i64,
    weight_used: u32,
    refused_in_minute: u32,
    connection_window: i64,
    connection_attempts: u32,
    bans: u32,
    banned_until: Option<Timestamp>,
}

/// What charging a request's weight found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Charge {
    /// The weight this request was charged.
    pub weight: u32,
    /// Weight used in this window, this request included.
    pub used: u32,
    /// The limit in force.
    pub limit: u32,
    /// Whether the request may run.
    pub verdict: Verdict,
    /// Whether this request is the one that got the IP banned.
    pub ban_started: bool,
}

/// Whether a charged request may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the limit.
    Allowed,
    /// Over the limit: 429 until `window_end`.
    OverLimit { window_end: Timestamp },
    /// The IP is banned until `until`: 418, then disconnect.
    Banned { until: Timestamp },
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

/// Why a new connection is refused at the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionRefusal {
    /// The IP is banned.
    Banned { until: Timestamp },
    /// The IP opened too many connections in this five-minute window.
    TooManyConnections { limit: u32 },
}

/// The per-IP limits of a server.
#[derive(Debug)]
pub(crate) struct Limiter {
    weight_limit: u32,
    connection_limit: u32,
    bans: BanPolicy,
    /// Keyed by foldhash, seeded per process: one lookup per request, on every request.
    ips: foldhash::HashMap<IpAddr, IpState>,
}

impl Limiter {
    /// A limiter allowing `weight_limit` weight per minute and `connection_limit` new
    /// connections per five minutes, per IP.
    pub fn new(weight_limit: u32, connection_limit: u32, bans: BanPolicy) -> Self {
        Limiter {
            weight_limit,
            connection_limit,
            bans,
            ips: foldhash::HashMap::default(),
        }
    }

    /// The REQUEST_WEIGHT allowed per IP per minute.
    pub fn weight_limit(&self) -> u32 {
        self.weight_limit
    }

    /// The new connections allowed per IP per five minutes.
    pub fn connection_limit(&self) -> u32 {
        self.connection_limit
    }

    fn ip(
        ips: &mut foldhash::HashMap<IpAddr, IpState>,
        ip: IpAddr,
        now: Timestamp,
    ) -> &mut IpState {
        if ips.len() > 4096 {
            // Forget IPs with nothing left to remember, so that many clients cannot grow this map.
            let minute = now.as_micros().div_euclid(MINUTE_MICROS);
            let window = now.as_micros().div_euclid(FIVE_MINUTES_MICROS);
            ips.retain(|_, s| {
                s.weight_minute >= minute
                    || s.connection_window >= window
                    || s.banned_until.is_some_and(|until| until > now)
                    || s.bans > 0
            });
        }
        ips.entry(ip).or_default()
    }

    /// Records a connection attempt from `ip` at `now`, refusing it when the IP is banned or
    /// over its CONNECTIONS limit. Refused attempts count too ("connection attempts", spec §8).
    pub fn connection_attempt(
        &mut self,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<(), ConnectionRefusal> {
        let limit = self.connection_limit;
        let state = Self::ip(&mut self.ips, ip, now);
        let window = now.as_micros().div_euclid(FIVE_MINUTES_MICROS);
        if state.connection_window != window {
            state.connection_window = window;
            state.connection_attempts = 0;
        }
        state.connection_attempts = state.connection_attempts.saturating_add(1);
        if let Some(until) = state.banned_until.filter(|until| *until > now) {
            return Err(ConnectionRefusal::Banned { until });
        }
        if state.connection_attempts > limit {
            return Err(ConnectionRefusal::TooManyConnections { limit });
        }
        Ok(())
    }

    /// Takes `weight` charged at `now` back off `ip`'s window (a request that weighs
    /// nothing once it succeeds).
    pub fn refund(&mut self, ip: IpAddr, weight: u32, now: Timestamp) {
        let minute = now.as_micros().div_euclid(MINUTE_MICROS);
        if let Some(state) = self.ips.get_mut(&ip) {
            if state.weight_minute == minute {
                state.weight_used = state.weight_used.saturating_sub(weight);
            }
        }
    }

    /// Adds `weight` to `ip`'s window at `now`. A request over the limit is still counted
    /// (hammering keeps the count rising, as on the real API), refused with 429, and, after
    /// [`BanPolicy::after_refusals`] such refusals in one window, gets the IP banned.
    pub fn charge(&mut self, ip: IpAddr, weight: u32, now: Timestamp) -> Charge {
        let limit = self.weight_limit;
        let after_refusals = self.bans.after_refusals;
        let durations = &self.bans.durations;
        let state = Self::ip(&mut self.ips, ip, now);
        let minute = now.as_micros().div_euclid(MINUTE_MICROS);
        if state.weight_minute != minute {
            state.weight_minute = minute;
            state.weight_used = 0;
            state.refused_in_minute = 0;
        }
        state.weight_used = state.weight_used.saturating_add(weight);
        let mut ban_started = false;
        let verdict = if let Some(until) = state.banned_until.filter(|until| *until > now) {
            Verdict::Banned { until }
        } else if state.weight_used <= limit {
            Verdict::Allowed
        } else if after_refusals > 0 && state.refused_in_minute >= after_refusals {
            let index = usize::try_from(state.bans).unwrap_or(usize::MAX);
            let duration = durations
                .get(index)
                .or(durations.last())
                .copied()
                .unwrap_or(Duration::from_secs(120));
            let until = now.plus(duration);
            state.bans = state.bans.saturating_add(1);
            state.banned_until = Some(until);
            ban_started = true;
            Verdict::Banned { until }
        } else {
            state.refused_in_minute += 1;
            Verdict::OverLimit {
                window_end: Timestamp::from_micros((minute + 1).saturating_mul(MINUTE_MICROS)),
            }
        };
        Charge {
            weight,
            used: state.weight_used,
            limit,
            verdict,
            ban_started,
        }
    }

    /// How many IPs the limiter currently remembers.
    pub fn tracked_ips(&self) -> usize {
        self.ips.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    fn no_bans() -> BanPolicy {
        BanPolicy {
            after_refusals: 0,
            durations: vec![],
        }
    }

    #[test]
    fn windows_are_per_ip_and_reset_on_the_minute() {
        let mut limiter = Limiter::new(10, 300, no_bans());
        let t = Timestamp::from_millis(120_000 + 59_999);
        assert_eq!(limiter.charge(A, 4, t).used, 4);
        assert_eq!(limiter.charge(A, 4, t).used, 8);
        assert_eq!(limiter.charge(B, 1, t).used, 1);
        let next = limiter.charge(A, 2, Timestamp::from_millis(180_000));
        assert_eq!((next.used, next.verdict), (2, Verdict::Allowed));
    }

    #[test]
    fn going_over_the_limit_is_reported_and_still_counted() {
        let mut limiter = Limiter::new(3, 300, no_bans());
        let t = Timestamp::from_millis(5);
        assert_eq!(limiter.charge(A, 3, t).verdict, Verdict::Allowed);
        let over = limiter.charge(A, 1, t);
        assert_eq!(over.used, 4);
        assert_eq!(
            over.verdict,
            Verdict::OverLimit {
                window_end: Timestamp::from_millis(60_000)
            }
        );
    }

    #[test]
    fn repeated_refusals_ban_and_bans_escalate() {
        let policy = BanPolicy {
            after_refusals: 2,
            durations: vec![Duration::from_secs(120), Duration::from_secs(600)],
        };
        let mut limiter = Limiter::new(1, 300, policy);
        let t = Timestamp::from_millis(0);
        assert_eq!(limiter.charge(A, 1, t).verdict, Verdict::Allowed);
        assert!(matches!(
            limiter.charge(A, 1, t).verdict,
            Verdict::OverLimit { .. }
        ));
        assert!(matches!(
            limiter.charge(A, 1, t).verdict,
            Verdict::OverLimit { .. }
        ));
        let first_ban = Timestamp::from_millis(120_000);
        assert_eq!(
            limiter.charge(A, 1, t).verdict,
            Verdict::Banned { until: first_ban }
        );
        // Banned: every request and every new connection is refused, in any window.
        let later = Timestamp::from_millis(90_000);
        assert_eq!(
            limiter.charge(A, 1, later).verdict,
            Verdict::Banned { until: first_ban }
        );
        assert_eq!(
            limiter.connection_attempt(A, later),
            Err(ConnectionRefusal::Banned { until: first_ban })
        );
        assert_eq!(limiter.connection_attempt(B, later), Ok(()));
        // After the ban, the next offence bans for the next duration.
        let t = Timestamp::from_millis(180_000);
        assert_eq!(limiter.charge(A, 1, t).verdict, Verdict::Allowed);
        limiter.charge(A, 1, t);
        limiter.charge(A, 1, t);
        assert_eq!(
            limiter.charge(A, 1, t).verdict,
            Verdict::Banned {
                until: Timestamp::from_millis(780_000)
            }
        );
    }

    #[test]
    fn connection_attempts_are_limited_per_five_minutes() {
        let mut limiter = Limiter::new(6000, 2, no_bans());
        let t = Timestamp::from_millis(299_999);
        assert_eq!(limiter.connection_attempt(A, t), Ok(()));
        assert_eq!(limiter.connection_attempt(A, t), Ok(()));
        assert_eq!(
            limiter.connection_attempt(A, t),
            Err(ConnectionRefusal::TooManyConnections { limit: 2 })
        );
        assert_eq!(limiter.connection_attempt(B, t), Ok(()));
        assert_eq!(
            limiter.connection_attempt(A, Timestamp::from_millis(300_000)),
            Ok(())
        );
    }
}
