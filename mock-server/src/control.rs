//! The control plane: every knob a test turns while the server runs (clock, keys, accounts,
//! events, connections, shutdown, faults, the journal, reset), written once. The methods of
//! [`MockServer`](crate::MockServer) and the HTTP routes of `/__admin/*` (`admin`) both call
//! these.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::account::{Account, Accounts, Balance, Commission, CommissionRates};
use crate::clock::Timestamp;
use crate::envelope::{bare_method, TimeUnit};
use crate::fault::{close_invalid, Fault, FaultRule};
use crate::journal::{JournalEntry, JournalQuery};
use crate::keys::{ed25519_public_key_from_pem, rsa_public_key_from_pem, KeyMaterial, Permissions};
use crate::market::{fixed, Market, PriceRefusal, SymbolStatus};
use crate::orders::{view, FillRefusal, Order};
use crate::server::{Command, Shared};
use crate::session::SessionState;

/// Why a control-plane call was refused: an HTTP status (400, 404 or 409) and one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    /// 400 for a bad value, 404 for something that does not exist, 409 for a conflict.
    pub status: u16,
    /// What was wrong, in one sentence.
    pub message: String,
}

impl ControlError {
    fn with(status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        ControlError { status, message }
    }

    /// A 400: the call's value is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ControlError::with(400, message)
    }

    /// A 404: what the call names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        ControlError::with(404, message)
    }

    /// A 409: what the call names is not in a state the call applies to.
    pub fn conflict(message: impl Into<String>) -> Self {
        ControlError::with(409, message)
    }
}

/// The body of `POST /__admin/orders/{orderId}/fill`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillChange {
    /// How much to fill, a decimal string; all the order has left when absent.
    #[serde(default)]
    pub qty: Option<String>,
}

/// The filters of `GET /__admin/orders`: each one that is given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only this account's orders.
    pub account: Option<String>,
    /// Only orders on this symbol.
    pub symbol: Option<String>,
    /// Only orders in this status (`NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`,
    /// `EXPIRED`).
    pub status: Option<String>,
}

/// The statuses an order of the mock reaches, as `GET /__admin/orders` filters them.
const ORDER_STATUSES: [&str; 5] = ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"];

/// `order` as `order.status` shows it (times in ms), plus its `account`.
fn order_view(order: &Order, market: &Market) -> Value {
    let mut view = market
        .get(&order.symbol)
        .map(|listed| view::status(order, &listed.config))
        .unwrap_or_else(|| serde_json::json!({}));
    if let Value::Object(members) = &mut view {
        members.insert("account".to_owned(), Value::String(order.account.clone()));
    }
    view
}

/// One symbol, as `GET /__admin/symbols` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolView {
    /// Its name.
    pub symbol: String,
    /// Its price now, as a decimal string at the quote asset's precision.
    pub price: String,
    /// Its status now.
    pub status: SymbolStatus,
}

/// The body of `POST /__admin/symbols/{symbol}/price`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceChange {
    pub price: String,
}

/// The body of `POST /__admin/symbols/{symbol}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusChange {
    pub status: SymbolStatus,
}

/// One open connection, as `GET /__admin/connections` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// Its id: an integer never reused within a process.
    pub id: u64,
    /// The client's address, written `ip:port`.
    pub peer: SocketAddr,
    /// When it was opened on the mock's clock, written in milliseconds.
    #[serde(serialize_with = "millis")]
    pub connected_since: Timestamp,
    /// The key its session is logged on with.
    pub api_key: Option<String>,
    /// When that logon happened on the mock's clock, written in milliseconds.
    #[serde(serialize_with = "optional_millis")]
    pub authorized_since: Option<Timestamp>,
    /// Its active User Data Stream subscriptions' ids, ascending.
    pub subscriptions: Vec<u32>,
    /// The unit of its time fields.
    #[serde(serialize_with = "time_unit_name")]
    pub time_unit: TimeUnit,
    /// Whether its replies carry `rateLimits` by default.
    pub return_rate_limits: bool,
}

fn millis<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(t.as_millis())
}

