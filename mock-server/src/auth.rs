//! Authentication of SIGNED requests (spec §3, §4.2): a request's own `apiKey` and
//! `signature`, or the session's key after `session.logon`.
//!
//! Checks, in order: mandatory params (-1102: `apiKey`, then `signature`, then `timestamp`),
//! key format (-2014), key known (-2015), key type where only Ed25519 will do (-1022),
//! signature (-1022), `timestamp` and `recvWindow` format (-1100, -1102), timing (-1021),
//! permission (-2015). The signature comes before the values it covers are parsed, so that
//! any change to a signed byte is reported as a bad signature.

use crate::clock::Timestamp;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::keys::{is_well_formed_api_key, KeyMaterial, KeyRegistry, Permissions, RegisteredKey};
use crate::session::SessionState;
use crate::{signature, timing};

/// The security type of a method (spec §3.1), for the permission check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// Public: no key needed (`ping`, `time`), or a key that needs no permission
    /// (`session.*`).
    None,
    /// `USER_DATA`: the key needs that permission.
    UserData,
    /// `USER_STREAM`: the key needs that permission.
    UserStream,
}

impl Security {
    fn allowed(self, permissions: Permissions) -> bool {
        match self {
            Security::None => true,
            Security::UserData => permissions.user_data,
            Security::UserStream => permissions.user_stream,
        }
    }
}

/// Which key types a request may be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyTypes {
    /// Ed25519 only (`session.logon`, spec §4.2).
    Ed25519,
    /// Ed25519, HMAC or RSA.
    Any,
}

/// The key a request is performed for.
#[derive(Debug)]
pub(crate) struct Authenticated<'k> {
    pub api_key: String,
    pub key: &'k RegisteredKey,
}

/// A mandatory parameter's text: present, not null, not empty.
pub(crate) fn mandatory<'p>(
    params: &'p Params<'_>,
    name: &'static str,
) -> Result<&'p str, ApiError> {
    match params.get(name).map(|v| v.text()) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(ApiError::MandatoryParam(name)),
    }
}

/// Checks `timestamp` and the optional `recvWindow` against `now` (spec §3.3).
fn check_timing(params: &Params<'_>, now: Timestamp) -> Result<(), ApiError> {
    let timestamp = timing::parse_timestamp(mandatory(params, "timestamp")?)?;
    let recv_window = params
        .get("recvWindow")
        .map(|v| timing::parse_recv_window(v.text()))
        .transpose()?;
    timing::check(timestamp, recv_window, now)
}

/// Authenticates a request by its own `apiKey` and `signature`.
pub(crate) fn by_signature<'k>(
    params: &Params<'_>,
    keys: &'k KeyRegistry,
    now: Timestamp,
    strict_signing: bool,
    types: KeyTypes,
    security: Security,
) -> Result<Authenticated<'k>, ApiError> {
    let api_key = mandatory(params, "apiKey")?;
    let signature = mandatory(params, "signature")?;
    mandatory(params, "timestamp")?;
    if !is_well_formed_api_key(api_key) {
        return Err(ApiError::BadApiKeyFormat);
    }
    let key = keys.get(api_key).ok_or(ApiError::RejectedApiKey)?;
    if types == KeyTypes::Ed25519 && !matches!(key.material, KeyMaterial::Ed25519(_)) {
        return Err(ApiError::InvalidSignature);
    }
    signature::verify(params, signature, &key.material, strict_signing)?;
    check_timing(params, now)?;
    if !security.allowed(key.permissions) {
        return Err(ApiError::RejectedApiKey);
    }
    Ok(Authenticated {
        api_key: api_key.to_owned(),
        key,
    })
}

/// Authenticates a SIGNED request: by its own `apiKey` and `signature` when it carries
/// either (for this request only, spec §4.2), else by the session's key, which needs only
/// `timestamp` (and optionally `recvWindow`).
///
/// # Errors
/// Anonymous without credentials: -1102 naming `apiKey`.
pub(crate) fn signed_request<'k>(
    params: &Params<'_>,
    session: &SessionState,
    keys: &'k KeyRegistry,
    now: Timestamp,
    strict_signing: bool,
    security: Security,
) -> Result<Authenticated<'k>, ApiError> {
    if params.get("apiKey").is_some() || params.get("signature").is_some() {
        return by_signature(params, keys, now, strict_signing, KeyTypes::Any, security);
    }
    let Some(logon) = &session.logon else {
        return Err(ApiError::MandatoryParam("apiKey"));
    };
    let key = keys.get(&logon.api_key).ok_or(ApiError::RejectedApiKey)?;
    check_timing(params, now)?;
    if !security.allowed(key.permissions) {
        return Err(ApiError::RejectedApiKey);
    }
    Ok(Authenticated {
        api_key: logon.api_key.clone(),
        key,
    })
}
