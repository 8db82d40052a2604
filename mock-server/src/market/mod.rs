//! The market: the symbols, each with its status, its price and the synthetic book centred
//! on it, and the history of its prices and trades on the mock clock, from which klines are
//! drawn. Prices move only when a test moves them ([`Market::set_price`]).
//!
//! The book (docs/FIDELITY.md, "Market"): with price P and tick T, the best ask is P + T and
//! the best bid P − T, then one level per tick outwards, each holding the symbol's
//! `level_quantity`, `book_levels` deep (bids stop above zero and at `min_price`).

pub(crate) mod klines;
pub(crate) mod order_check;
mod symbol;

use std::cell::RefCell;

use fnv::FnvHashMap;
use rust_decimal::Decimal;

pub use symbol::{
    NotionalFilter, OrderType, PriceFilter, SelfTradePreventionMode, SizeFilter, SymbolConfig,
    SymbolStatus,
};

use crate::clock::Timestamp;
use crate::envelope::Json;

/// A trade of mock accounts on a symbol: what it adds to the kline it falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trade {
    /// When it happened.
    pub at: Timestamp,
    /// The base quantity traded.
    pub qty: Decimal,
    /// The quote quantity traded.
    pub quote_qty: Decimal,
    /// Whether the taker was the buyer (taker buy volumes).
    pub taker_is_buyer: bool,
}

/// One symbol as it stands.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    /// As configured.
    pub config: SymbolConfig,
    /// The price now.
    pub price: Decimal,
    /// The status now.
    pub status: SymbolStatus,
    /// `lastUpdateId` of its book: 1 at start-up, one more for each move of the price.
    pub update_id: u64,
    /// When the price was last set (start-up, or a move).
    pub price_since: Timestamp,
    /// Every move of the price since start-up, oldest first: when, and to what. Before the
    /// first, the price was `config.price`.
    pub moves: Vec<(Timestamp, Decimal)>,
    /// Trades of mock accounts, oldest first.
    pub trades: Vec<Trade>,
    /// The last `depth` result written: the book moves only with the price, and clients
    /// poll it, so it is written once per book and `limit` (see [`Listed::depth`]).
    depth: RefCell<Option<RenderedDepth>>,
}

/// A `depth` result, and the book and `limit` it was written for.
#[derive(Debug, Clone)]
struct RenderedDepth {
    limit: usize,
    update_id: u64,
    price: Decimal,
    json: Json,
}

impl Listed {
    fn new(config: &SymbolConfig, now: Timestamp) -> Self {
        Listed {
            config: config.clone(),
            price: config.price,
            status: config.status,
            update_id: 1,
            price_since: now,
            moves: Vec::new(),
            trades: Vec::new(),
            depth: RefCell::new(None),
        }
    }

    /// The `depth` result for the best `limit` levels a side: `render`'s JSON of that
    /// [`book`](Self::book), written again only once the book or `limit` has changed.
    /// The book is a function of the price and the configuration; the configuration is
    /// never changed in place (a new one makes a new `Listed`), and every move of the price
    /// takes `update_id` on.
    pub fn depth(&self, limit: usize, render: impl FnOnce(&Book) -> Json) -> Json {
        let same = |r: &RenderedDepth| {
            r.limit == limit && r.update_id == self.update_id && r.price == self.price
        };
        if let Some(rendered) = self.depth.borrow().as_ref().filter(|r| same(r)) {
            return rendered.json.clone();
        }
        // Shared: the replies that repeat it, and the journal entries of those replies,
        // hold this one text.
        let json = render(&self.book(limit)).into_shared();
        *self.depth.borrow_mut() = Some(RenderedDepth {
            limit,
            update_id: self.update_id,
            price: self.price,
            json: json.clone(),
        });
        json
    }

    /// The symbol's name.
    pub fn name(&self) -> &str {
        &self.config.symbol
    }

    /// The price at `at`: the last move at or before it, else the start-up price.
    #[allow(dead_code)] // The klines read the price history here.
    pub fn price_at(&self, at: Timestamp) -> Decimal {
        let after = self.moves.partition_point(|(t, _)| *t <= at);
        match after {
            0 => self.config.price,
            n => self.moves[n - 1].1,
        }
    }

