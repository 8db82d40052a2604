//! `avgPrice` (web-socket-api.md:2231): the price `MARKET` orders are valued at over the
//! `NOTIONAL` filter's `avgPriceMins`. A documented choice: the mock reports the market price
//! P itself, not an average of trades, and `closeTime` is when P was last set.

use crate::envelope::Json;
use serde::Serialize;

use super::market_params::required_symbol;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "avgPrice",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

/// The result, in the documented key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AvgPrice {
    mins: u32,
    price: String,
    close_time: i64,
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let symbol = p.take("symbol");
    p.finish()?;
    let listed = required_symbol(&ctx.server.market, symbol)?;
    to_json(&AvgPrice {
        mins: listed.config.notional.avg_price_mins,
        price: listed.price_text(listed.price),
        close_time: ctx.session.time_unit.render(listed.price_since),
    })
}
