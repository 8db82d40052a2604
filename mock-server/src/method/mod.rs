//! The API methods: one file each, and the one table that lists them.
//!
//! Each method file exports a [`MethodSpec`]: its name, weight, security type and handler.
//! [`TABLE`] lists them; the unknown-method message, the weights charged and the dispatch
//! are all read from it (the session holds the table it dispatches with, so a test can give
//! it another), and adding a method is one file and one line here.

mod account_commission;
mod account_rate_limits_orders;
mod account_status;
mod all_orders;
mod avg_price;
mod depth;
mod exchange_info;
mod klines;
mod market_params;
mod my_trades;
mod open_orders_cancel_all;
mod open_orders_status;
mod order_cancel;
mod order_params;
mod order_place;
mod order_status;
mod order_test;
mod ping;
mod session_logon;
mod session_logout;
mod session_status;
mod session_subscriptions;
mod ticker_book;
mod ticker_price;
mod time;
mod ui_klines;
mod user_data_stream_subscribe;
mod user_data_stream_subscribe_signature;
mod user_data_stream_unsubscribe;

use std::cell::RefCell;
use std::sync::OnceLock;

use crate::envelope::Json;

use crate::auth::{self, Authenticated, Authority, CheckedSignature, KeyTypes, Security};
use crate::clock::Timestamp;
use crate::envelope::{to_json, ParamCursor, Params, TimeUnit};
use crate::error::ApiError;
use crate::journal::SignatureRecord;
use crate::orders::AccountEvent;
use crate::session::SessionState;
use crate::state::Server;
use crate::user_data::{self, SubscriptionKind};

/// Every method this server implements, in the order a client that names an unknown one
/// sees them listed.
pub(crate) static TABLE: MethodTable = MethodTable::new(&[
    &ping::SPEC,
    &time::SPEC,
    &session_logon::SPEC,
    &session_status::SPEC,
    &session_logout::SPEC,
    &session_subscriptions::SPEC,
    &account_status::SPEC,
    &account_rate_limits_orders::SPEC,
    &user_data_stream_subscribe::SPEC,
    &user_data_stream_subscribe_signature::SPEC,
    &user_data_stream_unsubscribe::SPEC,
    &exchange_info::SPEC,
    &depth::SPEC,
    &avg_price::SPEC,
    &ticker_price::SPEC,
    &ticker_book::SPEC,
    &klines::SPEC,
    &ui_klines::SPEC,
    &order_test::SPEC,
    &account_commission::SPEC,
    &order_place::SPEC,
    &order_status::SPEC,
    &order_cancel::SPEC,
    &open_orders_status::SPEC,
    &open_orders_cancel_all::SPEC,
    &all_orders::SPEC,
    &my_trades::SPEC,
]);

/// A method's handler: reads its params through the cursor (calling `finish` before it
/// acts), and returns the reply's `result`.
pub(crate) type Handler = fn(&mut Context<'_>, &mut ParamCursor<'_, '_>) -> Result<Json, ApiError>;

/// Everything the server needs to know about one method.
#[derive(Debug)]
pub(crate) struct MethodSpec {
    /// The name on the wire (without the optional `v3/` prefix).
    pub name: &'static str,
    /// REQUEST_WEIGHT charged for a call (spec §5.4).
    pub weight: Weight,
    /// The security type (spec §3.1): which key permission a signed call needs.
    pub security: Security,
    /// Runs the method.
    pub call: Handler,
}

/// How a method's REQUEST_WEIGHT is found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Weight {
    /// The same for every call.
    Fixed(u32),
    /// Found from the params (`depth`'s `limit`, how many symbols a ticker names): a rule
    /// that reads what it needs and falls back to the documented weight of a call without
    /// that param when it is absent or malformed, since the weight is charged before the
    /// params are checked.
    Rule(fn(&Params<'_>) -> u32),
    /// This weight for a call that fails, none for one that succeeds: the order methods
    /// (`CHANGELOG.md:176`, 2026-03-27: "Request weights for the following endpoints and
    /// methods become 0 when the request is successful. Failed requests are still charged
    /// the documented weight.").
    FreeOnSuccess(u32),
}

impl Weight {
    /// The weight of a call with `params`.
    pub fn of(self, params: &Params<'_>) -> u32 {
        match self {
            Weight::Fixed(weight) => weight,
            Weight::Rule(rule) => rule(params),
            Weight::FreeOnSuccess(weight) => weight,
        }
    }

    /// Whether a successful call is refunded its weight.
    pub fn free_on_success(self) -> bool {
        matches!(self, Weight::FreeOnSuccess(_))
    }
}

/// The methods a server dispatches to.
#[derive(Debug)]
pub(crate) struct MethodTable {
    specs: &'static [&'static MethodSpec],
    legal_range: OnceLock<String>,
}

impl MethodTable {
    /// A table of `specs`, in the order an unknown-method error lists them.
    pub const fn new(specs: &'static [&'static MethodSpec]) -> Self {
        MethodTable {
            specs,
            legal_range: OnceLock::new(),
        }
    }

    /// Every method, in order.
    #[cfg(test)]
    pub fn specs(&self) -> &'static [&'static MethodSpec] {
        self.specs
    }

    /// The method called `name` (without any `v3/` prefix).
    pub fn find(&self, name: &str) -> Option<&'static MethodSpec> {
        self.specs.iter().copied().find(|spec| spec.name == name)
    }

    /// The error for a name not in the table: -1100 whose legal range is every name in the
    /// table, `|`-separated, in order (docs/FIDELITY.md §10.2); built once.
    pub fn unknown_method(&'static self) -> ApiError {
        let legal_range = self.legal_range.get_or_init(|| {
            let names: Vec<&str> = self.specs.iter().map(|spec| spec.name).collect();
            names.join("|")
        });
        ApiError::IllegalChars {
            param: "method",
            legal_range,
        }
    }
}

