//! Klines (candlesticks) drawn from a symbol's price history on the mock clock: no I/O, the
//! time of the request is an argument.
//!
//! A candle covers `[open, next open)`. Its open is the price at its open time (the start-up
//! price before the first move), its high and low span every price it had inside, its close is
//! the last price it had (at its close time, or now for the candle now falls in). A candle in
//! which the price never moved and nobody traded is flat at the last price with zero volume.
//! Trades of mock accounts add volume, quote volume and a count (and the taker buy volumes
//! when the taker bought) to the candle they fall in, without moving the price.
//!
//! Alignment (docs/FIDELITY.md, "Klines"): every interval but `1M` is a fixed length counted
//! from an anchor in the requested zone: the Unix epoch for all of them (`3d` included), and
//! Monday 1970-01-05 for `1w`; `1M` is the calendar month. A `timeZone` shifts the wall
//! clock the candles are cut on; `startTime`, `endTime` and the times written stay UTC.

use rust_decimal::Decimal;

use super::Trade;
use crate::clock::Timestamp;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 1970-01-05, the first Monday after the epoch (a Thursday): where weeks are counted from.
const FIRST_MONDAY: i64 = 4 * DAY;

/// The most candles one request returns (web-socket-api.md:2090).
pub(crate) const MAX_LIMIT: usize = 1000;
/// How many candles a request without `limit` gets (web-socket-api.md:2090).
pub(crate) const DEFAULT_LIMIT: usize = 500;

/// A kline interval (web-socket-api.md:2094): a fixed length from an anchor, or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    /// `length` microseconds, counted from `anchor` (microseconds after the epoch).
    Fixed { length: i64, anchor: i64 },
    /// `1M`: calendar months.
    Month,
}

impl Interval {
    /// The interval `name` stands for: case-sensitive, so `1m` is a minute and `1M` a month.
    pub fn parse(name: &str) -> Option<Interval> {
        let fixed = |length| Some(Interval::Fixed { length, anchor: 0 });
        match name {
            "1s" => fixed(SECOND),
            "1m" => fixed(MINUTE),
            "3m" => fixed(3 * MINUTE),
            "5m" => fixed(5 * MINUTE),
            "15m" => fixed(15 * MINUTE),
            "30m" => fixed(30 * MINUTE),
            "1h" => fixed(HOUR),
            "2h" => fixed(2 * HOUR),
            "4h" => fixed(4 * HOUR),
            "6h" => fixed(6 * HOUR),
            "8h" => fixed(8 * HOUR),
            "12h" => fixed(12 * HOUR),
            "1d" => fixed(DAY),
            "3d" => fixed(3 * DAY),
            "1w" => Some(Interval::Fixed {
                length: 7 * DAY,
                anchor: FIRST_MONDAY,
            }),
            "1M" => Some(Interval::Month),
            _ => None,
        }
    }

    /// The open of the candle holding the local wall-clock instant `local` (µs).
    fn floor(self, local: i64) -> i64 {
        match self {
            Interval::Fixed { length, anchor } => {
                anchor + (local - anchor).div_euclid(length) * length
            }
            Interval::Month => {
                let (year, month, _) = civil_from_days(local.div_euclid(DAY));
                days_from_civil(year, month, 1) * DAY
            }
        }
    }

