//! The API keys a server accepts, and the demo key it starts with.

use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::VerifyingKey;
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPublicKey;

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

/// What the server holds for an API key to verify its signatures (spec §3.2).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An Ed25519 public key: the only type that may `session.logon` (spec §4.2). Signatures
    /// are base64.
    Ed25519(VerifyingKey),
    /// An HMAC-SHA256 secret. Signatures are hex, in either letter case.
    Hmac(Vec<u8>),
    /// An RSA public key. Signatures are base64 RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(RsaPublicKey),
}

impl KeyMaterial {
    /// The key's type as the control plane spells it: `ED25519`, `HMAC` or `RSA`.
    pub fn type_name(&self) -> &'static str {
        match self {
            KeyMaterial::Ed25519(_) => "ED25519",
            KeyMaterial::Hmac(_) => "HMAC",
            KeyMaterial::Rsa(_) => "RSA",
        }
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Ed25519(key) => f.debug_tuple("Ed25519").field(key).finish(),
            KeyMaterial::Hmac(_) => f.write_str("Hmac(<secret>)"),
            KeyMaterial::Rsa(key) => write!(f, "Rsa({} bits)", key.size() * 8),
        }
    }
}

/// The security types a key may use (spec §3.1). A request of a type the key lacks is
/// refused with -2015.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Permissions {
    /// `USER_DATA`: account information (`account.status`, `account.rateLimits.orders`).
    pub user_data: bool,
    /// `USER_STREAM`: User Data Stream subscriptions.
    pub user_stream: bool,
    /// `TRADE`: placing and cancelling orders (off by default, as on Binance).
    pub trade: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            user_data: true,
            user_stream: true,
            trade: false,
        }
    }
}

impl Permissions {
    /// The names of the permissions held, as Binance spells the security types, in the
    /// order `USER_DATA`, `USER_STREAM`, `TRADE`.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.user_data, "USER_DATA"),
            (self.user_stream, "USER_STREAM"),
            (self.trade, "TRADE"),
        ]
        .into_iter()
        .filter_map(|(held, name)| held.then_some(name))
        .collect()
    }

    /// Every permission.
    pub const ALL: Permissions = Permissions {
        user_data: true,
        user_stream: true,
        trade: true,
    };

    /// Permissions from names as Binance spells the security types: `USER_DATA`,
    /// `USER_STREAM`, `TRADE`.
    ///
    /// # Errors
    /// The first name that is none of these.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut permissions = Permissions {
            user_data: false,
            user_stream: false,
            trade: false,
        };
        for name in names {
            match name {
                "USER_DATA" => permissions.user_data = true,
                "USER_STREAM" => permissions.user_stream = true,
                "TRADE" => permissions.trade = true,
                other => return Err(other.to_owned()),
            }
        }
        Ok(permissions)
    }
}

/// A registered API key: how to verify it, what it may do, and whose account it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredKey {
    /// The verification material.
    pub material: KeyMaterial,
    /// What the key may do.
    pub permissions: Permissions,
    /// The account the key belongs to; keys of one account share its fixture and its
    /// User Data Stream events. By default, the API key's own name.
    pub account: String,
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
    /// The text is not an RSA public key in SPKI PEM form.
    #[error("not an RSA public key PEM (as `openssl pkey -pubout` writes): {0}")]
    BadRsaPublicKeyPem(String),
    /// The text is a PEM of another kind of key than the one asked for: an RSA key given as
    /// an Ed25519 one, a private key given as a public one.
    #[error(
        "expected an {expected} public key PEM (as `openssl pkey -pubout` writes), found {found}"
    )]
    WrongKeyType {
        /// The kind of key asked for: `Ed25519` or `RSA`.
        expected: &'static str,
        /// What the PEM holds, e.g. `an RSA public key` or `a PEM labelled "PRIVATE KEY"`.
        found: String,
    },
    /// An HMAC secret must not be empty.
    #[error("the HMAC secret for {0:?} is empty")]
    EmptySecret(String),
}

