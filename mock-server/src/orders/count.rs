//! The unfilled order count of one account (`faqs_order_count_decrement.md`): the `ORDERS`
//! rate limits, by default 50 per 10 seconds and 160,000 per day (`web-socket-api.md:3817`;
//! [`Config::orders_per_10s`](crate::Config::orders_per_10s) and
//! [`Config::orders_per_day`](crate::Config::orders_per_day) change them), in fixed windows (12:34:00 to 12:34:10, then 12:34:10 to 12:34:20; the day in UTC). A placement
//! adds one to both windows; an order's first fill takes one off both, never below zero;
//! cancels and expiries change nothing.

use crate::clock::Timestamp;

/// The `ORDERS` limits in force: orders per 10 seconds and per day (from [`Config`](crate::Config)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrderLimits {
    pub per_10s: u32,
    pub per_day: u32,
}

impl Default for OrderLimits {
    /// The API's: 50 per 10 seconds, 160,000 per day.
    fn default() -> Self {
        OrderLimits {
            per_10s: 50,
            per_day: 160_000,
        }
    }
}

/// One `ORDERS` limit as the API writes it: interval, interval number, limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrderLimit {
    pub interval: &'static str,
    pub interval_num: u32,
    pub limit: u32,
}

impl OrderLimits {
    /// The two limits, in the order the API lists them (10 seconds, then the day).
    pub fn each(self) -> [OrderLimit; 2] {
        [
            OrderLimit {
                interval: "SECOND",
                interval_num: 10,
                limit: self.per_10s,
            },
            OrderLimit {
                interval: "DAY",
                interval_num: 1,
                limit: self.per_day,
            },
        ]
    }
}

/// The windows' lengths in ms, in the order of [`OrderLimits::each`], whatever the limits.
const WINDOWS_MS: [i64; 2] = [10_000, 86_400_000];

/// One account's counts: per limit, the window it was last touched in and the count there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UnfilledCount {
    windows: [(i64, u32); 2],
}

impl UnfilledCount {
    fn window(at: Timestamp, length_ms: i64) -> i64 {
        at.as_millis().div_euclid(length_ms)
    }

    /// The count of each limit at `now` (a window that has ended counts zero).
    pub fn counts(&self, now: Timestamp) -> [u32; 2] {
        let mut counts = [0; 2];
        for (i, length) in WINDOWS_MS.into_iter().enumerate() {
            let (window, count) = self.windows[i];
            if window == Self::window(now, length) {
                counts[i] = count;
            }
        }
        counts
    }

    /// The first of `limits` a new order at `now` would exceed: its (limit, "10 SECOND"-style
    /// interval) for -1015.
    pub fn exceeded(&self, now: Timestamp, limits: OrderLimits) -> Option<(u32, String)> {
        let counts = self.counts(now);
        limits
            .each()
            .into_iter()
            .zip(counts)
            .find(|(limit, count)| *count >= limit.limit)
            .map(|(limit, _)| {
                let OrderLimit {
                    interval,
                    interval_num,
                    limit,
                    ..
                } = limit;
                (limit, format!("{interval_num} {interval}"))
            })
    }

    fn change(&mut self, now: Timestamp, by: impl Fn(u32) -> u32) {
        let counts = self.counts(now);
        for (i, length) in WINDOWS_MS.into_iter().enumerate() {
            self.windows[i] = (Self::window(now, length), by(counts[i]));
        }
    }

    /// A new order was placed at `now`.
    pub fn placed(&mut self, now: Timestamp) {
        self.change(now, |count| count.saturating_add(1));
    }

    /// An order filled for the first time at `now`.
    pub fn first_fill(&mut self, now: Timestamp) {
        self.change(now, |count| count.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_count_in_both_windows_and_a_first_fill_takes_one_off() {
        let mut count = UnfilledCount::default();
        let t = Timestamp::from_millis(1_000);
        count.placed(t);
        count.placed(t);
        count.first_fill(t);
        assert_eq!(count.counts(t), [1, 1]);
        // The next 10-second window starts at zero; the day goes on.
        let later = Timestamp::from_millis(10_000);
        assert_eq!(count.counts(later), [0, 1]);
        count.first_fill(later);
        count.first_fill(later);
        assert_eq!(count.counts(later), [0, 0], "never below zero");
        assert_eq!(count.counts(Timestamp::from_millis(86_400_000)), [0, 0]);
    }

    #[test]
    fn the_fifty_first_order_in_ten_seconds_is_refused_with_its_interval() {
        let mut count = UnfilledCount::default();
        let t = Timestamp::from_millis(20_000);
        for _ in 0..49 {
            count.placed(t);
        }
        let limits = OrderLimits::default();
        assert_eq!(count.exceeded(t, limits), None);
        count.placed(t);
        assert_eq!(
            count.exceeded(t, limits),
            Some((50, "10 SECOND".to_owned()))
        );
        assert_eq!(count.exceeded(Timestamp::from_millis(30_000), limits), None);
    }

    #[test]
    fn configured_limits_refuse_at_their_own_counts() {
        let mut count = UnfilledCount::default();
        let t = Timestamp::from_millis(20_000);
        let limits = OrderLimits {
            per_10s: 1_000,
            per_day: 3,
        };
        for _ in 0..3 {
            assert_eq!(count.exceeded(t, limits), None);
            count.placed(t);
        }
        assert_eq!(count.exceeded(t, limits), Some((3, "1 DAY".to_owned())));
        let tight = OrderLimits {
            per_10s: 2,
            per_day: 3,
        };
        assert_eq!(count.exceeded(t, tight), Some((2, "10 SECOND".to_owned())));
    }
}
