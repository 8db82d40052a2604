//! `session.subscriptions` (spec §4.5): the connection's active User Data Stream
//! subscriptions, by id, ascending.

use serde_json::json;
use serde_json::value::RawValue;
use serde_json::Value;

use super::Context;
use crate::envelope::{to_json, Params};
use crate::error::ApiError;

pub(crate) const NAME: &str = "session.subscriptions";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    let ids: Vec<Value> = ctx
        .session
        .subscriptions
        .ids()
        .map(|id| json!({ "subscriptionId": id }))
        .collect();
    to_json(&ids)
}
