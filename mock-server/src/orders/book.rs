//! What a taker order gets from the synthetic book (market/mod.rs): the levels it touches,
//! best first, one fill per level, and the quantity a `quoteOrderQty` order executes.
//!
//! The book does not run dry: every order meets the full book of the price at that moment
//! (docs: fidelity notes, "Orders", the synthetic book is not depleted).

use rust_decimal::Decimal;

/// The (price, quantity) fills that taking up to `qty` from `levels` (best first) gives,
/// stopping at the first level beyond `limit` (above it for a buy, below for a sell).
pub(crate) fn walk(
    levels: impl IntoIterator<Item = (Decimal, Decimal)>,
    buy: bool,
    limit: Option<Decimal>,
    qty: Decimal,
) -> Vec<(Decimal, Decimal)> {
    let mut fills = Vec::new();
    let mut left = qty;
    for (price, available) in levels {
        if left <= Decimal::ZERO {
            break;
        }
        let beyond = limit.is_some_and(|limit| if buy { price > limit } else { price < limit });
        if beyond {
            break;
        }
        let take = available.min(left);
        if take > Decimal::ZERO {
            fills.push((price, take));
            left -= take;
        }
    }
    fills
}

/// The total price × quantity of `fills`.
pub(crate) fn notional(fills: &[(Decimal, Decimal)]) -> Decimal {
    fills.iter().map(|(p, q)| p * q).sum()
}

/// The quantity, a multiple of `step`, whose notional through `levels` is closest to
/// `quote` (`web-socket-api.md:3790`: "as close as possible to requested `quoteOrderQty`");
/// of two equally close, the smaller. At most what the whole book holds.
pub(crate) fn quantity_for_quote(
    levels: impl IntoIterator<Item = (Decimal, Decimal)>,
    quote: Decimal,
    step: Decimal,
) -> Decimal {
    let mut qty = Decimal::ZERO;
    let mut spent = Decimal::ZERO;
    for (price, available) in levels {
        let level_cost = price * available;
        if spent + level_cost <= quote {
            spent += level_cost;
            qty += available;
            continue;
        }
        // `quote` is reached inside this level: the step below and the step above it.
        let exact = (quote - spent) / price;
        let below = if step.is_zero() {
            exact
        } else {
            (exact / step).floor() * step
        };
        let above = if step.is_zero() {
            exact
        } else {
            ((exact / step).ceil() * step).min(available)
        };
        let miss = |q: Decimal| (spent + price * q - quote).abs();
        let pick = if miss(above) < miss(below) {
            above
        } else {
            below
        };
        return qty + pick;
    }
    qty
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    fn asks() -> Vec<(Decimal, Decimal)> {
        vec![
            (d("100.01"), d("1")),
            (d("100.02"), d("1")),
            (d("100.03"), d("1")),
        ]
    }

    #[test]
    fn a_walk_takes_one_fill_per_level_and_stops_at_the_limit() {
        assert_eq!(
            walk(asks(), true, None, d("1.5")),
            [(d("100.01"), d("1")), (d("100.02"), d("0.5"))]
        );
        assert_eq!(
            walk(asks(), true, Some(d("100.02")), d("5")),
            [(d("100.01"), d("1")), (d("100.02"), d("1"))]
        );
        assert!(walk(asks(), true, Some(d("100.00")), d("5")).is_empty());
    }

    #[test]
    fn a_quote_quantity_is_the_step_whose_notional_is_closest() {
        // 150 USDT: 1 at 100.01 (100.01), then 49.99 / 100.02 = 0.49980... of the next.
        let qty = quantity_for_quote(asks(), d("150"), d("0.001"));
        assert_eq!(qty, d("1.500"));
        let qty = quantity_for_quote(asks(), d("150"), d("0.1"));
        assert_eq!(qty, d("1.5"));
        // 100.01 + 0.4 * 100.02 = 140.018 is 0.018 away; 0.5 overshoots by 10.
        assert_eq!(quantity_for_quote(asks(), d("140"), d("0.1")), d("1.4"));
        // More than the book holds: all of it.
        assert_eq!(quantity_for_quote(asks(), d("1000"), d("0.1")), d("3"));
    }
}
