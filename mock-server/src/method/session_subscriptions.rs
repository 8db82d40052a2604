//! `session.subscriptions` (spec §4.5): the connection's active User Data Stream
//! subscriptions, by id, ascending.

use serde_json::{json, Value};

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;

pub(crate) const NAME: &str = "session.subscriptions";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Value, ApiError> {
    let ids: Vec<Value> = ctx
        .session
        .subscriptions
        .ids()
        .map(|id| json!({ "subscriptionId": id }))
        .collect();
    Ok(Value::Array(ids))
}
