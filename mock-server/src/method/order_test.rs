//! `order.test` (TRADE, `web-socket-api.md:3984`): every check `order.place` makes before the
//! matching engine (`market::order_check`), and the signature; nothing is placed. With
//! `computeCommissionRates`, the commission rates the order would pay.

use serde_json::value::RawValue;

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
/// credentials.
pub(super) fn take_order_request<'p>(p: &mut ParamCursor<'p, '_>) -> OrderRequest<'p> {
    p.take_credentials();
    let mut text = |name: &str| p.take(name).map(|value| value.text());
    OrderRequest {
        symbol: text("symbol"),
        side: text("side"),
        order_type: text("type"),
        time_in_force: text("timeInForce"),
        price: text("price"),
        quantity: text("quantity"),
        quote_order_qty: text("quoteOrderQty"),
        new_client_order_id: text("newClientOrderId"),
        new_order_resp_type: text("newOrderRespType"),
        stop_price: text("stopPrice"),
        trailing_delta: text("trailingDelta"),
        iceberg_qty: text("icebergQty"),
        strategy_id: text("strategyId"),
        strategy_type: text("strategyType"),
        self_trade_prevention_mode: text("selfTradePreventionMode"),
        peg_price_type: text("pegPriceType"),
        peg_offset_value: text("pegOffsetValue"),
        peg_offset_type: text("pegOffsetType"),
    }
}

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Box<RawValue>, ApiError> {
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
        return to_json(&serde_json::json!({}));
    }
    let commission = ctx.server.accounts.get(&account).commission;
    to_json(&commission.for_order(order.side == Side::Buy))
}
