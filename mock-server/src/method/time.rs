//! `time` (spec §6.2): the server's clock, in the connection's time unit.

use serde::Serialize;
use serde_json::value::RawValue;

use super::Context;
use crate::envelope::{to_json, Params};
use crate::error::ApiError;

pub(crate) const NAME: &str = "time";
pub(crate) const WEIGHT: u32 = 1;
pub(crate) const PARAMS: &[&str] = &[];

pub(crate) fn call(ctx: &mut Context<'_>, _params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ServerTime {
        server_time: i64,
    }
    to_json(&ServerTime {
        server_time: ctx.session.time_unit.render(ctx.now),
    })
}
