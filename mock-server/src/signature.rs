//! Signature payloads and verification (spec §3.2).
//!
//! The payload is every param except `signature`, sorted by name, joined as `name=value`
//! with `&`, values as raw UTF-8: Binance verifies over that payload and nothing else, and
//! answers a signature over a percent-encoded one with -1022, so by default (`strict`) that is
//! all the mock accepts. Connectors have encoded values (JS `encodeURIComponent`, Rust
//! `form_urlencoded`, Python `urlencode`); with lenient signing a signature over any of those
//! payloads is accepted too (docs/FIDELITY.md §10.13).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::Signature;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rsa::signature::Verifier as _;
use sha2::Sha256;

use crate::envelope::Params;
use crate::error::ApiError;
use crate::keys::KeyMaterial;

/// What JavaScript's `encodeURIComponent` leaves alone.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What Python's `urllib.parse.quote_plus` leaves alone (besides the space, which becomes `+`).
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b' ');

/// How values are written into a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// UTF-8 as is: what the docs prescribe.
    Raw,
    /// `encodeURIComponent` (binance-connector-js).
    UriComponent,
    /// `application/x-www-form-urlencoded` (binance-connector-rust's `form_urlencoded`).
    FormUrlencoded,
    /// `quote_plus` (binance-connector-python's `urlencode`).
    QuotePlus,
}

impl Encoding {
    const ALL: [Encoding; 4] = [
        Encoding::Raw,
        Encoding::UriComponent,
        Encoding::FormUrlencoded,
        Encoding::QuotePlus,
    ];

    fn push(self, out: &mut String, text: &str) {
        match self {
            Encoding::Raw => out.push_str(text),
            Encoding::UriComponent => out.extend(utf8_percent_encode(text, URI_COMPONENT)),
            Encoding::FormUrlencoded => {
                out.extend(form_urlencoded::byte_serialize(text.as_bytes()))
            }
            Encoding::QuotePlus => {
                for piece in utf8_percent_encode(text, QUOTE_PLUS) {
                    out.push_str(&piece.replace(' ', "+"));
                }
            }
        }
    }
}

fn payload(params: &Params<'_>, encoding: Encoding) -> String {
    let mut fields: Vec<(&str, &str)> = params
        .iter()
        .filter(|(name, _)| *name != "signature")
        .map(|(name, value)| (name, value.text()))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encoding.push(&mut out, name);
        out.push('=');
        encoding.push(&mut out, value);
    }
    out
}

/// The payload as the docs prescribe it: values as raw UTF-8.
pub(crate) fn raw_payload(params: &Params<'_>) -> String {
    payload(params, Encoding::Raw)
}

/// The payloads a signature may cover: the raw one first, then (unless `strict`) each
/// distinct percent-encoded variant.
pub(crate) fn candidate_payloads(params: &Params<'_>, strict: bool) -> Vec<String> {
    let mut payloads = vec![raw_payload(params)];
    if !strict {
        for encoding in &Encoding::ALL[1..] {
            let encoded = payload(params, *encoding);
            if !payloads.contains(&encoded) {
                payloads.push(encoded);
            }
        }
    }
    payloads
}

/// Checks `signature` over `params` with `key`.
///
/// # Errors
/// [`ApiError::InvalidSignature`] when the signature is malformed or matches no payload.
pub(crate) fn verify(
    params: &Params<'_>,
    signature: &str,
    key: &KeyMaterial,
    strict: bool,
) -> Result<(), ApiError> {
    verify_payloads(&candidate_payloads(params, strict), signature, key)
}

