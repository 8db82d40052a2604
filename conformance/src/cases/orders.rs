//! The order methods: `order.place`, `order.cancel`, `order.status`, `openOrders.status`,
//! against the harness's own model of the mock's orders (docs/FIDELITY.md, "Orders: how they
//! fill, lock and count" and "Balances").
//!
//! The model is written here, from those rules, not taken from the mock: the synthetic book
//! (best ask P + tick, best bid P − tick, one level per tick of the level quantity read from
//! `depth`), taker fills level by level up to the limit, resting orders that fill as maker
//! when the price moves or the control plane fills them, locks (price × quantity of quote for
//! a buy, the quantity of base for a sell), and commission (received × the rates of
//! `account.commission`, rounded down to the symbol's commission precision). Each case runs
//! on mocks of its own, so orders placed here never reach another case's account.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use mock_server::{Account, Balance, MockServer};
use proptest::strategy::{Strategy, ValueTree};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::errors::private;
use super::{Case, Need, RunResult, Transcript};
use crate::env::Env;
use crate::op::{payload, request_text, ReqId};
use crate::report::Exchange;
use crate::spec;
use crate::target::in_process_builder;
use crate::wire::Wire;

const SYMBOL: &str = "BTCUSDT";
const BASE: &str = "BTC";
const QUOTE: &str = "USDT";
/// Mocks of the cases' own, driven through the control plane on a frozen clock.
const OWN_MOCKS: &[Need] = &[Need::PrivateServers, Need::FrozenClock, Need::InProcess];
const BASIS: &str = "docs/FIDELITY.md \"Orders: how they fill, lock and count\", \"Balances\"";
/// The balances each case's account starts with: enough for a few orders of several levels.
const START_BASE: &str = "10.00000000";
const START_QUOTE: &str = "500000.00000000";

pub(super) fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "ORD-PLACE-AND-STATUS",
            title: "a resting LIMIT order is placed NEW and order.status shows it so",
            basis: BASIS,
            needs: OWN_MOCKS,
            body: custom!(place_and_status),
        },
        Case {
            id: "ORD-CANCEL",
            title: "order.cancel ends a resting order CANCELED, unlocks it, and a second cancel \
                    gets -2011",
            basis: BASIS,
            needs: OWN_MOCKS,
            body: custom!(cancel),
        },
        Case {
            id: "ORD-OPEN-ORDERS-AFTER-RECONNECT",
            title: "openOrders.status on a new connection lists the order placed on a closed one",
            basis: BASIS,
            needs: OWN_MOCKS,
            body: custom!(open_orders_after_reconnect),
        },
        Case {
            id: "ORD-PROP-MODEL",
            title: "generated place, cancel, price-move and fill sequences: every reply, every \
                    executionReport and the balances as the harness's model predicts them, and \
                    each asset conserved",
            basis: BASIS,
            needs: OWN_MOCKS,
            body: custom!(property),
        },
    ]
}

// The wire: requests after session.logon carry only a timestamp.

fn js(text: &str) -> String {
    Value::from(text).to_string()
}