fn optional_millis<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => millis(t, s),
        None => s.serialize_none(),
    }
}

fn time_unit_name<S: serde::Serializer>(unit: &TimeUnit, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match unit {
        TimeUnit::Millisecond => "MILLISECOND",
        TimeUnit::Microsecond => "MICROSECOND",
    })
}

impl ConnectionInfo {
    /// Brings this view up to date with `session`; allocates only when something changed.
    pub(crate) fn sync(&mut self, session: &SessionState) {
        let logon = session.logon.as_ref();
        if self.api_key.as_deref() != logon.map(|l| l.api_key.as_str()) {
            self.api_key = logon.map(|l| l.api_key.clone());
        }
        self.authorized_since = logon.map(|l| l.authorized_since);
        if !self
            .subscriptions
            .iter()
            .copied()
            .eq(session.subscriptions.ids())
        {
            self.subscriptions = session.subscriptions.ids().collect();
        }
    }
}

/// The clock as `GET /__admin/clock` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// The mock's time, in milliseconds since the epoch.
    pub now: i64,
    /// Whether it stands still.
    pub frozen: bool,
}

/// A change of the clock (`POST /__admin/clock`): `set`, then `advance`, then `freeze`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Sets the time to this many milliseconds since the epoch (up to the end of 9999).
    pub set: Option<i64>,
    /// Moves the time forward by this many milliseconds (up to ten years).
    pub advance: Option<i64>,
    /// Freezes (`true`) or resumes (`false`, running on from the current mock time).
    pub freeze: Option<bool>,
}

/// The last millisecond of the year 9999.
pub const MAX_CLOCK_MS: i64 = 253_402_300_799_999;
/// Ten years of 365 days, in milliseconds: the longest `advance`.
pub const MAX_ADVANCE_MS: i64 = 10 * 365 * 24 * 60 * 60 * 1000;

/// One registered key, as `GET /__admin/keys` lists it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    /// The API key.
    pub api_key: String,
    /// `ED25519`, `HMAC` or `RSA`.
    #[serde(rename = "type")]
    pub key_type: &'static str,
    /// Its permissions, as Binance spells the security types.
    pub permissions: Vec<&'static str>,
    /// The account it belongs to.
    pub account: String,
}

/// A key to register (`POST /__admin/keys`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKey {
    /// The API key: 1 to 64 ASCII letters and digits.
    pub api_key: String,
    /// `ED25519`, `HMAC` or `RSA`.
    #[serde(rename = "type")]
    pub key_type: String,
    /// The public key PEM (SPKI, as `openssl pkey -pubout` writes), for Ed25519 and RSA.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The secret, for HMAC.
    #[serde(default)]
    pub secret: Option<String>,
    /// Its permissions (`USER_DATA`, `USER_STREAM`, `TRADE`); `USER_DATA` and `USER_STREAM`
    /// if absent.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// The account it belongs to; the API key's own name if absent.
    #[serde(default)]
    pub account: Option<String>,
}

/// An account's fixture as the control plane reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountView {
    /// The account's `uid`; when writing, the current one is kept if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u64>,
    /// Its balances, in order.
    pub balances: Vec<BalanceView>,
    /// Its commission rates. Read: present only when they are not the defaults (so that an
    /// account never given any answers as before). Written: the parts given replace the
    /// account's, the parts left out (or the whole object) keep them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<CommissionView>,
}

/// An account's commission rates as the control plane reads and writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommissionView {
    /// Standard commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<RatesView>,
    /// Tax commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<RatesView>,
    /// Special commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special: Option<RatesView>,
    /// The BNB discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<DiscountView>,
}

/// Maker, taker, buyer and seller rates: decimal strings (written back with 8 places).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesView {
    /// Paid by the maker.
    pub maker: String,
    /// Paid by the taker.
    pub taker: String,
    /// Paid by the buyer, on top.
    pub buyer: String,
    /// Paid by the seller, on top.
    pub seller: String,
}

