//! Signing as the docs prescribe (spec §3.2), on raw text: the payload is built from params
//! as sent (name and raw JSON text), sorted by name, `name=value` joined with `&`, string
//! values unescaped, nothing percent-encoded; Ed25519 and RSA signatures are base64, HMAC
//! ones lowercase hex. Any text can be signed, so a test can sign a payload other than the
//! one it sends and provoke -1022.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rsa::signature::SignatureEncoding as _;
use sha2::Sha256;

/// An API key and the secret that signs for it: Ed25519 (the only type that may
/// `session.logon`, spec §4.2), HMAC-SHA256 or RSA (PKCS#1 v1.5, SHA-256).
#[derive(Clone)]
pub struct KeyPair {
    api_key: String,
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    Ed25519(Box<SigningKey>),
    Hmac(Vec<u8>),
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
}

/// Why a private key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a private key in PKCS#8 PEM form (as `openssl genpkey` writes): {0}")]
pub struct KeyError(String);

impl KeyPair {
    /// An Ed25519 key whose private key is the 32-byte `seed`: reproducible test keys.
    pub fn ed25519_from_seed(api_key: &str, seed: [u8; 32]) -> KeyPair {
        KeyPair::ed25519(api_key, SigningKey::from_bytes(&seed))
    }

    /// An Ed25519 key with this private key.
    pub fn ed25519(api_key: &str, key: SigningKey) -> KeyPair {
        KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Ed25519(Box::new(key)),
        }
    }

    /// An Ed25519 key from a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`KeyError`] when the text is not such a key.
    pub fn ed25519_from_pem(api_key: &str, pem: &str) -> Result<KeyPair, KeyError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError(e.to_string()))?;
        Ok(KeyPair::ed25519(api_key, key))
    }

    /// An HMAC-SHA256 key: it signs requests, but cannot `session.logon`.
    pub fn hmac(api_key: &str, secret: &str) -> KeyPair {
        KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Hmac(secret.as_bytes().to_vec()),
        }
    }

    /// An RSA key from a PKCS#8 PEM private key: it signs requests, but cannot log on.
    ///
    /// # Errors
    /// [`KeyError`] when the text is not such a key.
    pub fn rsa_from_pem(api_key: &str, pem: &str) -> Result<KeyPair, KeyError> {
        let key =
            rsa::RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError(e.to_string()))?;
        Ok(KeyPair {
            api_key: api_key.to_owned(),
            secret: Secret::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key))),
        })
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The public key to register on a server, for an Ed25519 key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        match &self.secret {
            Secret::Ed25519(key) => Some(key.verifying_key()),
            Secret::Hmac(_) | Secret::Rsa(_) => None,
        }
    }

    /// The HMAC secret, for an HMAC key.
    pub fn hmac_secret(&self) -> Option<&[u8]> {
        match &self.secret {
            Secret::Hmac(secret) => Some(secret),
            Secret::Ed25519(_) | Secret::Rsa(_) => None,
        }
    }

    /// Whether this is an Ed25519 key.
    pub fn is_ed25519(&self) -> bool {
        matches!(self.secret, Secret::Ed25519(_))
    }

    /// The signature of `payload` as the API expects it: base64 for Ed25519 and RSA,
    /// lowercase hex for HMAC (spec §3.2). Any text: sign a payload other than the one sent
    /// to provoke -1022.
    pub fn sign(&self, payload: &str) -> String {
        match &self.secret {
            Secret::Ed25519(key) => BASE64.encode(key.sign(payload.as_bytes()).to_bytes()),
            Secret::Hmac(secret) => hmac_sha256_hex(secret, payload),
            Secret::Rsa(key) => BASE64.encode(key.sign(payload.as_bytes()).to_bytes()),
        }
    }

    /// `signature` with the byte at `index` (modulo the length) XORed with `xor` (never 0),
    /// re-encoded the same way: one changed byte of the signature itself, not of its text.
    pub fn tamper(&self, signature: &str, index: usize, xor: u8) -> String {
        let hex = matches!(self.secret, Secret::Hmac(_));
        let decoded = if hex {
            hex::decode(signature).ok()
        } else {
            BASE64.decode(signature).ok()
        };
        let Some(mut bytes) = decoded.filter(|b| !b.is_empty()) else {
            return format!("{signature}x");
        };
        let at = index % bytes.len();
        bytes[at] ^= xor.max(1);
        if hex {
            hex::encode(bytes)
        } else {
            BASE64.encode(bytes)
        }
    }

    /// A `params` object: `params` (name and raw JSON text, in the order given), then
    /// `"signature"` over their documented [`payload`].
    pub fn signed_params(&self, params: &[(&str, &str)]) -> String {
        self.params_signed_over(params, &payload(params))
    }

    /// A `params` object: `params`, then `"signature"` over `signed_text`, which need not be
    /// their payload (a tampered payload provokes -1022).
    pub fn params_signed_over(&self, params: &[(&str, &str)], signed_text: &str) -> String {
        params_with_signature(params, &self.sign(signed_text))
    }
}