    /// The open of the candle after the one opening at `open` (local µs).
    fn next(self, open: i64) -> i64 {
        match self {
            Interval::Fixed { length, .. } => open + length,
            Interval::Month => {
                let (year, month, _) = civil_from_days(open.div_euclid(DAY));
                let (year, month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                days_from_civil(year, month, 1) * DAY
            }
        }
    }

    /// The open of the candle before the one opening at `open` (local µs).
    fn previous(self, open: i64) -> i64 {
        match self {
            Interval::Fixed { length, .. } => open - length,
            Interval::Month => self.floor(open - 1),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction: 1..=12 and 1..=31.
    (year, month as u32, day as u32)
}

/// The zone candles are cut in: an offset from UTC, whole minutes, in [-12:00, +14:00].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TimeZone {
    offset_minutes: i32,
}

impl TimeZone {
    /// UTC, the default.
    pub const UTC: TimeZone = TimeZone { offset_minutes: 0 };

    /// Reads `timeZone` (web-socket-api.md:2108-2111): hours and minutes (`-1:00`, `05:45`) or
    /// only hours (`0`, `8`), an optional sign, within [-12:00, +14:00] inclusive.
    pub fn parse(text: &str) -> Option<TimeZone> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((hours, minutes)) if minutes.len() == 2 => (hours, minutes),
            Some(_) => return None,
            None => (rest, "00"),
        };
        let digits = |s: &str, most: usize| {
            (1..=most).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(hours, 2) || !digits(minutes, 2) {
            return None;
        }
        let hours: i32 = hours.parse().ok()?;
        let minutes: i32 = minutes.parse().ok()?;
        if minutes >= 60 {
            return None;
        }
        let magnitude = hours * 60 + minutes;
        let offset_minutes = if negative { -magnitude } else { magnitude };
        (-12 * 60..=14 * 60)
            .contains(&offset_minutes)
            .then_some(TimeZone { offset_minutes })
    }

    fn offset_micros(self) -> i64 {
        i64::from(self.offset_minutes) * MINUTE
    }
}

/// Which candles a request asks for (web-socket-api.md:116-119, 2107): those opening in
/// `[start, end]`, the oldest `limit` from `start` when it is given, else the newest `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// `startTime`.
    pub start: Option<Timestamp>,
    /// `endTime`.
    pub end: Option<Timestamp>,
    /// At most this many candles.
    pub limit: usize,
}

/// What a symbol's candles are drawn from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct History<'a> {
    /// The price before the first move.
    pub start_price: Decimal,
    /// Every move, oldest first.
    pub moves: &'a [(Timestamp, Decimal)],
    /// Trades of mock accounts, oldest first.
    pub trades: &'a [Trade],
}

impl History<'_> {
    /// The price at `at`: the last move at or before it, else the start-up price.
    fn price_at(&self, at: Timestamp) -> Decimal {
        match self.moves.partition_point(|(t, _)| *t <= at) {
            0 => self.start_price,
            n => self.moves[n - 1].1,
        }
    }
}

/// One candle, as numbers; the method writes it at the symbol's precisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candle {
    /// Its first instant.
    pub open_time: Timestamp,
    /// Its last instant: one microsecond before the next candle opens (…999 in milliseconds).
    pub close_time: Timestamp,
    /// The price at `open_time`.
    pub open: Decimal,
    /// The highest price it had.
    pub high: Decimal,
    /// The lowest price it had.
    pub low: Decimal,
    /// The last price it had.
    pub close: Decimal,
    /// Base quantity traded.
    pub volume: Decimal,
    /// Quote quantity traded.
    pub quote_volume: Decimal,
    /// Trades in it.
    pub trades: u64,
    /// Base quantity of trades whose taker bought.
    pub taker_buy_volume: Decimal,
    /// Quote quantity of trades whose taker bought.
    pub taker_buy_quote_volume: Decimal,
}

/// The candles of `history` that `window` asks for, oldest first, as of `now`: none opens
/// after `now`, and the one holding `now` closes at the price of `now`.
pub(crate) fn candles(
    history: &History<'_>,
    interval: Interval,
    zone: TimeZone,
    window: Window,
    now: Timestamp,
) -> Vec<Candle> {
    let offset = zone.offset_micros();
    let local = |t: Timestamp| t.as_micros().saturating_add(offset);
    let latest = window.end.map_or(now, |end| end.min(now));
    let latest_open = interval.floor(local(latest));
    let mut opens = Vec::with_capacity(window.limit.min(MAX_LIMIT));
    match window.start {
        Some(start) => {
            let mut open = interval.floor(local(start));
            if open < local(start) {
                open = interval.next(open);
            }
            while open <= latest_open && opens.len() < window.limit {
                opens.push(open);
                open = interval.next(open);
            }
        }
        None => {
            let mut open = latest_open;
            while opens.len() < window.limit {
                opens.push(open);
                open = interval.previous(open);
            }
            opens.reverse();
        }
    }
    opens
        .into_iter()
        .map(|open| {
            let utc = |local: i64| Timestamp::from_micros(local - offset);
            candle(history, utc(open), utc(interval.next(open)), now)
        })
        .collect()
}

