//! `ping` (spec §6.1): tests connectivity; the result is an empty object.

use serde_json::{json, Value};

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;

pub(crate) const NAME: &str = "ping";
pub(crate) const WEIGHT: u32 = 1;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(_ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Value, ApiError> {
    Ok(json!({}))
}