/// Checks `signature` with `key` over any of `payloads`.
///
/// # Errors
/// [`ApiError::InvalidSignature`] when the signature is malformed or matches no payload.
pub(crate) fn verify_payloads(
    payloads: &[String],
    signature: &str,
    key: &KeyMaterial,
) -> Result<(), ApiError> {
    let valid = match key {
        KeyMaterial::Ed25519(public) => {
            let bytes = BASE64
                .decode(signature)
                .map_err(|_| ApiError::InvalidSignature)?;
            let signature =
                Signature::from_slice(&bytes).map_err(|_| ApiError::InvalidSignature)?;
            payloads
                .iter()
                .any(|p| public.verify_strict(p.as_bytes(), &signature).is_ok())
        }
        KeyMaterial::Rsa(public) => {
            let bytes = BASE64
                .decode(signature)
                .map_err(|_| ApiError::InvalidSignature)?;
            let signature = rsa::pkcs1v15::Signature::try_from(bytes.as_slice())
                .map_err(|_| ApiError::InvalidSignature)?;
            let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public.clone());
            payloads
                .iter()
                .any(|p| verifier.verify(p.as_bytes(), &signature).is_ok())
        }
        KeyMaterial::Hmac(secret) => {
            let expected = hex::decode(signature).map_err(|_| ApiError::InvalidSignature)?;
            payloads.iter().any(|p| {
                Hmac::<Sha256>::new_from_slice(secret)
                    .map(|mac| {
                        mac.chain_update(p.as_bytes())
                            .verify_slice(&expected)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
        }
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::InvalidSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// The HMAC example of the API docs (spec §3.2).
    #[test]
    fn docs_hmac_vector_verifies() {
        let params = Params::from_pairs(&[
            ("symbol", "BTCUSDT"),
            ("side", "SELL"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.01000000"),
            ("price", "52000.00"),
            ("recvWindow", "100"),
            ("timestamp", "1645423376532"),
            (
                "apiKey",
                "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            ),
            ("signature", "ignored"),
        ]);
        assert_eq!(
            payload(&params, Encoding::Raw),
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00&\
             quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&\
             timestamp=1645423376532&type=LIMIT"
        );
        let key = KeyMaterial::Hmac(
            b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_vec(),
        );
        let sig = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24";
        assert_eq!(verify(&params, sig, &key, true), Ok(()));
        assert_eq!(verify(&params, &sig.to_uppercase(), &key, true), Ok(()));
        assert_eq!(
            verify(&params, &sig.replace('a', "b"), &key, true),
            Err(ApiError::InvalidSignature)
        );
    }

    #[test]
    fn encodings_differ_where_the_connectors_do() {
        let params = Params::from_pairs(&[("a", "x y,z~*é")]);
        let all: Vec<String> = Encoding::ALL.iter().map(|e| payload(&params, *e)).collect();
        assert_eq!(
            all,
            [
                "a=x y,z~*é",
                "a=x%20y%2Cz~*%C3%A9",
                "a=x+y%2Cz%7E*%C3%A9",
                "a=x+y%2Cz~%2A%C3%A9",
            ]
        );
    }

    /// The API docs' own non-ASCII example signs the characters raw: a signature over the
    /// percent-encoded payload is what production answers with -1022.
    #[test]
    fn a_non_ascii_value_is_signed_raw_and_its_percent_encoded_signature_is_refused_by_default() {
        let signing = SigningKey::from_bytes(&[5; 32]);
        let key = KeyMaterial::Ed25519(signing.verifying_key());
        let params = Params::from_pairs(&[("apiKey", "k"), ("newClientOrderId", "注文1")]);
        let strict_by_default = !crate::Config::default().lenient_signing;
        let raw = BASE64.encode(
            signing
                .sign("apiKey=k&newClientOrderId=注文1".as_bytes())
                .to_bytes(),
        );
        let encoded = BASE64.encode(
            signing
                .sign(b"apiKey=k&newClientOrderId=%E6%B3%A8%E6%96%871")
                .to_bytes(),
        );
        assert_eq!(verify(&params, &raw, &key, strict_by_default), Ok(()));
        assert_eq!(
            verify(&params, &encoded, &key, strict_by_default),
            Err(ApiError::InvalidSignature)
        );
        assert_eq!(verify(&params, &encoded, &key, false), Ok(()));
    }

    #[test]
    fn percent_encoded_signatures_pass_unless_strict() {
        let signing = SigningKey::from_bytes(&[7; 32]);
        let key = KeyMaterial::Ed25519(signing.verifying_key());
        let params = Params::from_pairs(&[("apiKey", "k"), ("note", "a b")]);
        let encoded = BASE64.encode(signing.sign(b"apiKey=k&note=a%20b").to_bytes());
        let raw = BASE64.encode(signing.sign(b"apiKey=k&note=a b").to_bytes());
        assert_eq!(verify(&params, &raw, &key, true), Ok(()));
        assert_eq!(verify(&params, &encoded, &key, false), Ok(()));
        assert_eq!(
            verify(&params, &encoded, &key, true),
            Err(ApiError::InvalidSignature)
        );
        assert_eq!(
            verify(&params, "not base64!", &key, false),
            Err(ApiError::InvalidSignature)
        );
    }

    /// Spec §3.2: every param is signed, whatever its text; each key type verifies the raw
    /// payload, and each connector's percent-encoded payload unless signing is strict.
    #[test]
    fn special_characters_are_signed_with_every_key_type_and_encoding() {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::signature::{SignatureEncoding as _, Signer as _};

        let params = Params::from_pairs(&[
            ("apiKey", "k"),
            ("note", "a b@c+d,e\"f\" ünï 漢"),
            ("timestamp", "1700000000000"),
        ]);
        let ed25519 = SigningKey::from_bytes(&[9; 32]);
        let rsa_private =
            rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("../tests/keys/rsa-test-private.pem"))
                .expect("the test key parses");
        let rsa_signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(rsa_private.clone());
        let secret = b"hmac-secret".to_vec();
        type Sign = Box<dyn Fn(&str) -> String>;
        let keys: [(KeyMaterial, Sign); 3] = [
            (
                KeyMaterial::Ed25519(ed25519.verifying_key()),
                Box::new(move |p: &str| BASE64.encode(ed25519.sign(p.as_bytes()).to_bytes())),
            ),
            (
                KeyMaterial::Rsa(rsa_private.to_public_key()),
                Box::new(move |p: &str| BASE64.encode(rsa_signer.sign(p.as_bytes()).to_bytes())),
            ),
            (
                KeyMaterial::Hmac(secret.clone()),
                Box::new(move |p: &str| {
                    let mac = Hmac::<Sha256>::new_from_slice(&secret).expect("any length");
                    hex::encode(mac.chain_update(p.as_bytes()).finalize().into_bytes())
                }),
            ),
        ];
        for (key, sign) in &keys {
            for encoding in Encoding::ALL {
                let signature = sign(&payload(&params, encoding));
                assert_eq!(
                    verify(&params, &signature, key, false),
                    Ok(()),
                    "{key:?} {encoding:?}"
                );
                let strict = verify(&params, &signature, key, true);
                if encoding == Encoding::Raw {
                    assert_eq!(strict, Ok(()), "{key:?}");
                } else {
                    assert_eq!(
                        strict,
                        Err(ApiError::InvalidSignature),
                        "{key:?} {encoding:?}"
                    );
                }
            }
            // Any other text is a bad signature.
            let other = Params::from_pairs(&[
                ("apiKey", "k"),
                ("note", "a b@c+d,e\"f\" ünï 漢!"),
                ("timestamp", "1700000000000"),
            ]);
            let signature = sign(&payload(&params, Encoding::Raw));
            assert_eq!(
                verify(&other, &signature, key, false),
                Err(ApiError::InvalidSignature)
            );
        }
    }
}
