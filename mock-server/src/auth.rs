//! Authentication of SIGNED requests (spec §3, §4.2): a request's own `apiKey` and
//! `signature`, or the session's key after `session.logon`.
//!
//! Checks, in order: mandatory params (-1102: `apiKey`, then `signature`, then `timestamp`),
//! key format (-2014), key known (-2015), key type where only Ed25519 will do (-1022),
//! signature (-1022), `timestamp` and `recvWindow` format (-1100, -1102), timing (-1021),
//! permission (-2015). The signature comes before the values it covers are parsed, so that
//! any change to a signed byte is reported as a bad signature.

use std::cell::RefCell;

use crate::clock::Timestamp;
use crate::envelope::Params;
use crate::error::ApiError;
use crate::journal::SignatureRecord;
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
    /// `TRADE`: the key needs that permission (`order.test`, spec §3.1), else -2015.
    Trade,
}

impl Security {
    fn allowed(self, permissions: Permissions) -> bool {
        match self {
            Security::None => true,
            Security::UserData => permissions.user_data,
            Security::UserStream => permissions.user_stream,
            Security::Trade => permissions.trade,
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
    /// The registry's copy of the API key.
    pub api_key: &'k str,
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

/// A signature check taken out of the server lock: everything it needs, owned, so that the
/// expensive part (Ed25519, RSA, HMAC over every candidate payload) runs while other
/// connections use the server.
#[derive(Debug)]
pub struct SignatureCheck {
    api_key: String,
    signature: String,
    material: KeyMaterial,
    strict: bool,
    payloads: Vec<String>,
}

/// The outcome of a [`SignatureCheck`], handed back to the request it was made for.
#[derive(Debug)]
pub struct CheckedSignature {
    api_key: String,
    signature: String,
    material: KeyMaterial,
    strict: bool,
    /// The payload it was checked over (the raw one; the encoded ones follow from it).
    payload: String,
    outcome: Result<(), ApiError>,
}

impl SignatureCheck {
    /// The check a request's own `apiKey` and `signature` call for, if it carries both and
    /// `key_of` knows the key: it answers with the key's material and the signing rules
    /// (`strict`), the one thing that needs the server. The rest (the params, the payloads)
    /// is the request's own, so a connection makes it without the server lock, and holds
    /// the lock only for the lookup. Only reads; the request is handled later as usual.
    pub(crate) fn prepare(
        params: &Params<'_>,
        key_of: impl FnOnce(&str) -> Option<(KeyMaterial, bool)>,
    ) -> Option<Self> {
        let api_key = mandatory(params, "apiKey").ok()?;
        let signature = mandatory(params, "signature").ok()?;
        let (material, strict) = key_of(api_key)?;
        Some(SignatureCheck {
            api_key: api_key.to_owned(),
            signature: signature.to_owned(),
            material,
            strict,
            payloads: signature::candidate_payloads(params, strict),
        })
    }

    /// Verifies the signature.
    pub fn run(self) -> CheckedSignature {
        let outcome = signature::verify_payloads(&self.payloads, &self.signature, &self.material);
        let mut payloads = self.payloads;
        CheckedSignature {
            api_key: self.api_key,
            signature: self.signature,
            material: self.material,
            strict: self.strict,
            payload: payloads.swap_remove(0),
            outcome,
        }
    }
}

impl CheckedSignature {
    /// The outcome, if this check covered exactly this signature of this payload by this
    /// key material under these rules: a key replaced or a setting changed in between, or a
    /// check made for another request, is not used.
    fn outcome_for(
        &self,
        params: &Params<'_>,
        signature: &str,
        key: (&str, &KeyMaterial),
        strict: bool,
    ) -> Option<Result<(), ApiError>> {
        let covers = self.api_key == key.0
            && self.signature == signature
            && self.strict == strict
            && &self.material == key.1
            && signature::raw_payload(params) == self.payload;
        covers.then(|| self.outcome.clone())
    }
}

/// What authenticating one request reads: the keys, the time, the signing rules, the
/// method's security type, a check made outside the lock, and where to note what the
/// signature check saw (for the journal).
pub(crate) struct Authority<'a> {
    pub keys: &'a KeyRegistry,
    pub now: Timestamp,
    pub strict_signing: bool,
    pub security: Security,
    pub checked: Option<&'a CheckedSignature>,
    pub seen: &'a RefCell<Option<SignatureRecord>>,
}

/// Authenticates a request by its own `apiKey` and `signature`; the signature's outcome is
/// taken from `checked` when that check covered it (see [`SignatureCheck`]).
pub(crate) fn by_signature<'k>(
    params: &Params<'_>,
    types: KeyTypes,
    authority: &Authority<'k>,
) -> Result<Authenticated<'k>, ApiError> {
    let strict = authority.strict_signing;
    let api_key = mandatory(params, "apiKey")?;
    let signature = mandatory(params, "signature")?;
    let registered = authority.keys.get_entry(api_key);
    // What the journal shows of the signature, however the check ends: not valid unless
    // it verifies below.
    *authority.seen.borrow_mut() = Some(SignatureRecord {
        api_key: api_key.to_owned(),
        key_type: registered.map(|(_, key)| key.material.type_name()),
        payload: signature::raw_payload(params),
        valid: false,
        payloads_tried: (!strict).then(|| signature::candidate_payloads(params, strict)),
    });
    mandatory(params, "timestamp")?;
    if !is_well_formed_api_key(api_key) {
        return Err(ApiError::BadApiKeyFormat);
    }
    let (registered_name, key) = registered.ok_or(ApiError::RejectedApiKey)?;
    if types == KeyTypes::Ed25519 && !matches!(key.material, KeyMaterial::Ed25519(_)) {
        return Err(ApiError::InvalidSignature);
    }
    let outcome = authority
        .checked
        .and_then(|c| c.outcome_for(params, signature, (api_key, &key.material), strict));
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => signature::verify(params, signature, &key.material, strict),
    };
    if let Some(record) = authority.seen.borrow_mut().as_mut() {
        record.valid = outcome.is_ok();
    }
    outcome?;
    check_timing(params, authority.now)?;
    if !authority.security.allowed(key.permissions) {
        return Err(ApiError::RejectedApiKey);
    }
    Ok(Authenticated {
        api_key: registered_name,
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
    authority: &Authority<'k>,
) -> Result<Authenticated<'k>, ApiError> {
    if params.get("apiKey").is_some() || params.get("signature").is_some() {
        return by_signature(params, KeyTypes::Any, authority);
    }
    let Some(logon) = &session.logon else {
        return Err(ApiError::MandatoryParam("apiKey"));
    };
    let (api_key, key) = authority
        .keys
        .get_entry(&logon.api_key)
        .ok_or(ApiError::RejectedApiKey)?;
    check_timing(params, authority.now)?;
    if !authority.security.allowed(key.permissions) {
        return Err(ApiError::RejectedApiKey);
    }
    Ok(Authenticated { api_key, key })
}
