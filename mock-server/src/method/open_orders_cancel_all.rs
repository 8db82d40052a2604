//! `openOrders.cancelAll` (TRADE, `web-socket-api.md:5310`): cancels every open order of the
//! account on one symbol, oldest first, answering each as `order.cancel` does. Without open
//! orders: -2011 "Unknown order sent.", as a real server answers the REST equivalent
//! (binance/binance-connector-python#185). The events go to the account's User Data Stream
//! subscriptions; a successful call weighs nothing (`CHANGELOG.md:176`).

use crate::envelope::Json;

use super::order_params;
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "openOrders.cancelAll",
    weight: Weight::FreeOnSuccess(1),
    security: Security::Trade,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    p.take("symbol");
    p.finish()?;
    let params = p.all();
    let symbol = order_params::symbol(params, &ctx.server.market)?;
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let server = &mut *ctx.server;
    let (ids, events) =
        server
            .orders
            .cancel_all(&server.routes, &account, symbol, &server.market, ctx.now)?;
    ctx.deliver(&events);
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    let canceled: Vec<serde_json::Value> = ids
        .iter()
        .filter_map(|&id| ctx.server.orders.get(id))
        .map(|o| view::canceled(o, &listed.config))
        .collect();
    to_json(&ctx.in_time_unit(serde_json::Value::Array(canceled), &RESULT_TIMES))
}
