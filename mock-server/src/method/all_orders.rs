//! `allOrders` (USER_DATA, `web-socket-api.md:7229`): the account's orders on one symbol,
//! open or done, oldest first, each as `order.status` shows it. With `startTime` and/or
//! `endTime`, the orders whose last update falls within them (`orderId` then ignored); with
//! `orderId`, the orders from that id up; with neither, the most recent. At most `limit`
//! (default 500, at most 1000).

use crate::envelope::Json;

use super::order_params::{self, page, Window};
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "allOrders",
    weight: Weight::Fixed(20),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    for name in ["symbol", "orderId", "startTime", "endTime", "limit"] {
        p.take(name);
    }
    p.finish()?;
    let params = p.all();
    let symbol = order_params::symbol(params, &ctx.server.market)?;
    let from_id = order_params::id(params, "orderId")?;
    let window = Window::read(params)?;
    let limit = order_params::limit(params, 500, 1000)?;
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    let orders: Vec<_> = ctx
        .server
        .orders
        .all_orders(&account, symbol)
        .filter(|o| {
            if window.is_set() {
                window.holds(o.update_time)
            } else {
                from_id.is_none_or(|id| o.id >= id)
            }
        })
        .collect();
    let from_start = window.is_set() || from_id.is_some();
    let list: Vec<serde_json::Value> = page(orders, limit, from_start)
        .into_iter()
        .map(|o| view::status(o, &listed.config))
        .collect();
    to_json(&ctx.in_time_unit(serde_json::Value::Array(list), &RESULT_TIMES))
}
