//! `order.test` (TRADE, `web-socket-api.md:3984`): every check `order.place` makes before the
//! matching engine (`market::order_check`), and the signature; nothing is placed. With
//! `computeCommissionRates`, the commission rates the order would pay.

use crate::envelope::Json;

use super::{parse_bool, Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor, Params};
use crate::error::ApiError;
use crate::market::order_check::{self, OrderRequest, Side};

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "order.test",
    weight: Weight::Rule(weight),
    security: Security::Trade,
    call,
};

/// 20 with `computeCommissionRates=true`, else 1 (`web-socket-api.md:4011`).
fn weight(params: &Params<'_>) -> u32 {
    match params.get("computeCommissionRates").map(|v| v.text()) {
        Some("true") => 20,
        _ => 1,
    }
}

/// Takes the params of an order (every one `order.place` and `order.test` share) and the
/// credentials, in one pass over what was sent. Of a name sent twice only the first is
/// taken, as [`ParamCursor::take`] does.
pub(super) fn take_order_request<'p>(p: &mut ParamCursor<'p, '_>) -> OrderRequest<'p> {
    let mut request = OrderRequest::default();
    p.take_each(|name, value| {
        let slot = match name {
            "apiKey" | "signature" | "timestamp" | "recvWindow" => return true,
            "symbol" => &mut request.symbol,
            "side" => &mut request.side,
            "type" => &mut request.order_type,
            "timeInForce" => &mut request.time_in_force,
            "price" => &mut request.price,
            "quantity" => &mut request.quantity,
            "quoteOrderQty" => &mut request.quote_order_qty,
            "newClientOrderId" => &mut request.new_client_order_id,
            "newOrderRespType" => &mut request.new_order_resp_type,
            "stopPrice" => &mut request.stop_price,
            "trailingDelta" => &mut request.trailing_delta,
            "icebergQty" => &mut request.iceberg_qty,
            "strategyId" => &mut request.strategy_id,
            "strategyType" => &mut request.strategy_type,
            "selfTradePreventionMode" => &mut request.self_trade_prevention_mode,
            "pegPriceType" => &mut request.peg_price_type,
            "pegOffsetValue" => &mut request.peg_offset_value,
            "pegOffsetType" => &mut request.peg_offset_type,
            _ => return false,
        };
        if slot.is_some() {
            return false;
        }
        *slot = Some(value.text());
        true
    });
    request
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let request = take_order_request(p);
    let compute_commission_rates = p.take("computeCommissionRates").map(|value| value.text());
    p.finish()?;
    let caller = ctx.signed_request(p.all())?;
    let account = caller.key.account.clone();
    let compute_commission_rates = match compute_commission_rates {
        None => false,
        Some(value) => {
            parse_bool(value).ok_or(ApiError::InvalidParameter("computeCommissionRates"))?
        }
    };
    let order = order_check::check(&request, &ctx.server.market)?;
    if !compute_commission_rates {
        return Ok(Json::empty_object());
    }
    let commission = ctx.server.accounts.get(&account).commission;
    to_json(&commission.for_order(order.side == Side::Buy))
}
