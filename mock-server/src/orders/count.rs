//! The unfilled order count of one account (`faqs_order_count_decrement.md`): the `ORDERS`
//! rate limits, 50 per 10 seconds and 160,000 per day (`web-socket-api.md:3817`), in fixed
//! windows (12:34:00 to 12:34:10, then 12:34:10 to 12:34:20; the day in UTC). A placement
//! adds one to both windows; an order's first fill takes one off both, never below zero;
//! cancels and expiries change nothing.

use crate::clock::Timestamp;

/// The `ORDERS` limits: (interval as the API writes it, interval number, its length in ms,
/// limit).
pub(crate) const ORDER_LIMITS: [(&str, u32, i64, u32); 2] =
    [("SECOND", 10, 10_000, 50), ("DAY", 1, 86_400_000, 160_000)];

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
        for (i, (_, _, length, _)) in ORDER_LIMITS.iter().enumerate() {
            let (window, count) = self.windows[i];
            if window == Self::window(now, *length) {
                counts[i] = count;
            }
        }
        counts
    }

    /// The first limit a new order at `now` would exceed: its (limit, "10 SECOND"-style
    /// interval) for -1015.
    pub fn exceeded(&self, now: Timestamp) -> Option<(u32, String)> {
        let counts = self.counts(now);
        ORDER_LIMITS
            .iter()
            .zip(counts)
            .find(|((_, _, _, limit), count)| count >= limit)
            .map(|((interval, num, _, limit), _)| (*limit, format!("{num} {interval}")))
    }

    fn change(&mut self, now: Timestamp, by: impl Fn(u32) -> u32) {
        let counts = self.counts(now);
        for (i, (_, _, length, _)) in ORDER_LIMITS.iter().enumerate() {
            self.windows[i] = (Self::window(now, *length), by(counts[i]));
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
        assert_eq!(count.exceeded(t), None);
        count.placed(t);
        assert_eq!(count.exceeded(t), Some((50, "10 SECOND".to_owned())));
        assert_eq!(count.exceeded(Timestamp::from_millis(30_000)), None);
    }
}
