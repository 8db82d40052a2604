//! The fixture account behind each key: what `account.status` reports (spec §6.4).

use std::collections::HashMap;
use std::hash::Hasher as _;

use serde_json::{json, Value};

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
        }
    }

    /// This account with `balances` instead of its own.
    pub fn with_balances(mut self, balances: Vec<Balance>) -> Self {
        self.balances = balances;
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
        json!({
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "canTrade": can_trade,
            "canWithdraw": true,
            "canDeposit": true,
            "commissionRates": {
                "maker": "0.00100000",
                "taker": "0.00100000",
                "buyer": "0.00000000",
                "seller": "0.00000000"
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
    configured: HashMap<String, Account>,
}

impl Accounts {
    pub fn set(&mut self, name: &str, account: Account) {
        self.configured.insert(name.to_owned(), account);
    }

    pub fn get(&self, name: &str) -> Account {
        self.configured
            .get(name)
            .cloned()
            .unwrap_or_else(|| Account::fixture(name))
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