fn owned(params: &[(&str, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

/// A connection of a case's own mock, logged on with the primary key and subscribed to the
/// User Data Stream.
struct Session {
    wire: Wire,
    sent: u32,
}

impl Session {
    async fn open(env: &mut Env, transcript: &mut Transcript) -> Result<Session, String> {
        let wire = env.connect("").await.map_err(|e| e.to_string())?;
        let mut session = Session { wire, sent: 0 };
        let pair = &env.keys.primary;
        let timestamp = env.server_now_us() / 1000 - 1000;
        let mut all = vec![
            ("apiKey".to_owned(), js(pair.api_key())),
            ("timestamp".to_owned(), timestamp.to_string()),
        ];
        let signature = pair.sign(&payload(&all));
        all.push(("signature".to_owned(), js(&signature)));
        session.raw("session.logon", all, transcript).await?;
        session
            .call("userDataStream.subscribe", &[], transcript)
            .await?;
        Ok(session)
    }

    /// Sends `method` with `params` as they are; gives the events that came before its
    /// reply, and the reply.
    async fn raw(
        &mut self,
        method: &str,
        params: Vec<(String, String)>,
        transcript: &mut Transcript,
    ) -> Result<(Vec<String>, Value), String> {
        self.sent += 1;
        let text = request_text(&ReqId::Str(format!("r{}", self.sent)), method, &params);
        self.wire
            .send_text(&text)
            .await
            .map_err(|e| e.to_string())?;
        let (events, reply) = self
            .wire
            .reply()
            .await
            .map_err(|e| format!("sent: {text}\nno reply: {e}"))?;
        let mut shown = events.clone();
        shown.push(reply.clone());
        transcript.push(Exchange::new(&text, shown));
        let value: Value = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
        Ok((events, value))
    }

    /// A public request.
    async fn call(
        &mut self,
        method: &str,
        params: &[(&str, String)],
        transcript: &mut Transcript,
    ) -> Result<Value, String> {
        let (_, reply) = self.raw(method, owned(params), transcript).await?;
        result(method, &reply)
    }

    /// A request for the session's key: a timestamp, no credentials. Gives the events that
    /// came before the reply, and the reply.
    async fn timed(
        &mut self,
        env: &Env,
        method: &str,
        params: &[(&str, String)],
        transcript: &mut Transcript,
    ) -> Result<(Vec<String>, Value), String> {
        let timestamp = env.server_now_us() / 1000 - 1000;
        let mut all = vec![("timestamp".to_owned(), timestamp.to_string())];
        all.extend(owned(params));
        self.raw(method, all, transcript).await
    }

    async fn close(self) {
        self.wire.close().await;
    }
}

/// The result of a reply that must be a success.
fn result(method: &str, reply: &Value) -> Result<Value, String> {
    if reply["status"] == 200 {
        Ok(reply["result"].clone())
    } else {
        Err(format!("{method}: expected a success, got {reply}"))
    }
}

fn dec(value: &Value) -> Option<Decimal> {
    value.as_str().and_then(|s| Decimal::from_str(s).ok())
}

fn dec_of(value: &Value, what: &str) -> Result<Decimal, String> {
    dec(value).ok_or_else(|| format!("{what}: {value} is not a decimal string"))
}

/// A mock of the case's own whose primary account starts with [`START_BASE`] and
/// [`START_QUOTE`].
async fn own_mock(env: &Env) -> Result<(MockServer, Env), String> {
    let (server, env) = private(env, in_process_builder(), spec::DOCUMENTED_WEIGHT_LIMIT).await?;
    let account = env.keys.primary.api_key().to_owned();
    let fixture = Account::fixture(&account).with_balances(vec![
        Balance::new(BASE, START_BASE, "0.00000000"),
        Balance::new(QUOTE, START_QUOTE, "0.00000000"),
    ]);
    server.set_account(&account, fixture);
    Ok((server, env))
}

// The model.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Buy,
    Sell,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tif {
    Gtc,
    Ioc,
    Fok,
}

impl Tif {
    fn name(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Fok => "FOK",
        }
    }
}

/// What the model knows of the market and the account at the start.
#[derive(Clone, Debug)]
struct Market {
    price: Decimal,
    tick: Decimal,
    level: Decimal,
    levels: u32,
    /// `LOT_SIZE`'s `stepSize`.
    step: Decimal,
    base_precision: u32,
    quote_precision: u32,
    /// The summed rates: (maker, taker) × (buyer, seller).
    maker_buy: Decimal,
    maker_sell: Decimal,
    taker_buy: Decimal,
    taker_sell: Decimal,
}

/// One fill as the reply's `fills` and the `TRADE` event show it.
#[derive(Clone, Debug, PartialEq)]
struct Fill {
    price: Decimal,
    qty: Decimal,
    commission: Decimal,
}

/// A resting order of the model.
#[derive(Clone, Debug)]
struct Resting {
    id: u64,
    side: Side,
    price: Decimal,
    orig: Decimal,
    executed: Decimal,
}

impl Resting {
    fn left(&self) -> Decimal {
        self.orig - self.executed
    }
}

/// An `executionReport` by the fields the model predicts.
#[derive(Clone, Debug, PartialEq)]
struct Report {
    order: u64,
    x: String,
    status: String,
    last_qty: Decimal,
    cum_qty: Decimal,
    last_price: Decimal,
    commission: Decimal,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "i={} x={} X={} l={} z={} L={} n={}",
            self.order,
            self.x,
            self.status,
            self.last_qty.normalize(),
            self.cum_qty.normalize(),
            self.last_price.normalize(),
            self.commission.normalize()
        )
    }
}

/// The model's account and book.
#[derive(Clone, Debug)]
struct Model {
    market: Market,
    free: BTreeMap<&'static str, Decimal>,
    locked: BTreeMap<&'static str, Decimal>,
    start: BTreeMap<&'static str, Decimal>,
    received: BTreeMap<&'static str, Decimal>,
    spent: BTreeMap<&'static str, Decimal>,
    charged: BTreeMap<&'static str, Decimal>,
    open: Vec<Resting>,
}

/// What the model predicts of an `order.place`.
#[derive(Debug)]
enum Placed {
    Refused(i64),
    Accepted {
        status: &'static str,
        executed: Decimal,
        quote: Decimal,
        fills: Vec<Fill>,
        /// Whether the rest of the order rests.
        rests: bool,
    },
}

impl Model {
    fn new(market: Market, base: Decimal, quote: Decimal) -> Model {
        let zero: BTreeMap<&'static str, Decimal> =
            [(BASE, Decimal::ZERO), (QUOTE, Decimal::ZERO)].into();
        let start: BTreeMap<&'static str, Decimal> = [(BASE, base), (QUOTE, quote)].into();
        Model {
            market,
            free: start.clone(),
            locked: zero.clone(),
            start,
            received: zero.clone(),
            spent: zero.clone(),
            charged: zero,
            open: Vec::new(),
        }
    }

    fn best_ask(&self) -> Decimal {
        self.market.price + self.market.tick
    }

    fn best_bid(&self) -> Decimal {
        self.market.price - self.market.tick
    }

    /// The taker fills of `qty` on `side` up to `limit` (none: the whole book).
    fn walk(&self, side: Side, qty: Decimal, limit: Option<Decimal>) -> Vec<Fill> {
        let m = &self.market;
        let mut fills = Vec::new();
        let mut left = qty;
        for i in 1..=m.levels {
            if left.is_zero() {
                break;
            }
            let step = m.tick * Decimal::from(i);
            let price = match side {
                Side::Buy => m.price + step,
                Side::Sell => m.price - step,
            };
            let beyond = match (side, limit) {
                (Side::Buy, Some(limit)) => price > limit,
                (Side::Sell, Some(limit)) => price < limit,
                (Side::Sell, None) => price <= Decimal::ZERO,
                (Side::Buy, None) => false,
            };
            if beyond {
                break;
            }
            let take = left.min(m.level);
            left -= take;
            fills.push(Fill {
                price,
                qty: take,
                commission: self.commission(side, true, price, take),
            });
        }
        fills
    }

