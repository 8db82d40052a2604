//! `time` (spec §6.2): the server's clock, in the connection's time unit.

use serde_json::{json, Value};

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;

pub(crate) const NAME: &str = "time";
pub(crate) const WEIGHT: u32 = 1;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Value, ApiError> {
    Ok(json!({ "serverTime": ctx.session.time_unit.render(ctx.now) }))
}
