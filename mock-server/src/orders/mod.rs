//! Accounts' orders, their fills against the synthetic book, the balances they lock and
//! move, the unfilled order count, and the events each change causes. No I/O: time comes in
//! as an argument, and events come out as values (per account) for the caller to deliver.
//! What `order.place`, `order.cancel`, `order.status`, `openOrders.status`,
//! `openOrders.cancelAll`, `allOrders` and `myTrades` call.
//!
//! The rules (fidelity notes, "Orders"):
//! - A taker order fills against the book (best ask P + tick, best bid P − tick, one level
//!   per tick, each `level_quantity`), best level first, one fill per level. What the book
//!   cannot fill of a `MARKET` order expires (`INSUFFICIENT_LIQUIDITY`), of an `IOC` order
//!   too (`UNFILLED_IOC_QUANTITY_EXPIRED`); an `FOK` order the book cannot fill entirely
//!   expires whole (`UNFILLED_FOK_ORDER_EXPIRED`) (`user-data-stream.md:310`). A
//!   `LIMIT_MAKER` that would take is refused (-2010).
//! - A `LIMIT` order that does not cross rests. After a price move, every resting buy at or
//!   above the new best ask and every resting sell at or below the new best bid fills in
//!   full at its own price, as maker; best price first, then oldest first.
//! - Stop and take-profit orders wait until the price reaches their `stopPrice`
//!   (`web-socket-api.md:3783`), then act as their market or limit order.
//! - Mock accounts never trade with each other: the other side of every fill is the market.
//! - Order, trade and execution ids are never reused within a process: [`Orders::reset`]
//!   keeps the counters.

mod book;
mod count;
pub(crate) mod view;
mod wallet;

use std::borrow::Cow;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use crate::account::{Account, Balance, Commission, CommissionRates};
use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::market::order_check::{CheckedOrder, PegPriceType, Side, TimeInForce};
use crate::market::{Listed, Market, OrderType, SelfTradePreventionMode, SymbolConfig, Trade};

use count::UnfilledCount;
pub(crate) use count::{OrderLimit, OrderLimits};
use wallet::Wallet;

/// -2010 for a buy or sell the free balance cannot cover (`errors.md`, -2010 messages).
pub(crate) const INSUFFICIENT_BALANCE: &str =
    "Account has insufficient balance for requested action.";
/// -2010 for a `LIMIT_MAKER` that would take.
pub(crate) const WOULD_MATCH: &str = "Order would immediately match and take.";
/// -2010 for a stop or take-profit order whose trigger is already met.
pub(crate) const WOULD_TRIGGER: &str = "Order would trigger immediately.";
/// -2010 for a `newClientOrderId` an open order of the account already has.
pub(crate) const DUPLICATE_ORDER: &str = "Duplicate order sent.";
/// -2011 / -2013 for an order the account does not have (`errors.md`: "Unknown order
/// sent.").
pub(crate) const UNKNOWN_ORDER: &str = "Unknown order sent.";

/// An order's status (`enums.md`, "Order status"), of those the mock's orders reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Expired,
}

impl OrderStatus {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    /// Still open: it may fill or be canceled.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Why an order expired (`user-data-stream.md:310`, `enums.md` "Expiry Reasons").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryReason {
    /// A triggered stop order the free balance could no longer pay for.
    Rejected,
    UnfilledIocQuantity,
    UnfilledFokOrder,
    InsufficientLiquidity,
}

impl ExpiryReason {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryReason::Rejected => "REJECTED",
            ExpiryReason::UnfilledIocQuantity => "UNFILLED_IOC_QUANTITY_EXPIRED",
            ExpiryReason::UnfilledFokOrder => "UNFILLED_FOK_ORDER_EXPIRED",
            ExpiryReason::InsufficientLiquidity => "INSUFFICIENT_LIQUIDITY",
        }
    }
}

/// What an `executionReport` reports (`x`), of those the mock's orders cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Execution {
    New,
    Trade,
    Canceled,
    Expired,
}

impl Execution {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Execution::New => "NEW",
            Execution::Trade => "TRADE",
            Execution::Canceled => "CANCELED",
            Execution::Expired => "EXPIRED",
        }
    }
}

/// How a request names an order: `orderId` or `origClientOrderId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrderRef {
    Id(u64),
    Client(String),
}

/// One order of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    pub account: String,
    pub symbol: String,
    pub id: u64,
    pub client_order_id: String,
    /// The id a cancel request gave (`newClientOrderId` of `order.cancel`), if canceled.
    pub cancel_client_order_id: Option<String>,
    pub side: Side,
    pub order_type: OrderType,
    /// As sent; `GTC` for the types that take none (as Binance writes them,
    /// `faqs_market_orders_faq.md`).
    pub time_in_force: TimeInForce,
    /// The limit price; zero for market orders.
    pub price: Decimal,
    pub orig_qty: Decimal,
    /// `quoteOrderQty` as sent; zero if not.
    pub orig_quote_order_qty: Decimal,
    pub stop_price: Option<Decimal>,
    pub iceberg_qty: Option<Decimal>,
    pub strategy_id: Option<u64>,
    pub strategy_type: Option<u64>,
    pub self_trade_prevention_mode: SelfTradePreventionMode,
    pub executed_qty: Decimal,
    pub cummulative_quote_qty: Decimal,
    pub status: OrderStatus,
    pub expiry_reason: Option<ExpiryReason>,
    /// When it was placed.
    pub time: Timestamp,
    /// When it last changed.
    pub update_time: Timestamp,
    /// When it started working (placed, or its stop triggered); `None` while a stop waits.
    pub working_time: Option<Timestamp>,
    /// What it holds of the asset it spends (quote for a buy, base for a sell).
    pub locked: Decimal,
}

