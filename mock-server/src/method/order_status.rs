//! `order.status` (USER_DATA, `web-socket-api.md:7000`): one order of the account, open or
//! done, by `orderId` or `origClientOrderId`, as the orders core holds it now. An order the
//! account does not have: -2013 "Order does not exist." (`errors.md:335`).

use crate::envelope::Json;

use super::order_params::{self, Named};
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "order.status",
    weight: Weight::Fixed(4),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    for name in ["symbol", "orderId", "origClientOrderId"] {
        p.take(name);
    }
    p.finish()?;
    let params = p.all();
    let symbol = order_params::symbol(params, &ctx.server.market)?;
    let named = Named::read(params)?;
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let order = named
        .find(&ctx.server.orders, &account, symbol)
        .ok_or(ApiError::NoSuchOrder)?;
    let config = &ctx
        .server
        .market
        .get(symbol)
        .ok_or(ApiError::BadSymbol)?
        .config;
    let status = view::status(order, config);
    to_json(&ctx.in_time_unit(status, &RESULT_TIMES))
}
