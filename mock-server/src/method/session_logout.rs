//! `session.logout` (spec §4.4): forgets the session key and ends the subscription made with
//! it (`eventStreamTerminated`), but not those made with `userDataStream.subscribe.signature`.
//! Anonymous, it does nothing and still answers 200; the connection stays open either way.

use serde_json::value::RawValue;

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::user_data::{self, SubscriptionKind};

pub(crate) const NAME: &str = "session.logout";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    ctx.session.logon = None;
    user_data::terminate(ctx.session, &mut ctx.server.routes, ctx.now, |_, s| {
        s.kind == SubscriptionKind::Logon
    });
    ctx.session.result(ctx.now)
}