    /// The commission of a fill: the received amount × the rates, rounded down.
    fn commission(&self, side: Side, taker: bool, price: Decimal, qty: Decimal) -> Decimal {
        let m = &self.market;
        let (amount, rate, places) = match (side, taker) {
            (Side::Buy, true) => (qty, m.taker_buy, m.base_precision),
            (Side::Buy, false) => (qty, m.maker_buy, m.base_precision),
            (Side::Sell, true) => (price * qty, m.taker_sell, m.quote_precision),
            (Side::Sell, false) => (price * qty, m.maker_sell, m.quote_precision),
        };
        (amount * rate).round_dp_with_strategy(places, RoundingStrategy::ToZero)
    }

    /// Books one fill of an order of `side`: what it spends and receives, net of commission.
    /// The lock it came out of has already been released by the caller.
    fn settle(&mut self, side: Side, fill: &Fill) {
        let notional = fill.price * fill.qty;
        let (paid, paid_amount, got, got_amount) = match side {
            Side::Buy => (QUOTE, notional, BASE, fill.qty),
            Side::Sell => (BASE, fill.qty, QUOTE, notional),
        };
        *self.free.get_mut(paid).expect("asset") -= paid_amount;
        *self.spent.get_mut(paid).expect("asset") += paid_amount;
        *self.free.get_mut(got).expect("asset") += got_amount - fill.commission;
        *self.received.get_mut(got).expect("asset") += got_amount;
        *self.charged.get_mut(got).expect("asset") += fill.commission;
    }

    fn lock(&mut self, asset: &'static str, amount: Decimal) {
        *self.free.get_mut(asset).expect("asset") -= amount;
        *self.locked.get_mut(asset).expect("asset") += amount;
    }

    fn unlock(&mut self, asset: &'static str, amount: Decimal) {
        self.lock(asset, -amount);
    }

    /// What an order of `side` locks for `qty` at `price`.
    fn hold(side: Side, price: Decimal, qty: Decimal) -> (&'static str, Decimal) {
        match side {
            Side::Buy => (QUOTE, price * qty),
            Side::Sell => (BASE, qty),
        }
    }

    /// Places an order (`price` none: MARKET) and gives what the mock must answer; the
    /// events follow from it (see [`place_reports`]). The order's id is bound later.
    fn place(&mut self, side: Side, qty: Decimal, price: Option<Decimal>, tif: Tif) -> Placed {
        let fills = self.walk(side, qty, price);
        let filled: Decimal = fills.iter().map(|f| f.qty).sum();
        let (asset, lock) = match price {
            Some(price) => Model::hold(side, price, qty),
            // A MARKET buy locks what the book charges; a sell its quantity.
            None => match side {
                Side::Buy => (QUOTE, fills.iter().map(|f| f.price * f.qty).sum()),
                Side::Sell => (BASE, qty),
            },
        };
        if self.free[asset] < lock {
            return Placed::Refused(-2010);
        }
        let fok_fails = tif == Tif::Fok && filled < qty;
        let fills = if fok_fails { Vec::new() } else { fills };
        let executed: Decimal = fills.iter().map(|f| f.qty).sum();
        let quote: Decimal = fills.iter().map(|f| f.price * f.qty).sum();
        for fill in &fills {
            self.settle(side, fill);
        }
        let rests = price.is_some() && tif == Tif::Gtc && executed < qty;
        if rests {
            let price = price.expect("limit");
            let (asset, amount) = Model::hold(side, price, qty - executed);
            self.lock(asset, amount);
        }
        let status = if executed == qty {
            "FILLED"
        } else if rests && executed.is_zero() {
            "NEW"
        } else if rests {
            "PARTIALLY_FILLED"
        } else {
            "EXPIRED"
        };
        Placed::Accepted {
            status,
            executed,
            quote,
            fills,
            rests,
        }
    }

    /// Fills `qty` of resting order `at` as maker at its own price.
    fn fill_resting(&mut self, at: usize, qty: Decimal) -> Report {
        let order = self.open[at].clone();
        let (asset, amount) = Model::hold(order.side, order.price, qty);
        self.unlock(asset, amount);
        let fill = Fill {
            price: order.price,
            qty,
            commission: self.commission(order.side, false, order.price, qty),
        };
        self.settle(order.side, &fill);
        let executed = order.executed + qty;
        let status = if executed == order.orig {
            self.open.remove(at);
            "FILLED"
        } else {
            self.open[at].executed = executed;
            "PARTIALLY_FILLED"
        };
        Report {
            order: order.id,
            x: "TRADE".to_owned(),
            status: status.to_owned(),
            last_qty: qty,
            cum_qty: executed,
            last_price: order.price,
            commission: fill.commission,
        }
    }

    /// Moves the price `ticks`; the resting orders the new book reaches fill, best price
    /// first, then oldest.
    fn move_price(&mut self, ticks: i64) -> Vec<Report> {
        self.market.price += self.market.tick * Decimal::from(ticks);
        let (ask, bid) = (self.best_ask(), self.best_bid());
        let mut reached: Vec<&Resting> = self
            .open
            .iter()
            .filter(|o| match o.side {
                Side::Buy => o.price >= ask,
                Side::Sell => o.price <= bid,
            })
            .collect();
        reached.sort_by(|a, b| {
            let by_price = match a.side {
                Side::Buy => b.price.cmp(&a.price),
                Side::Sell => a.price.cmp(&b.price),
            };
            by_price.then(a.id.cmp(&b.id))
        });
        let ids: Vec<(u64, Decimal)> = reached.iter().map(|o| (o.id, o.left())).collect();
        ids.into_iter()
            .map(|(id, left)| {
                let at = self.open.iter().position(|o| o.id == id).expect("open");
                self.fill_resting(at, left)
            })
            .collect()
    }

    /// Cancels resting order `at`.
    fn cancel(&mut self, at: usize) -> Report {
        let order = self.open.remove(at);
        let (asset, amount) = Model::hold(order.side, order.price, order.left());
        self.unlock(asset, amount);
        Report {
            order: order.id,
            x: "CANCELED".to_owned(),
            status: "CANCELED".to_owned(),
            last_qty: Decimal::ZERO,
            cum_qty: order.executed,
            last_price: Decimal::ZERO,
            commission: Decimal::ZERO,
        }
    }

