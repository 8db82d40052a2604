//! The fixture account behind each key: what `account.status` reports (spec §6.4), and
//! its commission rates (`account.commission`, `order.test` with `computeCommissionRates`).

use std::hash::Hasher as _;

use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::market::fixed;

/// Maker, taker, buyer and seller rates of one kind of commission
/// (`faqs_commission_faq.md`): a trade pays maker or taker plus buyer or seller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommissionRates {
    /// Paid by the maker of a trade.
    pub maker: Decimal,
    /// Paid by the taker of a trade.
    pub taker: Decimal,
    /// Paid by the buyer of a trade, on top of maker or taker.
    pub buyer: Decimal,
    /// Paid by the seller of a trade, on top of maker or taker.
    pub seller: Decimal,
}

impl CommissionRates {
    /// All four rates zero.
    pub const ZERO: CommissionRates = CommissionRates {
        maker: Decimal::ZERO,
        taker: Decimal::ZERO,
        buyer: Decimal::ZERO,
        seller: Decimal::ZERO,
    };

    /// As `account.commission` writes them: decimals with 8 places.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "maker": fixed(self.maker, 8),
            "taker": fixed(self.taker, 8),
            "buyer": fixed(self.buyer, 8),
            "seller": fixed(self.seller, 8),
        })
    }

    /// The maker and taker rates of one order: the side's buyer or seller rate added to
    /// each, as `order.test` with `computeCommissionRates` writes them
    /// (`faqs_commission_faq.md`: "these are already taken into account based on the order
    /// side").
    pub(crate) fn for_order(self, buyer: bool) -> Value {
        let side = if buyer { self.buyer } else { self.seller };
        json!({
            "maker": fixed(self.maker + side, 8),
            "taker": fixed(self.taker + side, 8),
        })
    }
}

/// The BNB discount on standard commission (`faqs_commission_faq.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommissionDiscount {
    /// The account pays commission in the discount asset when it can.
    pub enabled_for_account: bool,
    /// The symbol offers the discount.
    pub enabled_for_symbol: bool,
    /// The asset commission is paid in at a discount (`BNB`).
    pub discount_asset: String,
    /// The rate standard commission is multiplied by when paid in that asset.
    pub discount: Decimal,
}

impl CommissionDiscount {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "enabledForAccount": self.enabled_for_account,
            "enabledForSymbol": self.enabled_for_symbol,
            "discountAsset": self.discount_asset,
            "discount": fixed(self.discount, 8),
        })
    }
}

/// An account's commission rates: standard, tax and special, and the BNB discount.
///
/// ```
/// use mock_server::{Account, Commission};
/// let mut commission = Commission::default();
/// commission.standard.maker = "0.0008".parse().unwrap();
/// let account = Account::fixture("main").with_commission(commission);
/// assert_eq!(account.commission.standard.maker.to_string(), "0.0008");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commission {
    /// Standard commission; the default is 0.1% maker and taker, nothing buyer or seller.
    pub standard: CommissionRates,
    /// Tax commission; zero by default.
    pub tax: CommissionRates,
    /// Special commission; zero by default.
    pub special: CommissionRates,
    /// The BNB discount; off for the account by default, offered by the symbol, 25%.
    pub discount: CommissionDiscount,
}

impl Default for Commission {
    fn default() -> Self {
        let tenth_percent = Decimal::new(1, 3);
        Commission {
            standard: CommissionRates {
                maker: tenth_percent,
                taker: tenth_percent,
                buyer: Decimal::ZERO,
                seller: Decimal::ZERO,
            },
            tax: CommissionRates::ZERO,
            special: CommissionRates::ZERO,
            discount: CommissionDiscount {
                enabled_for_account: false,
                enabled_for_symbol: true,
                discount_asset: "BNB".to_owned(),
                discount: Decimal::new(25, 2),
            },
        }
    }
}

impl Commission {
    /// The `account.commission` result for `symbol` (`web-socket-api.md:7967`).
    pub(crate) fn for_symbol(&self, symbol: &str) -> Value {
        json!({
            "symbol": symbol,
            "standardCommission": self.standard.to_json(),
            "specialCommission": self.special.to_json(),
            "taxCommission": self.tax.to_json(),
            "discount": self.discount.to_json(),
        })
    }

    /// The `order.test` result with `computeCommissionRates` for an order on the buying
    /// side or not (`web-socket-api.md:4050`).
    pub(crate) fn for_order(&self, buyer: bool) -> Value {
        json!({
            "standardCommissionForOrder": self.standard.for_order(buyer),
            "specialCommissionForOrder": self.special.for_order(buyer),
            "taxCommissionForOrder": self.tax.for_order(buyer),
            "discount": self.discount.to_json(),
        })
    }
}

/// One asset's balance, as decimal strings the way Binance writes them (`"1.00000000"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// The asset, e.g. `BTC`.
    pub asset: String,
    /// Available.
    pub free: String,
    /// Held by open orders.
    pub locked: String,
}