    /// What this symbol's klines are drawn from: the start-up price, the moves, the trades.
    pub fn history(&self) -> klines::History<'_> {
        klines::History {
            start_price: self.config.price,
            moves: &self.moves,
            trades: &self.trades,
        }
    }

    /// The book's best `limit` levels each side: bids from the highest down, asks from the
    /// lowest up, as (price, quantity).
    pub fn book(&self, limit: usize) -> Book {
        Book {
            bids: self.bids().take(limit).collect(),
            asks: self.asks().take(limit).collect(),
        }
    }

    /// The asks, lowest first.
    pub fn asks(&self) -> impl Iterator<Item = (Decimal, Decimal)> + '_ {
        self.met_by(true)
    }

    /// The bids, highest first.
    pub fn bids(&self) -> impl Iterator<Item = (Decimal, Decimal)> + '_ {
        self.met_by(false)
    }

    /// The side a taker meets, best first: the asks for a buy (up to `max_price`), the bids
    /// for a sell (above zero and from `min_price`). Levels are made as they are read, so a
    /// taker walks only the ones it reaches, not the whole book.
    pub fn met_by(&self, buy: bool) -> impl Iterator<Item = (Decimal, Decimal)> + '_ {
        let filter = &self.config.price_filter;
        let (floor, ceiling) = (filter.min_price, filter.max_price);
        let step: fn(Decimal, Decimal) -> Decimal = if buy {
            |level, tick| level + tick
        } else {
            |level, tick| level - tick
        };
        self.side(step).take_while(move |&(level, _)| {
            if buy {
                ceiling.is_zero() || level <= ceiling
            } else {
                level > Decimal::ZERO && level >= floor
            }
        })
    }

    /// `book_levels` levels of `level_quantity`, each a tick further from the price by
    /// `step`; none without a tick.
    fn side(
        &self,
        step: fn(Decimal, Decimal) -> Decimal,
    ) -> impl Iterator<Item = (Decimal, Decimal)> + '_ {
        let tick = self.config.price_filter.tick_size;
        let levels = if tick.is_zero() {
            0
        } else {
            self.config.book_levels as usize
        };
        let quantity = self.config.level_quantity;
        std::iter::successors(Some(step(self.price, tick)), move |&level| {
            Some(step(level, tick))
        })
        .take(levels)
        .map(move |level| (level, quantity))
    }

    /// Writes a price at the quote asset's precision, as Binance writes prices.
    pub fn price_text(&self, price: Decimal) -> String {
        fixed(price, self.config.quote_asset_precision)
    }

    /// Writes a quantity at the base asset's precision.
    pub fn qty_text(&self, qty: Decimal) -> String {
        fixed(qty, self.config.base_asset_precision)
    }
}

/// `value` with exactly `places` decimal places (`"60000.01000000"`).
pub(crate) fn fixed(value: Decimal, places: u32) -> String {
    let mut text = String::with_capacity(24);
    push_fixed(&mut text, value, places);
    text
}

/// Appends `value` with exactly `places` decimal places, as `Decimal`'s `Display` writes it
/// once rescaled to `places`: from its digits, since a book or a list of orders writes
/// hundreds of these and the formatter costs several times the digits (the tests hold the
/// two to the same text).
pub(crate) fn push_fixed(out: &mut String, value: Decimal, places: u32) {
    // Rounding only when there are more places than asked; fewer are padded with zeros, as
    // rescaling would (its mantissa times a power of ten) without the 96-bit arithmetic.
    let value = if value.scale() > places {
        value.round_dp(places)
    } else {
        value
    };
    let scale = value.scale() as usize;
    let places = places as usize;
    let mut numbers = itoa::Buffer::new();
    let mantissa = value.mantissa().unsigned_abs();
    let digits = match u64::try_from(mantissa) {
        Ok(small) => numbers.format(small),
        Err(_) => numbers.format(mantissa),
    };
    if digits.len() + (places - scale) > 28 {
        // Near the 96 bits of a Decimal, rescaling may stop short of `places`: the
        // formatter says what is left.
        let mut value = value;
        value.rescale(places as u32);
        out.push_str(&value.to_string());
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    match digits.len().checked_sub(scale) {
        _ if scale == 0 => out.push_str(digits),
        Some(whole) if whole > 0 => {
            out.push_str(&digits[..whole]);
            out.push('.');
            out.push_str(&digits[whole..]);
        }
        _ => {
            out.push_str("0.");
            out.push_str(&ZEROS[..scale - digits.len()]);
            out.push_str(digits);
        }
    }
    if scale == 0 && places > 0 {
        out.push('.');
    }
    out.push_str(&ZEROS[..places - scale]);
}

/// Enough zeros to pad any Decimal: it has at most 28 decimal places.
const ZEROS: &str = "0000000000000000000000000000";

/// A side of the book each, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Book {
    /// Highest first.
    pub bids: Vec<(Decimal, Decimal)>,
    /// Lowest first.
    pub asks: Vec<(Decimal, Decimal)>,
}