/// The candle over `[open, next)`, seeing nothing after `now`.
fn candle(history: &History<'_>, open: Timestamp, next: Timestamp, now: Timestamp) -> Candle {
    let close_time = Timestamp::from_micros(next.as_micros() - 1);
    let last_seen = close_time.min(now);
    let open_price = history.price_at(open);
    let (mut high, mut low) = (open_price, open_price);
    let first_move = history.moves.partition_point(|(t, _)| *t <= open);
    let end_move = history.moves.partition_point(|(t, _)| *t <= last_seen);
    for (_, price) in history.moves.get(first_move..end_move).unwrap_or_default() {
        high = high.max(*price);
        low = low.min(*price);
    }
    let mut candle = Candle {
        open_time: open,
        close_time,
        open: open_price,
        high,
        low,
        close: history.price_at(last_seen),
        volume: Decimal::ZERO,
        quote_volume: Decimal::ZERO,
        trades: 0,
        taker_buy_volume: Decimal::ZERO,
        taker_buy_quote_volume: Decimal::ZERO,
    };
    let first_trade = history.trades.partition_point(|t| t.at < open);
    let end_trade = history.trades.partition_point(|t| t.at <= last_seen);
    for trade in history
        .trades
        .get(first_trade..end_trade)
        .unwrap_or_default()
    {
        candle.volume += trade.qty;
        candle.quote_volume += trade.quote_qty;
        candle.trades += 1;
        if trade.taker_is_buyer {
            candle.taker_buy_volume += trade.qty;
            candle.taker_buy_quote_volume += trade.quote_qty;
        }
    }
    candle
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2023-11-14T22:13:20Z, a Tuesday.
    const T0: i64 = 1_700_000_000_000;

    fn ms(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    fn window(start: Option<i64>, end: Option<i64>, limit: usize) -> Window {
        Window {
            start: start.map(ms),
            end: end.map(ms),
            limit,
        }
    }

    fn interval(name: &str) -> Interval {
        Interval::parse(name).expect("a documented interval")
    }

    fn opens(name: &str, zone: TimeZone, at: i64, limit: usize) -> Vec<i64> {
        let history = History {
            start_price: dec("1"),
            moves: &[],
            trades: &[],
        };
        candles(
            &history,
            interval(name),
            zone,
            window(None, None, limit),
            ms(at),
        )
        .iter()
        .map(|c| c.open_time.as_millis())
        .collect()
    }

    #[test]
    fn intervals_are_case_sensitive_and_only_the_documented_ones() {
        assert_eq!(
            interval("1m"),
            Interval::Fixed {
                length: MINUTE,
                anchor: 0
            }
        );
        assert_eq!(interval("1M"), Interval::Month);
        for bad in ["1H", "1D", "2d", "1mo", "10m", "", " 1m"] {
            assert_eq!(Interval::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn time_zones_take_hours_or_hours_and_minutes_within_the_range() {
        let minutes = |text| TimeZone::parse(text).map(|z| z.offset_minutes);
        assert_eq!(minutes("8"), Some(480));
        assert_eq!(minutes("-1:00"), Some(-60));
        assert_eq!(minutes("05:45"), Some(345));
        assert_eq!(minutes("-1:30"), Some(-90));
        assert_eq!(minutes("+14:00"), Some(840));
        assert_eq!(minutes("-12:00"), Some(-720));
        for bad in [
            "14:01", "-12:01", "15", "-13", "8:5", "8:60", "abc", "", "+", "1:", "123",
        ] {
            assert_eq!(minutes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn weeks_open_on_monday_months_on_the_first_and_three_days_from_the_epoch() {
        // T0 is Tuesday 2023-11-14: its week opened Monday 2023-11-13.
        assert_eq!(opens("1w", TimeZone::UTC, T0, 1), [1_699_833_600_000]);
        assert_eq!(
            opens("1M", TimeZone::UTC, T0, 2),
            [1_696_118_400_000, 1_698_796_800_000]
        );
        // 2023-11-14 is day 19675 after the epoch; 19674 = 3 × 6558.
        assert_eq!(opens("3d", TimeZone::UTC, T0, 1), [19_674 * 86_400_000]);
        assert_eq!(opens("1d", TimeZone::UTC, T0, 1), [1_699_920_000_000]);
    }

    #[test]
    fn a_time_zone_moves_where_candles_are_cut_but_times_stay_utc() {
        let plus8 = TimeZone::parse("8").expect("valid");
        // 22:13 UTC is 06:13 on the 15th in UTC+8: that day opened at 16:00 UTC on the 14th.
        assert_eq!(opens("1d", plus8, T0, 1), [1_699_977_600_000]);
        // And December's month opened at 2023-11-30T16:00Z.
        let december = 1_701_388_800_000 - 8 * 3_600_000;
        assert_eq!(opens("1M", plus8, 1_701_388_800_000, 1), [december]);
        let minus90 = TimeZone::parse("-1:30").expect("valid");
        // 22:13 UTC is 20:43 local: the local day opened at 01:30 UTC on the 14th.
        assert_eq!(opens("1d", minus90, T0, 1), [1_699_925_400_000]);
        // An hour opens at half past in a zone half an hour off: 20:00 local is 21:30 UTC.
        assert_eq!(opens("1h", minus90, T0, 1), [1_699_997_400_000]);
    }

    #[test]
    fn a_flat_candle_is_at_the_start_up_price_with_zero_volume() {
        let history = History {
            start_price: dec("60000.00"),
            moves: &[],
            trades: &[],
        };
        let got = candles(
            &history,
            interval("1m"),
            TimeZone::UTC,
            window(None, None, 1),
            ms(T0),
        );
        assert_eq!(got.len(), 1);
        let c = &got[0];
        assert_eq!(
            (c.open_time, c.close_time),
            (
                ms(T0 - 20_000),
                Timestamp::from_micros((T0 + 40_000) * 1000 - 1)
            )
        );
        assert_eq!([c.open, c.high, c.low, c.close], [dec("60000.00"); 4]);
        assert_eq!((c.volume, c.trades), (Decimal::ZERO, 0));
    }

    #[test]
    fn moves_inside_a_candle_make_its_high_low_and_close_and_the_next_opens_there() {
        let open = T0 - 20_000;
        let moves = [
            (ms(open + 10_000), dec("61000.00")),
            (ms(open + 20_000), dec("59000.00")),
            (ms(open + 30_000), dec("60500.00")),
        ];
        let history = History {
            start_price: dec("60000.00"),
            moves: &moves,
            trades: &[],
        };
        let got = candles(
            &history,
            interval("1m"),
            TimeZone::UTC,
            window(Some(open), None, 5),
            ms(open + 60_000),
        );
        assert_eq!(got.len(), 2);
        let [first, second] = [&got[0], &got[1]];
        assert_eq!(
            [first.open, first.high, first.low, first.close],
            [
                dec("60000.00"),
                dec("61000.00"),
                dec("59000.00"),
                dec("60500.00")
            ]
        );
        assert_eq!(
            [second.open, second.high, second.low, second.close],
            [dec("60500.00"); 4]
        );
    }

    #[test]
    fn trades_add_volume_to_their_candle_without_moving_the_price() {
        let open = T0 - 20_000;
        let trades = [
            Trade {
                at: ms(open + 1_000),
                qty: dec("0.5"),
                quote_qty: dec("30000"),
                taker_is_buyer: true,
            },
            Trade {
                at: ms(open + 2_000),
                qty: dec("0.25"),
                quote_qty: dec("15000"),
                taker_is_buyer: false,
            },
            Trade {
                at: ms(open + 60_000),
                qty: dec("1"),
                quote_qty: dec("60000"),
                taker_is_buyer: true,
            },
        ];
        let history = History {
            start_price: dec("60000.00"),
            moves: &[],
            trades: &trades,
        };
        let got = candles(
            &history,
            interval("1m"),
            TimeZone::UTC,
            window(Some(open), None, 5),
            ms(open + 59_999),
        );
        // The third trade is after now: not seen, and its candle not yet open.
        assert_eq!(got.len(), 1);
        let c = &got[0];
        assert_eq!(
            (c.volume, c.quote_volume, c.trades),
            (dec("0.75"), dec("45000"), 2)
        );
        assert_eq!(
            (c.taker_buy_volume, c.taker_buy_quote_volume),
            (dec("0.5"), dec("30000"))
        );
        assert_eq!([c.open, c.high, c.low, c.close], [dec("60000.00"); 4]);
    }

    #[test]
    fn start_and_end_bound_the_candles_and_limit_counts_from_the_start() {
        let history = History {
            start_price: dec("1"),
            moves: &[],
            trades: &[],
        };
        let minute = 60_000;
        let base = (T0 / minute) * minute;
        let at = |w| {
            candles(&history, interval("1m"), TimeZone::UTC, w, ms(T0))
                .iter()
                .map(|c| (c.open_time.as_millis() - base) / minute)
                .collect::<Vec<_>>()
        };
        // A start inside a candle begins with the next one.
        assert_eq!(at(window(Some(base - 5 * minute + 1), None, 2)), [-4, -3]);
        assert_eq!(
            at(window(Some(base - 3 * minute), Some(base - 2 * minute), 10)),
            [-3, -2]
        );
        assert_eq!(
            at(window(None, Some(base - 2 * minute + 5), 3)),
            [-4, -3, -2]
        );
        // Never after now, whatever endTime says.
        assert_eq!(
            at(window(Some(base - minute), Some(base + 10 * minute), 10)),
            [-1, 0]
        );
        assert!(at(window(Some(base + minute), None, 10)).is_empty());
    }

    #[test]
    fn the_calendar_round_trips() {
        for days in [-719_468, -1, 0, 59, 365, 11_016, 19_675, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_675), (2023, 11, 14));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    fn moves_strategy() -> impl Strategy<Value = Vec<(i64, i64)>> {
        proptest::collection::vec((0i64..10_000_000, 1i64..1_000_000), 0..40)
    }

    const INTERVALS: &[&str] = &[
        "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
        "1w", "1M",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn candles_are_contiguous_consistent_and_at_most_limit(
            raw_moves in moves_strategy(),
            name in proptest::sample::select(INTERVALS),
            zone_minutes in -720i32..=840,
            limit in 1usize..60,
            now_offset in 0i64..10_000_000,
            start in proptest::option::of(0i64..10_000_000),
        ) {
            let base = T0 - 5_000_000;
            let mut moves: Vec<(Timestamp, Decimal)> = raw_moves
                .iter()
                .map(|(at, cents)| (ms(base + at), Decimal::new(*cents, 2)))
                .collect();
            moves.sort_by_key(|(t, _)| *t);
            let history = History { start_price: dec("100.00"), moves: &moves, trades: &[] };
            let zone = TimeZone { offset_minutes: zone_minutes };
            let now = ms(base + now_offset);
            let w = Window { start: start.map(|s| ms(base + s)), end: None, limit };
            let got = candles(&history, interval(name), zone, w, now);
            prop_assert!(got.len() <= limit);
            if w.start.is_none() {
                prop_assert_eq!(got.len(), limit);
                let last = got.last().expect("at least one");
                prop_assert!(last.open_time <= now && now <= last.close_time);
            }
            for c in &got {
                prop_assert!(c.open_time <= now);
                prop_assert!(c.open_time < c.close_time);
                prop_assert!(c.high >= c.open.max(c.close));
                prop_assert!(c.low <= c.open.min(c.close));
                prop_assert_eq!(c.open, history.price_at(c.open_time));
            }
            for pair in got.windows(2) {
                prop_assert_eq!(pair[0].close_time.as_micros() + 1, pair[1].open_time.as_micros());
                // A move at the very instant a candle opens is that candle's first price,
                // not the last of the one before.
                if !moves.iter().any(|(t, _)| *t == pair[1].open_time) {
                    prop_assert_eq!(pair[0].close, pair[1].open);
                }
            }
        }
    }
}