impl Order {
    /// `LIMIT`, `LIMIT_MAKER` and the limit stops: the types with a limit price.
    fn has_limit(&self) -> bool {
        matches!(
            self.order_type,
            OrderType::Limit
                | OrderType::LimitMaker
                | OrderType::StopLossLimit
                | OrderType::TakeProfitLimit
        )
    }

    /// Open and on the book: a limit order that is working.
    pub fn is_resting(&self) -> bool {
        self.status.is_open() && self.has_limit() && self.working_time.is_some()
    }

    fn remaining(&self) -> Decimal {
        self.orig_qty - self.executed_qty
    }

    fn is_buy(&self) -> bool {
        self.side == Side::Buy
    }
}

/// One fill of an order: what `myTrades` lists and `FULL` responses show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fill {
    pub id: u64,
    pub order_id: u64,
    pub account: String,
    pub symbol: String,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub time: Timestamp,
    pub is_buyer: bool,
    pub is_maker: bool,
}

/// A User Data Stream event for one account (`executionReport` or
/// `outboundAccountPosition`), `E` in ms: the caller delivers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccountEvent {
    pub account: String,
    pub event: Value,
}

/// A placed order: its id, the trade ids of its immediate fills, and the events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub order_id: u64,
    pub fills: Vec<u64>,
    pub events: Vec<AccountEvent>,
}

/// Why the control plane cannot fill an order (the control plane answers 409 or 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FillRefusal {
    /// No such order, or not resting on the book (filled, canceled, expired, a waiting stop).
    #[error("order {0} is not resting on the book")]
    NotResting(u64),
    /// A quantity of zero or more than the order has left.
    #[error("order {order} has {left} left to fill, not {asked}")]
    BadQuantity {
        order: u64,
        left: Decimal,
        asked: Decimal,
    },
}

/// One account's live state: its balances, unfilled order count and commission rates.
#[derive(Debug, Clone)]
struct AccountState {
    wallet: Wallet,
    count: UnfilledCount,
    commission: Commission,
}

/// Every order since start-up or the last reset, by id. Ids are given out one after another
/// and an order leaves only with a reset, so the orders sit in chunks of [`CHUNK`] from the
/// first id: a placement appends, a lookup indexes, and a growing store never moves the
/// orders it holds (one vector would copy them all each time it grew). The open ones are
/// also kept apart, so that the book and the open-order queries walk them alone, not every
/// order since start-up, and indexed by their account and client order id, so that the
/// duplicate check and a cancel by `origClientOrderId` look one up instead of walking them.
#[derive(Debug, Clone, Default)]
struct OrderStore {
    first_id: u64,
    chunks: Vec<Vec<Order>>,
    /// The ids of the open orders, by their account and client order id (hashed with
    /// `hasher`): the names are the orders' own, not copied. Each id is kept with its
    /// name's hash, so that growing the table moves entries without hashing a name again
    /// (or reading the order it names).
    named: hashbrown::HashTable<(u64, u64)>,
    hasher: foldhash::fast::RandomState,
    /// The ids of orders placed open, oldest first: the open ones, and some that have ended
    /// since and are swept out once they are half of the list, so that a placement only
    /// appends and the list stays within twice the open orders.
    open: Vec<u64>,
    /// How many of `open` have ended since the last sweep.
    ended_in_open: usize,
}

/// How many orders a chunk of the store holds.
const CHUNK: usize = 1024;

/// The hash of an order's name in [`OrderStore::named`].
fn name_hash(hasher: &foldhash::fast::RandomState, account: &str, client: &str) -> u64 {
    std::hash::BuildHasher::hash_one(hasher, (account, client))
}

/// Order `id` in `chunks`, whose first order has id `first_id`.
fn order_in(chunks: &[Vec<Order>], first_id: u64, id: u64) -> Option<&Order> {
    let index = usize::try_from(id.checked_sub(first_id)?).ok()?;
    chunks
        .get(index / CHUNK)?
        .get(index % CHUNK)
        .filter(|o| o.id == id)
}

impl OrderStore {
    fn get(&self, id: u64) -> Option<&Order> {
        order_in(&self.chunks, self.first_id, id)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Order> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.chunks
            .get_mut(index / CHUNK)?
            .get_mut(index % CHUNK)
            .filter(|o| o.id == id)
    }

