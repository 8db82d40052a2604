//! An account's live balances: what it holds free and locked per asset, as exact decimals,
//! and the tally that proves nothing is made or lost (free + locked = start + received −
//! spent − charged, per asset, at every moment).

use rust_decimal::Decimal;

use crate::account::{Account, Balance};
use crate::market::fixed;

/// One asset's balance and its tally since start-up (or the last reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holding {
    pub asset: String,
    pub free: Decimal,
    pub locked: Decimal,
    /// The amount at start-up, from the account's fixture.
    pub start: Decimal,
    /// Everything fills brought in.
    pub received: Decimal,
    /// Everything fills paid out (from the locked amount).
    pub spent: Decimal,
    /// Every commission taken.
    pub charged: Decimal,
}

impl Holding {
    fn new(asset: &str, start: Decimal) -> Self {
        Holding {
            asset: asset.to_owned(),
            free: start,
            locked: Decimal::ZERO,
            start,
            received: Decimal::ZERO,
            spent: Decimal::ZERO,
            charged: Decimal::ZERO,
        }
    }

    /// Whether free + locked is what the tally says it must be.
    #[cfg(test)]
    pub fn conserved(&self) -> bool {
        self.free + self.locked == self.start + self.received - self.spent - self.charged
    }
}

/// An account's holdings, in the order its fixture lists them; assets it gains later come
/// after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wallet {
    pub holdings: Vec<Holding>,
}

/// The free balance is smaller than an order needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insufficient;

impl Wallet {
    /// The wallet an account starts with: its fixture's balances (a balance that does not
    /// parse counts as zero, as a locked start-up amount counts as free).
    pub fn from_fixture(account: &Account) -> Self {
        let parse = |text: &str| text.parse::<Decimal>().unwrap_or_default();
        Wallet {
            holdings: account
                .balances
                .iter()
                .map(|b| Holding::new(&b.asset, parse(&b.free) + parse(&b.locked)))
                .collect(),
        }
    }

    fn holding_mut(&mut self, asset: &str) -> &mut Holding {
        let at = match self.holdings.iter().position(|h| h.asset == asset) {
            Some(at) => at,
            None => {
                self.holdings.push(Holding::new(asset, Decimal::ZERO));
                self.holdings.len() - 1
            }
        };
        &mut self.holdings[at]
    }

    /// The holding of `asset`, if the wallet has one.
    pub fn holding(&self, asset: &str) -> Option<&Holding> {
        self.holdings.iter().find(|h| h.asset == asset)
    }

    /// The free amount of `asset`.
    pub fn free(&self, asset: &str) -> Decimal {
        self.holding(asset).map_or(Decimal::ZERO, |h| h.free)
    }

    /// Moves `amount` of `asset` from free to locked.
    pub fn lock(&mut self, asset: &str, amount: Decimal) -> Result<(), Insufficient> {
        let holding = self.holding_mut(asset);
        if holding.free < amount {
            return Err(Insufficient);
        }
        holding.free -= amount;
        holding.locked += amount;
        Ok(())
    }

    /// Moves `amount` of `asset` from locked back to free.
    pub fn unlock(&mut self, asset: &str, amount: Decimal) {
        let holding = self.holding_mut(asset);
        holding.locked -= amount;
        holding.free += amount;
    }

    /// Pays `amount` of `asset` out of the locked amount.
    pub fn spend_locked(&mut self, asset: &str, amount: Decimal) {
        let holding = self.holding_mut(asset);
        holding.locked -= amount;
        holding.spent += amount;
    }

    /// Adds `amount` of `asset` to the free amount.
    pub fn receive(&mut self, asset: &str, amount: Decimal) {
        let holding = self.holding_mut(asset);
        holding.free += amount;
        holding.received += amount;
    }

    /// Takes a commission of `amount` of `asset` from the free amount.
    pub fn charge(&mut self, asset: &str, amount: Decimal) {
        let holding = self.holding_mut(asset);
        holding.free -= amount;
        holding.charged += amount;
    }

    /// Every balance as `account.status` writes them: 8 places.
    pub fn balances(&self) -> Vec<Balance> {
        self.holdings
            .iter()
            .map(|h| Balance::new(&h.asset, &fixed(h.free, 8), &fixed(h.locked, 8)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn a_wallet_starts_from_the_fixture_and_keeps_its_tally() {
        let mut wallet = Wallet::from_fixture(&Account::fixture("w"));
        assert_eq!(wallet.free("USDT"), d("10000"));
        assert_eq!(wallet.lock("USDT", d("10000.01")), Err(Insufficient));
        wallet.lock("USDT", d("600")).expect("enough");
        wallet.spend_locked("USDT", d("600"));
        wallet.receive("BTC", d("0.01"));
        wallet.charge("BTC", d("0.00001"));
        wallet.receive("ETH", d("2"));
        assert!(wallet.holdings.iter().all(Holding::conserved));
        let balances = wallet.balances();
        assert_eq!(balances[0], Balance::new("BTC", "1.00999000", "0.00000000"));
        assert_eq!(balances[1].free, "9400.00000000");
        assert_eq!(balances[3].asset, "ETH");
    }
}
