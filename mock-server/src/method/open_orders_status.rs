//! `openOrders.status` (USER_DATA, `web-socket-api.md:7134`): the account's open orders, on
//! one symbol or on every symbol, oldest first, each as `order.status` shows it. Weight 6
//! with `symbol`, 80 without.

use crate::envelope::Json;

use super::market_params::sent;
use super::order_params;
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor, Params};
use crate::error::ApiError;
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "openOrders.status",
    weight: Weight::Rule(weight),
    security: Security::UserData,
    call,
};

/// 6 for one symbol, 80 for every symbol (`web-socket-api.md:7161`).
fn weight(params: &Params<'_>) -> u32 {
    if sent(params.get("symbol")).is_some() {
        6
    } else {
        80
    }
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    p.take("symbol");
    p.finish()?;
    let params = p.all();
    let symbol = match sent(params.get("symbol")) {
        Some(_) => Some(order_params::symbol(params, &ctx.server.market)?),
        None => None,
    };
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let market = &ctx.server.market;
    let orders: Vec<serde_json::Value> = ctx
        .server
        .orders
        .open_orders(&account, symbol)
        .filter_map(|o| market.get(&o.symbol).map(|l| view::status(o, &l.config)))
        .collect();
    to_json(&ctx.in_time_unit(serde_json::Value::Array(orders), &RESULT_TIMES))
}
