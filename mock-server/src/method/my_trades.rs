//! `myTrades` (USER_DATA, `web-socket-api.md:7623`): the account's trades on one symbol,
//! oldest first. With `orderId`, that order's; with `fromId`, from that trade id up; with
//! `startTime` and/or `endTime`, those executed within them; with none, the most recent. At
//! most `limit` (default 500, at most 1000). Weight 5 with `orderId`, else 20.

use crate::envelope::Json;

use super::market_params::sent;
use super::order_params::{self, page, Window};
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor, Params};
use crate::error::ApiError;
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "myTrades",
    weight: Weight::Rule(weight),
    security: Security::UserData,
    call,
};

/// 5 with `orderId`, 20 without (`web-socket-api.md:7647`).
fn weight(params: &Params<'_>) -> u32 {
    if sent(params.get("orderId")).is_some() {
        5
    } else {
        20
    }
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    for name in [
        "symbol",
        "orderId",
        "startTime",
        "endTime",
        "fromId",
        "limit",
    ] {
        p.take(name);
    }
    p.finish()?;
    let params = p.all();
    let symbol = order_params::symbol(params, &ctx.server.market)?;
    let order_id = order_params::id(params, "orderId")?;
    let from_id = order_params::id(params, "fromId")?;
    let window = Window::read(params)?;
    let limit = order_params::limit(params, 500, 1000)?;
    // `web-socket-api.md:7670`, `:7674`: "`fromId` cannot be used together with `startTime` and
    // `endTime`", and "`startTime` and `endTime` cannot be used together with `orderId`".
    let time_param = if window.start.is_some() {
        "startTime"
    } else {
        "endTime"
    };
    if window.is_set() {
        if order_id.is_some() {
            return Err(ApiError::ParamsExclusive {
                first: "orderId",
                second: time_param,
            });
        }
        if from_id.is_some() {
            return Err(ApiError::ParamsExclusive {
                first: "fromId",
                second: time_param,
            });
        }
    }
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    let trades: Vec<_> = ctx
        .server
        .orders
        .trades(&account, symbol)
        .filter(|t| order_id.is_none_or(|id| t.order_id == id))
        .filter(|t| from_id.is_none_or(|id| t.id >= id))
        .filter(|t| window.holds(t.time))
        .collect();
    let from_start = window.is_set() || from_id.is_some();
    let list: Vec<serde_json::Value> = page(trades, limit, from_start)
        .into_iter()
        .map(|t| view::trade(t, &listed.config))
        .collect();
    to_json(&ctx.in_time_unit(serde_json::Value::Array(list), &RESULT_TIMES))
}
