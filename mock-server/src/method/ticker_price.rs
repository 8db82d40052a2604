//! `ticker.price` (web-socket-api.md:2980): the latest price of one symbol, several, or every
//! symbol currently trading. The mock's latest price is the market price P itself.

use crate::envelope::Json;
use serde::Serialize;

use super::market_params::{ticker_weight, Selection, TickerParams};
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::market::Listed;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "ticker.price",
    weight: Weight::Rule(ticker_weight),
    security: Security::None,
    call,
};

/// One symbol's entry, in the documented key order.
#[derive(Serialize)]
struct PriceTicker<'a> {
    symbol: &'a str,
    price: String,
}

impl<'a> PriceTicker<'a> {
    fn of(listed: &'a Listed) -> Self {
        PriceTicker {
            symbol: listed.name(),
            price: listed.price_text(listed.price),
        }
    }
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let params = TickerParams::take(p);
    p.finish()?;
    match params.select(&ctx.server.market)? {
        Selection::One(listed) => to_json(&PriceTicker::of(listed)),
        Selection::Many(many) => {
            to_json(&many.into_iter().map(PriceTicker::of).collect::<Vec<_>>())
        }
    }
}
