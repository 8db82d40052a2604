//! `order.place` (TRADE, `web-socket-api.md:3513`): the checks `order.test` makes
//! (`market::order_check`), then the orders core places the order: it fills against the
//! synthetic book, rests, waits or expires. The reply is `ACK`, `RESULT` or `FULL` as
//! `newOrderRespType` asks (`FULL` for `MARKET` and `LIMIT`, `ACK` for the other types by
//! default, `web-socket-api.md:3547`), its `rateLimits` led by the account's `ORDERS` counts;
//! the events go to the account's User Data Stream subscriptions. A successful call weighs
//! nothing (`CHANGELOG.md:176`).

use crate::envelope::Json;

use super::order_test::take_order_request;
use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::market::order_check::{self, ResponseType};
use crate::orders::view;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "order.place",
    weight: Weight::FreeOnSuccess(1),
    security: Security::Trade,
    call,
};

/// The time members of the results (ms in the core).
pub(super) const RESULT_TIMES: [&str; 4] = ["transactTime", "workingTime", "time", "updateTime"];

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let request = take_order_request(p);
    p.finish()?;
    let caller = ctx.signed_request(p.all())?;
    let account = caller.key.account.clone();
    let outcome = place(ctx, &account, &request);
    // Once the account is known, every reply shows its counts, refusals too: a refused
    // order leaves them as they were.
    ctx.show_order_counts(&account);
    outcome
}

/// Checks and places the order `request` for `account`: its result as `newOrderRespType`
/// asks.
fn place(
    ctx: &mut Context<'_>,
    account: &str,
    request: &order_check::OrderRequest<'_>,
) -> Result<Json, ApiError> {
    let order = order_check::check(request, &ctx.server.market)?;
    let server = &mut *ctx.server;
    // The fixture is built only for an account's first order (an unconfigured account's
    // is made anew each time it is asked for).
    let accounts = &server.accounts;
    let placed = server.orders.place_with(
        &server.routes,
        account,
        || accounts.get_ref(account),
        &order,
        &mut server.market,
        ctx.now,
    )?;
    ctx.deliver(&placed.events);
    let orders = &ctx.server.orders;
    let placed_order = orders.get(placed.order_id).ok_or(ApiError::Internal)?;
    if order.response_type == ResponseType::Ack {
        return Ok(view::Ack::new(placed_order, ctx.time_unit()).to_json());
    }
    let config = &ctx
        .server
        .market
        .get(&placed_order.symbol)
        .ok_or(ApiError::Internal)?
        .config;
    let result = match order.response_type {
        ResponseType::Full => {
            let fills: Vec<_> = placed
                .fills
                .iter()
                .filter_map(|&id| orders.trade(id))
                .collect();
            view::result(placed_order, config, Some(&fills))
        }
        _ => view::result(placed_order, config, None),
    };
    to_json(&ctx.in_time_unit(result, &RESULT_TIMES))
}
