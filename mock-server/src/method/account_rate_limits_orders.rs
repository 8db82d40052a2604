//! `account.rateLimits.orders` (spec §6.3, USER_DATA): the ORDERS limits with their counts.
//! The counts are the account's unfilled order counts (`faqs_order_count_decrement.md`).

use crate::envelope::Json;
use serde_json::json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;
use crate::orders::OrderLimit;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "account.rateLimits.orders",
    weight: Weight::Fixed(40),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    p.finish()?;
    let caller = ctx.signed_request(p.all())?;
    let counts = ctx
        .server
        .orders
        .unfilled_counts(&caller.key.account, ctx.now);
    let limits: Vec<_> = ctx
        .server
        .orders
        .limits()
        .each()
        .into_iter()
        .zip(counts)
        .map(|(limit, count)| {
            let OrderLimit {
                interval,
                interval_num,
                limit,
            } = limit;
            json!({"rateLimitType": "ORDERS", "interval": interval, "intervalNum": interval_num,
                   "limit": limit, "count": count})
        })
        .collect();
    to_json(&limits)
}