    /// Appends `order`, whose id follows the last one's.
    fn push(&mut self, order: Order) {
        match self.chunks.last().and_then(|chunk| chunk.last()) {
            None => self.first_id = order.id,
            Some(last) => debug_assert_eq!(order.id, last.id + 1, "order ids are consecutive"),
        }
        if order.status.is_open() {
            self.open.push(order.id);
            let hash = name_hash(&self.hasher, &order.account, &order.client_order_id);
            self.named
                .insert_unique(hash, (hash, order.id), |&(hash, _)| hash);
        }
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(order),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(order);
                self.chunks.push(chunk);
            }
        }
    }

    /// Counts order `id` out of the open ones if its status says it has ended, sweeping
    /// the list when half of it has: every change of status calls it.
    fn status_changed(&mut self, id: u64) {
        let Some(order) = self.get(id).filter(|o| !o.status.is_open()) else {
            return;
        };
        let hash = name_hash(&self.hasher, &order.account, &order.client_order_id);
        if let Ok(entry) = self.named.find_entry(hash, |&(_, named)| named == id) {
            entry.remove();
        }
        self.ended_in_open += 1;
        if self.ended_in_open * 2 >= self.open.len() {
            let (chunks, first_id) = (&self.chunks, self.first_id);
            self.open
                .retain(|&id| order_in(chunks, first_id, id).is_some_and(|o| o.status.is_open()));
            self.ended_in_open = 0;
        }
    }

    /// Oldest first.
    fn values(&self) -> impl DoubleEndedIterator<Item = &Order> {
        self.chunks.iter().flatten()
    }

    /// `account`'s open order named `client`: there is at most one.
    fn open_named(&self, account: &str, client: &str) -> Option<&Order> {
        let hash = name_hash(&self.hasher, account, client);
        let (_, id) = self.named.find(hash, |&(named_hash, id)| {
            named_hash == hash
                && self
                    .get(id)
                    .is_some_and(|o| o.account == account && o.client_order_id == client)
        })?;
        self.get(*id)
    }

    /// The open orders, oldest first.
    fn open(&self) -> impl Iterator<Item = &Order> {
        self.open
            .iter()
            .filter_map(|&id| self.get(id))
            .filter(|o| o.status.is_open())
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.named.clear();
        self.open.clear();
        self.ended_in_open = 0;
    }
}

/// Every account's orders, trades and balances (in [`Server`](crate::state::Server)).
#[derive(Debug, Clone)]
pub(crate) struct Orders {
    next_order_id: u64,
    next_trade_id: u64,
    next_execution_id: u64,
    /// By id: oldest first.
    orders: OrderStore,
    /// Oldest first.
    trades: Vec<Fill>,
    /// Accounts that have placed an order since start-up or the last reset; the others
    /// stand as their fixture says.
    accounts: AccountStates,
    /// The `ORDERS` limits placements are refused past.
    limits: OrderLimits,
}

impl Default for Orders {
    fn default() -> Self {
        Orders::new(OrderLimits::default())
    }
}

impl Orders {
    /// No orders yet, placements refused past `limits`.
    pub fn new(limits: OrderLimits) -> Self {
        Orders {
            limits,
            next_order_id: 1,
            next_trade_id: 1,
            next_execution_id: 1,
            orders: OrderStore::default(),
            trades: Vec::new(),
            accounts: AccountStates::default(),
        }
    }

    /// The `ORDERS` limits in force, as `exchangeInfo` and every `rateLimits` show them.
    pub fn limits(&self) -> OrderLimits {
        self.limits
    }
}

/// Who receives an account's events. The core builds an event only for an account that
/// someone hears: the JSON of an `executionReport` built for nobody was most of what a
/// placement cost (`docs/PERFORMANCE.md`, "order.place"). Ids are given out the same either
/// way, so what a listener sees does not depend on who else listened before.
pub(crate) trait Audience {
    /// Whether anyone receives `account`'s events.
    fn hears(&self, account: &str) -> bool;
}

/// An audience that hears every account (the core's own tests, which read every event).
#[cfg(test)]
pub(crate) struct Everyone;

#[cfg(test)]
impl Audience for Everyone {
    fn hears(&self, _account: &str) -> bool {
        true
    }
}

/// What one change to the orders produced, gathered as it goes.
struct Effects<'a> {
    audience: &'a dyn Audience,
    events: Vec<AccountEvent>,
    fills: Vec<u64>,
    market_trades: Vec<(String, Trade)>,
}

impl<'a> Effects<'a> {
    fn new(audience: &'a dyn Audience) -> Self {
        Effects {
            audience,
            events: Vec::new(),
            fills: Vec::new(),
            market_trades: Vec::new(),
        }
    }
}

/// The rate a fill pays: standard plus tax plus special, each maker or taker plus buyer or
/// seller (`faqs_commission_faq.md`); the standard part apart, for the BNB discount.
fn rates(commission: &Commission, maker: bool, buyer: bool) -> (Decimal, Decimal) {
    let pick = |r: CommissionRates| {
        (if maker { r.maker } else { r.taker }) + (if buyer { r.buyer } else { r.seller })
    };
    (
        pick(commission.standard),
        pick(commission.tax) + pick(commission.special),
    )
}

fn round_down(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::ToZero)
}

/// The price of one unit of `asset` in `bnb`, from the market's `BNB<asset>` or
/// `<asset>BNB` symbol.
fn in_discount_asset(market: &Market, discount_asset: &str, asset: &str) -> Option<Decimal> {
    if asset == discount_asset {
        return Some(Decimal::ONE);
    }
    let direct = market
        .all()
        .iter()
        .find(|l| l.config.base_asset == discount_asset && l.config.quote_asset == asset);
    if let Some(listed) = direct.filter(|l| !l.price.is_zero()) {
        return Some(Decimal::ONE / listed.price);
    }
    market
        .all()
        .iter()
        .find(|l| l.config.base_asset == asset && l.config.quote_asset == discount_asset)
        .map(|l| l.price)
}

/// The accounts that have placed orders, by name: hashbrown's map, so that a placement finds
/// (or makes) its account's state in one lookup, copying the name only the first time.
type AccountStates = hashbrown::HashMap<String, AccountState, foldhash::fast::RandomState>;

