//! What the mock's tests, the conformance harness and the benches share, one copy each:
//!
//! - [`signer`]: the documented signature payload, signed with Ed25519, HMAC-SHA256 or RSA,
//!   over any text (a tampered payload too);
//! - [`wire`]: a raw client, WebSocket text frames in and out with a timeout on every wait,
//!   and the raw HTTP upgrade that returns a refused handshake's exact status, head and body;
//! - [`envelope`]: the documented envelope rule every reply is checked against;
//! - [`errors`]: the golden table of every error reply (status, code, message template);
//! - [`recv_window`]: `recvWindow` parsed from its documented legal range;
//! - [`strategy`]: the shared proptest strategies;
//! - [`shapes`]: the documented member order of the market replies.
//!
//! It does not depend on `mock-server`: the mock's own tests use it, and the harness derives
//! its rules from the spec and the golden table, never from the mock's code.
//!
//! ```
//! use test_support::signer::KeyPair;
//!
//! let key = KeyPair::hmac("k", "secret");
//! let params = key.signed_params(&[("apiKey", "\"k\""), ("timestamp", "1")]);
//! assert!(params.starts_with(r#"{"apiKey":"k","timestamp":1,"signature":""#));
//! assert!(test_support::errors::find(-1022, "Signature for this request is not valid.").is_some());
//! ```

pub mod envelope;
pub mod errors;
pub mod recv_window;
pub mod shapes;
pub mod signer;
pub mod strategy;
pub mod wire;