/// The BNB discount, as `account.commission` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscountView {
    /// The account pays in the discount asset when it can.
    pub enabled_for_account: bool,
    /// The symbol offers the discount.
    pub enabled_for_symbol: bool,
    /// The asset (`BNB`).
    pub discount_asset: String,
    /// The discount rate, a decimal string.
    pub discount: String,
}

impl From<&Commission> for CommissionView {
    fn from(commission: &Commission) -> Self {
        let rates = |r: &CommissionRates| RatesView {
            maker: fixed(r.maker, 8),
            taker: fixed(r.taker, 8),
            buyer: fixed(r.buyer, 8),
            seller: fixed(r.seller, 8),
        };
        CommissionView {
            standard: Some(rates(&commission.standard)),
            tax: Some(rates(&commission.tax)),
            special: Some(rates(&commission.special)),
            discount: Some(DiscountView {
                enabled_for_account: commission.discount.enabled_for_account,
                enabled_for_symbol: commission.discount.enabled_for_symbol,
                discount_asset: commission.discount.discount_asset.clone(),
                discount: fixed(commission.discount.discount, 8),
            }),
        }
    }
}

impl CommissionView {
    /// `commission` with the parts given here replacing its own.
    fn apply(&self, mut commission: Commission) -> Result<Commission, ControlError> {
        fn rate(
            part: &str,
            field: &str,
            text: &str,
        ) -> Result<rust_decimal::Decimal, ControlError> {
            is_decimal(text)
                .then(|| text.parse().ok())
                .flatten()
                .ok_or_else(|| {
                    ControlError::bad_request(format!(
                        "`commission.{part}.{field}` must be a decimal string such as \
                         \"0.00100000\", not {text:?}"
                    ))
                })
        }
        let rates = |part: &str, view: &RatesView| -> Result<CommissionRates, ControlError> {
            Ok(CommissionRates {
                maker: rate(part, "maker", &view.maker)?,
                taker: rate(part, "taker", &view.taker)?,
                buyer: rate(part, "buyer", &view.buyer)?,
                seller: rate(part, "seller", &view.seller)?,
            })
        };
        if let Some(view) = &self.standard {
            commission.standard = rates("standard", view)?;
        }
        if let Some(view) = &self.tax {
            commission.tax = rates("tax", view)?;
        }
        if let Some(view) = &self.special {
            commission.special = rates("special", view)?;
        }
        if let Some(view) = &self.discount {
            if view.discount_asset.is_empty() {
                return Err(ControlError::bad_request(
                    "`commission.discount.discountAsset` must not be empty",
                ));
            }
            commission.discount.enabled_for_account = view.enabled_for_account;
            commission.discount.enabled_for_symbol = view.enabled_for_symbol;
            commission.discount.discount_asset = view.discount_asset.clone();
            commission.discount.discount = rate("discount", "discount", &view.discount)?;
        }
        Ok(commission)
    }
}

/// One balance: decimal strings, kept exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceView {
    /// The asset, e.g. `BTC`.
    pub asset: String,
    /// Available.
    pub free: String,
    /// Held by open orders.
    pub locked: String,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        AccountView {
            uid: Some(account.uid),
            balances: account
                .balances
                .iter()
                .map(|b| BalanceView {
                    asset: b.asset.clone(),
                    free: b.free.clone(),
                    locked: b.locked.clone(),
                })
                .collect(),
            commission: (account.commission != Commission::default())
                .then(|| CommissionView::from(&account.commission)),
        }
    }
}

/// Whether `text` is a non-negative decimal number as Binance writes amounts.
fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// What a reset does with open connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetConnections {
    /// Close them with 1012 (the default).
    #[default]
    Close,
    /// Keep them; a session whose key the reset removed is logged out at once.
    Keep,
}

/// How many calls of a method a test expects: checked when the server is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expectation {
    pub method: String,
    pub at_least: u64,
    pub at_most: Option<u64>,
    /// The method's count when the expectation was made.
    pub baseline: u64,
}

