//! `account.commission` (USER_DATA, `web-socket-api.md:7967`): the commission rates of the
//! account the request is performed for, on `symbol`.

use crate::envelope::Json;

use super::{Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "account.commission",
    weight: Weight::Fixed(20),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    let symbol = p.take("symbol").map(|value| value.text());
    p.finish()?;
    let caller = ctx.signed_request(p.all())?;
    let account = caller.key.account.clone();
    let symbol = symbol
        .filter(|text| !text.is_empty())
        .ok_or(ApiError::MandatoryParam("symbol"))?;
    let listed = ctx.server.market.get(symbol).ok_or(ApiError::BadSymbol)?;
    to_json(
        &ctx.server
            .accounts
            .get(&account)
            .commission
            .for_symbol(listed.name()),
    )
}
