//! Property tests on the pure core (`mock_server::sans_io`): whatever text arrives, the reply
//! is a well-formed envelope and the connection still answers a `ping` afterwards. No socket,
//! so hundreds of cases take well under a second.
//!
//! Arbitrary text almost never carries a valid signature, so one property sends sequences of
//! validly signed requests (fixed-seed Ed25519 keys, the payload signed as the docs say) with
//! some timestamps, keys and signatures off, and checks that the run reached the code behind
//! the signature check: successes, timing, permissions and subscriptions.

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use common::TestKey;
use mock_server::socketless::{Connection, Server, Transmit};
use mock_server::{demo, Config, ConnectionOptions, KeyRegistry, Permissions, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value};
use test_support::errors as golden;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const PING: &str = r#"{"id":"after","method":"ping","params":{"returnRateLimits":false}}"#;
const PING_REPLY: &str = r#"{"id":"after","status":200,"result":{}}"#;

fn open() -> (Server, Connection) {
    open_on(KeyRegistry::with_demo_key())
}

/// A default server with `keys`, and one connection opened on it at `NOW`.
fn open_on(keys: KeyRegistry) -> (Server, Connection) {
    let mut server = Server::new(&Config::default(), keys);
    let connection = Connection::open(
        &mut server,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        NOW,
        ConnectionOptions::default(),
    );
    (server, connection)
}

/// Fails unless `reply` is one well-formed envelope by the documented rule (spec §2.2, §2.3).
fn check_envelope(input: &str, reply: &str) -> Result<(), TestCaseError> {
    test_support::envelope::check(reply)
        .map(drop)
        .map_err(|e| TestCaseError::fail(format!("reply to {input:?}: {e}")))
}

/// Feeds `input` then a `ping` to a fresh connection and checks both replies.
fn feed(input: &str) -> Result<(), TestCaseError> {
    let (mut server, mut connection) = open();
    let reply = connection
        .reply_to(input, NOW, &mut server)
        .expect("a reply");
    check_envelope(input, &reply)?;
    let after = connection
        .reply_to(PING, NOW, &mut server)
        .expect("a reply");
    prop_assert_eq!(after, PING_REPLY, "after {:?}", input);
    Ok(())
}

/// Names that make the generated JSON hit the interesting paths, mixed with arbitrary ones.
fn name() -> BoxedStrategy<String> {
    prop_oneof![
        Just("id".to_owned()),
        Just("method".to_owned()),
        Just("params".to_owned()),
        test_support::strategy::param_name(),
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just("ping".to_owned()),
        Just("time".to_owned()),
        Just("session.logon".to_owned()),
        Just("session.status".to_owned()),
        Just("v3/session.logout".to_owned()),
        Just(demo::API_KEY.to_owned()),
        Just("1700000000000".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        "[a-zA-Z0-9_-]{0,40}",
        ".{0,12}",
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    test_support::strategy::json_value_from(text(), name())
}

/// Request-shaped objects: each envelope member present or not, with plausible or
/// arbitrary values.
fn request_like() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9_-]{0,40}".prop_map(Value::String),
        json_value(),
    ];
    let method = prop_oneof![text().prop_map(Value::String), json_value()];
    let params = prop_oneof![
        prop::collection::vec((name(), json_value()), 0..6)
            .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        json_value(),
    ];
    (
        prop::option::of(id),
        prop::option::of(method),
        prop::option::of(params),
    )
        .prop_map(|(id, method, params)| {
            let mut request = Map::new();
            if let Some(id) = id {
                request.insert("id".to_owned(), id);
            }
            if let Some(method) = method {
                request.insert("method".to_owned(), method);
            }
            if let Some(params) = params {
                request.insert("params".to_owned(), params);
            }
            Value::Object(request).to_string()
        })
}

