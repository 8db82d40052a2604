//! `session.status` (spec §4.3): the session's state; never changes it.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::ParamCursor;
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "session.status",
    weight: Weight::Fixed(2),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    ctx.session.result(ctx.now)
}