/// `account`'s live state, made from its fixture the first time (and only then is `fixture`
/// asked for it: an unconfigured account's is built on each call).
fn account_state<'s, 'f>(
    accounts: &'s mut AccountStates,
    account: &str,
    fixture: impl FnOnce() -> Cow<'f, Account>,
) -> &'s mut AccountState {
    accounts.entry_ref(account).or_insert_with(|| {
        let fixture = fixture();
        let fixture = &*fixture;
        AccountState {
            wallet: Wallet::from_fixture(fixture),
            count: UnfilledCount::default(),
            commission: fixture.commission.clone(),
        }
    })
}

impl Orders {
    /// Forgets every order, trade, balance change and unfilled order count (a reset); the
    /// id counters go on, so no id is given twice in a process.
    pub fn reset(&mut self) {
        self.orders.clear();
        self.trades.clear();
        self.accounts.clear();
    }

    /// Forgets one account's live balances and count, as when its fixture is replaced.
    pub fn forget_account(&mut self, account: &str) {
        self.accounts.remove(account);
    }

    /// `account`'s balances now: its fixture's until it has placed an order.
    pub fn balances(&self, account: &str, fixture: &Account) -> Vec<Balance> {
        match self.accounts.get(account) {
            Some(state) => state.wallet.balances(),
            None => fixture.balances.clone(),
        }
    }

    /// `account`'s unfilled order count in each of [`OrderLimits::each`] at `now`.
    pub fn unfilled_counts(&self, account: &str, now: Timestamp) -> [u32; 2] {
        self.accounts
            .get(account)
            .map_or([0, 0], |state| state.count.counts(now))
    }

    /// Every order of every account, oldest first (the control plane lists them).
    pub fn every_order(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// The order `id`.
    pub fn get(&self, id: u64) -> Option<&Order> {
        self.orders.get(id)
    }

    /// The trade `id`.
    pub fn trade(&self, id: u64) -> Option<&Fill> {
        // Trades are appended as their ids are given out: in order.
        let index = self.trades.binary_search_by_key(&id, |t| t.id).ok()?;
        self.trades.get(index)
    }

    /// `account`'s order on `symbol` that `which` names.
    pub fn find(&self, account: &str, symbol: &str, which: &OrderRef) -> Option<&Order> {
        match which {
            OrderRef::Id(id) => self
                .orders
                .get(*id)
                .filter(|o| o.account == account && o.symbol == symbol),
            // The newest of that id: an id is free again once its order is done, so an open
            // order that has it is the newest, and only a done one needs the whole history.
            OrderRef::Client(client) => {
                let named = |o: &&Order| o.account == account && &o.client_order_id == client;
                match self.orders.open_named(account, client) {
                    Some(open) => Some(open).filter(|o| o.symbol == symbol),
                    None => self
                        .orders
                        .values()
                        .rev()
                        .find(|o| named(o) && o.symbol == symbol),
                }
            }
        }
    }

    /// `account`'s open orders, on `symbol` or every symbol, oldest first.
    pub fn open_orders<'a>(
        &'a self,
        account: &'a str,
        symbol: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Order> + 'a {
        self.orders
            .open()
            .filter(move |o| o.account == account && symbol.is_none_or(|s| o.symbol == s))
    }

