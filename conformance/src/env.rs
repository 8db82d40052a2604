//! What a case runs with: the target's URL and keys, its clock (frozen and in hand, or live
//! and estimated), and the weight count as far as this client can know it.
//!
//! Weight windows are calendar minutes of the server's clock (spec §5.1), shared by every
//! connection of one IP. On a frozen clock every case starts at a fresh minute, so counts are
//! exact. On a live clock the harness cannot know when the minute rolls over, so it checks
//! counts relative to the last one it saw: each reply must add exactly what was charged since;
//! a count that drops means a new window began, and then only what was charged since may be
//! in it. Before a request that could go over the limit, it waits for the next minute.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mock_server::{Clock, Timestamp};

use crate::keys::TargetKeys;
use crate::spec;
use crate::target::Target;
use crate::wire::{ConnectError, Wire};

const MINUTE_MS: i64 = 60_000;
const FIVE_MINUTES_MS: i64 = 5 * MINUTE_MS;

/// The weight count as this client knows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct WeightTracker {
    /// The last count seen, if any since the window may have changed.
    last: Option<u32>,
    /// Weight charged since that was not seen in any reply (connections, quiet replies).
    pending: u32,
    /// Whether the count is known exactly (frozen clock, fresh window): no window can end.
    exact: bool,
    /// Whether other clients may add weight (counts are then lower bounds).
    foreign: bool,
}

impl WeightTracker {
    /// Weight charged without a reply showing the count.
    pub fn unobserved(&mut self, charged: u32) {
        self.pending = self.pending.saturating_add(charged);
    }

    /// A fresh window with nothing used in it (frozen clocks).
    pub fn reset_exact(&mut self) {
        *self = WeightTracker {
            last: Some(0),
            pending: 0,
            exact: true,
            foreign: false,
        };
    }

    /// Forget the count: the window is about to change (live clocks).
    pub fn forget(&mut self) {
        self.last = None;
        self.pending = 0;
    }

    /// The count as far as known, with what was charged since.
    pub fn estimate(&self) -> Option<u32> {
        self.last.map(|last| last.saturating_add(self.pending))
    }

    /// Checks a count seen in a reply to a request that `charged` this much.
    pub fn observe(&mut self, charged: u32, observed: u32) -> Result<(), String> {
        let pending = self.pending;
        let predicted = self
            .last
            .map(|l| l.saturating_add(pending).saturating_add(charged));
        let new_window = (charged..=charged.saturating_add(pending)).contains(&observed);
        let verdict = match predicted {
            Some(p) if observed == p => Ok(()),
            Some(p) if self.exact => Err(format!("count {observed}, expected {p}")),
            Some(p) if observed > p && self.foreign => Ok(()),
            Some(p) if observed > p => Err(format!(
                "count {observed}, expected {p}: {} more than this client used (another client \
                 on this IP? run with --foreign-weight)",
                observed - p
            )),
            // Nothing seen yet (or since the window was forgotten): this syncs.
            None if observed >= charged => Ok(()),
            _ if new_window || (self.foreign && observed >= charged) => Ok(()),
            Some(p) => Err(format!(
                "count {observed}, expected {p}, or {charged}..={} had a new minute begun",
                charged.saturating_add(pending)
            )),
            None => Err(format!(
                "count {observed}, lower than this request's own weight {charged}"
            )),
        };
        self.last = Some(observed);
        self.pending = 0;
        verdict
    }
}

/// The clock of the target.
#[derive(Clone, Debug)]
pub(crate) enum TargetClock {
    /// Frozen and in hand.
    Frozen(Clock),
    /// Live: the server's time is this machine's plus `offset_ms` (estimated).
    Live { offset_ms: i64 },
}

/// The environment of a run.
pub(crate) struct Env {
    pub url: String,
    pub keys: TargetKeys,
    pub clock: TargetClock,
    /// The weight limit, known (frozen) or learnt from the first `rateLimits` seen.
    pub weight_limit: Option<u32>,
    pub weight: WeightTracker,
    pub foreign_weight: bool,
    /// How far from a timing rule's edge live timestamps are kept, in milliseconds.
    pub timing_margin_ms: i64,
    /// Property cases to run, and how many shrinking steps a failure may take.
    pub cases: u32,
    pub max_shrink_iters: u32,
    /// The seed of the case running now, and of the whole run (what `--seed` sets).
    pub seed: u64,
    pub run_seed: u64,
    pub private_servers: bool,
    pub in_process: bool,
    /// Whether the target accepted the primary key (checked once for live targets).
    pub key_usable: Result<(), String>,
    /// What a case wants said beside its verdict (waits, re-syncs).
    pub notes: Vec<String>,
    /// What the replies of a property case were, by kind: shows what was exercised.
    pub tally: std::collections::BTreeMap<String, u32>,
}