impl Balance {
    /// A balance of `free` available and `locked` held.
    pub fn new(asset: &str, free: &str, locked: &str) -> Self {
        Balance {
            asset: asset.to_owned(),
            free: free.to_owned(),
            locked: locked.to_owned(),
        }
    }

    fn is_zero(&self) -> bool {
        let zero = |s: &str| s.bytes().all(|b| b == b'0' || b == b'.');
        zero(&self.free) && zero(&self.locked)
    }
}

/// An account's fixture data.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// The account's `uid`.
    pub uid: u64,
    /// Its balances, in the order `account.status` lists them.
    pub balances: Vec<Balance>,
    /// Its commission rates, on every symbol.
    pub commission: Commission,
}

impl Account {
    /// The fixture an account gets unless configured: a `uid` derived from its name (stable
    /// across runs), 1 BTC, 10,000 USDT and a zero BNB balance.
    pub fn fixture(name: &str) -> Self {
        // FNV-1a over the name's bytes: stable across runs, platforms and releases, unlike
        // the std hasher. `write`, not `Hash::hash`, which would add a terminator byte.
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(name.as_bytes());
        let hash = hasher.finish();
        Account {
            uid: 100_000_000 + hash % 900_000_000,
            balances: vec![
                Balance::new("BTC", "1.00000000", "0.00000000"),
                Balance::new("USDT", "10000.00000000", "0.00000000"),
                Balance::new("BNB", "0.00000000", "0.00000000"),
            ],
            commission: Commission::default(),
        }
    }

    /// This account with `balances` instead of its own.
    pub fn with_balances(mut self, balances: Vec<Balance>) -> Self {
        self.balances = balances;
        self
    }

    /// This account with `commission` instead of its own.
    pub fn with_commission(mut self, commission: Commission) -> Self {
        self.commission = commission;
        self
    }

    /// The `account.status` result (spec §6.4). `can_trade` follows the key's `TRADE`
    /// permission.
    pub(crate) fn status(&self, can_trade: bool, omit_zero_balances: bool) -> Value {
        let balances: Vec<Value> = self
            .balances
            .iter()
            .filter(|b| !(omit_zero_balances && b.is_zero()))
            .map(|b| json!({"asset": b.asset, "free": b.free, "locked": b.locked}))
            .collect();
        let standard = self.commission.standard;
        // The integer fields are the same rates in basis points.
        let points = |rate: Decimal| (rate * Decimal::from(10_000)).trunc().to_i64().unwrap_or(0);
        json!({
            "makerCommission": points(standard.maker),
            "takerCommission": points(standard.taker),
            "buyerCommission": points(standard.buyer),
            "sellerCommission": points(standard.seller),
            "canTrade": can_trade,
            "canWithdraw": true,
            "canDeposit": true,
            "commissionRates": {
                "maker": fixed(standard.maker, 8),
                "taker": fixed(standard.taker, 8),
                "buyer": fixed(standard.buyer, 8),
                "seller": fixed(standard.seller, 8),
            },
            "brokered": false,
            "requireSelfTradePrevention": false,
            "preventSor": false,
            "updateTime": 0,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": self.uid,
        })
    }
}

/// Configured accounts; any other account name gets [`Account::fixture`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Accounts {
    configured: foldhash::HashMap<String, Account>,
}

impl Accounts {
    pub fn set(&mut self, name: &str, account: Account) {
        self.configured.insert(name.to_owned(), account);
    }

    pub fn get(&self, name: &str) -> Account {
        self.get_ref(name).into_owned()
    }

    /// As [`get`](Self::get), without a copy of a configured account.
    pub fn get_ref(&self, name: &str) -> std::borrow::Cow<'_, Account> {
        match self.configured.get(name) {
            Some(account) => std::borrow::Cow::Borrowed(account),
            None => std::borrow::Cow::Owned(Account::fixture(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_uid_is_the_fnv_1a_hash_of_the_name_and_keeps_its_values() {
        // Values users may have written down: they must not change with the hash's code.
        assert_eq!(Account::fixture("main").uid, 893_307_336);
        assert_eq!(Account::fixture("Alice").uid, 207_228_519);
        assert_eq!(Account::fixture("default").uid, 442_166_782);
    }

    #[test]
    fn fixtures_are_stable_and_zero_balances_can_be_omitted() {
        assert_eq!(Account::fixture("a").uid, Account::fixture("a").uid);
        assert_ne!(Account::fixture("a").uid, Account::fixture("b").uid);
        let status = Account::fixture("a").status(false, true);
        let assets: Vec<&str> = status["balances"]
            .as_array()
            .map(|b| b.iter().filter_map(|b| b["asset"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(assets, ["BTC", "USDT"]);
        assert_eq!(status["canTrade"], false);
        let keys: Vec<&str> = status
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "makerCommission",
                "takerCommission",
                "buyerCommission",
                "sellerCommission",
                "canTrade",
                "canWithdraw",
                "canDeposit",
                "commissionRates",
                "brokered",
                "requireSelfTradePrevention",
                "preventSor",
                "updateTime",
                "accountType",
                "balances",
                "permissions",
                "uid"
            ]
        );
    }
}
