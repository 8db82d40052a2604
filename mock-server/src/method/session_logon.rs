//! `session.logon` (spec §4.2): authenticates the connection with an Ed25519 key.
//!
//! Checks, in order: mandatory params (-1102), key format (-2014), key known (-2015), key type
//! (-1022: only Ed25519 may log on), signature (-1022), `timestamp`/`recvWindow` format
//! (-1100, -1102) and timing (-1021). The signature comes before the timestamp's format, so
//! that any change to a signed byte is reported as a bad signature. A failed logon leaves
//! the session as it was; a successful one replaces any earlier key.

use serde_json::Value;

use super::Context;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::keys::{is_well_formed_api_key, KeyMaterial};
use crate::session::Logon;
use crate::{signature, timing};

pub(crate) const NAME: &str = "session.logon";
pub(crate) const WEIGHT: u32 = 2;
pub(crate) const PARAMS: &[&str] = &["apiKey", "signature", "timestamp", "recvWindow"];

fn mandatory<'p>(params: &'p Params<'_>, name: &'static str) -> Result<&'p str, ApiError> {
    match params.get(name).map(|v| v.text()) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(ApiError::MandatoryParam(name)),
    }
}

pub(crate) fn call(ctx: &mut Context<'_>, params: &Params<'_>) -> Result<Value, ApiError> {
    let api_key = mandatory(params, "apiKey")?;
    let signature = mandatory(params, "signature")?;
    let timestamp = mandatory(params, "timestamp")?;
    if !is_well_formed_api_key(api_key) {
        return Err(ApiError::BadApiKeyFormat);
    }
    let key = ctx.keys.get(api_key).ok_or(ApiError::RejectedApiKey)?;
    if !matches!(key, KeyMaterial::Ed25519(_)) {
        return Err(ApiError::InvalidSignature);
    }
    signature::verify(params, signature, key, ctx.strict_signing)?;
    let timestamp = timing::parse_timestamp(timestamp)?;
    let recv_window = params
        .get("recvWindow")
        .map(|v| timing::parse_recv_window(v.text()))
        .transpose()?;
    timing::check(timestamp, recv_window, ctx.now)?;
    ctx.session.logon = Some(Logon {
        api_key: api_key.to_owned(),
        authorized_since: ctx.now,
    });
    Ok(ctx.session.result(ctx.now))
}