impl Env {
    /// An environment for `target`.
    pub fn new(target: &Target, foreign_weight: bool) -> Env {
        let mut weight = WeightTracker {
            foreign: foreign_weight,
            ..WeightTracker::default()
        };
        if target.is_frozen() {
            weight.reset_exact();
        }
        Env {
            url: target.url.clone(),
            keys: target.keys.clone(),
            clock: match &target.clock {
                Some(clock) => TargetClock::Frozen(clock.clone()),
                None => TargetClock::Live { offset_ms: 0 },
            },
            weight_limit: target.weight_limit,
            weight,
            foreign_weight,
            timing_margin_ms: 1500,
            cases: 32,
            max_shrink_iters: 256,
            seed: 0,
            run_seed: 0,
            private_servers: target.private_servers,
            in_process: target.in_process,
            key_usable: Ok(()),
            notes: Vec::new(),
            tally: std::collections::BTreeMap::new(),
        }
    }

    /// The same run against a mock a case started itself (frozen, limit known).
    pub fn private(&self, url: String, clock: Clock, weight_limit: u32) -> Env {
        let mut weight = WeightTracker::default();
        weight.reset_exact();
        Env {
            url,
            keys: self.keys.clone(),
            clock: TargetClock::Frozen(clock),
            weight_limit: Some(weight_limit),
            weight,
            foreign_weight: false,
            timing_margin_ms: self.timing_margin_ms,
            cases: self.cases,
            max_shrink_iters: self.max_shrink_iters,
            seed: self.seed,
            run_seed: self.run_seed,
            private_servers: false,
            in_process: true,
            key_usable: Ok(()),
            notes: Vec::new(),
            tally: std::collections::BTreeMap::new(),
        }
    }

    /// Counts one kind of reply or event for the tally.
    pub fn count(&mut self, kind: String) {
        *self.tally.entry(kind).or_insert(0) += 1;
    }

    /// Whether the target's clock is frozen and in hand.
    pub fn is_frozen(&self) -> bool {
        matches!(self.clock, TargetClock::Frozen(_))
    }

    /// The frozen clock's reading, in microseconds.
    pub fn frozen_now_us(&self) -> Option<i64> {
        match &self.clock {
            TargetClock::Frozen(clock) => Some(clock.now().as_micros()),
            TargetClock::Live { .. } => None,
        }
    }

    /// The server's time in microseconds: exact when frozen, estimated when live.
    pub fn server_now_us(&self) -> i64 {
        match &self.clock {
            TargetClock::Frozen(clock) => clock.now().as_micros(),
            TargetClock::Live { offset_ms } => local_now_us() + offset_ms * 1000,
        }
    }

    /// Moves the frozen clock forward (no-op on a live clock); a new minute resets the count.
    pub fn advance(&mut self, ms: u32) {
        if let TargetClock::Frozen(clock) = &self.clock {
            let before = clock.now().as_millis().div_euclid(MINUTE_MS);
            clock.advance(Duration::from_millis(u64::from(ms)));
            if clock.now().as_millis().div_euclid(MINUTE_MS) != before {
                self.weight.reset_exact();
            }
        }
    }