impl Expectation {
    fn describe(&self) -> String {
        match (self.at_least, self.at_most) {
            (n, Some(m)) if n == m => format!("exactly {n}"),
            (0, Some(m)) => format!("at most {m}"),
            (n, None) => format!("at least {n}"),
            (n, Some(m)) => format!("between {n} and {m}"),
        }
    }
}

impl Shared {
    /// The clock as the control plane shows it.
    pub fn clock_view(&self) -> ClockView {
        ClockView {
            now: self.clock.now().as_millis(),
            frozen: self.clock.is_frozen(),
        }
    }

    /// Applies `change`: `set`, then `advance`, then `freeze`.
    pub fn change_clock(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        if let Some(set) = change.set {
            if !(0..=MAX_CLOCK_MS).contains(&set) {
                return Err(ControlError::bad_request(format!(
                    "`set` must be from 0 to {MAX_CLOCK_MS} (the end of the year 9999)"
                )));
            }
        }
        if let Some(advance) = change.advance {
            if !(0..=MAX_ADVANCE_MS).contains(&advance) {
                return Err(ControlError::bad_request(format!(
                    "`advance` must be from 0 to {MAX_ADVANCE_MS} (ten years); to go back in time, `set`"
                )));
            }
        }
        let advance = Duration::from_millis(change.advance.unwrap_or(0).unsigned_abs());
        match (change.set, change.freeze) {
            // Frozen at exactly the instant asked for, not the few microseconds a running
            // clock would add between setting and freezing.
            (Some(set), Some(true)) => self
                .clock
                .freeze_at(Timestamp::from_millis(set).plus(advance)),
            (set, freeze) => {
                if let Some(set) = set {
                    self.clock.set(Timestamp::from_millis(set));
                }
                if freeze == Some(true) {
                    self.clock.freeze();
                }
                self.clock.advance(advance);
                if freeze == Some(false) {
                    self.clock.resume();
                }
            }
        }
        Ok(self.clock_view())
    }

    /// The registered keys, never their secrets.
    pub fn key_list(&self) -> Vec<KeyInfo> {
        let state = self.lock();
        let mut keys: Vec<KeyInfo> = state
            .keys
            .iter()
            .map(|(api_key, key)| KeyInfo {
                api_key: api_key.to_owned(),
                key_type: key.material.type_name(),
                permissions: key.permissions.names(),
                account: key.account.clone(),
            })
            .collect();
        keys.sort_by(|a, b| a.api_key.cmp(&b.api_key));
        keys
    }

    /// Registers `key`, replacing any of its name; whether it replaced one. Sessions logged
    /// on with a replaced key stay; later signatures verify against the new material.
    pub fn add_key(&self, key: NewKey) -> Result<bool, ControlError> {
        let pem = |kind: &str| {
            key.public_key.as_deref().ok_or_else(|| {
                ControlError::bad_request(format!("a {kind} key needs `publicKey`: a PEM"))
            })
        };
        let material = match key.key_type.as_str() {
            "ED25519" => KeyMaterial::Ed25519(
                ed25519_public_key_from_pem(pem("ED25519")?)
                    .map_err(|e| ControlError::bad_request(e.to_string()))?,
            ),
            "RSA" => KeyMaterial::Rsa(
                rsa_public_key_from_pem(pem("RSA")?)
                    .map_err(|e| ControlError::bad_request(e.to_string()))?,
            ),
            "HMAC" => {
                let secret = key
                    .secret
                    .as_deref()
                    .ok_or_else(|| ControlError::bad_request("an HMAC key needs `secret`"))?;
                KeyMaterial::Hmac(secret.as_bytes().to_vec())
            }
            other => {
                return Err(ControlError::bad_request(format!(
                    "`type` must be ED25519, HMAC or RSA, not {other:?}"
                )))
            }
        };
        let permissions = match &key.permissions {
            Some(names) => {
                Permissions::from_names(names.iter().map(String::as_str)).map_err(|name| {
                    ControlError::bad_request(format!(
                        "unknown permission {name:?}: USER_DATA, USER_STREAM or TRADE"
                    ))
                })?
            }
            None => Permissions::default(),
        };
        if key.account.as_deref().is_some_and(str::is_empty) {
            return Err(ControlError::bad_request("`account` must not be empty"));
        }
        let mut state = self.lock();
        let replaced = state.keys.get(&key.api_key).is_some();
        let registered = state
            .keys
            .insert(&key.api_key, material)
            .map_err(|e| ControlError::bad_request(e.to_string()))?;
        registered.permissions = permissions;
        if let Some(account) = key.account {
            registered.account = account;
        }
        Ok(replaced)
    }

