//! A symbol as configured: assets, status, precisions, order types, filters, the price its
//! book is centred on; and the default market.

use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A symbol's trading status (`enums.md`, "Symbol status").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SymbolStatus {
    /// Orders are accepted.
    #[default]
    Trading,
    /// The trading day has ended.
    EndOfDay,
    /// Trading is halted.
    Halt,
    /// Trading is on a break.
    Break,
    /// Orders may be cancelled, not placed.
    CancelOnly,
}

impl SymbolStatus {
    /// Every status, in the order `enums.md` lists them.
    pub const ALL: [SymbolStatus; 5] = [
        SymbolStatus::Trading,
        SymbolStatus::EndOfDay,
        SymbolStatus::Halt,
        SymbolStatus::Break,
        SymbolStatus::CancelOnly,
    ];

    /// The status as the API writes it (`"TRADING"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolStatus::Trading => "TRADING",
            SymbolStatus::EndOfDay => "END_OF_DAY",
            SymbolStatus::Halt => "HALT",
            SymbolStatus::Break => "BREAK",
            SymbolStatus::CancelOnly => "CANCEL_ONLY",
        }
    }

    /// The status written `text`, if there is one.
    pub fn parse(text: &str) -> Option<SymbolStatus> {
        SymbolStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// An order type (`enums.md`, "Order types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum OrderType {
    /// `LIMIT`.
    Limit,
    /// `MARKET`.
    Market,
    /// `STOP_LOSS`.
    StopLoss,
    /// `STOP_LOSS_LIMIT`.
    StopLossLimit,
    /// `TAKE_PROFIT`.
    TakeProfit,
    /// `TAKE_PROFIT_LIMIT`.
    TakeProfitLimit,
    /// `LIMIT_MAKER`.
    LimitMaker,
}

impl OrderType {
    /// Every order type, in the order `enums.md` lists them.
    pub const ALL: [OrderType; 7] = [
        OrderType::Limit,
        OrderType::Market,
        OrderType::StopLoss,
        OrderType::StopLossLimit,
        OrderType::TakeProfit,
        OrderType::TakeProfitLimit,
        OrderType::LimitMaker,
    ];

    /// The type as the API writes it (`"LIMIT"`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "LIMIT",
            OrderType::Market => "MARKET",
            OrderType::StopLoss => "STOP_LOSS",
            OrderType::StopLossLimit => "STOP_LOSS_LIMIT",
            OrderType::TakeProfit => "TAKE_PROFIT",
            OrderType::TakeProfitLimit => "TAKE_PROFIT_LIMIT",
            OrderType::LimitMaker => "LIMIT_MAKER",
        }
    }

    /// The type written `text`, if there is one.
    pub fn parse(text: &str) -> Option<OrderType> {
        OrderType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A self-trade prevention mode (`enums.md`, "STP Modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SelfTradePreventionMode {
    /// `NONE`.
    None,
    /// `EXPIRE_MAKER`.
    ExpireMaker,
    /// `EXPIRE_TAKER`.
    ExpireTaker,
    /// `EXPIRE_BOTH`.
    ExpireBoth,
    /// `DECREMENT`.
    Decrement,
    /// `TRANSFER`.
    Transfer,
}

impl SelfTradePreventionMode {
    /// Every mode, in the order `enums.md` lists them.
    pub const ALL: [SelfTradePreventionMode; 6] = [
        SelfTradePreventionMode::None,
        SelfTradePreventionMode::ExpireMaker,
        SelfTradePreventionMode::ExpireTaker,
        SelfTradePreventionMode::ExpireBoth,
        SelfTradePreventionMode::Decrement,
        SelfTradePreventionMode::Transfer,
    ];

    /// The mode as the API writes it (`"EXPIRE_MAKER"`).
    pub fn as_str(self) -> &'static str {
        match self {
            SelfTradePreventionMode::None => "NONE",
            SelfTradePreventionMode::ExpireMaker => "EXPIRE_MAKER",
            SelfTradePreventionMode::ExpireTaker => "EXPIRE_TAKER",
            SelfTradePreventionMode::ExpireBoth => "EXPIRE_BOTH",
            SelfTradePreventionMode::Decrement => "DECREMENT",
            SelfTradePreventionMode::Transfer => "TRANSFER",
        }
    }

    /// The mode written `text`, if there is one.
    pub fn parse(text: &str) -> Option<SelfTradePreventionMode> {
        SelfTradePreventionMode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// `PRICE_FILTER` (`filters.md`): the range and tick of `price` and `stopPrice`; a zero
/// value disables its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PriceFilter {
    /// The lowest price.
    pub min_price: Decimal,
    /// The highest price.
    pub max_price: Decimal,
    /// The step prices move by.
    pub tick_size: Decimal,
}

/// `LOT_SIZE` or `MARKET_LOT_SIZE` (`filters.md`): the range and step of `quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SizeFilter {
    /// The smallest quantity.
    pub min_qty: Decimal,
    /// The largest quantity.
    pub max_qty: Decimal,
    /// The step quantities move by.
    pub step_size: Decimal,
}

