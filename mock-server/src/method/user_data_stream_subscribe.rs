//! `userDataStream.subscribe` (spec §4.6, USER_STREAM): subscribes to the User Data Stream of
//! the session's account. Needs a logged-on session and takes no params.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::ParamCursor;
use crate::error::ApiError;
use crate::user_data::SubscriptionKind;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "userDataStream.subscribe",
    weight: Weight::Fixed(2),
    security: Security::UserStream,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    let Some(logon) = &ctx.session.logon else {
        return Err(ApiError::Unauthorized);
    };
    let api_key = logon.api_key.clone();
    let key = ctx
        .server
        .keys
        .get(&api_key)
        .ok_or(ApiError::RejectedApiKey)?;
    if !key.permissions.user_stream {
        return Err(ApiError::RejectedApiKey);
    }
    let account = key.account.clone();
    ctx.subscribe(&account, &api_key, SubscriptionKind::Logon)
}