/// Whether `api_key` has the format of an API key: 1 to 64 ASCII letters and digits.
/// Anything else is answered with -2014 "API-key format invalid." before any lookup.
pub fn is_well_formed_api_key(api_key: &str) -> bool {
    (1..=64).contains(&api_key.len()) && api_key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The kinds of key a PEM file may hold, as [`KeyError::WrongKeyType`] names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Ed25519,
    Rsa,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Rsa => "RSA",
        }
    }
}

/// What `pem` holds, when it is a well-formed PEM but not a public key of kind `expected`:
/// the words to tell the user so. `None` when it is of that kind (or not PEM at all), so that
/// the parser's own error is the better one.
fn other_key_kind(pem: &str, expected: KeyKind) -> Option<String> {
    use rsa::pkcs8::der::pem;
    use rsa::pkcs8::SubjectPublicKeyInfoRef;

    let (label, der) = pem::decode_vec(pem.trim().as_bytes()).ok()?;
    if label != "PUBLIC KEY" {
        return Some(if label.contains("PRIVATE KEY") {
            format!("a private key (PEM labelled {label:?}): give its public key, `openssl pkey -in KEY -pubout`")
        } else {
            format!("a PEM labelled {label:?}")
        });
    }
    let spki = SubjectPublicKeyInfoRef::try_from(der.as_slice()).ok()?;
    let oid = spki.algorithm.oid.to_string();
    let found = match oid.as_str() {
        "1.3.101.112" => KeyKind::Ed25519,
        "1.2.840.113549.1.1.1" => KeyKind::Rsa,
        "1.2.840.10045.2.1" => return Some("an EC (ECDSA) public key".to_owned()),
        "1.3.101.110" => return Some("an X25519 public key".to_owned()),
        "1.3.101.113" => return Some("an Ed448 public key".to_owned()),
        _ => return Some(format!("a public key of algorithm OID {oid}")),
    };
    (found != expected).then(|| format!("an {} public key", found.name()))
}

/// Parses an Ed25519 public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
///
/// # Errors
/// [`KeyError::WrongKeyType`] when the PEM holds another kind of key (an RSA public key, a
/// private key), [`KeyError::BadPublicKeyPem`] when the text is not such a key otherwise.
pub fn ed25519_public_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    public_key_from_pem(
        pem,
        KeyKind::Ed25519,
        VerifyingKey::from_public_key_pem,
        KeyError::BadPublicKeyPem,
    )
}

/// Parses an RSA public key from SPKI PEM (`-----BEGIN PUBLIC KEY-----`), as
/// `openssl pkey -pubout` writes it.
///
/// # Errors
/// [`KeyError::WrongKeyType`] when the PEM holds another kind of key (an Ed25519 public key,
/// a private key), [`KeyError::BadRsaPublicKeyPem`] when the text is not such a key otherwise.
pub fn rsa_public_key_from_pem(pem: &str) -> Result<RsaPublicKey, KeyError> {
    public_key_from_pem(
        pem,
        KeyKind::Rsa,
        RsaPublicKey::from_public_key_pem,
        KeyError::BadRsaPublicKeyPem,
    )
}

/// Parses a public key of `kind` with `parse`; a failure names the kind of key found instead,
/// when it is another, or else says why through `malformed`.
fn public_key_from_pem<K, E: std::fmt::Display>(
    pem: &str,
    kind: KeyKind,
    parse: impl Fn(&str) -> Result<K, E>,
    malformed: impl Fn(String) -> KeyError,
) -> Result<K, KeyError> {
    parse(pem.trim()).map_err(|e| match other_key_kind(pem, kind) {
        Some(found) => KeyError::WrongKeyType {
            expected: kind.name(),
            found,
        },
        None => malformed(e.to_string()),
    })
}

/// API keys, their verification material, permissions and accounts.
#[derive(Debug)]
pub struct KeyRegistry {
    keys: foldhash::HashMap<String, RegisteredKey>,
    /// See [`revision`](Self::revision).
    revision: u64,
}