/// `NOTIONAL` (`filters.md`): the range of `price` × `quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NotionalFilter {
    /// The smallest notional.
    pub min_notional: Decimal,
    /// Whether `min_notional` applies to `MARKET` orders.
    pub apply_min_to_market: bool,
    /// The largest notional.
    pub max_notional: Decimal,
    /// Whether `max_notional` applies to `MARKET` orders.
    pub apply_max_to_market: bool,
    /// The minutes of the average price `MARKET` orders are valued at (`avgPrice`'s `mins`).
    pub avg_price_mins: u32,
}

/// One symbol as configured (`[[symbols]]` in the config file, kebab-case keys; decimals as
/// strings).
///
/// ```
/// use mock_server::SymbolConfig;
/// let mut btc = SymbolConfig::new("BTCUSDT", "BTC", "USDT", "60000.00");
/// btc.price_filter.tick_size = "0.01".parse().unwrap();
/// assert_eq!(btc.price.to_string(), "60000.00");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub struct SymbolConfig {
    /// Its name, e.g. `BTCUSDT`.
    pub symbol: String,
    /// The asset bought and sold.
    pub base_asset: String,
    /// The asset it is priced in.
    pub quote_asset: String,
    /// Its status at start-up.
    #[serde(default)]
    pub status: SymbolStatus,
    /// The price the book is centred on at start-up.
    pub price: Decimal,
    /// `baseAssetPrecision`.
    #[serde(default = "eight")]
    pub base_asset_precision: u32,
    /// `quotePrecision` and `quoteAssetPrecision`.
    #[serde(default = "eight")]
    pub quote_asset_precision: u32,
    /// `baseCommissionPrecision`.
    #[serde(default = "eight")]
    pub base_commission_precision: u32,
    /// `quoteCommissionPrecision`.
    #[serde(default = "eight")]
    pub quote_commission_precision: u32,
    /// The order types it accepts.
    #[serde(default = "all_order_types")]
    pub order_types: Vec<OrderType>,
    /// `PRICE_FILTER`.
    pub price_filter: PriceFilter,
    /// `LOT_SIZE`.
    pub lot_size: SizeFilter,
    /// `MARKET_LOT_SIZE`.
    pub market_lot_size: SizeFilter,
    /// `NOTIONAL`.
    pub notional: NotionalFilter,
    /// `MAX_NUM_ORDERS`: open orders an account may have on the symbol.
    #[serde(default = "max_num_orders")]
    pub max_num_orders: u32,
    /// The quantity of every level of the synthetic book.
    pub level_quantity: Decimal,
    /// How many levels each side of the synthetic book has.
    #[serde(default = "book_levels")]
    pub book_levels: u32,
    /// `icebergAllowed`.
    #[serde(default = "yes")]
    pub iceberg_allowed: bool,
    /// `ocoAllowed`, `otoAllowed` and `opoAllowed`.
    #[serde(default = "yes")]
    pub order_lists_allowed: bool,
    /// `quoteOrderQtyMarketAllowed`.
    #[serde(default = "yes")]
    pub quote_order_qty_market_allowed: bool,
    /// `allowTrailingStop`.
    #[serde(default = "yes")]
    pub allow_trailing_stop: bool,
    /// `cancelReplaceAllowed`.
    #[serde(default = "yes")]
    pub cancel_replace_allowed: bool,
    /// `amendAllowed`.
    #[serde(default = "yes")]
    pub amend_allowed: bool,
    /// `pegInstructionsAllowed`.
    #[serde(default = "yes")]
    pub peg_instructions_allowed: bool,
    /// `isSpotTradingAllowed`.
    #[serde(default = "yes")]
    pub spot_trading_allowed: bool,
    /// `isMarginTradingAllowed`.
    #[serde(default)]
    pub margin_trading_allowed: bool,
    /// `permissionSets`: an order needs one permission of every set.
    #[serde(default = "spot_permission_sets")]
    pub permission_sets: Vec<Vec<String>>,
    /// `defaultSelfTradePreventionMode`: the mode of an order that names none.
    #[serde(default = "default_stp_mode")]
    pub default_self_trade_prevention_mode: SelfTradePreventionMode,
    /// `allowedSelfTradePreventionModes`: the modes an order may name.
    #[serde(default = "all_stp_modes")]
    pub allowed_self_trade_prevention_modes: Vec<SelfTradePreventionMode>,
}

