//! `ping` (spec §6.1): tests connectivity; the result is an empty object.

use serde_json::value::RawValue;

use super::Context;
use crate::envelope::{to_json, Params};
use crate::error::ApiError;

pub(crate) const NAME: &str = "ping";
pub(crate) const WEIGHT: u32 = 1;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(
    _ctx: &mut Context<'_>,
    _params: &Params<'_>,
) -> Result<Box<RawValue>, ApiError> {
    to_json(&serde_json::Map::new())
}
