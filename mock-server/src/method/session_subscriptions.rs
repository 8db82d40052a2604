//! `session.subscriptions` (spec §4.5): the connection's active User Data Stream
//! subscriptions, by id, ascending.

use crate::envelope::Json;
use serde_json::json;
use serde_json::Value;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "session.subscriptions",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    let ids: Vec<Value> = ctx
        .session
        .subscriptions
        .ids()
        .map(|id| json!({ "subscriptionId": id }))
        .collect();
    to_json(&ids)
}