fn eight() -> u32 {
    8
}
fn yes() -> bool {
    true
}
fn max_num_orders() -> u32 {
    200
}
fn book_levels() -> u32 {
    1000
}
fn all_order_types() -> Vec<OrderType> {
    vec![
        OrderType::Limit,
        OrderType::LimitMaker,
        OrderType::Market,
        OrderType::StopLoss,
        OrderType::StopLossLimit,
        OrderType::TakeProfit,
        OrderType::TakeProfitLimit,
    ]
}
fn spot_permission_sets() -> Vec<Vec<String>> {
    vec![vec!["SPOT".to_owned()]]
}
fn default_stp_mode() -> SelfTradePreventionMode {
    SelfTradePreventionMode::ExpireMaker
}
fn all_stp_modes() -> Vec<SelfTradePreventionMode> {
    SelfTradePreventionMode::ALL.to_vec()
}

/// A decimal written in this file; every one is a literal that parses.
fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

/// A `LOT_SIZE` or `MARKET_LOT_SIZE` written in this file.
fn size(min_qty: &str, max_qty: &str, step_size: &str) -> SizeFilter {
    SizeFilter {
        min_qty: d(min_qty),
        max_qty: d(max_qty),
        step_size: d(step_size),
    }
}

/// A `PRICE_FILTER` written in this file.
fn prices(min_price: &str, max_price: &str, tick_size: &str) -> PriceFilter {
    PriceFilter {
        min_price: d(min_price),
        max_price: d(max_price),
        tick_size: d(tick_size),
    }
}

impl SymbolConfig {
    /// A `TRADING` symbol of `base` priced in `quote` at `price` (a decimal string; zero if
    /// it does not parse), with every order type and filters that suit a price in the
    /// thousands: tick 0.01, step 0.00001, notional 5 to 9,000,000; every self-trade
    /// prevention mode allowed, `EXPIRE_MAKER` by default (as on Binance's `BTCUSDT`).
    /// Change the fields to suit another.
    pub fn new(symbol: &str, base: &str, quote: &str, price: &str) -> Self {
        SymbolConfig {
            symbol: symbol.to_owned(),
            base_asset: base.to_owned(),
            quote_asset: quote.to_owned(),
            status: SymbolStatus::Trading,
            price: d(price),
            base_asset_precision: 8,
            quote_asset_precision: 8,
            base_commission_precision: 8,
            quote_commission_precision: 8,
            order_types: all_order_types(),
            price_filter: prices("0.01", "1000000.00", "0.01"),
            lot_size: size("0.00001", "9000.00", "0.00001"),
            market_lot_size: size("0", "100.00", "0"),
            notional: NotionalFilter {
                min_notional: d("5.00"),
                apply_min_to_market: true,
                max_notional: d("9000000.00"),
                apply_max_to_market: false,
                avg_price_mins: 5,
            },
            max_num_orders: max_num_orders(),
            level_quantity: d("1.00000"),
            book_levels: book_levels(),
            iceberg_allowed: true,
            order_lists_allowed: true,
            quote_order_qty_market_allowed: true,
            allow_trailing_stop: true,
            cancel_replace_allowed: true,
            amend_allowed: true,
            peg_instructions_allowed: true,
            spot_trading_allowed: true,
            margin_trading_allowed: false,
            permission_sets: spot_permission_sets(),
            default_self_trade_prevention_mode: default_stp_mode(),
            allowed_self_trade_prevention_modes: all_stp_modes(),
        }
    }