    /// Starts a case: on a frozen clock, at the start of the next minute with nothing used.
    pub fn fresh_case(&mut self) {
        if let TargetClock::Frozen(clock) = &self.clock {
            let now = clock.now().as_millis();
            let next = (now.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
            clock.set(Timestamp::from_millis(next));
            self.weight.reset_exact();
        }
    }

    /// Waits, on a live clock, until the server's next minute has begun: the count is then
    /// only what is charged from now on. Returns at once on a frozen clock (use `advance`).
    pub async fn wait_for_fresh_minute(&mut self) {
        if let TargetClock::Live { .. } = self.clock {
            self.wait_for_next(MINUTE_MS, 300, |s| {
                format!("waited {s:.1} s for a new weight window")
            })
            .await;
        }
    }

    /// Sleeps until `margin_ms` past the server's next multiple of `period_ms`, notes the
    /// wait (`note` of its seconds), and forgets what was counted before it.
    async fn wait_for_next(
        &mut self,
        period_ms: i64,
        margin_ms: i64,
        note: impl FnOnce(f64) -> String,
    ) {
        let now_ms = self.server_now_us() / 1000;
        let next = (now_ms.div_euclid(period_ms) + 1) * period_ms;
        let wait = Duration::from_millis(u64::try_from(next - now_ms + margin_ms).unwrap_or(0));
        self.notes.push(note(wait.as_secs_f64()));
        tokio::time::sleep(wait).await;
        self.weight.forget();
    }

    /// On a live clock, waits for the next minute when `upcoming` more weight could go over
    /// the limit: this client must not cause a 429 on a shared endpoint.
    pub async fn pace(&mut self, upcoming: u32) {
        if self.is_frozen() {
            return;
        }
        let limit = self.weight_limit.unwrap_or(spec::DOCUMENTED_WEIGHT_LIMIT);
        let headroom = 50;
        if let Some(used) = self.weight.estimate() {
            if used.saturating_add(upcoming).saturating_add(headroom) > limit {
                self.wait_for_fresh_minute().await;
            }
        }
    }

    /// Opens a connection with `query` (without `?`, may be empty), charging its weight. On a
    /// live target refused for too many new connections (HTTP 429, spec §5.1), waits for the
    /// next five-minute window once and tries again.
    pub async fn connect(&mut self, query: &str) -> Result<Wire, ConnectError> {
        let url = self.url_with(query);
        let first = Wire::connect(&url).await;
        let wire = match first {
            Err(ConnectError::Refused { status: 429, .. }) if !self.is_frozen() => {
                self.wait_for_next(FIVE_MINUTES_MS, 500, |s| {
                    format!(
                        "the CONNECTIONS limit was reached: waited {s:.0} s for the next window"
                    )
                })
                .await;
                Wire::connect(&url).await?
            }
            other => other?,
        };
        self.weight.unobserved(spec::CONNECTION_WEIGHT);
        Ok(wire)
    }

    /// The URL with a query string.
    pub fn url_with(&self, query: &str) -> String {
        if query.is_empty() {
            self.url.clone()
        } else if self.url.contains('?') {
            format!("{}&{query}", self.url)
        } else {
            format!("{}?{query}", self.url)
        }
    }

    /// How far a live `serverTime` may be from the estimate, in milliseconds.
    pub fn time_tolerance_ms(&self) -> i64 {
        self.timing_margin_ms.max(1000) * 2
    }

    /// Checks a time field against the server's time now: exactly `expected_ms` on a frozen
    /// clock, close to the estimate on a live one.
    pub fn check_now(&self, what: &str, expected_ms: Option<i64>, got: i64) -> Result<(), String> {
        match expected_ms {
            Some(expected) if got == expected => Ok(()),
            Some(expected) => Err(format!("{what} {got}, expected {expected}")),
            None => {
                let estimate = self.server_now_us() / 1000;
                let tolerance = self.time_tolerance_ms();
                if (got - estimate).abs() <= tolerance {
                    Ok(())
                } else {
                    Err(format!(
                        "{what} {got} is {} ms from the server's time as estimated ({estimate})",
                        got - estimate
                    ))
                }
            }
        }
    }

    /// Estimates a live clock's offset from a `serverTime` read between `sent_us` and
    /// `received_us` of this machine's clock.
    pub fn set_live_offset(&mut self, server_time_ms: i64, sent_us: i64, received_us: i64) {
        if let TargetClock::Live { offset_ms } = &mut self.clock {
            let midpoint_ms = (sent_us + received_us) / 2000;
            *offset_ms = server_time_ms - midpoint_ms;
        }
    }
}

/// This machine's wall-clock time in microseconds.
pub(crate) fn local_now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_counts_accept_exactly_what_was_charged() {
        let mut t = WeightTracker::default();
        assert_eq!(t.observe(1, 40), Ok(()), "the first count only syncs");
        t.unobserved(2);
        assert_eq!(t.observe(20, 62), Ok(()));
        assert!(t.observe(1, 64).is_err(), "one too many");
        assert!(t.observe(1, 64).is_err(), "nothing charged twice");
    }

    #[test]
    fn a_drop_is_a_new_window_holding_only_what_was_charged_since() {
        let mut t = WeightTracker::default();
        t.observe(1, 500).expect("sync");
        t.unobserved(2);
        assert_eq!(
            t.observe(2, 4),
            Ok(()),
            "connection and request in the new window"
        );
        assert!(t.observe(1, 3).is_err(), "a drop that is not a new window");
    }

    #[test]
    fn exact_counts_allow_no_window_change() {
        let mut t = WeightTracker::default();
        t.reset_exact();
        t.unobserved(2);
        assert_eq!(t.observe(1, 3), Ok(()));
        assert!(t.observe(1, 1).is_err());
    }

    #[test]
    fn foreign_weight_makes_counts_lower_bounds() {
        let mut t = WeightTracker {
            foreign: true,
            ..WeightTracker::default()
        };
        t.observe(1, 10).expect("sync");
        assert_eq!(t.observe(1, 15), Ok(()));
        assert!(t.observe(5, 4).is_err(), "below this request's own weight");
    }
}
