//! Signing SIGNED requests (spec §3.2): the payload, and Ed25519 or HMAC-SHA256 over it.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// A secret that signs requests: an Ed25519 private key or an HMAC-SHA256 secret.
///
/// Only Ed25519 keys may `session.logon` (spec §4); both kinds sign individual requests.
/// `Debug` never prints the secret.
#[derive(Clone)]
pub struct Signer {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Ed25519(Box<SigningKey>),
    Hmac(Vec<u8>),
}

/// Why a private key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 private key in PKCS#8 PEM form (as `openssl genpkey -algorithm ed25519` writes): {0}")]
pub struct KeyError(String);

impl Signer {
    /// An Ed25519 key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as
    /// `openssl genpkey -algorithm ed25519` writes it.
    ///
    /// # Errors
    /// [`KeyError`] when the text is not such a key.
    pub fn ed25519_from_pem(pem: &str) -> Result<Signer, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError(e.to_string()))?;
        Ok(Signer {
            kind: Kind::Ed25519(Box::new(key)),
        })
    }

    /// An Ed25519 key from its 32 raw secret bytes (the seed).
    pub fn ed25519_from_bytes(secret: &[u8; 32]) -> Signer {
        Signer {
            kind: Kind::Ed25519(Box::new(SigningKey::from_bytes(secret))),
        }
    }

    /// An HMAC-SHA256 secret key.
    pub fn hmac(secret: impl Into<Vec<u8>>) -> Signer {
        Signer {
            kind: Kind::Hmac(secret.into()),
        }
    }

    /// The signature of `payload` as the API expects it: base64 for Ed25519, lowercase hex
    /// for HMAC-SHA256 (spec §3.2).
    pub fn sign(&self, payload: &str) -> String {
        match &self.kind {
            Kind::Ed25519(key) => BASE64.encode(key.sign(payload.as_bytes()).to_bytes()),
            Kind::Hmac(secret) => {
                // HMAC takes a key of any length, so this cannot fail.
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    unreachable!("HMAC-SHA256 accepts keys of every length")
                };
                mac.update(payload.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// The Ed25519 public key, 32 bytes, for registering the key with a server.
    /// `None` for an HMAC secret.
    pub fn ed25519_public_key(&self) -> Option<[u8; 32]> {
        match &self.kind {
            Kind::Ed25519(key) => Some(key.verifying_key().to_bytes()),
            Kind::Hmac(_) => None,
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Ed25519(key) => f
                .debug_tuple("Ed25519")
                .field(&hex::encode(key.verifying_key().as_bytes()))
                .finish(),
            Kind::Hmac(_) => f.write_str("Hmac(<secret>)"),
        }
    }
}

/// The payload a signature covers (spec §3.2): every param except `signature`, sorted by
/// name in byte order, joined as `name=value` with `&`, values not percent-encoded.
///
/// Strings enter as their text; numbers, booleans, arrays and objects as their compact
/// JSON, which is exactly the text the request frame carries.
pub(crate) fn payload(params: &Map<String, Value>) -> String {
    let mut fields: Vec<(&String, &Value)> = params
        .iter()
        .filter(|(name, _)| name.as_str() != "signature")
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        match value {
            Value::String(text) => out.push_str(text),
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The HMAC example of spec §3.2, from the official docs.
    const SPEC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const SPEC_API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    const SPEC_PAYLOAD: &str = "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT";
    const SPEC_SIGNATURE: &str = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24";

    fn spec_params() -> Map<String, Value> {
        // The order of the docs' request, not sorted, with numbers where the docs use them.
        let Value::Object(params) = json!({
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01000000",
            "price": "52000.00",
            "recvWindow": 100,
            "timestamp": 1645423376532_i64,
            "apiKey": SPEC_API_KEY,
            "signature": "ignored",
        }) else {
            unreachable!("a json! object literal is an object")
        };
        params
    }

    #[test]
    fn payload_of_the_spec_example_is_sorted_and_skips_the_signature() {
        assert_eq!(payload(&spec_params()), SPEC_PAYLOAD);
    }

    #[test]
    fn hmac_signs_the_spec_example_as_the_docs_do() {
        assert_eq!(
            Signer::hmac(SPEC_SECRET).sign(&payload(&spec_params())),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn payload_values_are_raw_utf8_and_compact_json() {
        let Value::Object(params) = json!({
            "symbol": "１２３４５６",
            "note": "a b&c",
            "flag": true,
            "list": [1, "x"],
        }) else {
            unreachable!("a json! object literal is an object")
        };
        assert_eq!(
            payload(&params),
            r#"flag=true&list=[1,"x"]&note=a b&c&symbol=１２３４５６"#
        );
    }

    #[test]
    fn ed25519_matches_rfc_8032_test_vector_2() {
        // RFC 8032 §7.1, TEST 2: a one-byte message 0x72 ("r").
        let secret: [u8; 32] =
            hex::decode("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
                .expect("hex")
                .try_into()
                .expect("32 bytes");
        let expected = hex::decode(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        )
        .expect("hex");
        let signer = Signer::ed25519_from_bytes(&secret);
        assert_eq!(signer.sign("r"), BASE64.encode(expected));
        assert_eq!(
            signer.ed25519_public_key().map(hex::encode).as_deref(),
            Some("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        );
    }

    #[test]
    fn ed25519_signs_a_logon_payload_from_a_fixed_seed() {
        // Seed 0x00, 0x01, ..., 0x1f; the expected value was cross-checked with
        // `openssl pkeyutl -sign -rawin` over the same key and payload.
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let Value::Object(params) =
            json!({ "apiKey": SPEC_API_KEY, "timestamp": 1645423376532_i64 })
        else {
            unreachable!("a json! object literal is an object")
        };
        let payload = payload(&params);
        assert_eq!(
            payload,
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&timestamp=1645423376532"
        );
        assert_eq!(
            Signer::ed25519_from_bytes(&seed).sign(&payload),
            ED25519_FIXED_SEED_SIGNATURE
        );
    }

    const ED25519_FIXED_SEED_SIGNATURE: &str =
        "qA8ZsUS3MT5exgkSHGmetM50U4ZGw1V2eq3gIucTgBJJ+wfeEQbM+jqoKBgxk/uboOmeBvL2Ey3Cp93cRSBuCg==";

    #[test]
    fn a_pem_key_and_its_seed_sign_alike() {
        // PKCS#8 of seed 0x00..0x1f, as `openssl genpkey` would write it.
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n\
                   -----END PRIVATE KEY-----\n";
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let from_pem = Signer::ed25519_from_pem(pem).expect("a valid PKCS#8 PEM");
        assert_eq!(
            from_pem.sign("payload"),
            Signer::ed25519_from_bytes(&seed).sign("payload")
        );
    }

    #[test]
    fn a_malformed_pem_is_refused_and_secrets_stay_out_of_debug() {
        assert!(Signer::ed25519_from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )
        .is_err());
        assert_eq!(format!("{:?}", Signer::hmac("secret")), "Hmac(<secret>)");
        assert!(Signer::hmac("secret").ed25519_public_key().is_none());
    }
}
