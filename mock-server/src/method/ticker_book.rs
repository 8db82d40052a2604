//! `ticker.book` (web-socket-api.md:3103): the best bid and ask of one symbol, several, or
//! every symbol currently trading, with their quantities, from the synthetic book.

use crate::envelope::Json;
use rust_decimal::Decimal;
use serde::Serialize;

use super::market_params::{ticker_weight, Selection, TickerParams};
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::market::Listed;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "ticker.book",
    weight: Weight::Rule(ticker_weight),
    security: Security::None,
    call,
};

/// One symbol's entry, in the documented key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BookTicker<'a> {
    symbol: &'a str,
    bid_price: String,
    bid_qty: String,
    ask_price: String,
    ask_qty: String,
}

impl<'a> BookTicker<'a> {
    /// The top of `listed`'s book; a side without levels (a price at the bottom of the
    /// range) is written as zeros.
    fn of(listed: &'a Listed) -> Self {
        let book = listed.book(1);
        let zero = (Decimal::ZERO, Decimal::ZERO);
        let (bid_price, bid_qty) = book.bids.first().copied().unwrap_or(zero);
        let (ask_price, ask_qty) = book.asks.first().copied().unwrap_or(zero);
        BookTicker {
            symbol: listed.name(),
            bid_price: listed.price_text(bid_price),
            bid_qty: listed.qty_text(bid_qty),
            ask_price: listed.price_text(ask_price),
            ask_qty: listed.qty_text(ask_qty),
        }
    }
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let params = TickerParams::take(p);
    p.finish()?;
    match params.select(&ctx.server.market)? {
        Selection::One(listed) => to_json(&BookTicker::of(listed)),
        Selection::Many(many) => to_json(&many.into_iter().map(BookTicker::of).collect::<Vec<_>>()),
    }
}