/// The source of [`KeyRegistry::revision`]s: a number is never given twice in a process.
static REVISIONS: AtomicU64 = AtomicU64::new(1);

fn next_revision() -> u64 {
    REVISIONS.fetch_add(1, Ordering::Relaxed)
}

impl Default for KeyRegistry {
    fn default() -> Self {
        KeyRegistry {
            keys: foldhash::HashMap::default(),
            revision: next_revision(),
        }
    }
}

impl Clone for KeyRegistry {
    /// A copy with a revision of its own: the copy and the original change apart.
    fn clone(&self) -> Self {
        KeyRegistry {
            keys: self.keys.clone(),
            revision: next_revision(),
        }
    }
}

impl KeyRegistry {
    /// A number that this registry changes whenever a key is added or removed, and that no
    /// other registry has: a session that saw its key here at some revision still has it
    /// while the revision is the same, so the check of its key on each request can be
    /// skipped until the revision moves (spec §4.7).
    pub fn revision(&self) -> u64 {
        self.revision
    }

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

    /// Registers the [`demo`] key, with every permission (`USER_DATA`, `USER_STREAM` and
    /// `TRADE`, so that a client can trade with it at once), unless a key of its name is
    /// registered already: a key given under the demo key's name replaces the demo key, never
    /// the reverse.
    pub fn add_demo_key(&mut self) {
        if self.keys.contains_key(demo::API_KEY) {
            return;
        }
        if let Ok(key) = ed25519_public_key_from_pem(demo::PUBLIC_KEY_PEM) {
            if let Ok(demo) = self.insert(demo::API_KEY, KeyMaterial::Ed25519(key)) {
                demo.permissions = Permissions::ALL;
            }
        }
    }

    /// Registers an Ed25519 key with the default permissions, replacing any key of that name.
    ///
    /// # Errors
    /// [`KeyError::BadApiKey`] when `api_key` is not of the API key format.
    pub fn insert_ed25519(&mut self, api_key: &str, key: VerifyingKey) -> Result<(), KeyError> {
        self.insert(api_key, KeyMaterial::Ed25519(key)).map(drop)
    }

    /// Registers an HMAC-SHA256 key with the default permissions, replacing any key of that name.
    ///
    /// # Errors
    /// [`KeyError::BadApiKey`] for a malformed name, [`KeyError::EmptySecret`] for an empty secret.
    pub fn insert_hmac(
        &mut self,
        api_key: &str,
        secret: impl Into<Vec<u8>>,
    ) -> Result<(), KeyError> {
        self.insert(api_key, KeyMaterial::Hmac(secret.into()))
            .map(drop)
    }

    /// Registers a key of any type with the default permissions and its own account,
    /// replacing any key of that name; returns it so that its permissions and account can be
    /// changed.
    ///
    /// # Errors
    /// [`KeyError::BadApiKey`] for a malformed name, [`KeyError::EmptySecret`] for an empty
    /// HMAC secret.
    pub fn insert(
        &mut self,
        api_key: &str,
        material: KeyMaterial,
    ) -> Result<&mut RegisteredKey, KeyError> {
        if !is_well_formed_api_key(api_key) {
            return Err(KeyError::BadApiKey(api_key.to_owned()));
        }
        if matches!(&material, KeyMaterial::Hmac(secret) if secret.is_empty()) {
            return Err(KeyError::EmptySecret(api_key.to_owned()));
        }
        let key = RegisteredKey {
            material,
            permissions: Permissions::default(),
            account: api_key.to_owned(),
        };
        self.revision = next_revision();
        Ok(match self.keys.entry(api_key.to_owned()) {
            Entry::Occupied(mut entry) => {
                entry.insert(key);
                entry.into_mut()
            }
            Entry::Vacant(entry) => entry.insert(key),
        })
    }

    /// The key registered as `api_key`.
    pub fn get(&self, api_key: &str) -> Option<&RegisteredKey> {
        self.keys.get(api_key)
    }

