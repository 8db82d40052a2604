//! `account.status` (spec §6.4, USER_DATA): the fixture account of the key the request is
//! performed for: the session's, or the request's own `apiKey` and `signature`.

use serde_json::value::RawValue;

use super::{parse_bool, Context};
use crate::auth::Security;
use crate::envelope::{to_json, Params};
use crate::error::ApiError;

pub(crate) const NAME: &str = "account.status";
pub(crate) const WEIGHT: u32 = 20;
pub(crate) const PARAMS: &[&str] = &[
    "apiKey",
    "signature",
    "timestamp",
    "recvWindow",
    "omitZeroBalances",
];

pub(crate) fn call(ctx: &mut Context<'_>, params: &Params<'_>) -> Result<Box<RawValue>, ApiError> {
    let caller = ctx.signed_request(params, Security::UserData)?;
    let omit_zero_balances = match params.get("omitZeroBalances") {
        None => false,
        Some(value) => {
            parse_bool(value.text()).ok_or(ApiError::InvalidParameter("omitZeroBalances"))?
        }
    };
    let account = ctx.server.accounts.get(&caller.key.account);
    to_json(&account.status(caller.key.permissions.trade, omit_zero_balances))
}