    /// Removes `api_key`; whether it was registered. Sessions logged on with it are revoked
    /// on their next request, and its subscriptions end (spec §4.7).
    pub fn revoke_key(&self, api_key: &str) -> bool {
        self.lock().keys.remove(api_key)
    }

    /// Account `name`: its fixture unless set.
    pub fn account(&self, name: &str) -> Account {
        self.lock().accounts.get(name)
    }

    /// Replaces account `name`'s balances (and `uid` and commission rates, if given).
    pub fn put_account(&self, name: &str, view: AccountView) -> Result<Account, ControlError> {
        for balance in &view.balances {
            if balance.asset.is_empty() {
                return Err(ControlError::bad_request("a balance's `asset` is empty"));
            }
            for (field, amount) in [("free", &balance.free), ("locked", &balance.locked)] {
                if !is_decimal(amount) {
                    return Err(ControlError::bad_request(format!(
                        "`{field}` of {} must be a decimal string such as \"1.00000000\", not {amount:?}",
                        balance.asset
                    )));
                }
            }
        }
        let mut state = self.lock();
        let mut account = state.accounts.get(name);
        if let Some(commission) = &view.commission {
            account.commission = commission.apply(account.commission)?;
        }
        if let Some(uid) = view.uid {
            account.uid = uid;
        }
        account.balances = view
            .balances
            .iter()
            .map(|b| Balance::new(&b.asset, &b.free, &b.locked))
            .collect();
        state.set_account(name, account.clone());
        Ok(account)
    }

    /// Delivers a User Data Stream `event` to every subscription of `account`, with `E` set
    /// from the mock clock unless given; how many subscriptions it went to.
    pub fn deliver_event(&self, account: &str, event: Value) -> Result<usize, ControlError> {
        let Some(object) = event.as_object() else {
            return Err(ControlError::bad_request("an event is a JSON object"));
        };
        if !object.get("e").is_some_and(Value::is_string) {
            return Err(ControlError::bad_request(
                "an event needs `e`, its type as a string (e.g. \"balanceUpdate\")",
            ));
        }
        let now = self.clock.now();
        let frames = self.lock().stamped_user_data_event(account, &event, now);
        self.post(&frames);
        Ok(frames.len())
    }

    /// The open connections, by id.
    pub fn connection_list(&self) -> Vec<ConnectionInfo> {
        let mut list: Vec<ConnectionInfo> = self.lock().directory.values().cloned().collect();
        list.sort_by_key(|c| c.id);
        list
    }

    fn connection_exists(&self, id: u64) -> Result<(), ControlError> {
        if self.lock().directory.contains_key(&id) {
            Ok(())
        } else {
            Err(ControlError::not_found(format!("no open connection {id}")))
        }
    }

    fn command_one(&self, id: u64, command: Command) -> Result<(), ControlError> {
        if self.command(id, command) {
            Ok(())
        } else {
            Err(ControlError::not_found(format!("no open connection {id}")))
        }
    }

    /// Closes connection `id` with a closing handshake.
    pub fn close_connection(&self, id: u64, code: u16, reason: &str) -> Result<(), ControlError> {
        if let Some(why) = close_invalid(code, Some(reason)) {
            return Err(ControlError::bad_request(why));
        }
        self.command_one(
            id,
            Command::Close {
                code,
                reason: reason.to_owned(),
            },
        )
    }

    /// Cuts connection `id`'s TCP connection, without a Close frame.
    pub fn drop_connection(&self, id: u64) -> Result<(), ControlError> {
        self.command_one(id, Command::Drop)
    }

