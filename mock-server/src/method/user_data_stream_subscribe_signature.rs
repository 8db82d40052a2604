//! `userDataStream.subscribe.signature` (spec §4.6, USER_STREAM): subscribes to the User Data
//! Stream of a signed request's account, with any key type, logged on or not. The
//! subscription outlives `session.logout`.

use serde_json::json;
use serde_json::value::RawValue;

use super::Context;
use crate::auth::{KeyTypes, Security};
use crate::envelope::{to_json, Params};
use crate::error::ApiError;
use crate::user_data::{self, SubscriptionKind};

pub(crate) const NAME: &str = "userDataStream.subscribe.signature";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &["apiKey", "signature", "timestamp", "recvWindow"];

pub(crate) fn call(ctx: &mut Context<'_>, params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    let caller = ctx.by_signature(params, KeyTypes::Any, Some(Security::UserStream))?;
    let (api_key, account) = (caller.api_key, caller.key.account.clone());
    let id = user_data::subscribe(
        ctx.session,
        &mut ctx.server.routes,
        &account,
        &api_key,
        SubscriptionKind::Signature,
    )?;
    to_json(&json!({ "subscriptionId": id }))
}
