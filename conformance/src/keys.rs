//! The keys the harness signs with (spec §3.2), and the keys a target is expected to know.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An API key and the secret that signs for it: Ed25519 (the only type that may
/// `session.logon`, spec §4.2) or HMAC-SHA256.
#[derive(Clone)]
pub struct KeyPair {
    api_key: String,
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    Ed25519(Box<SigningKey>),
    Hmac(Vec<u8>),
}

/// Why a private key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 private key in PKCS#8 PEM form (as `openssl genpkey -algorithm ed25519` writes): {0}")]
pub struct KeyError(String);

impl KeyPair {
    /// An Ed25519 key whose private key is the 32-byte `seed`: reproducible test keys.
    pub fn ed25519_from_seed(api_key: &str, seed: [u8; 32]) -> KeyPair {
        KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Ed25519(Box::new(SigningKey::from_bytes(&seed))),
        }
    }

    /// An Ed25519 key from a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`KeyError`] when the text is not such a key.
    pub fn ed25519_from_pem(api_key: &str, pem: &str) -> Result<KeyPair, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError(e.to_string()))?;
        Ok(KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Ed25519(Box::new(key)),
        })
    }

    /// An HMAC-SHA256 key: it signs requests, but cannot `session.logon`.
    pub fn hmac(api_key: &str, secret: &str) -> KeyPair {
        KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Hmac(secret.as_bytes().to_vec()),
        }
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The public key to register on a server, for an Ed25519 key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        match &self.secret {
            Secret::Ed25519(key) => Some(key.verifying_key()),
            Secret::Hmac(_) => None,
        }
    }

    /// The HMAC secret, for an HMAC key.
    pub fn hmac_secret(&self) -> Option<&[u8]> {
        match &self.secret {
            Secret::Ed25519(_) => None,
            Secret::Hmac(secret) => Some(secret),
        }
    }

    /// Whether this is an Ed25519 key.
    pub fn is_ed25519(&self) -> bool {
        matches!(self.secret, Secret::Ed25519(_))
    }

    /// The signature of `payload` as the API expects it: base64 for Ed25519, lowercase hex
    /// for HMAC (spec §3.2).
    pub(crate) fn sign(&self, payload: &str) -> String {
        match &self.secret {
            Secret::Ed25519(key) => BASE64.encode(key.sign(payload.as_bytes()).to_bytes()),
            Secret::Hmac(secret) => hex::encode(hmac_sha256(secret, payload)),
        }
    }

    /// `signature` with the byte at `index` (modulo the length) XORed with `xor` (never 0),
    /// re-encoded the same way: one changed byte of the signature itself, not of its text.
    pub(crate) fn tamper(&self, signature: &str, index: usize, xor: u8) -> String {
        let decoded = match &self.secret {
            Secret::Ed25519(_) => BASE64.decode(signature).ok(),
            Secret::Hmac(_) => hex::decode(signature).ok(),
        };
        let Some(mut bytes) = decoded.filter(|b| !b.is_empty()) else {
            return format!("{signature}x");
        };
        let at = index % bytes.len();
        bytes[at] ^= xor.max(1);
        match &self.secret {
            Secret::Ed25519(_) => BASE64.encode(bytes),
            Secret::Hmac(_) => hex::encode(bytes),
        }
    }
}

fn hmac_sha256(secret: &[u8], payload: &str) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.secret {
            Secret::Ed25519(_) => "Ed25519",
            Secret::Hmac(_) => "HMAC",
        };
        write!(f, "KeyPair({kind} {})", self.api_key)
    }
}

/// The keys a target knows, as the harness is told: what the model expects to be registered.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TargetKeys {
    /// An Ed25519 key the target has registered: it logs on.
    pub primary: KeyPair,
    /// A second registered Ed25519 key, for re-logon with another key and per-request
    /// credentials; cases that need it are skipped without it.
    pub secondary: Option<KeyPair>,
    /// A third registered Ed25519 key, for more variety in property tests.
    pub tertiary: Option<KeyPair>,
    /// A registered HMAC key (in-process only): signs requests, cannot log on.
    pub hmac: Option<KeyPair>,
    /// Whether all registered keys belong to one account (they share User Data Stream
    /// subscriptions: one per account per connection, spec §4.6). The mock gives every key
    /// its own account unless configured otherwise.
    pub same_account: bool,
    /// Whether `primary` was given explicitly rather than defaulted to the mock's demo key.
    pub explicit: bool,
}

