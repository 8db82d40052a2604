//! `time` (spec §6.2): the server's clock, in the connection's time unit.

use crate::envelope::Json;
use serde::Serialize;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "time",
    weight: Weight::Fixed(1),
    security: Security::None,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.finish()?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ServerTime {
        server_time: i64,
    }
    to_json(&ServerTime {
        server_time: ctx.session.time_unit.render(ctx.now),
    })
}