    /// Stops reading and writing on connection `id` until it is cut.
    pub fn stall_connection(&self, id: u64) -> Result<(), ControlError> {
        self.command_one(id, Command::Stall)
    }

    /// Sends `serverShutdown` to connection `id`, or to every one; with `close_after`, each
    /// is closed with 1001 that long after (on the mock clock). How many were told.
    pub fn announce_shutdown(
        &self,
        connection: Option<u64>,
        close_after: Option<Duration>,
    ) -> Result<usize, ControlError> {
        let close_at = close_after.map(|after| self.clock.now().plus(after));
        let command = Command::Shutdown { close_at };
        match connection {
            Some(id) => self.command_one(id, command).map(|()| 1),
            None => Ok(self.command_all(&command)),
        }
    }

    /// Adds a fault rule; its id.
    pub fn add_fault(&self, fault: Fault) -> Result<u64, ControlError> {
        if let Some(why) = fault.invalid() {
            return Err(ControlError::bad_request(why));
        }
        if let Some(id) = fault.connection {
            self.connection_exists(id)?;
        }
        Ok(self.lock().faults.add(fault))
    }

    /// Removes fault rule `id`; whether it existed.
    pub fn remove_fault(&self, id: u64) -> bool {
        self.lock().faults.remove(id)
    }

