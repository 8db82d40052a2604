//! `session.logon` (spec §4.2): authenticates the connection with an Ed25519 key.
//!
//! The checks and their order are those of every signed request (see `auth`), with only
//! Ed25519 keys accepted. A failed logon leaves the session as it was. A successful one
//! replaces any earlier key and its `authorizedSince`; if the key changes, the subscription
//! made with the old key's session ends (`eventStreamTerminated`).

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::{KeyTypes, Security};
use crate::envelope::ParamCursor;
use crate::error::ApiError;
use crate::session::Logon;
use crate::user_data::{self, SubscriptionKind};

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "session.logon",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    p.finish()?;
    let api_key = ctx
        .by_signature(p.all(), KeyTypes::Ed25519)?
        .api_key
        .to_owned();
    let previous = ctx.session.logon.replace(Logon {
        api_key: api_key.clone(),
        authorized_since: ctx.now,
    });
    if previous.is_some_and(|p| p.api_key != api_key) {
        user_data::terminate(ctx.session, &mut ctx.server.routes, ctx.now, |_, s| {
            s.kind == SubscriptionKind::Logon
        });
    }
    ctx.session.result(ctx.now)
}