    /// What the resting orders hold, per asset.
    fn held(&self) -> BTreeMap<&'static str, Decimal> {
        let mut held: BTreeMap<&'static str, Decimal> =
            [(BASE, Decimal::ZERO), (QUOTE, Decimal::ZERO)].into();
        for order in &self.open {
            let (asset, amount) = Model::hold(order.side, order.price, order.left());
            *held.get_mut(asset).expect("asset") += amount;
        }
        held
    }
}

/// The events of an accepted placement: `NEW`, a `TRADE` per fill, `EXPIRED` if the rest
/// neither filled nor rests.
fn place_reports(order: u64, qty: Decimal, placed: &Placed) -> Vec<Report> {
    let Placed::Accepted {
        fills,
        rests,
        executed,
        ..
    } = placed
    else {
        return Vec::new();
    };
    let report = |x: &str, status: &str, l, z, price, n| Report {
        order,
        x: x.to_owned(),
        status: status.to_owned(),
        last_qty: l,
        cum_qty: z,
        last_price: price,
        commission: n,
    };
    let zero = Decimal::ZERO;
    let mut reports = vec![report("NEW", "NEW", zero, zero, zero, zero)];
    let mut cum = zero;
    for fill in fills {
        cum += fill.qty;
        let status = if cum == qty {
            "FILLED"
        } else {
            "PARTIALLY_FILLED"
        };
        reports.push(report(
            "TRADE",
            status,
            fill.qty,
            cum,
            fill.price,
            fill.commission,
        ));
    }
    if !rests && *executed < qty {
        reports.push(report("EXPIRED", "EXPIRED", zero, *executed, zero, zero));
    }
    reports
}

/// The `executionReport`s among `events`, by the fields the model predicts.
fn reports_of(events: &[String]) -> Result<Vec<Report>, String> {
    let mut reports = Vec::new();
    for text in events {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
        let event = &value["event"];
        if event["e"] != "executionReport" {
            continue;
        }
        let field = |name: &str| dec_of(&event[name], &format!("executionReport {name}"));
        reports.push(Report {
            order: event["i"]
                .as_u64()
                .ok_or_else(|| format!("executionReport without an order id: {text}"))?,
            x: event["x"].as_str().unwrap_or_default().to_owned(),
            status: event["X"].as_str().unwrap_or_default().to_owned(),
            last_qty: field("l")?,
            cum_qty: field("z")?,
            last_price: field("L")?,
            commission: field("n")?,
        });
    }
    Ok(reports)
}

fn check_reports(expected: &[Report], got: &[Report], problems: &mut Vec<String>) {
    if expected != got {
        let show = |rs: &[Report]| rs.iter().map(|r| format!("\n    {r}")).collect::<String>();
        problems.push(format!(
            "executionReports received:{}\n  expected:{}",
            show(got),
            show(expected)
        ));
    }
}

/// The events of an accepted placement end with one `outboundAccountPosition` (the
/// market-orders FAQ's sample), after the last `executionReport`, showing the model's free
/// and locked amounts of every asset it lists.
fn check_position(model: &Model, events: &[String], problems: &mut Vec<String>) -> RunResult {
    let mut kinds = Vec::new();
    let mut positions = Vec::new();
    for text in events {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
        let kind = value["event"]["e"].as_str().unwrap_or_default().to_owned();
        if kind == "outboundAccountPosition" {
            positions.push(value["event"].clone());
        }
        kinds.push(kind);
    }
    let last_report = kinds.iter().rposition(|k| k == "executionReport");
    let first_position = kinds.iter().position(|k| k == "outboundAccountPosition");
    if positions.len() != 1 || first_position < last_report {
        problems.push(format!(
            "events {kinds:?}: expected one outboundAccountPosition after the last \
             executionReport"
        ));
        return Ok(());
    }
    for balance in positions[0]["B"].as_array().into_iter().flatten() {
        let asset = balance["a"].as_str().unwrap_or_default();
        let Some((&asset, free)) = model.free.get_key_value(asset) else {
            continue;
        };
        let got = (dec(&balance["f"]), dec(&balance["l"]));
        if got != (Some(*free), Some(model.locked[asset])) {
            problems.push(format!(
                "outboundAccountPosition {asset}: {balance}, expected free {} locked {}",
                free.normalize(),
                model.locked[asset].normalize()
            ));
        }
    }
    Ok(())
}