impl TargetKeys {
    /// The mock's built-in demo key, and whatever else is given later.
    pub fn demo() -> TargetKeys {
        TargetKeys {
            primary: demo_key(),
            secondary: None,
            tertiary: None,
            hmac: None,
            same_account: false,
            explicit: false,
        }
    }

    /// `primary` given explicitly (e.g. `--api-key`/`--key`).
    pub fn with_primary(primary: KeyPair) -> TargetKeys {
        TargetKeys {
            primary,
            explicit: true,
            ..TargetKeys::demo()
        }
    }

    /// The keys the in-process mock registers: the demo key, the second key of
    /// `conformance/keys/`, a third Ed25519 key and an HMAC key, each its own account.
    pub fn in_process() -> TargetKeys {
        TargetKeys {
            primary: demo_key(),
            secondary: Some(second_key()),
            tertiary: Some(KeyPair::ed25519_from_seed(THIRD_API_KEY, [0x0C; 32])),
            hmac: Some(KeyPair::hmac(HMAC_API_KEY, HMAC_SECRET)),
            same_account: false,
            explicit: true,
        }
    }
}

/// The mock's built-in demo key (public on purpose).
pub fn demo_key() -> KeyPair {
    let api_key = mock_server::demo::API_KEY;
    KeyPair::ed25519_from_pem(api_key, mock_server::demo::PRIVATE_KEY_PEM)
        .unwrap_or_else(|_| KeyPair::ed25519_from_seed(api_key, [0; 32]))
}

/// The API key of the second committed test key, `conformance/keys/key2-ed25519-*.pem`
/// (private key: the seed `0x0B` repeated 32 times).
pub const SECOND_API_KEY: &str = "ConformanceKey2";

/// The second committed test key's private key (public on purpose, like the demo key).
pub const SECOND_PRIVATE_KEY_PEM: &str = include_str!("../keys/key2-ed25519-private.pem");

/// The second committed test key's public key, to register with `--key` on the mock.
pub const SECOND_PUBLIC_KEY_PEM: &str = include_str!("../keys/key2-ed25519-public.pem");

const THIRD_API_KEY: &str = "ConformanceKey3";
const HMAC_API_KEY: &str = "ConformanceHmac";
const HMAC_SECRET: &str = "conformance-hmac-secret";

/// The second committed test key.
pub fn second_key() -> KeyPair {
    KeyPair::ed25519_from_pem(SECOND_API_KEY, SECOND_PRIVATE_KEY_PEM)
        .unwrap_or_else(|_| KeyPair::ed25519_from_seed(SECOND_API_KEY, [0x0B; 32]))
}

/// A well-formed key (64 letters and digits, like Binance's) that no target registers.
pub(crate) fn unknown_key() -> KeyPair {
    KeyPair::ed25519_from_seed(
        "ZZconformanceUnknownKey0000000000000000000000000000000000000000Z",
        [0x0D; 32],
    )
}

/// A key name outside the API key format: -2014 before any lookup.
pub(crate) fn malformed_key() -> KeyPair {
    KeyPair::ed25519_from_seed("not-a-key!", [0x0E; 32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_second_key_is_the_seeded_one() {
        let from_pem = second_key();
        let from_seed = KeyPair::ed25519_from_seed(SECOND_API_KEY, [0x0B; 32]);
        assert_eq!(from_pem.verifying_key(), from_seed.verifying_key());
        let public = mock_server::ed25519_public_key_from_pem(SECOND_PUBLIC_KEY_PEM)
            .expect("the committed public key parses");
        assert_eq!(from_pem.verifying_key(), Some(public));
    }

    #[test]
    fn the_unknown_key_has_the_format_of_a_real_key() {
        let key = unknown_key();
        assert_eq!(key.api_key().len(), 64);
        assert!(mock_server::is_well_formed_api_key(key.api_key()));
        assert!(!mock_server::is_well_formed_api_key(
            malformed_key().api_key()
        ));
    }

    #[test]
    fn tampering_changes_exactly_one_byte_and_keeps_the_encoding() {
        let key = demo_key();
        let signature = key.sign("apiKey=x&timestamp=1");
        let tampered = key.tamper(&signature, 5, 0x80);
        assert_ne!(signature, tampered);
        let (a, b) = (
            BASE64.decode(&signature).expect("base64"),
            BASE64.decode(&tampered).expect("base64"),
        );
        assert_eq!(a.iter().zip(&b).filter(|(x, y)| x != y).count(), 1);
        let hmac = KeyPair::hmac("H", "s");
        let signature = hmac.sign("a=1");
        assert_eq!(hmac.tamper(&signature, 99, 1).len(), signature.len());
    }
}