    /// The default market: `BTCUSDT` at 60000.00, `ETHUSDT` at 3000.00, `BNBUSDT` at
    /// 600.00, `ETHBTC` at 0.05000, and `币安人生USDT` at 0.1500, whose base asset has a
    /// non-ASCII name as Binance has listed since 2025: a client that percent-encodes its
    /// signature payload fails there (docs/FIDELITY.md, "Market").
    pub fn defaults() -> Vec<SymbolConfig> {
        let btc = SymbolConfig::new("BTCUSDT", "BTC", "USDT", "60000.00");
        let mut eth = SymbolConfig::new("ETHUSDT", "ETH", "USDT", "3000.00");
        eth.lot_size = size("0.0001", "9000.00", "0.0001");
        eth.market_lot_size.max_qty = d("2000.00");
        eth.level_quantity = d("10.0000");
        let mut bnb = SymbolConfig::new("BNBUSDT", "BNB", "USDT", "600.00");
        bnb.lot_size = size("0.001", "9000.00", "0.001");
        bnb.market_lot_size.max_qty = d("5000.00");
        bnb.level_quantity = d("20.000");
        let mut ethbtc = SymbolConfig::new("ETHBTC", "ETH", "BTC", "0.05000");
        ethbtc.price_filter = prices("0.00001", "922327.00", "0.00001");
        ethbtc.lot_size = size("0.0001", "100000.00", "0.0001");
        ethbtc.market_lot_size.max_qty = d("2000.00");
        ethbtc.notional.min_notional = d("0.0001");
        ethbtc.notional.max_notional = d("9000000.00");
        ethbtc.level_quantity = d("10.0000");
        let mut life = SymbolConfig::new("币安人生USDT", "币安人生", "USDT", "0.1500");
        life.price_filter = prices("0.0001", "1000.00", "0.0001");
        life.lot_size = size("1", "90000000", "1");
        life.market_lot_size.max_qty = d("5000000");
        life.level_quantity = d("10000");
        vec![btc, eth, bnb, ethbtc, life]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_price_is_on_its_tick_and_inside_its_range() {
        for symbol in SymbolConfig::defaults() {
            let f = &symbol.price_filter;
            assert!(!f.tick_size.is_zero(), "{}", symbol.symbol);
            assert!((symbol.price % f.tick_size).is_zero(), "{}", symbol.symbol);
            assert!(symbol.price >= f.min_price && symbol.price <= f.max_price);
            assert!((symbol.level_quantity % symbol.lot_size.step_size).is_zero());
        }
    }

    #[test]
    fn statuses_and_types_read_back_what_they_write() {
        for status in SymbolStatus::ALL {
            assert_eq!(SymbolStatus::parse(status.as_str()), Some(status));
        }
        for kind in OrderType::ALL {
            assert_eq!(OrderType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SymbolStatus::parse("trading"), None);
    }

    #[test]
    fn a_config_file_symbol_needs_only_what_has_no_default() {
        let text = r#"{"symbol":"XUSDT","base-asset":"X","quote-asset":"USDT","price":"1.00",
            "price-filter":{"min-price":"0.01","max-price":"100","tick-size":"0.01"},
            "lot-size":{"min-qty":"1","max-qty":"100","step-size":"1"},
            "market-lot-size":{"min-qty":"0","max-qty":"100","step-size":"0"},
            "notional":{"min-notional":"5","apply-min-to-market":true,"max-notional":"1000",
                        "apply-max-to-market":false,"avg-price-mins":5},
            "level-quantity":"10"}"#;
        let symbol: SymbolConfig = serde_json::from_str(text).expect("parses");
        assert_eq!(symbol.status, SymbolStatus::Trading);
        assert_eq!(symbol.book_levels, 1000);
        assert_eq!(symbol.price.to_string(), "1.00");
        assert!(
            serde_json::from_str::<SymbolConfig>(&text.replace("\"price\"", "\"prize\"")).is_err()
        );
    }
}