/// What a method may read and change while it runs: no clock, no socket, no randomness.
pub(crate) struct Context<'a> {
    /// This connection's session.
    pub session: &'a mut SessionState,
    /// What all connections share: keys, accounts, subscription routes.
    pub server: &'a mut Server,
    /// The time the request is handled at.
    pub now: Timestamp,
    /// The security type of the method being run.
    pub security: Security,
    /// The request's signature, if it was already checked outside the server lock.
    pub checked: Option<&'a CheckedSignature>,
    /// What the signature check saw, for the journal.
    pub seen: &'a RefCell<Option<SignatureRecord>>,
}

impl Context<'_> {
    /// What authenticating this request reads.
    fn authority(&self) -> Authority<'_> {
        Authority {
            keys: &self.server.keys,
            now: self.now,
            strict_signing: self.server.strict_signing,
            security: self.security,
            checked: self.checked,
            seen: self.seen,
        }
    }

    /// Authenticates a request by its own `apiKey` and `signature` (see `auth`), with the
    /// permission the method's security type needs.
    pub fn by_signature(
        &self,
        params: &Params<'_>,
        types: KeyTypes,
    ) -> Result<Authenticated<'_>, ApiError> {
        auth::by_signature(params, types, &self.authority())
    }

    /// Subscribes this connection to the User Data Stream of `account` for `api_key`; the
    /// result both subscription methods answer (spec §4.6).
    pub fn subscribe(
        &mut self,
        account: &str,
        api_key: &str,
        kind: SubscriptionKind,
    ) -> Result<Json, ApiError> {
        let id = user_data::subscribe(
            self.session,
            &mut self.server.routes,
            account,
            api_key,
            kind,
        )?;
        to_json(&serde_json::json!({ "subscriptionId": id }))
    }

    /// Sends the orders core's `events` to every User Data Stream subscription of their
    /// accounts, times in each connection's unit: on this connection before or after the
    /// reply ([`Config::events_before_reply`](crate::Config::events_before_reply)), to the
    /// others through the server's outbox.
    pub fn deliver(&mut self, events: &[AccountEvent]) {
        let first = self.server.events_before_reply;
        for event in events {
            for (connection, frame) in self
                .server
                .routes
                .deliver_timed(&event.account, &event.event)
            {
                if connection != self.session.connection {
                    self.server.outbox.push((connection, frame));
                } else if first {
                    self.session.preceding.push(frame);
                } else {
                    self.session.follow_ups.push(frame);
                }
            }
        }
    }

    /// Shows `account`'s `ORDERS` counts in this request's `rateLimits` (a request that
    /// places orders).
    pub fn show_order_counts(&mut self, account: &str) {
        self.session.order_counts = Some(self.server.orders.unfilled_counts(account, self.now));
    }

    /// This connection's unit for time fields.
    pub fn time_unit(&self) -> TimeUnit {
        self.session.time_unit
    }

    /// `value`'s members named `keys` (times in ms) in this connection's time unit.
    pub fn in_time_unit(&self, mut value: serde_json::Value, keys: &[&str]) -> serde_json::Value {
        self.session.time_unit.convert_millis(&mut value, keys);
        value
    }

    /// Authenticates a SIGNED request by its own credentials or the session's key (see `auth`).
    pub fn signed_request(&self, params: &Params<'_>) -> Result<Authenticated<'_>, ApiError> {
        auth::signed_request(params, self.session, &self.authority())
    }
}

/// A boolean param sent as a JSON boolean or as the string `"true"`/`"false"`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_by_name() {
        for spec in TABLE.specs() {
            assert!(std::ptr::eq(TABLE.find(spec.name).expect("listed"), *spec));
        }
        let mut names: Vec<&str> = TABLE.specs().iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.specs().len());
        assert!(TABLE.find("order.amend.keepPriority").is_none());
    }

    #[test]
    fn the_unknown_method_error_lists_the_table_in_order() {
        let ApiError::IllegalChars { param, legal_range } = TABLE.unknown_method() else {
            panic!("an unknown method is an illegal value of `method`");
        };
        assert_eq!(param, "method");
        assert_eq!(
            legal_range,
            "ping|time|session.logon|session.status|session.logout|session.subscriptions|\
             account.status|account.rateLimits.orders|userDataStream.subscribe|\
             userDataStream.subscribe.signature|userDataStream.unsubscribe|exchangeInfo|depth|\
             avgPrice|ticker.price|ticker.book|klines|uiKlines|order.test|account.commission|\
             order.place|order.status|order.cancel|openOrders.status|openOrders.cancelAll|allOrders|myTrades"
        );
    }

    #[test]
    fn weights_are_the_documented_ones() {
        let none = Params::default();
        let weights: Vec<u32> = TABLE.specs().iter().map(|m| m.weight.of(&none)).collect();
        assert_eq!(
            weights,
            [
                1, 1, 2, 2, 2, 2, 20, 40, 2, 2, 2, 20, 5, 2, 4, 4, 2, 2, 1, 20, 1, 4, 1, 80, 1, 20,
                20
            ]
        );
        let with_rates = Params::from_pairs(&[("computeCommissionRates", "true")]);
        let order_test = TABLE.find("order.test").expect("listed");
        assert_eq!(order_test.weight.of(&with_rates), 20);
        let without = Params::from_pairs(&[("computeCommissionRates", "false")]);
        assert_eq!(order_test.weight.of(&without), 1);
    }
}
