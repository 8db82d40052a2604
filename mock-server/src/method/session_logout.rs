//! `session.logout` (spec §4.4): forgets the session key and ends the subscription made with
//! it (`eventStreamTerminated`), but not those made with `userDataStream.subscribe.signature`.
//! Anonymous, it does nothing and still answers 200; the connection stays open either way.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::ParamCursor;
use crate::error::ApiError;
use crate::user_data::{self, SubscriptionKind};

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "session.logout",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    ctx.session.logon = None;
    user_data::terminate(ctx.session, &mut ctx.server.routes, ctx.now, |_, s| {
        s.kind == SubscriptionKind::Logon
    });
    ctx.session.result(ctx.now)
}
