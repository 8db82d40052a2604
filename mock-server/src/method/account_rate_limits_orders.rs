//! `account.rateLimits.orders` (spec §6.3, USER_DATA): the ORDERS limits with their counts.
//! No orders exist yet, so both counts are 0.

use serde_json::json;
use serde_json::value::RawValue;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "account.rateLimits.orders",
    weight: Weight::Fixed(40),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Box<RawValue>, ApiError> {
    p.take_credentials();
    p.finish()?;
    ctx.signed_request(p.all())?;
    to_json(&json!([
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 0},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 0}
    ]))
}