/// The lowercase hex HMAC-SHA256 of `payload` under `secret` (spec §3.2).
pub fn hmac_sha256_hex(secret: &[u8], payload: &str) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.secret {
            Secret::Ed25519(_) => "Ed25519",
            Secret::Hmac(_) => "HMAC",
            Secret::Rsa(_) => "RSA",
        };
        write!(f, "KeyPair({kind} {})", self.api_key)
    }
}

/// The signature payload the docs prescribe (spec §3.2) for params given as (name, raw JSON
/// text): every param but `signature`, sorted by name, `name=value` joined with `&`, a JSON
/// string as its unescaped text, any other value as its JSON text, nothing percent-encoded.
pub fn payload<N: AsRef<str>, J: AsRef<str>>(params: &[(N, J)]) -> String {
    let mut fields: Vec<(&str, String)> = params
        .iter()
        .map(|(name, json)| (name.as_ref(), json.as_ref()))
        .filter(|(name, _)| *name != "signature")
        .map(|(name, json)| {
            let text = match serde_json::from_str::<serde_json::Value>(json) {
                Ok(serde_json::Value::String(s)) => s,
                _ => json.to_owned(),
            };
            (name, text)
        })
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields
        .iter()
        .map(|(name, text)| format!("{name}={text}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A `params` object holding `params` (name and raw JSON text, in the order given) and then
/// `"signature": signature`.
pub fn params_with_signature(params: &[(&str, &str)], signature: &str) -> String {
    let mut members: Vec<String> = params
        .iter()
        .map(|(name, json)| format!("\"{name}\":{json}"))
        .collect();
    members.push(format!(
        "\"signature\":{}",
        serde_json::Value::from(signature)
    ));
    format!("{{{}}}", members.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_of_the_docs_example_is_sorted_unescaped_and_skips_the_signature() {
        let params = [
            ("timestamp", "1649729878532"),
            ("signature", "\"x\""),
            (
                "apiKey",
                "\"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\"",
            ),
            ("note", "\"a&b=ü\""),
        ];
        assert_eq!(
            payload(&params),
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\
             &note=a&b=ü&timestamp=1649729878532"
        );
    }

    #[test]
    fn hmac_signatures_match_the_docs_example() {
        // Spec §3.2's HMAC example: the secret, the payload and the signature it shows.
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let payload = "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\
                       &price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL\
                       &symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT";
        assert_eq!(
            KeyPair::hmac("k", secret).sign(payload),
            "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
        );
    }

    #[test]
    fn tampering_changes_exactly_one_byte_and_keeps_the_encoding() {
        let key = KeyPair::ed25519_from_seed("k", [7; 32]);
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

    #[test]
    fn signed_params_carry_the_signature_of_their_payload_or_of_the_text_given() {
        let key = KeyPair::ed25519_from_seed("k", [1; 32]);
        let params = [("apiKey", "\"k\""), ("timestamp", "5")];
        let signature = key.sign("apiKey=k&timestamp=5");
        assert_eq!(
            key.signed_params(&params),
            format!(r#"{{"apiKey":"k","timestamp":5,"signature":"{signature}"}}"#)
        );
        let other = key.sign("apiKey=k&timestamp=6");
        assert_eq!(
            key.params_signed_over(&params, "apiKey=k&timestamp=6"),
            format!(r#"{{"apiKey":"k","timestamp":5,"signature":"{other}"}}"#)
        );
    }
}