/// Why a price cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PriceRefusal {
    /// No such symbol.
    #[error("no symbol {0}")]
    UnknownSymbol(String),
    /// Not a positive decimal.
    #[error("a price is a positive decimal string such as \"61000.00\", not {0:?}")]
    NotAPrice(String),
    /// Not a multiple of the tick.
    #[error("{price} is not a multiple of {symbol}'s tickSize {tick}")]
    OffTick {
        /// The symbol.
        symbol: String,
        /// The price asked for.
        price: Decimal,
        /// The tick.
        tick: Decimal,
    },
    /// Outside `PRICE_FILTER`.
    #[error("{price} is outside {symbol}'s PRICE_FILTER range [{min}, {max}]")]
    OutOfRange {
        /// The symbol.
        symbol: String,
        /// The price asked for.
        price: Decimal,
        /// `minPrice`.
        min: Decimal,
        /// `maxPrice`.
        max: Decimal,
    },
}

/// Every symbol, in the order configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Market {
    symbols: Vec<Listed>,
    index: FnvHashMap<String, usize>,
}

impl Market {
    /// The market `symbols` configure, as at `now` (start-up or reset).
    pub fn new(symbols: &[SymbolConfig], now: Timestamp) -> Self {
        let mut market = Market::default();
        for config in symbols {
            match market.index.get(&config.symbol) {
                // A later entry of the same name replaces the earlier one, in its place.
                Some(&at) => market.symbols[at] = Listed::new(config, now),
                None => {
                    market
                        .index
                        .insert(config.symbol.clone(), market.symbols.len());
                    market.symbols.push(Listed::new(config, now));
                }
            }
        }
        market
    }

    /// Every symbol, in order.
    pub fn all(&self) -> &[Listed] {
        &self.symbols
    }

