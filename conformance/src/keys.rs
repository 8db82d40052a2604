//! The keys the harness signs with (spec §3.2), and the keys a target is expected to know.

pub use test_support::signer::{KeyError, KeyPair};

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
}