/// Valid requests with a slice cut out, or bytes spliced in: nearly-JSON text.
fn damaged_request() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        Just(r#"{"id":1,"method":"ping","params":{}}"#.to_owned()),
        Just(format!(
            r#"{{"id":"x","method":"session.logon","params":{{"apiKey":"{}","signature":"c2ln","timestamp":1700000000000,"recvWindow":6000.5}}}}"#,
            demo::API_KEY
        )),
    ];
    (base, any::<prop::sample::Index>(), 0usize..8, ".{0,4}").prop_map(|(base, at, cut, splice)| {
        let chars: Vec<char> = base.chars().collect();
        let start = at.index(chars.len());
        let end = (start + cut).min(chars.len());
        let mut damaged: String = chars[..start].iter().collect();
        damaged.push_str(&splice);
        damaged.extend(&chars[end..]);
        damaged
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_gets_a_well_formed_reply_and_ping_still_works(input in ".{0,64}") {
        feed(&input)?;
    }

    #[test]
    fn arbitrary_json_gets_a_well_formed_reply_and_ping_still_works(value in json_value()) {
        feed(&value.to_string())?;
    }

    #[test]
    fn request_shaped_json_gets_a_well_formed_reply_and_ping_still_works(input in request_like()) {
        feed(&input)?;
    }

    #[test]
    fn damaged_requests_get_a_well_formed_reply_and_ping_still_works(input in damaged_request()) {
        feed(&input)?;
    }

    #[test]
    fn every_valid_id_is_echoed_exactly(id in test_support::strategy::valid_id()) {
        let (mut server, mut connection) = open();
        let request = format!(r#"{{"id":{id},"method":"ping","params":{{"returnRateLimits":false}}}}"#);
        let reply = connection.reply_to(&request, NOW, &mut server).expect("a reply");
        prop_assert_eq!(reply, format!(r#"{{"id":{id},"status":200,"result":{{}}}}"#));
    }
}

#[test]
fn binary_frames_get_a_well_formed_reply_and_ping_still_works() {
    let (mut server, mut connection) = open();
    connection.handle_binary();
    assert_eq!(
        connection.poll_transmit(),
        Some(Transmit::Text(
            golden::INVALID_JSON.error().reply("null", "")
        ))
    );
    assert_eq!(connection.poll_transmit(), None);
    assert_eq!(
        connection
            .reply_to(PING, NOW, &mut server)
            .expect("a reply"),
        PING_REPLY
    );
}

// ---------------------------------------------------------------------------------------------
// Validly signed request sequences

/// Who signs a request: keys registered with different permissions, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    /// The demo key: USER_DATA and USER_STREAM.
    Demo,
    /// USER_DATA only: no User Data Stream.
    NoStream,
    /// USER_STREAM only: no account information.
    NoData,
    /// A well-formed key the server does not know.
    Unregistered,
}

impl Signer {
    fn key(self) -> &'static TestKey {
        static KEYS: OnceLock<[TestKey; 4]> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            [
                TestKey::demo(),
                TestKey::from_seed("NoStream", 11),
                TestKey::from_seed("NoData", 12),
                TestKey::from_seed("Unregistered", 13),
            ]
        });
        &keys[self as usize]
    }
}

/// What becomes of a signed request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing {
    /// `apiKey` and a valid `signature` over the sorted params.
    Valid,
    /// As `Valid`, with one character of the signature changed.
    Damaged,
    /// No `apiKey` or `signature`: the session's key, if logged on, signs for it.
    Omitted,
}

/// Methods that take `apiKey`, `timestamp` and `signature`.
const SIGNED: &[&str] = &[
    "session.logon",
    "account.status",
    "account.rateLimits.orders",
    "userDataStream.subscribe.signature",
];

#[derive(Debug, Clone)]
struct Step {
    method: &'static str,
    signer: Signer,
    signing: Signing,
    /// `timestamp` minus the server's time.
    offset_ms: i64,
    recv_window: Option<i64>,
}

