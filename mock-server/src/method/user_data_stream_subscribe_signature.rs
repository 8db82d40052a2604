//! `userDataStream.subscribe.signature` (spec §4.6, USER_STREAM): subscribes to the User Data
//! Stream of a signed request's account, with any key type, logged on or not. The
//! subscription outlives `session.logout`.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::{KeyTypes, Security};
use crate::envelope::ParamCursor;
use crate::error::ApiError;
use crate::user_data::SubscriptionKind;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "userDataStream.subscribe.signature",
    weight: Weight::Fixed(2),
    security: Security::UserStream,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    p.finish()?;
    let caller = ctx.by_signature(p.all(), KeyTypes::Any)?;
    let (api_key, account) = (caller.api_key.to_owned(), caller.key.account.clone());
    ctx.subscribe(&account, &api_key, SubscriptionKind::Signature)
}