    /// `account`'s orders on `symbol`, oldest first.
    pub fn all_orders<'a>(
        &'a self,
        account: &'a str,
        symbol: &'a str,
    ) -> impl Iterator<Item = &'a Order> + 'a {
        self.orders
            .values()
            .filter(move |o| o.account == account && o.symbol == symbol)
    }

    /// `account`'s trades on `symbol`, oldest first.
    pub fn trades<'a>(
        &'a self,
        account: &'a str,
        symbol: &'a str,
    ) -> impl Iterator<Item = &'a Fill> + 'a {
        self.trades
            .iter()
            .filter(move |t| t.account == account && t.symbol == symbol)
    }

    /// [`place_with`](Self::place_with) with the fixture at hand (the unit tests').
    #[cfg(test)]
    pub fn place(
        &mut self,
        audience: &dyn Audience,
        account: &str,
        fixture: &Account,
        order: &CheckedOrder<'_>,
        market: &mut Market,
        now: Timestamp,
    ) -> Result<Placed, ApiError> {
        self.place_with(
            audience,
            account,
            || Cow::Borrowed(fixture),
            order,
            market,
            now,
        )
    }

    /// Places `order` for `account` at `now`: refuses it, or accepts it, fills what
    /// crosses the book and lets the rest rest, wait or expire. `fixture` gives the
    /// account's fixture; it is asked only if the account has no live state yet (its
    /// first order since start-up or a reset), so a placement builds no fixture.
    ///
    /// # Errors
    /// -1015 past an `ORDERS` limit; -2010 for a duplicate client order id, a `LIMIT_MAKER`
    /// that would take, a stop already triggered, or a short free balance; -1013
    /// `LOT_SIZE` for a `quoteOrderQty` that buys or sells no allowed quantity. Nothing
    /// changes then.
    pub fn place_with<'f>(
        &mut self,
        audience: &dyn Audience,
        account: &str,
        fixture: impl FnOnce() -> Cow<'f, Account>,
        order: &CheckedOrder<'_>,
        market: &mut Market,
        now: Timestamp,
    ) -> Result<Placed, ApiError> {
        let listed = market.get(order.symbol).ok_or(ApiError::BadSymbol)?;
        let config = &listed.config;
        let limits = self.limits;
        let state = account_state(&mut self.accounts, account, fixture);
        if let Some((limit, interval)) = state.count.exceeded(now, limits) {
            return Err(ApiError::TooManyOrders { limit, interval });
        }
        if let Some(client) = &order.new_client_order_id {
            if self.orders.open_named(account, client).is_some() {
                return Err(ApiError::OrderRejected(DUPLICATE_ORDER));
            }
        }
        let buy = order.side == Side::Buy;
        let is_stop = matches!(
            order.order_type,
            OrderType::StopLoss
                | OrderType::StopLossLimit
                | OrderType::TakeProfit
                | OrderType::TakeProfitLimit
        );
        let stop_price = match (is_stop, order.stop_price) {
            (true, None) => {
                // Trailing stops without a stopPrice: not modelled (fidelity notes).
                return Err(ApiError::OrderRefused(
                    "Trailing stop orders are not supported by this mock.",
                ));
            }
            (_, stop) => stop,
        };
        if let Some(stop) = stop_price {
            if triggered(order.order_type, buy, stop, listed.price) {
                return Err(ApiError::OrderRejected(WOULD_TRIGGER));
            }
        }
        let other_side = || listed.met_by(buy);
        let price = match (order.price, order.peg_price_type) {
            (Some(price), _) => Some(price),
            (None, Some(peg)) => peg_price(listed, buy, peg, order.peg_offset_value),
            (None, None) => None,
        };
        if order.order_type == OrderType::LimitMaker {
            let crosses = other_side()
                .next()
                .zip(price)
                .is_some_and(|((best, _), price)| if buy { price >= best } else { price <= best });
            if crosses {
                return Err(ApiError::OrderRejected(WOULD_MATCH));
            }
        }
        let qty = match (order.quantity, order.quote_order_qty) {
            (Some(qty), _) => qty,
            (None, Some(quote)) => {
                let qty = book::quantity_for_quote(other_side(), quote, config.lot_size.step_size);
                let lot = &config.lot_size;
                if qty <= Decimal::ZERO
                    || qty < lot.min_qty
                    || (!lot.max_qty.is_zero() && qty > lot.max_qty)
                {
                    return Err(ApiError::FilterFailure("LOT_SIZE"));
                }
                qty
            }
            (None, None) => return Err(ApiError::MandatoryParam("quantity")),
        };
        // What the order may spend: a limit buy its price × quantity; a market buy what the
        // book will charge it now; a waiting market stop buy its stopPrice × quantity; a sell
        // its quantity.
        let lock = if !buy {
            qty
        } else if let Some(price) = price {
            price * qty
        } else if let Some(stop) = stop_price {
            stop * qty
        } else {
            book::notional(&book::walk(other_side(), true, None, qty))
        };
        let spend_asset = if buy {
            &config.quote_asset
        } else {
            &config.base_asset
        };
        state
            .wallet
            .lock(spend_asset, lock)
            .map_err(|_| ApiError::OrderRejected(INSUFFICIENT_BALANCE))?;
        state.count.placed(now);
        let id = self.next_order_id;
        self.next_order_id += 1;
        let client_order_id = order
            .new_client_order_id
            .map_or_else(|| generated_client_id(id), str::to_owned);
        let placed = Order {
            account: account.to_owned(),
            symbol: order.symbol.to_owned(),
            id,
            client_order_id,
            cancel_client_order_id: None,
            side: order.side,
            order_type: order.order_type,
            time_in_force: order.time_in_force.unwrap_or(TimeInForce::Gtc),
            price: price.unwrap_or_default(),
            orig_qty: qty,
            orig_quote_order_qty: order.quote_order_qty.unwrap_or_default(),
            stop_price,
            iceberg_qty: order.iceberg_qty,
            strategy_id: order.strategy_id,
            strategy_type: order.strategy_type,
            self_trade_prevention_mode: order.self_trade_prevention_mode,
            executed_qty: Decimal::ZERO,
            cummulative_quote_qty: Decimal::ZERO,
            status: OrderStatus::New,
            expiry_reason: None,
            time: now,
            update_time: now,
            working_time: (!is_stop).then_some(now),
            locked: lock,
        };
        self.orders.push(placed);
        let mut effects = Effects::new(audience);
        self.report(id, Execution::New, None, config, now, &mut effects);
        if !is_stop {
            self.execute(id, market, config, now, &mut effects);
        }
        self.position(account, config, now, &mut effects);
        Ok(self.finish(market, id, effects))
    }

    fn finish(&mut self, market: &mut Market, order_id: u64, effects: Effects<'_>) -> Placed {
        for (symbol, trade) in effects.market_trades {
            market.record_trade(&symbol, trade);
        }
        Placed {
            order_id,
            fills: effects.fills,
            events: effects.events,
        }
    }

    /// Runs working order `id` as a taker against the book now: fills what crosses, then
    /// rests, or expires what is left as its type and time in force say.
    fn execute(
        &mut self,
        id: u64,
        market: &Market,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        let Some(listed) = market.get(&config.symbol) else {
            return;
        };
        let Some(order) = self.orders.get(id) else {
            return;
        };
        let buy = order.is_buy();
        let limit = order.has_limit().then_some(order.price);
        let fills = book::walk(listed.met_by(buy), buy, limit, order.remaining());
        let fillable: Decimal = fills.iter().map(|(_, q)| q).sum();
        let whole = fillable == order.remaining();
        let time_in_force = order.time_in_force;
        let market_type = !order.has_limit();
        if time_in_force == TimeInForce::Fok && !whole {
            self.expire(id, ExpiryReason::UnfilledFokOrder, config, now, effects);
            return;
        }
        for (price, qty) in fills {
            self.fill(id, price, qty, false, market, config, now, effects);
        }
        if whole {
            return;
        }
        if market_type {
            self.expire(
                id,
                ExpiryReason::InsufficientLiquidity,
                config,
                now,
                effects,
            );
        } else if time_in_force == TimeInForce::Ioc {
            self.expire(id, ExpiryReason::UnfilledIocQuantity, config, now, effects);
        }
    }

    /// Fills `qty` of order `id` at `price`, as maker or taker: moves the assets, charges
    /// the commission, updates the order and the unfilled order count, reports the trade.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        id: u64,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        market: &Market,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        let Some(order) = self.orders.get_mut(id) else {
            return;
        };
        let Some(state) = self.accounts.get_mut(&order.account) else {
            return;
        };
        let buy = order.is_buy();
        let quote_qty = price * qty;
        let (spent_asset, spent, received_asset, received, places) = if buy {
            let places = config.base_commission_precision;
            (
                &config.quote_asset,
                quote_qty,
                &config.base_asset,
                qty,
                places,
            )
        } else {
            let places = config.quote_commission_precision;
            (
                &config.base_asset,
                qty,
                &config.quote_asset,
                quote_qty,
                places,
            )
        };
        state.wallet.spend_locked(spent_asset, spent);
        order.locked -= spent;
        state.wallet.receive(received_asset, received);
        let (standard, other) = rates(&state.commission, maker, buy);
        let discount = &state.commission.discount;
        let in_bnb = (discount.enabled_for_account && discount.enabled_for_symbol)
            .then(|| in_discount_asset(market, &discount.discount_asset, received_asset))
            .flatten()
            .map(|rate| round_down(received * (standard * discount.discount + other) * rate, 8))
            .filter(|bnb| *bnb <= state.wallet.free(&discount.discount_asset));
        let (commission, commission_asset) = match in_bnb {
            Some(bnb) => (bnb, discount.discount_asset.clone()),
            None => (
                round_down(received * (standard + other), places).min(received),
                received_asset.clone(),
            ),
        };
        state.wallet.charge(&commission_asset, commission);
        let first = order.executed_qty.is_zero();
        if first {
            state.count.first_fill(now);
        }
        order.executed_qty += qty;
        order.cummulative_quote_qty += quote_qty;
        order.update_time = now;
        order.status = if order.remaining().is_zero() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        let done = !order.status.is_open();
        // A buy keeps locked what its limit price × what is left may spend; the rest of a
        // better price goes back at once. A done order holds nothing.
        let keep = if !order.status.is_open() {
            Decimal::ZERO
        } else if buy && order.has_limit() {
            order.price * order.remaining()
        } else {
            order.locked
        };
        if order.locked > keep {
            state.wallet.unlock(spent_asset, order.locked - keep);
            order.locked = keep;
        }
        let trade = Fill {
            id: self.next_trade_id,
            order_id: id,
            account: order.account.clone(),
            symbol: order.symbol.clone(),
            price,
            qty,
            quote_qty,
            commission,
            commission_asset,
            time: now,
            is_buyer: buy,
            is_maker: maker,
        };
        self.next_trade_id += 1;
        effects.fills.push(trade.id);
        effects.market_trades.push((
            order.symbol.clone(),
            Trade {
                at: now,
                qty,
                quote_qty,
                taker_is_buyer: buy != maker,
            },
        ));
        if done {
            self.orders.status_changed(id);
        }
        self.trades.push(trade.clone());
        self.report(id, Execution::Trade, Some(&trade), config, now, effects);
    }

    /// Ends open order `id` as `status` (canceled or expired), unlocking what it holds.
    fn end(
        &mut self,
        id: u64,
        status: OrderStatus,
        reason: Option<ExpiryReason>,
        config: &SymbolConfig,
        now: Timestamp,
    ) {
        let Some(order) = self.orders.get_mut(id) else {
            return;
        };
        if let Some(state) = self.accounts.get_mut(&order.account) {
            let asset = if order.is_buy() {
                &config.quote_asset
            } else {
                &config.base_asset
            };
            state.wallet.unlock(asset, order.locked);
        }
        order.locked = Decimal::ZERO;
        order.status = status;
        order.expiry_reason = reason;
        order.update_time = now;
        self.orders.status_changed(id);
    }

    fn expire(
        &mut self,
        id: u64,
        reason: ExpiryReason,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        self.end(id, OrderStatus::Expired, Some(reason), config, now);
        self.report(id, Execution::Expired, None, config, now, effects);
    }

    /// Cancels `account`'s open order on `symbol` that `which` names; `new_client_order_id`
    /// is the cancel's own id (`c` of its event), generated if `None`.
    ///
    /// # Errors
    /// -2011 "Unknown order sent." when the account has no such open order.
    #[allow(clippy::too_many_arguments)]
    pub fn cancel(
        &mut self,
        audience: &dyn Audience,
        account: &str,
        symbol: &str,
        which: &OrderRef,
        new_client_order_id: Option<String>,
        market: &Market,
        now: Timestamp,
    ) -> Result<(u64, Vec<AccountEvent>), ApiError> {
        let order = self
            .find(account, symbol, which)
            .filter(|o| o.status.is_open())
            .ok_or(ApiError::CancelRejected(UNKNOWN_ORDER))?;
        let id = order.id;
        let config = &market.get(symbol).ok_or(ApiError::BadSymbol)?.config;
        let mut effects = Effects::new(audience);
        self.cancel_one(id, new_client_order_id, config, now, &mut effects);
        Ok((id, effects.events))
    }

    fn cancel_one(
        &mut self,
        id: u64,
        new_client_order_id: Option<String>,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        let cancel_id = new_client_order_id.unwrap_or_else(|| {
            let execution = self.next_execution_id;
            generated_client_id(execution)
        });
        if let Some(order) = self.orders.get_mut(id) {
            order.cancel_client_order_id = Some(cancel_id);
        }
        self.end(id, OrderStatus::Canceled, None, config, now);
        self.report(id, Execution::Canceled, None, config, now, effects);
        if let Some(account) = self.orders.get(id).map(|o| o.account.clone()) {
            self.position(&account, config, now, effects);
        }
    }

    /// Cancels every open order of `account` on `symbol`, oldest first: their ids and the
    /// events.
    ///
    /// # Errors
    /// -2011 "Unknown order sent." when there is none (as Binance answers
    /// `openOrders.cancelAll` without open orders; fidelity notes).
    pub fn cancel_all(
        &mut self,
        audience: &dyn Audience,
        account: &str,
        symbol: &str,
        market: &Market,
        now: Timestamp,
    ) -> Result<(Vec<u64>, Vec<AccountEvent>), ApiError> {
        let config = &market.get(symbol).ok_or(ApiError::BadSymbol)?.config;
        let ids: Vec<u64> = self
            .open_orders(account, Some(symbol))
            .map(|o| o.id)
            .collect();
        if ids.is_empty() {
            return Err(ApiError::CancelRejected(UNKNOWN_ORDER));
        }
        let mut effects = Effects::new(audience);
        for &id in &ids {
            self.cancel_one(id, None, config, now, &mut effects);
        }
        Ok((ids, effects.events))
    }

    /// What a move of `symbol`'s price (already made in `market`) does at `now`: resting
    /// orders the new book crosses fill in full at their own price, as maker, best price
    /// first, then oldest first; then waiting stops whose trigger the new price reaches
    /// work, oldest first.
    pub fn price_moved(
        &mut self,
        audience: &dyn Audience,
        symbol: &str,
        market: &mut Market,
        now: Timestamp,
    ) -> Vec<AccountEvent> {
        let Some(listed) = market.get(symbol) else {
            return Vec::new();
        };
        let config = listed.config.clone();
        let price = listed.price;
        let best_ask = listed.asks().next().map(|(p, _)| p);
        let best_bid = listed.bids().next().map(|(p, _)| p);
        let resting = |o: &&Order| o.symbol == symbol && o.is_resting();
        let mut buys: Vec<&Order> = self
            .orders
            .open()
            .filter(resting)
            .filter(|o| o.is_buy() && best_ask.is_some_and(|ask| o.price >= ask))
            .collect();
        buys.sort_by(|a, b| b.price.cmp(&a.price).then(a.id.cmp(&b.id)));
        let mut sells: Vec<&Order> = self
            .orders
            .open()
            .filter(resting)
            .filter(|o| !o.is_buy() && best_bid.is_some_and(|bid| o.price <= bid))
            .collect();
        sells.sort_by(|a, b| a.price.cmp(&b.price).then(a.id.cmp(&b.id)));
        let crossed: Vec<(u64, Decimal, Decimal, String)> = buys
            .into_iter()
            .chain(sells)
            .map(|o| (o.id, o.price, o.remaining(), o.account.clone()))
            .collect();
        let stops: Vec<u64> = self
            .orders
            .open()
            .filter(|o| o.symbol == symbol && o.working_time.is_none())
            .filter(|o| {
                o.stop_price
                    .is_some_and(|stop| triggered(o.order_type, o.is_buy(), stop, price))
            })
            .map(|o| o.id)
            .collect();
        let mut effects = Effects::new(audience);
        for (id, price, qty, account) in crossed {
            self.fill(id, price, qty, true, market, &config, now, &mut effects);
            self.position(&account, &config, now, &mut effects);
        }
        for id in stops {
            self.trigger(id, market, &config, now, &mut effects);
        }
        for (symbol, trade) in effects.market_trades {
            market.record_trade(&symbol, trade);
        }
        effects.events
    }

    /// Stop order `id` has triggered: it starts working (a `NEW` report, on the book) and
    /// runs as its market or limit order. A market buy first locks what the book now
    /// charges; if the free balance cannot cover the difference it expires `REJECTED`.
    fn trigger(
        &mut self,
        id: u64,
        market: &Market,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        let Some(order) = self.orders.get_mut(id) else {
            return;
        };
        order.working_time = Some(now);
        order.update_time = now;
        let account = order.account.clone();
        let market_buy = order.is_buy() && !order.has_limit();
        let qty = order.remaining();
        let held = order.locked;
        self.report(id, Execution::New, None, config, now, effects);
        if market_buy {
            let cost = market.get(&config.symbol).map_or(Decimal::ZERO, |listed| {
                book::notional(&book::walk(listed.asks(), true, None, qty))
            });
            let Some(state) = self.accounts.get_mut(&account) else {
                return;
            };
            let quote = &config.quote_asset;
            let covered = if cost > held {
                state.wallet.lock(quote, cost - held).is_ok()
            } else {
                state.wallet.unlock(quote, held - cost);
                true
            };
            if !covered {
                self.expire(id, ExpiryReason::Rejected, config, now, effects);
                self.position(&account, config, now, effects);
                return;
            }
            if let Some(order) = self.orders.get_mut(id) {
                order.locked = cost;
            }
        }
        self.execute(id, market, config, now, effects);
        self.position(&account, config, now, effects);
    }

    /// The control plane fills resting order `id` at its own price, as maker: `qty`, or
    /// all it has left.
    ///
    /// # Errors
    /// [`FillRefusal::NotResting`] for an order not on the book; [`FillRefusal::BadQuantity`]
    /// for zero or more than is left.
    pub fn fill_resting(
        &mut self,
        audience: &dyn Audience,
        id: u64,
        qty: Option<Decimal>,
        market: &mut Market,
        now: Timestamp,
    ) -> Result<Vec<AccountEvent>, FillRefusal> {
        let order = self
            .orders
            .get(id)
            .filter(|o| o.is_resting())
            .ok_or(FillRefusal::NotResting(id))?;
        let left = order.remaining();
        let qty = qty.unwrap_or(left);
        if qty <= Decimal::ZERO || qty > left {
            return Err(FillRefusal::BadQuantity {
                order: id,
                left,
                asked: qty,
            });
        }
        let (price, account) = (order.price, order.account.clone());
        let config = market
            .get(&order.symbol)
            .ok_or(FillRefusal::NotResting(id))?
            .config
            .clone();
        let mut effects = Effects::new(audience);
        self.fill(id, price, qty, true, market, &config, now, &mut effects);
        self.position(&account, &config, now, &mut effects);
        for (symbol, trade) in effects.market_trades {
            market.record_trade(&symbol, trade);
        }
        Ok(effects.events)
    }

    fn next_execution(&mut self) -> u64 {
        let id = self.next_execution_id;
        self.next_execution_id += 1;
        id
    }

    fn report(
        &mut self,
        id: u64,
        execution: Execution,
        trade: Option<&Fill>,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        let execution_id = self.next_execution();
        if let Some(order) = self
            .orders
            .get(id)
            .filter(|o| effects.audience.hears(&o.account))
        {
            effects.events.push(AccountEvent {
                account: order.account.clone(),
                event: view::execution_report(order, config, execution, trade, execution_id, now),
            });
        }
    }

    /// The `outboundAccountPosition` of `account` for the symbol's assets (and the
    /// commission asset of the discount, if the account pays in it).
    fn position(
        &self,
        account: &str,
        config: &SymbolConfig,
        now: Timestamp,
        effects: &mut Effects<'_>,
    ) {
        if !effects.audience.hears(account) {
            return;
        }
        let Some(state) = self.accounts.get(account) else {
            return;
        };
        let discount = &state.commission.discount;
        let mut assets = vec![config.base_asset.as_str(), config.quote_asset.as_str()];
        if discount.enabled_for_account && discount.enabled_for_symbol {
            assets.push(&discount.discount_asset);
        }
        let holdings: Vec<_> = state
            .wallet
            .holdings
            .iter()
            .filter(|h| assets.contains(&h.asset.as_str()))
            .collect();
        effects.events.push(AccountEvent {
            account: account.to_owned(),
            event: view::account_position(&holdings, now),
        });
    }
}