    /// The fault rules in force, oldest first.
    pub fn fault_list(&self) -> Vec<FaultRule> {
        self.lock().faults.rules().to_vec()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The journal entries `query` selects, oldest first.
    pub fn journal(&self, query: &JournalQuery) -> Vec<JournalEntry> {
        self.lock().journal.query(query)
    }

    /// Empties the journal.
    pub fn clear_journal(&self) {
        self.lock().journal.clear();
    }

    /// Every symbol with its price and status, in the order configured.
    pub fn symbol_list(&self) -> Vec<SymbolView> {
        let state = self.lock();
        state
            .market
            .all()
            .iter()
            .map(|listed| SymbolView {
                symbol: listed.name().to_owned(),
                price: listed.price_text(listed.price),
                status: listed.status,
            })
            .collect()
    }

    /// Moves `symbol`'s price (a decimal string) now: its book, tickers and klines follow,
    /// resting orders it crosses fill and stops it reaches trigger (their events delivered).
    pub fn set_price(&self, symbol: &str, price: &str) -> Result<SymbolView, ControlError> {
        let now = self.clock.now();
        let mut guard = self.lock();
        let state = &mut *guard;
        state
            .market
            .set_price(symbol, price, now)
            .map_err(|refusal| match refusal {
                PriceRefusal::UnknownSymbol(_) => ControlError::not_found(refusal.to_string()),
                _ => ControlError::bad_request(refusal.to_string()),
            })?;
        // Resting orders the new book crosses fill, stops the new price reaches trigger.
        let events = state
            .orders
            .price_moved(&state.routes, symbol, &mut state.market, now);
        let frames = state.account_events(&events);
        let view = Self::symbol_view(&state.market, symbol);
        drop(guard);
        self.post(&frames);
        Ok(view)
    }

    /// Fills resting order `id` at its own price, as maker: `qty` of it, or all it has left;
    /// its events go to its account's subscriptions. The order as it then stands.
    pub fn fill_order(&self, id: u64, qty: Option<&str>) -> Result<Value, ControlError> {
        let qty = qty
            .map(|text| {
                text.parse::<rust_decimal::Decimal>().map_err(|_| {
                    ControlError::bad_request(format!("`qty` is not a decimal: {text:?}"))
                })
            })
            .transpose()?;
        let now = self.clock.now();
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.orders.get(id).is_none() {
            return Err(ControlError::not_found(format!("no order {id}")));
        }
        let events = state
            .orders
            .fill_resting(&state.routes, id, qty, &mut state.market, now)
            .map_err(|refusal| match refusal {
                FillRefusal::NotResting(_) => ControlError::conflict(refusal.to_string()),
                FillRefusal::BadQuantity { .. } => ControlError::bad_request(refusal.to_string()),
            })?;
        let frames = state.account_events(&events);
        let order = state
            .orders
            .get(id)
            .map(|order| order_view(order, &state.market))
            .unwrap_or_default();
        drop(guard);
        self.post(&frames);
        Ok(order)
    }

    /// Every order `query` selects, oldest first, as `order.status` shows it plus its
    /// `account`.
    pub fn order_list(&self, query: &OrderQuery) -> Result<Vec<Value>, ControlError> {
        if let Some(status) = &query.status {
            if !ORDER_STATUSES.contains(&status.as_str()) {
                return Err(ControlError::bad_request(format!(
                    "`status` is none of {}: {status:?}",
                    ORDER_STATUSES.join(", ")
                )));
            }
        }
        let state = self.lock();
        Ok(state
            .orders
            .every_order()
            .filter(|o| query.account.as_ref().is_none_or(|a| &o.account == a))
            .filter(|o| query.symbol.as_ref().is_none_or(|s| &o.symbol == s))
            .filter(|o| query.status.as_ref().is_none_or(|s| o.status.as_str() == s))
            .map(|o| order_view(o, &state.market))
            .collect())
    }

    /// Sets `symbol`'s status: orders meet the errors that status brings.
    pub fn set_symbol_status(
        &self,
        symbol: &str,
        status: SymbolStatus,
    ) -> Result<SymbolView, ControlError> {
        let mut state = self.lock();
        if !state.market.set_status(symbol, status) {
            return Err(ControlError::not_found(format!("no symbol {symbol}")));
        }
        Ok(Self::symbol_view(&state.market, symbol))
    }

    fn symbol_view(market: &Market, symbol: &str) -> SymbolView {
        let listed = market.get(symbol);
        SymbolView {
            symbol: symbol.to_owned(),
            price: listed.map_or_else(String::new, |l| l.price_text(l.price)),
            status: listed.map_or(SymbolStatus::Trading, |l| l.status),
        }
    }

    /// Back to the start-up state: keys, accounts and the clock as configured; faults, the
    /// journal, weight and connection counters and bans cleared. Open connections are closed
    /// with 1012, or kept (a session whose key is gone is then logged out at once).
    pub fn reset(&self, connections: ResetConnections) {
        self.clock.restore(self.origin.clock);
        {
            let mut state = self.lock();
            state.market = Market::new(&self.config.symbols, self.clock.now());
            // Orders, trades, unfilled order counts and balances as at start-up; order and
            // trade ids go on (never reused in a process).
            state.orders.reset();
            state.keys = self.origin.keys.clone();
            state.accounts = Accounts::default();
            for (name, account) in &self.origin.accounts {
                state.accounts.set(name, account.clone());
            }
            state.faults.clear();
            state.journal.clear();
            state.reset_limits(&self.config);
        }
        let command = match connections {
            ResetConnections::Close => Command::Reset,
            ResetConnections::Keep => Command::RecheckKeys,
        };
        self.command_all(&command);
    }

    /// How many requests for `method` the server has had.
    fn calls(&self, method: &str) -> u64 {
        let state = self.lock();
        state.calls.get(bare_method(method))
    }

    /// Records that `method` is expected between `at_least` and `at_most` times from now.
    pub fn expect(&self, method: &str, at_least: u64, at_most: Option<u64>) {
        let baseline = self.calls(method);
        crate::connection::lock(&self.expectations).push(Expectation {
            method: bare_method(method).to_owned(),
            at_least,
            at_most,
            baseline,
        });
    }

    /// Every expectation not met, as "expected … got …" lines; empty when all are met.
    pub fn unmet_expectations(&self) -> Vec<String> {
        let expectations = crate::connection::lock(&self.expectations).clone();
        expectations
            .iter()
            .filter_map(|e| {
                let actual = self.calls(&e.method).saturating_sub(e.baseline);
                let met = actual >= e.at_least && e.at_most.is_none_or(|most| actual <= most);
                (!met).then(|| {
                    format!(
                        "`{}`: expected {} call(s), got {actual}",
                        e.method,
                        e.describe()
                    )
                })
            })
            .collect()
    }
}
