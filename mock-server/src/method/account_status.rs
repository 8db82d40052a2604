//! `account.status` (spec §6.4, USER_DATA): the fixture account of the key the request is
//! performed for: the session's, or the request's own `apiKey` and `signature`.

use crate::envelope::Json;

use super::{parse_bool, Context, MethodSpec, Weight};
use crate::auth::Security;
use crate::envelope::{to_json, ParamCursor};
use crate::error::ApiError;

pub(crate) const SPEC: MethodSpec = MethodSpec {
    name: "account.status",
    weight: Weight::Fixed(20),
    security: Security::UserData,
    call,
};

fn call(ctx: &mut Context<'_>, p: &mut ParamCursor<'_, '_>) -> Result<Json, ApiError> {
    p.take_credentials();
    let omit_zero_balances = p.take("omitZeroBalances");
    p.finish()?;
    let caller = ctx.signed_request(p.all())?;
    let omit_zero_balances = match omit_zero_balances {
        None => false,
        Some(value) => {
            parse_bool(value.text()).ok_or(ApiError::InvalidParameter("omitZeroBalances"))?
        }
    };
    let mut account = ctx.server.accounts.get(&caller.key.account);
    // Balances as orders have left them (the fixture's until the account places one).
    account.balances = ctx.server.orders.balances(&caller.key.account, &account);
    to_json(&account.status(caller.key.permissions.trade, omit_zero_balances))
}
