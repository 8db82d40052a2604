//! `account.rateLimits.orders` (spec §6.3, USER_DATA): the ORDERS limits with their counts.
//! No orders exist yet, so both counts are 0.

use serde_json::json;
use serde_json::value::RawValue;

use super::Context;
use crate::auth::Security;
use crate::envelope::{to_json, Params};
use crate::error::ApiError;

pub(crate) const NAME: &str = "account.rateLimits.orders";
pub(crate) const WEIGHT: u32 = 40;
pub(crate) const PARAMS: &[&str] = &["apiKey", "signature", "timestamp", "recvWindow"];

pub(crate) fn call(ctx: &mut Context<'_>, params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    ctx.signed_request(params, Security::UserData)?;
    to_json(&json!([
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 0},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000, "count": 0}
    ]))
}