/// Reads the market and the commission rates the model starts from.
async fn read_market(
    env: &Env,
    session: &mut Session,
    transcript: &mut Transcript,
) -> Result<Market, String> {
    let ticker = session
        .call("ticker.price", &[("symbol", js(SYMBOL))], transcript)
        .await?;
    let price = dec_of(&ticker["price"], "ticker.price price")?;
    let depth = session
        .call(
            "depth",
            &[("symbol", js(SYMBOL)), ("limit", "100".to_owned())],
            transcript,
        )
        .await?;
    let level_of = |side: &str, at: usize| -> Result<(Decimal, Decimal), String> {
        let row = &depth[side][at];
        Ok((
            dec_of(&row[0], &format!("depth {side}[{at}] price"))?,
            dec_of(&row[1], &format!("depth {side}[{at}] quantity"))?,
        ))
    };
    let (ask, level) = level_of("asks", 0)?;
    let tick = ask - price;
    let (bid, _) = level_of("bids", 0)?;
    if bid != price - tick || tick <= Decimal::ZERO {
        return Err(format!(
            "depth: best ask {ask} and best bid {bid} are not a tick either side of {price}"
        ));
    }
    let levels = depth["asks"].as_array().map_or(0, Vec::len);
    let info = session
        .call("exchangeInfo", &[("symbol", js(SYMBOL))], transcript)
        .await?;
    let symbol = &info["symbols"][0];
    let step = symbol["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["filterType"] == "LOT_SIZE")
        .map(|f| dec_of(&f["stepSize"], "exchangeInfo LOT_SIZE stepSize"))
        .ok_or("exchangeInfo: no LOT_SIZE filter")??;
    let precision = |name: &str| {
        symbol[name]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| format!("exchangeInfo {name}: {}", symbol[name]))
    };
    let (_, commission) = session
        .timed(
            env,
            "account.commission",
            &[("symbol", js(SYMBOL))],
            transcript,
        )
        .await?;
    let commission = result("account.commission", &commission)?;
    if commission["discount"]["enabledForAccount"] == true {
        return Err("the BNB discount is enabled for the account: not modelled".to_owned());
    }
    let rate = |role: &str| -> Result<Decimal, String> {
        let mut sum = Decimal::ZERO;
        for kind in ["standardCommission", "taxCommission", "specialCommission"] {
            sum += dec_of(
                &commission[kind][role],
                &format!("account.commission {kind}.{role}"),
            )?;
        }
        Ok(sum)
    };
    Ok(Market {
        price,
        tick,
        level,
        levels: u32::try_from(levels).unwrap_or(0),
        step,
        base_precision: precision("baseCommissionPrecision")?,
        quote_precision: precision("quoteCommissionPrecision")?,
        maker_buy: rate("maker")? + rate("buyer")?,
        maker_sell: rate("maker")? + rate("seller")?,
        taker_buy: rate("taker")? + rate("buyer")?,
        taker_sell: rate("taker")? + rate("seller")?,
    })
}

/// `account.status`'s free and locked amounts of the base and quote assets, and the events
/// that came before its reply.
async fn balances(
    env: &Env,
    session: &mut Session,
    transcript: &mut Transcript,
) -> Result<(Vec<String>, BTreeMap<String, (Decimal, Decimal)>), String> {
    let (events, reply) = session
        .timed(env, "account.status", &[], transcript)
        .await?;
    let account = result("account.status", &reply)?;
    let mut shown = BTreeMap::new();
    for balance in account["balances"].as_array().into_iter().flatten() {
        let asset = balance["asset"].as_str().unwrap_or_default().to_owned();
        let free = dec_of(&balance["free"], "account.status free")?;
        let locked = dec_of(&balance["locked"], "account.status locked")?;
        shown.insert(asset, (free, locked));
    }
    Ok((events, shown))
}

fn check_balances(
    model: &Model,
    shown: &BTreeMap<String, (Decimal, Decimal)>,
    problems: &mut Vec<String>,
) {
    for asset in [BASE, QUOTE] {
        let got = shown
            .get(asset)
            .copied()
            .unwrap_or((Decimal::ZERO, Decimal::ZERO));
        let want = (model.free[asset], model.locked[asset]);
        if got != want {
            problems.push(format!(
                "account.status {asset}: free {} locked {}, expected free {} locked {}",
                got.0.normalize(),
                got.1.normalize(),
                want.0.normalize(),
                want.1.normalize()
            ));
        }
    }
}

/// The reply's `status`, `executedQty`, `cummulativeQuoteQty` and `fills` against the
/// model's.
fn check_placed(placed: &Placed, reply: &Value, problems: &mut Vec<String>) -> Option<u64> {
    match placed {
        Placed::Refused(code) => {
            if reply["error"]["code"] != *code {
                problems.push(format!("order.place: {reply}, expected error {code}"));
            }
            None
        }
        Placed::Accepted {
            status,
            executed,
            quote,
            fills,
            ..
        } => {
            let r = &reply["result"];
            if reply["status"] != 200 {
                problems.push(format!("order.place: {reply}, expected status {status}"));
                return None;
            }
            let mut got_fills = Vec::new();
            for f in r["fills"].as_array().into_iter().flatten() {
                got_fills.push(Fill {
                    price: dec(&f["price"]).unwrap_or(Decimal::MIN),
                    qty: dec(&f["qty"]).unwrap_or(Decimal::MIN),
                    commission: dec(&f["commission"]).unwrap_or(Decimal::MIN),
                });
            }
            let same = r["status"] == *status
                && dec(&r["executedQty"]) == Some(*executed)
                && dec(&r["cummulativeQuoteQty"]) == Some(*quote)
                && got_fills == *fills;
            if !same {
                let shown: Vec<String> = fills
                    .iter()
                    .map(|f| {
                        format!(
                            "{}@{} n={}",
                            f.qty.normalize(),
                            f.price.normalize(),
                            f.commission.normalize()
                        )
                    })
                    .collect();
                problems.push(format!(
                    "order.place: {r}\n  expected status {status} executedQty {} \
                     cummulativeQuoteQty {} fills [{}]",
                    executed.normalize(),
                    quote.normalize(),
                    shown.join(", ")
                ));
            }
            r["orderId"].as_u64()
        }
    }
}

// The generated steps.

/// One generated step, interpreted against the model's state when it runs (an index picks
/// among the open orders), so that a shrunk sequence stays meaningful.
#[derive(Clone, Debug)]
enum Draw {
    /// A LIMIT order `offset` ticks from the price, `halves` × half a level and `steps`
    /// lot steps (so that commissions need rounding).
    Limit {
        buy: bool,
        offset: i64,
        halves: u32,
        steps: u32,
        tif: u8,
    },
    /// A MARKET order by quantity.
    Market { buy: bool, halves: u32, steps: u32 },
    /// Cancels an open order (none open: nothing).
    Cancel { pick: usize },
    /// Moves the price.
    Move { ticks: i64 },
    /// The control plane fills an open order, whole or half of what it has left.
    Fill { pick: usize, half: bool },
}

