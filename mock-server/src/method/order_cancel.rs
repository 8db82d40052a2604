//! `order.cancel` (TRADE, `web-socket-api.md:4088`): cancels one open order of the account,
//! by `orderId` or `origClientOrderId`; `newClientOrderId` names the cancel (generated if
//! not sent); `cancelRestrictions` cancels only a `NEW` or only a `PARTIALLY_FILLED` order.
//! An order the account has not open: -2011 "Unknown order sent." (`errors.md:374`). The
//! events go to the account's User Data Stream subscriptions; a successful call weighs
//! nothing (`CHANGELOG.md:176`).

use crate::envelope::Json;

use super::market_params::sent;
use super::order_params::{self, Named};
use super::order_place::RESULT_TIMES;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::orders::{view, OrderRef, OrderStatus, UNKNOWN_ORDER};

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "order.cancel",
    weight: Weight::FreeOnSuccess(1),
    security: Security::Trade,
    call,
};

/// -2011 for an order `cancelRestrictions` protects (`errors.md`, -2011 messages).
const CANCEL_RESTRICTED: &str = "Order was not canceled due to cancel restrictions.";

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    for name in [
        "symbol",
        "orderId",
        "origClientOrderId",
        "newClientOrderId",
        "cancelRestrictions",
    ] {
        p.take(name);
    }
    p.finish()?;
    let params = p.all();
    let symbol = order_params::symbol(params, &ctx.server.market)?;
    let named = Named::read(params)?;
    let new_client_order_id = sent(params.get("newClientOrderId")).map(|v| v.text().to_owned());
    let restriction = match sent(params.get("cancelRestrictions")).map(|v| v.text()) {
        None => None,
        Some("ONLY_NEW") => Some(OrderStatus::New),
        Some("ONLY_PARTIALLY_FILLED") => Some(OrderStatus::PartiallyFilled),
        Some(_) => return Err(ApiError::InvalidParameter("cancelRestrictions")),
    };
    let caller = ctx.signed_request(params)?;
    let account = caller.key.account.clone();
    let order = named
        .find(&ctx.server.orders, &account, symbol)
        .filter(|o| o.status.is_open())
        .ok_or(ApiError::CancelRejected(UNKNOWN_ORDER))?;
    if restriction.is_some_and(|status| status != order.status) {
        return Err(ApiError::CancelRejected(CANCEL_RESTRICTED));
    }
    let which = OrderRef::Id(order.id);
    let server = &mut *ctx.server;
    let (id, events) = server.orders.cancel(
        &server.routes,
        &account,
        symbol,
        &which,
        new_client_order_id,
        &server.market,
        ctx.now,
    )?;
    ctx.deliver(&events);
    let order = ctx.server.orders.get(id).ok_or(ApiError::Internal)?;
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    let canceled = view::canceled(order, &listed.config);
    to_json(&ctx.in_time_unit(canceled, &RESULT_TIMES))
}
