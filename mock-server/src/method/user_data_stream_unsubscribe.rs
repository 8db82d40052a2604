//! `userDataStream.unsubscribe` (spec §4.6, NONE): ends the subscription `subscriptionId`,
//! or every subscription of the connection when none is named, each with an
//! `eventStreamTerminated` event. Naming one that is not active, or having none, is not an
//! error (the docs: it "will attempt to close … if it exists").

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::ParamCursor;
use crate::error::ApiError;
use crate::user_data;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "userDataStream.unsubscribe",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    let subscription_id = p.take("subscriptionId");
    p.finish()?;
    let only = match subscription_id.map(|v| v.text()) {
        None => None,
        // Exactly what the legal range in the error says: `+5` or `1234567` are refused too.
        Some(text) if (1..=5).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse::<u32>().ok()
        }
        Some(_) => {
            return Err(ApiError::IllegalChars {
                param: "subscriptionId",
                legal_range: "^[0-9]{1,5}$",
            })
        }
    };
    user_data::terminate(ctx.session, &mut ctx.server.routes, ctx.now, |id, _| {
        only.is_none_or(|only| only == id)
    });
    Ok(Json::empty_object())
}