/// Whether a stop of `order_type` on the `buy` side with `stop` has triggered at `price`
/// (`web-socket-api.md:3783`): `STOP_LOSS` buys and `TAKE_PROFIT` sells wait above the
/// market and trigger once the price is at or above `stop`; the other two wait below.
fn triggered(order_type: OrderType, buy: bool, stop: Decimal, price: Decimal) -> bool {
    let stop_loss = matches!(order_type, OrderType::StopLoss | OrderType::StopLossLimit);
    if stop_loss == buy {
        price >= stop
    } else {
        price <= stop
    }
}

/// The price of a pegged order without `price`, fixed when placed: the best price of its
/// own side (`PRIMARY_PEG`) or of the other (`MARKET_PEG`), `pegOffsetValue` levels further
/// from the other side.
fn peg_price(
    listed: &Listed,
    buy: bool,
    peg: PegPriceType,
    offset: Option<u64>,
) -> Option<Decimal> {
    let tick = listed.config.price_filter.tick_size;
    let best = match (peg, buy) {
        (PegPriceType::Primary, true) | (PegPriceType::Market, false) => listed.price - tick,
        (PegPriceType::Primary, false) | (PegPriceType::Market, true) => listed.price + tick,
    };
    let away = tick * Decimal::from(offset.unwrap_or(0));
    let price = if buy { best - away } else { best + away };
    (price > Decimal::ZERO).then_some(price)
}

/// A client order id for an order (or a cancel) that named none: 22 characters, as
/// Binance's are, made from a number so that runs repeat.
fn generated_client_id(n: u64) -> String {
    const DIGITS: usize = 18;
    // As `format!("mock{n:018}")` writes it, without the formatter's padding machinery:
    // this runs for every placement and cancel that names no id.
    let mut numbers = itoa::Buffer::new();
    let digits = numbers.format(n);
    let mut text = String::with_capacity(4 + DIGITS.max(digits.len()));
    text.push_str("mock");
    for _ in digits.len()..DIGITS {
        text.push('0');
    }
    text.push_str(digits);
    text
}

#[cfg(test)]
mod tests;
