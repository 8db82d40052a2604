//! `session.status` (spec §4.3): the session's state; never changes it.

use serde_json::value::RawValue;

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;

pub(crate) const NAME: &str = "session.status";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    ctx.session.result(ctx.now)
}