    /// The key registered as `api_key`, with the registry's own copy of the name (which
    /// lives as long as the registry is borrowed, not as long as the text it was found by).
    pub(crate) fn get_entry(&self, api_key: &str) -> Option<(&str, &RegisteredKey)> {
        self.keys
            .get_key_value(api_key)
            .map(|(name, key)| (name.as_str(), key))
    }

    /// The key registered as `api_key`, to change its permissions or account.
    pub fn get_mut(&mut self, api_key: &str) -> Option<&mut RegisteredKey> {
        self.keys.get_mut(api_key)
    }

    /// Removes `api_key`, returning whether it was registered. Sessions logged on with it
    /// are revoked on their next request (spec §4.7).
    pub fn remove(&mut self, api_key: &str) -> bool {
        self.revision = next_revision();
        self.keys.remove(api_key).is_some()
    }

    /// Every registered key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RegisteredKey)> {
        self.keys.iter().map(|(name, key)| (name.as_str(), key))
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
    fn the_revision_moves_with_every_key_added_or_removed_and_is_a_copy_s_own() {
        let mut keys = KeyRegistry::with_demo_key();
        let before = keys.revision();
        assert_ne!(before, 0, "0 means never checked");
        let copy = keys.clone();
        assert_ne!(
            copy.revision(),
            before,
            "a copy changes apart from its original"
        );
        assert_ne!(KeyRegistry::new().revision(), KeyRegistry::new().revision());
        keys.remove(demo::API_KEY);
        let removed = keys.revision();
        assert_ne!(removed, before);
        keys.add_demo_key();
        assert_ne!(keys.revision(), removed);
        let same = keys.revision();
        assert!(keys.get(demo::API_KEY).is_some());
        assert_eq!(keys.revision(), same, "reading changes nothing");
    }

    #[test]
    fn demo_key_parses_and_is_well_formed() {
        assert!(is_well_formed_api_key(demo::API_KEY));
        assert_eq!(demo::API_KEY.len(), 64);
        let keys = KeyRegistry::with_demo_key();
        let demo = keys.get(demo::API_KEY).expect("registered");
        assert!(matches!(demo.material, KeyMaterial::Ed25519(_)));
        assert_eq!(demo.account, demo::API_KEY);
        assert_eq!(demo.permissions, Permissions::ALL);
    }

    #[test]
    fn permissions_read_binance_names() {
        assert_eq!(
            Permissions::from_names(["USER_DATA", "TRADE", "USER_STREAM"]),
            Ok(Permissions::ALL)
        );
        assert_eq!(Permissions::from_names(["READ"]), Err("READ".to_owned()));
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

    #[test]
    fn a_key_of_the_wrong_type_names_what_was_expected_and_what_was_found() {
        let rsa = include_str!("../tests/keys/rsa-test-public.pem");
        assert_eq!(
            ed25519_public_key_from_pem(rsa),
            Err(KeyError::WrongKeyType {
                expected: "Ed25519",
                found: "an RSA public key".to_owned()
            })
        );
        assert_eq!(
            rsa_public_key_from_pem(demo::PUBLIC_KEY_PEM).map(drop),
            Err(KeyError::WrongKeyType {
                expected: "RSA",
                found: "an Ed25519 public key".to_owned()
            })
        );
        let Err(private) = ed25519_public_key_from_pem(demo::PRIVATE_KEY_PEM) else {
            panic!("a private key is not a public key");
        };
        let message = private.to_string();
        assert!(
            message.contains("expected an Ed25519 public key"),
            "{message}"
        );
        assert!(message.contains("found a private key"), "{message}");
        assert!(rsa_public_key_from_pem(rsa).is_ok());
    }

    #[test]
    fn a_key_under_the_demo_name_is_kept_when_the_demo_key_is_added() {
        let mut keys = KeyRegistry::new();
        keys.insert_hmac(demo::API_KEY, "mine").expect("registers");
        keys.add_demo_key();
        let key = keys.get(demo::API_KEY).expect("registered");
        assert_eq!(key.material, KeyMaterial::Hmac(b"mine".to_vec()));
    }
}