impl Step {
    fn text(&self, id: usize) -> String {
        if !SIGNED.contains(&self.method) {
            return format!(r#"{{"id":{id},"method":"{}"}}"#, self.method);
        }
        let key = self.signer.key();
        let api_key = format!("\"{}\"", key.api_key);
        let timestamp = (NOW.as_millis() + self.offset_ms).to_string();
        let recv_window = self.recv_window.map(|w| w.to_string());
        let mut params = vec![("timestamp", timestamp.as_str())];
        if let Some(window) = &recv_window {
            params.push(("recvWindow", window.as_str()));
        }
        let params = match self.signing {
            Signing::Omitted => format!(
                "{{{}}}",
                params
                    .iter()
                    .map(|(name, json)| format!("\"{name}\":{json}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Signing::Valid => {
                params.insert(0, ("apiKey", api_key.as_str()));
                key.signed_params(&params)
            }
            Signing::Damaged => {
                params.insert(0, ("apiKey", api_key.as_str()));
                let valid = key.sign(&common::raw_payload(&params));
                let first = if valid.starts_with('A') { "B" } else { "A" };
                key.params_with_signature(&params, &format!("{first}{}", &valid[1..]))
            }
        };
        format!(
            r#"{{"id":{id},"method":"{}","params":{params}}}"#,
            self.method
        )
    }

    /// The outcome's name in the run's tally: method, signer, and `200` or the error code.
    fn outcome(&self, reply: &Value) -> String {
        let code = match reply.get("error") {
            Some(error) => error["code"].to_string(),
            None => "200".to_owned(),
        };
        if SIGNED.contains(&self.method) && self.signing != Signing::Omitted {
            format!("{} by {:?}: {code}", self.method, self.signer)
        } else {
            format!("{}: {code}", self.method)
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    let method = prop_oneof![
        4 => Just("session.logon"),
        3 => Just("account.status"),
        1 => Just("account.rateLimits.orders"),
        2 => Just("userDataStream.subscribe.signature"),
        2 => Just("userDataStream.subscribe"),
        1 => Just("userDataStream.unsubscribe"),
        1 => Just("session.subscriptions"),
        1 => Just("session.status"),
        1 => Just("session.logout"),
    ];
    let signer = prop_oneof![
        5 => Just(Signer::Demo),
        2 => Just(Signer::NoStream),
        2 => Just(Signer::NoData),
        1 => Just(Signer::Unregistered),
    ];
    let signing = prop_oneof![
        6 => Just(Signing::Valid),
        1 => Just(Signing::Damaged),
        1 => Just(Signing::Omitted),
    ];
    // Mostly inside the default window of 5000 ms, with its edges on both sides (spec §3.3).
    let offset_ms = prop_oneof![
        6 => Just(0_i64),
        1 => Just(-4_999_i64),
        1 => Just(-5_001_i64),
        1 => Just(999_i64),
        1 => Just(1_000_i64),
        1 => -100_000_i64..100_000,
    ];
    let recv_window = prop::option::weighted(
        0.25,
        prop_oneof![
            Just(10_000_i64),
            Just(60_000_i64),
            Just(60_001_i64),
            0_i64..70_000
        ],
    );
    (method, signer, signing, offset_ms, recv_window).prop_map(
        |(method, signer, signing, offset_ms, recv_window)| Step {
            method,
            signer,
            signing,
            offset_ms,
            recv_window,
        },
    )
}

/// A server that knows the demo key and the keys of [`Signer`] but `Unregistered`.
fn open_with_keys() -> (Server, Connection) {
    let mut keys = KeyRegistry::with_demo_key();
    for (signer, permissions) in [
        (Signer::NoStream, ["USER_DATA"]),
        (Signer::NoData, ["USER_STREAM"]),
    ] {
        let key = signer.key();
        keys.insert_ed25519(&key.api_key, key.signing.verifying_key())
            .expect("a well-formed test key");
        keys.get_mut(&key.api_key)
            .expect("just registered")
            .permissions = Permissions::from_names(permissions).expect("known permission names");
    }
    open_on(keys)
}

/// Outcomes the run must reach: without each, the properties did not test the code behind
/// the signature check.
const REQUIRED_OUTCOMES: &[&str] = &[
    // Success, for a logon and for a signed request by its own signature or the session's.
    "session.logon by Demo: 200",
    "account.status by Demo: 200",
    "account.status: 200",
    // Timing: stale or ahead, after a valid signature.
    "session.logon by Demo: -1021",
    "account.status by Demo: -1021",
    // Signatures that do not verify.
    "session.logon by Demo: -1022",
    // Permissions: a valid signature by a key without the request's security type.
    "account.status by NoData: -2015",
    "userDataStream.subscribe.signature by NoStream: -2015",
    "userDataStream.subscribe: -2015",
    // Subscriptions: made, refused as a duplicate, listed, ended.
    "userDataStream.subscribe.signature by Demo: 200",
    "userDataStream.subscribe: 200",
    "userDataStream.subscribe: -2035",
    "session.subscriptions: 200",
    "userDataStream.unsubscribe: 200",
];

#[test]
fn signed_request_sequences_get_well_formed_replies_and_reach_every_outcome() {
    let tally: RefCell<BTreeMap<String, usize>> = RefCell::default();
    // A fixed seed: the tally below is then the same on every run.
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let result = runner.run(&prop::collection::vec(step(), 1..10), |steps| {
        let (mut server, mut connection) = open_with_keys();
        for (id, step) in steps.iter().enumerate() {
            let text = step.text(id);
            let reply = connection
                .reply_to(&text, NOW, &mut server)
                .expect("a reply");
            check_envelope(&text, &reply)?;
            let reply: Value = serde_json::from_str(&reply).expect("checked to be JSON");
            *tally.borrow_mut().entry(step.outcome(&reply)).or_default() += 1;
            while let Some(Transmit::Text(event)) = connection.poll_transmit() {
                let event: Value = serde_json::from_str(&event)
                    .map_err(|e| TestCaseError::fail(format!("event is not JSON ({e})")))?;
                prop_assert!(
                    event.get("event").is_some_and(Value::is_object),
                    "{}",
                    event
                );
            }
        }
        let after = connection
            .reply_to(PING, NOW, &mut server)
            .expect("a reply");
        prop_assert_eq!(after, PING_REPLY, "after {:?}", steps);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let tally = tally.into_inner();
    let missing: Vec<&str> = REQUIRED_OUTCOMES
        .iter()
        .copied()
        .filter(|outcome| !tally.contains_key(*outcome))
        .collect();
    assert!(
        missing.is_empty(),
        "never reached: {missing:?}\nreached: {tally:#?}"
    );
}
