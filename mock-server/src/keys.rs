//! The API keys a server accepts, and the demo key it starts with.

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::VerifyingKey;

/// The built-in demo key: test material, public on purpose, so that any client can log on
/// to a freshly started mock at once. Never use it anywhere real.
pub mod demo {
    /// The demo API key.
    pub const API_KEY: &str = "demoDhU4XgaOzyx7J3SdoVwgP4FmErxTM1cHho4PAAANvkYfQv9NomBbjl2y4y5q";
    /// The demo Ed25519 private key, PKCS#8 PEM (as `openssl genpkey -algorithm ed25519` writes).
    pub const PRIVATE_KEY_PEM: &str = include_str!("../keys/demo-ed25519-private.pem");
    /// The demo Ed25519 public key, SPKI PEM (as `openssl pkey -pubout` writes).
    pub const PUBLIC_KEY_PEM: &str = include_str!("../keys/demo-ed25519-public.pem");
}

/// What the server holds for an API key to verify its signatures.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An Ed25519 public key: the only type that may `session.logon` (spec §4.2).
    Ed25519(VerifyingKey),
    /// An HMAC-SHA256 secret.
    Hmac(Vec<u8>),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Ed25519(key) => f.debug_tuple("Ed25519").field(key).finish(),
            KeyMaterial::Hmac(_) => f.write_str("Hmac(<secret>)"),
        }
    }
}

/// Why a key could not be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// API keys are 1 to 64 ASCII letters and digits (Binance's are 64).
    #[error("API key {0:?} is not 1 to 64 ASCII letters and digits")]
    BadApiKey(String),
    /// The text is not an Ed25519 public key in SPKI PEM form.
    #[error("not an Ed25519 public key PEM (as `openssl pkey -pubout` writes): {0}")]
    BadPublicKeyPem(String),
    /// An HMAC secret must not be empty.
    #[error("the HMAC secret for {0:?} is empty")]
    EmptySecret(String),
}

/// Whether `api_key` has the format of an API key: 1 to 64 ASCII letters and digits.
/// Anything else is answered with -2014 "API-key format invalid." before any lookup.
pub fn is_well_formed_api_key(api_key: &str) -> bool {
    (1..=64).contains(&api_key.len()) && api_key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Parses an Ed25519 public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
///
/// # Errors
/// [`KeyError::BadPublicKeyPem`] when the text is not such a key.
pub fn ed25519_public_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| KeyError::BadPublicKeyPem(e.to_string()))
}

/// API keys and their verification material.
#[derive(Clone, Debug, Default)]
pub struct KeyRegistry {
    keys: HashMap<String, KeyMaterial>,
}

impl KeyRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        KeyRegistry::default()
    }

    /// A registry holding only the [`demo`] key.
    pub fn with_demo_key() -> Self {
        let mut keys = KeyRegistry::new();
        keys.add_demo_key();
        keys
    }

    /// Registers the [`demo`] key.
    pub fn add_demo_key(&mut self) {
        if let Ok(key) = ed25519_public_key_from_pem(demo::PUBLIC_KEY_PEM) {
            self.keys
                .insert(demo::API_KEY.to_owned(), KeyMaterial::Ed25519(key));
        }
    }

    /// Registers an Ed25519 key, replacing any key of that name.
    ///
    /// # Errors
    /// [`KeyError::BadApiKey`] when `api_key` is not of the API key format.
    pub fn insert_ed25519(&mut self, api_key: &str, key: VerifyingKey) -> Result<(), KeyError> {
        self.insert(api_key, KeyMaterial::Ed25519(key))
    }

    /// Registers an HMAC-SHA256 key, replacing any key of that name.
    ///
    /// # Errors
    /// [`KeyError::BadApiKey`] for a malformed name, [`KeyError::EmptySecret`] for an empty secret.
    pub fn insert_hmac(
        &mut self,
        api_key: &str,
        secret: impl Into<Vec<u8>>,
    ) -> Result<(), KeyError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(KeyError::EmptySecret(api_key.to_owned()));
        }
        self.insert(api_key, KeyMaterial::Hmac(secret))
    }

    fn insert(&mut self, api_key: &str, material: KeyMaterial) -> Result<(), KeyError> {
        if !is_well_formed_api_key(api_key) {
            return Err(KeyError::BadApiKey(api_key.to_owned()));
        }
        self.keys.insert(api_key.to_owned(), material);
        Ok(())
    }

    /// The material registered for `api_key`.
    pub fn get(&self, api_key: &str) -> Option<&KeyMaterial> {
        self.keys.get(api_key)
    }

    /// Removes `api_key`, returning whether it was registered.
    pub fn remove(&mut self, api_key: &str) -> bool {
        self.keys.remove(api_key).is_some()
    }

    /// How many keys are registered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is registered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_key_parses_and_is_well_formed() {
        assert!(is_well_formed_api_key(demo::API_KEY));
        assert_eq!(demo::API_KEY.len(), 64);
        let keys = KeyRegistry::with_demo_key();
        assert!(matches!(
            keys.get(demo::API_KEY),
            Some(KeyMaterial::Ed25519(_))
        ));
    }

    #[test]
    fn malformed_names_and_pems_are_refused() {
        let mut keys = KeyRegistry::new();
        assert!(matches!(
            keys.insert_hmac("has space", "s"),
            Err(KeyError::BadApiKey(_))
        ));
        assert!(matches!(
            keys.insert_hmac("ok", ""),
            Err(KeyError::EmptySecret(_))
        ));
        assert!(matches!(
            ed25519_public_key_from_pem(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
            ),
            Err(KeyError::BadPublicKeyPem(_))
        ));
        assert!(!is_well_formed_api_key(&"a".repeat(65)));
        assert!(!is_well_formed_api_key(""));
    }
}
