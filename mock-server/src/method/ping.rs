//! `ping` (spec §6.1): tests connectivity; the result is an empty object.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::ParamCursor;
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "ping",
    weight: Weight::Fixed(1),
    security: Security::None,
    call,
};

fn call(_ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    Ok(Json::empty_object())
}