fn draws() -> impl Strategy<Value = Vec<Draw>> {
    use proptest::prelude::*;
    let step = prop_oneof![
        4 => (any::<bool>(), -4i64..=3, 1u32..=5, 0u32..1000, 0u8..3).prop_map(
            |(buy, offset, halves, steps, tif)| Draw::Limit { buy, offset, halves, steps, tif }
        ),
        1 => (any::<bool>(), 1u32..=5, 0u32..1000)
            .prop_map(|(buy, halves, steps)| Draw::Market { buy, halves, steps }),
        1 => (0usize..8).prop_map(|pick| Draw::Cancel { pick }),
        2 => prop_oneof![-3i64..=-1, 1i64..=3].prop_map(|ticks| Draw::Move { ticks }),
        2 => (0usize..8, any::<bool>()).prop_map(|(pick, half)| Draw::Fill { pick, half }),
    ];
    proptest::collection::vec(step, 1..=20)
}

async fn property(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let sequences = env.cases.clamp(4, 16);
    let mut runner = crate::property::runner(env.seed);
    let strategy = draws();
    let mut tally = BTreeMap::<&'static str, u32>::new();
    for n in 0..sequences {
        let mut tree = strategy
            .new_tree(&mut runner)
            .map_err(|reason| format!("cannot generate a sequence: {reason}"))?;
        let mut scratch = Transcript::new();
        if let Err(first) = run_sequence(env, &tree.current(), &mut tally, &mut scratch).await {
            let (minimal, steps) = shrink(env, &mut tree, first).await;
            transcript.extend(scratch);
            return Err(format!(
                "seed {seed} (replay: --only ORD-PROP-MODEL --seed {seed}): sequence {n} of \
                 {sequences}; shrunk in {steps} steps to:\n{minimal}",
                seed = env.run_seed,
                n = n + 1,
            ));
        }
    }
    let shown: Vec<String> = tally.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    env.notes
        .push(format!("{sequences} sequences: {}", shown.join(", ")));
    Ok(())
}