    /// The symbol called `name`.
    pub fn get(&self, name: &str) -> Option<&Listed> {
        self.index.get(name).map(|&at| &self.symbols[at])
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Listed> {
        self.index.get(name).map(|&at| &mut self.symbols[at])
    }

    /// Moves `name`'s price to `price` (a decimal string) at `now`.
    pub fn set_price(
        &mut self,
        name: &str,
        price: &str,
        now: Timestamp,
    ) -> Result<(), PriceRefusal> {
        let listed = self
            .get_mut(name)
            .ok_or_else(|| PriceRefusal::UnknownSymbol(name.to_owned()))?;
        let value: Decimal = price
            .parse()
            .ok()
            .filter(|p: &Decimal| *p > Decimal::ZERO)
            .ok_or_else(|| PriceRefusal::NotAPrice(price.to_owned()))?;
        let filter = &listed.config.price_filter;
        if !filter.tick_size.is_zero() && !(value % filter.tick_size).is_zero() {
            return Err(PriceRefusal::OffTick {
                symbol: name.to_owned(),
                price: value,
                tick: filter.tick_size,
            });
        }
        let too_low = !filter.min_price.is_zero() && value < filter.min_price;
        let too_high = !filter.max_price.is_zero() && value > filter.max_price;
        if too_low || too_high {
            return Err(PriceRefusal::OutOfRange {
                symbol: name.to_owned(),
                price: value,
                min: filter.min_price,
                max: filter.max_price,
            });
        }
        listed.price = value;
        listed.price_since = now;
        listed.update_id += 1;
        // A move back in time (the clock was set back) keeps the history ordered.
        let keep = listed.moves.partition_point(|(t, _)| *t <= now);
        listed.moves.truncate(keep);
        listed.moves.push((now, value));
        Ok(())
    }

    /// Sets `name`'s status; whether there is such a symbol.
    pub fn set_status(&mut self, name: &str, status: SymbolStatus) -> bool {
        match self.get_mut(name) {
            Some(listed) => {
                listed.status = status;
                true
            }
            None => false,
        }
    }

    /// Records a trade of mock accounts on `name` (for its klines); the price stays.
    #[allow(dead_code)] // The orders issue's matching engine records its fills here.
    pub fn record_trade(&mut self, name: &str, trade: Trade) {
        if let Some(listed) = self.get_mut(name) {
            let keep = listed.trades.partition_point(|t| t.at <= trade.at);
            listed.trades.insert(keep, trade);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn fixed_is_what_the_formatter_writes(
            mantissa in proptest::num::i64::ANY,
            scale in 0u32..=28,
            places in 0u32..=20,
            wide in proptest::bool::ANY,
        ) {
            let mut value = Decimal::new(mantissa, scale);
            if wide {
                // Past 64 bits of mantissa, up to the 96 a Decimal holds.
                value = value.checked_mul(Decimal::from(u32::MAX)).unwrap_or(value);
            }
            let mut expected = value.round_dp(places);
            expected.rescale(places);
            proptest::prop_assert_eq!(fixed(value, places), expected.to_string());
        }
    }

    #[test]
    fn fixed_writes_zeros_and_negative_zero_as_the_formatter_does() {
        for (value, places) in [
            (Decimal::ZERO, 8),
            (Decimal::ZERO, 0),
            (-Decimal::new(1, 10), 2),
            (Decimal::new(5, 9), 8),
            (Decimal::new(-5, 9), 8),
            (Decimal::new(123, 2), 2),
            (Decimal::new(7, 3), 2),
        ] {
            let mut expected = value.round_dp(places);
            expected.rescale(places);
            assert_eq!(
                fixed(value, places),
                expected.to_string(),
                "{value:?} at {places}"
            );
        }
    }

    fn market() -> Market {
        Market::new(&SymbolConfig::defaults(), Timestamp::from_millis(1_000))
    }

    fn text(levels: &[(Decimal, Decimal)], listed: &Listed) -> Vec<(String, String)> {
        levels
            .iter()
            .map(|(p, q)| (listed.price_text(*p), listed.qty_text(*q)))
            .collect()
    }

    #[test]
    fn the_book_is_one_level_per_tick_either_side_of_the_price() {
        let market = market();
        let btc = market.get("BTCUSDT").expect("listed");
        let book = btc.book(2);
        assert_eq!(
            text(&book.bids, btc),
            [
                ("59999.99000000".to_owned(), "1.00000000".to_owned()),
                ("59999.98000000".to_owned(), "1.00000000".to_owned())
            ]
        );
        assert_eq!(text(&book.asks, btc)[0].0, "60000.01000000");
        assert_eq!(btc.book(5000).asks.len(), 1000);
    }

    #[test]
    fn bids_stop_at_the_lowest_price() {
        let mut market = market();
        market
            .set_price("ETHBTC", "0.00003", Timestamp::from_millis(2_000))
            .expect("on tick");
        let book = market.get("ETHBTC").expect("listed").book(10);
        assert_eq!(book.bids.len(), 2);
        assert_eq!(book.asks.len(), 10);
    }

    #[test]
    fn a_moved_price_is_checked_against_the_filter_and_kept_in_the_history() {
        let mut market = market();
        let at = Timestamp::from_millis(5_000);
        assert!(matches!(
            market.set_price("BTCUSDT", "61000.005", at),
            Err(PriceRefusal::OffTick { .. })
        ));
        assert!(matches!(
            market.set_price("BTCUSDT", "2000000.00", at),
            Err(PriceRefusal::OutOfRange { .. })
        ));
        assert!(matches!(
            market.set_price("BTCUSDT", "-1", at),
            Err(PriceRefusal::NotAPrice(_))
        ));
        assert!(matches!(
            market.set_price("NOPE", "1", at),
            Err(PriceRefusal::UnknownSymbol(_))
        ));
        market.set_price("BTCUSDT", "61000.00", at).expect("valid");
        let btc = market.get("BTCUSDT").expect("listed");
        assert_eq!(btc.update_id, 2);
        assert_eq!(
            btc.price_at(Timestamp::from_millis(4_999)).to_string(),
            "60000.00"
        );
        assert_eq!(btc.price_at(at).to_string(), "61000.00");
    }

    #[test]
    fn a_repeated_name_replaces_the_earlier_symbol_in_its_place() {
        let mut symbols = SymbolConfig::defaults();
        symbols.push(SymbolConfig::new("BTCUSDT", "BTC", "USDT", "10.00"));
        let market = Market::new(&symbols, Timestamp::EPOCH);
        assert_eq!(market.all().len(), 5);
        assert_eq!(market.all()[0].price.to_string(), "10.00");
    }

    #[test]
    fn fixed_writes_exactly_the_places_asked() {
        assert_eq!(
            fixed("60000".parse().expect("decimal"), 8),
            "60000.00000000"
        );
        assert_eq!(
            fixed("0.123456789".parse().expect("decimal"), 8),
            "0.12345679"
        );
    }
}