async fn shrink<T: ValueTree<Value = Vec<Draw>>>(
    env: &mut Env,
    tree: &mut T,
    first: String,
) -> (String, u32) {
    let mut best = first;
    let mut steps = 0;
    if !tree.simplify() {
        return (best, steps);
    }
    while steps < env.max_shrink_iters.min(48) {
        steps += 1;
        let mut tally = BTreeMap::new();
        let failed = run_sequence(env, &tree.current(), &mut tally, &mut Transcript::new())
            .await
            .err();
        let more = match failed {
            Some(found) => {
                best = found;
                tree.simplify()
            }
            None => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    (best, steps)
}

/// Runs one sequence on a mock of its own; the error names the step, what the model
/// expected and what arrived.
async fn run_sequence(
    env: &Env,
    draws: &[Draw],
    tally: &mut BTreeMap<&'static str, u32>,
    transcript: &mut Transcript,
) -> RunResult {
    let (server, mut env) = own_mock(env).await?;
    let mut session = Session::open(&mut env, transcript).await?;
    let outcome = steps(&server, &env, &mut session, draws, tally, transcript).await;
    session.close().await;
    outcome
}

async fn steps(
    server: &MockServer,
    env: &Env,
    session: &mut Session,
    draws: &[Draw],
    tally: &mut BTreeMap<&'static str, u32>,
    transcript: &mut Transcript,
) -> RunResult {
    let market = read_market(env, session, transcript).await?;
    let (_, start) = balances(env, session, transcript).await?;
    let amount = |asset: &str| start.get(asset).map_or(Decimal::ZERO, |b| b.0 + b.1);
    let mut model = Model::new(market, amount(BASE), amount(QUOTE));
    let half = model.market.level / Decimal::TWO;
    let mut done = Vec::new();
    for (n, draw) in draws.iter().enumerate() {
        let mut problems = Vec::new();
        let (mut events, expected, label) = match draw {
            Draw::Limit {
                buy,
                offset,
                halves,
                steps,
                tif,
            } => {
                let side = if *buy { Side::Buy } else { Side::Sell };
                let tif = [Tif::Gtc, Tif::Ioc, Tif::Fok][usize::from(*tif % 3)];
                let price = model.market.price + model.market.tick * Decimal::from(*offset);
                let qty = half * Decimal::from(*halves) + model.market.step * Decimal::from(*steps);
                let label = format!(
                    "LIMIT {} {tif:?} {} @ {}",
                    side.name(),
                    qty.normalize(),
                    price.normalize()
                );
                let params = vec![
                    ("symbol", js(SYMBOL)),
                    ("side", js(side.name())),
                    ("type", js("LIMIT")),
                    ("timeInForce", js(tif.name())),
                    ("quantity", js(&qty.to_string())),
                    ("price", js(&price.to_string())),
                    ("newOrderRespType", js("FULL")),
                ];
                let placed = model.place(side, qty, Some(price), tif);
                let (events, reply) = session
                    .timed(env, "order.place", &params, transcript)
                    .await?;
                let id = check_placed(&placed, &reply, &mut problems);
                tally_placed(tally, &placed);
                let expected = bind_placed(&mut model, id, side, price, qty, &placed);
                (events, expected, label)
            }
            Draw::Market { buy, halves, steps } => {
                let side = if *buy { Side::Buy } else { Side::Sell };
                let qty = half * Decimal::from(*halves) + model.market.step * Decimal::from(*steps);
                let label = format!("MARKET {} {}", side.name(), qty.normalize());
                let params = vec![
                    ("symbol", js(SYMBOL)),
                    ("side", js(side.name())),
                    ("type", js("MARKET")),
                    ("quantity", js(&qty.to_string())),
                    ("newOrderRespType", js("FULL")),
                ];
                let placed = model.place(side, qty, None, Tif::Gtc);
                let (events, reply) = session
                    .timed(env, "order.place", &params, transcript)
                    .await?;
                let id = check_placed(&placed, &reply, &mut problems);
                tally_placed(tally, &placed);
                let expected = match id {
                    Some(id) => place_reports(id, qty, &placed),
                    None => Vec::new(),
                };
                (events, expected, label)
            }
            Draw::Cancel { pick } => {
                if model.open.is_empty() {
                    continue;
                }
                let at = pick % model.open.len();
                let order = model.open[at].clone();
                let label = format!("order.cancel {}", order.id);
                let report = model.cancel(at);
                let (events, reply) = session
                    .timed(
                        env,
                        "order.cancel",
                        &[("symbol", js(SYMBOL)), ("orderId", order.id.to_string())],
                        transcript,
                    )
                    .await?;
                let r = &reply["result"];
                if r["status"] != "CANCELED" || dec(&r["executedQty"]) != Some(order.executed) {
                    problems.push(format!(
                        "order.cancel: {reply}, expected status CANCELED executedQty {}",
                        order.executed.normalize()
                    ));
                }
                *tally.entry("cancel").or_default() += 1;
                (events, vec![report], label)
            }
            Draw::Move { ticks } => {
                let reports = model.move_price(*ticks);
                let price = model.market.price.to_string();
                let label = format!("price to {price}");
                server
                    .set_price(SYMBOL, &price)
                    .map_err(|e| format!("step {}: {label}: {e}", n + 1))?;
                *tally.entry("price move").or_default() += 1;
                if !reports.is_empty() {
                    *tally.entry("price move that fills").or_default() += 1;
                }
                (Vec::new(), reports, label)
            }
            Draw::Fill { pick, half } => {
                if model.open.is_empty() {
                    continue;
                }
                let at = pick % model.open.len();
                let order = model.open[at].clone();
                let step = model.market.step;
                let part = (order.left() / Decimal::TWO / step).floor() * step;
                let qty = if *half && !part.is_zero() {
                    part
                } else {
                    order.left()
                };
                let label = format!("fill {} of order {}", qty.normalize(), order.id);
                let report = model.fill_resting(at, qty);
                let sent = if *half { Some(qty.to_string()) } else { None };
                server
                    .fill_order(order.id, sent.as_deref())
                    .map_err(|e| format!("step {}: {label}: {e}", n + 1))?;
                *tally.entry("admin fill").or_default() += 1;
                (Vec::new(), vec![report], label)
            }
        };
        let (after, shown) = balances(env, session, transcript).await?;
        events.extend(after);
        check_reports(&expected, &reports_of(&events)?, &mut problems);
        check_balances(&model, &shown, &mut problems);
        if matches!(draw, Draw::Limit { .. } | Draw::Market { .. }) && !expected.is_empty() {
            check_position(&model, &events, &mut problems)?;
        }
        done.push(label);
        if !problems.is_empty() {
            return Err(format!(
                "steps: {}\nat step {}: {}",
                done.join("; "),
                n + 1,
                problems.join("\n")
            ));
        }
    }
    conservation(env, session, &model, transcript, &done).await
}

/// Per asset: free + locked = start + received − spent − commission, and locked = what the
/// open orders hold.
async fn conservation(
    env: &Env,
    session: &mut Session,
    model: &Model,
    transcript: &mut Transcript,
    done: &[String],
) -> RunResult {
    let (_, shown) = balances(env, session, transcript).await?;
    let held = model.held();
    let mut problems = Vec::new();
    for asset in [BASE, QUOTE] {
        let (free, locked) = shown
            .get(asset)
            .copied()
            .unwrap_or((Decimal::ZERO, Decimal::ZERO));
        let total =
            model.start[asset] + model.received[asset] - model.spent[asset] - model.charged[asset];
        if free + locked != total {
            problems.push(format!(
                "{asset}: free + locked = {}, expected start {} + received {} - spent {} - \
                 commission {} = {}",
                (free + locked).normalize(),
                model.start[asset].normalize(),
                model.received[asset].normalize(),
                model.spent[asset].normalize(),
                model.charged[asset].normalize(),
                total.normalize()
            ));
        }
        if locked != held[asset] {
            problems.push(format!(
                "{asset}: locked {}, expected what the open orders hold: {}",
                locked.normalize(),
                held[asset].normalize()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "steps: {}\nafter the sequence: {}",
            done.join("; "),
            problems.join("\n")
        ))
    }
}

fn tally_placed(tally: &mut BTreeMap<&'static str, u32>, placed: &Placed) {
    let kind = match placed {
        Placed::Refused(_) => "refused",
        Placed::Accepted { status, .. } => match *status {
            "NEW" => "NEW",
            "PARTIALLY_FILLED" => "PARTIALLY_FILLED",
            "FILLED" => "FILLED",
            _ => "EXPIRED",
        },
    };
    *tally.entry(kind).or_default() += 1;
}

/// Binds the id the mock gave an accepted order: it rests under that id, and its events
/// carry it.
fn bind_placed(
    model: &mut Model,
    id: Option<u64>,
    side: Side,
    price: Decimal,
    qty: Decimal,
    placed: &Placed,
) -> Vec<Report> {
    let Some(id) = id else {
        return Vec::new();
    };
    if let Placed::Accepted {
        rests: true,
        executed,
        ..
    } = placed
    {
        model.open.push(Resting {
            id,
            side,
            price,
            orig: qty,
            executed: *executed,
        });
    }
    place_reports(id, qty, placed)
}

// The fixed cases.

/// A resting buy five ticks under the price.
fn resting_buy(price: Decimal, tick: Decimal) -> Vec<(&'static str, String)> {
    let price = price - tick * Decimal::from(5);
    vec![
        ("symbol", js(SYMBOL)),
        ("side", js("BUY")),
        ("type", js("LIMIT")),
        ("timeInForce", js("GTC")),
        ("quantity", js("0.01000")),
        ("price", js(&price.to_string())),
    ]
}

async fn placed_resting(
    env: &Env,
    session: &mut Session,
    transcript: &mut Transcript,
) -> Result<(u64, Decimal), String> {
    let market = read_market(env, session, transcript).await?;
    let params = resting_buy(market.price, market.tick);
    let (_, reply) = session
        .timed(env, "order.place", &params, transcript)
        .await?;
    let r = result("order.place", &reply)?;
    if r["status"] != "NEW" || dec(&r["executedQty"]) != Some(Decimal::ZERO) {
        return Err(format!(
            "order.place: {r}, expected status NEW executedQty 0"
        ));
    }
    let id = r["orderId"]
        .as_u64()
        .ok_or_else(|| format!("order.place: no orderId in {r}"))?;
    Ok((id, market.price - market.tick * Decimal::from(5)))
}

async fn place_and_status(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (_server, mut env) = own_mock(env).await?;
    let mut session = Session::open(&mut env, transcript).await?;
    let outcome = async {
        let (id, price) = placed_resting(&env, &mut session, transcript).await?;
        let (_, reply) = session
            .timed(
                &env,
                "order.status",
                &[("symbol", js(SYMBOL)), ("orderId", id.to_string())],
                transcript,
            )
            .await?;
        let r = result("order.status", &reply)?;
        let same = r["orderId"] == id
            && r["status"] == "NEW"
            && r["side"] == "BUY"
            && r["type"] == "LIMIT"
            && dec(&r["price"]) == Some(price)
            && dec(&r["origQty"]) == Some(Decimal::new(1, 2))
            && dec(&r["executedQty"]) == Some(Decimal::ZERO);
        if same {
            Ok(())
        } else {
            Err(format!(
                "order.status: {r}, expected order {id} NEW BUY LIMIT 0.01 @ {price}, none executed"
            ))
        }
    }
    .await;
    session.close().await;
    outcome
}

async fn cancel(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (_server, mut env) = own_mock(env).await?;
    let mut session = Session::open(&mut env, transcript).await?;
    let outcome = async {
        let (id, price) = placed_resting(&env, &mut session, transcript).await?;
        let params = [("symbol", js(SYMBOL)), ("orderId", id.to_string())];
        let (_, shown) = balances(&env, &mut session, transcript).await?;
        let lock = price * Decimal::new(1, 2);
        let mut problems = Vec::new();
        if shown.get(QUOTE).map(|b| b.1) != Some(lock) {
            problems.push(format!(
                "account.status after placing: {QUOTE} {:?}, expected {lock} locked",
                shown.get(QUOTE)
            ));
        }
        let (events, reply) = session
            .timed(&env, "order.cancel", &params, transcript)
            .await?;
        let r = result("order.cancel", &reply)?;
        if r["status"] != "CANCELED" || r["orderId"] != id {
            problems.push(format!("order.cancel: {r}, expected order {id} CANCELED"));
        }
        let (after, shown) = balances(&env, &mut session, transcript).await?;
        let reports = reports_of(&[events, after].concat())?;
        let zero = Decimal::ZERO;
        let canceled = Report {
            order: id,
            x: "CANCELED".to_owned(),
            status: "CANCELED".to_owned(),
            last_qty: zero,
            cum_qty: zero,
            last_price: zero,
            commission: zero,
        };
        // The NEW of the placement may come before the cancel's reply too.
        let tail: Vec<Report> = reports.into_iter().filter(|r| r.x != "NEW").collect();
        check_reports(&[canceled], &tail, &mut problems);
        let start = Decimal::from_str(START_QUOTE).map_err(|e| e.to_string())?;
        if shown.get(QUOTE) != Some(&(start, zero)) {
            problems.push(format!(
                "account.status after the cancel: {QUOTE} {:?}, expected {start} free, 0 locked",
                shown.get(QUOTE)
            ));
        }
        let (_, again) = session
            .timed(&env, "order.cancel", &params, transcript)
            .await?;
        if again["error"]["code"] != -2011 || again["error"]["msg"] != "Unknown order sent." {
            problems.push(format!(
                "second order.cancel: {again}, expected -2011 \"Unknown order sent.\""
            ));
        }
        super::verdict(&problems)
    }
    .await;
    session.close().await;
    outcome
}

async fn open_orders_after_reconnect(env: &mut Env, transcript: &mut Transcript) -> RunResult {
    let (_server, mut env) = own_mock(env).await?;
    let mut first = Session::open(&mut env, transcript).await?;
    let placed = placed_resting(&env, &mut first, transcript).await;
    first.close().await;
    let (id, price) = placed?;
    let mut second = Session::open(&mut env, transcript).await?;
    let outcome = async {
        let (_, reply) = second
            .timed(
                &env,
                "openOrders.status",
                &[("symbol", js(SYMBOL))],
                transcript,
            )
            .await?;
        let r = result("openOrders.status", &reply)?;
        let listed = r.as_array().map(Vec::as_slice).unwrap_or_default();
        let found = listed.len() == 1
            && listed[0]["orderId"] == id
            && listed[0]["status"] == "NEW"
            && dec(&listed[0]["price"]) == Some(price);
        if found {
            Ok(())
        } else {
            Err(format!(
                "openOrders.status: {r}, expected only order {id}, NEW at {price}"
            ))
        }
    }
    .await;
    second.close().await;
    outcome
}
