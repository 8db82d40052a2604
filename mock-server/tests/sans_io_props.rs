//! Property tests on the pure core (`mock_server::sans_io`): whatever text arrives, the reply
//! is a well-formed envelope and the connection still answers a `ping` afterwards. No socket,
//! so hundreds of cases take well under a second.

use std::net::{IpAddr, Ipv4Addr};

use mock_server::sans_io::{ConnectionCore, ServerCore};
use mock_server::{demo, Config, ConnectionOptions, KeyRegistry, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Value};

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const PING: &str = r#"{"id":"after","method":"ping","params":{"returnRateLimits":false}}"#;
const PING_REPLY: &str = r#"{"id":"after","status":200,"result":{}}"#;

fn open() -> (ServerCore, ConnectionCore) {
    let mut server = ServerCore::new(&Config::default(), KeyRegistry::with_demo_key());
    let connection = ConnectionCore::open(
        &mut server,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        NOW,
        ConnectionOptions::default(),
    );
    (server, connection)
}

/// Fails unless `reply` is one well-formed envelope (spec §2.2, §2.3).
fn check_envelope(input: &str, reply: &str) -> Result<(), TestCaseError> {
    let value: Value = serde_json::from_str(reply).map_err(|e| {
        TestCaseError::fail(format!("reply to {input:?} is not JSON ({e}): {reply}"))
    })?;
    let object = value
        .as_object()
        .ok_or_else(|| TestCaseError::fail(format!("reply is not an object: {reply}")))?;
    let id = object
        .get("id")
        .ok_or_else(|| TestCaseError::fail(format!("reply without id: {reply}")))?;
    prop_assert!(
        id.is_null() || id.is_i64() || id.is_string(),
        "id of the wrong type: {}",
        reply
    );
    let status = object.get("status").and_then(Value::as_u64);
    prop_assert!(
        matches!(status, Some(200 | 400 | 401 | 429)),
        "unexpected status: {}",
        reply
    );
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => prop_assert_eq!(status, Some(200), "{}", reply),
        (None, Some(error)) => {
            prop_assert_ne!(status, Some(200), "{}", reply);
            let code = error.get("code").and_then(Value::as_i64);
            prop_assert!(code.is_some_and(|c| c < 0), "bad error code: {}", reply);
            prop_assert!(
                error.get("msg").is_some_and(Value::is_string),
                "error without msg: {}",
                reply
            );
        }
        _ => prop_assert!(false, "need exactly one of result and error: {}", reply),
    }
    for key in object.keys() {
        prop_assert!(
            ["id", "status", "result", "error", "rateLimits"].contains(&key.as_str()),
            "unexpected member {}: {}",
            key,
            reply
        );
    }
    Ok(())
}

/// Feeds `input` then a `ping` to a fresh connection and checks both replies.
fn feed(input: &str) -> Result<(), TestCaseError> {
    let (mut server, mut connection) = open();
    let reply = connection.handle_text(input, NOW, &mut server);
    check_envelope(input, &reply)?;
    let after = connection.handle_text(PING, NOW, &mut server);
    prop_assert_eq!(after, PING_REPLY, "after {:?}", input);
    Ok(())
}

/// Names that make the generated JSON hit the interesting paths, mixed with arbitrary ones.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("id".to_owned()),
        Just("method".to_owned()),
        Just("params".to_owned()),
        Just("apiKey".to_owned()),
        Just("signature".to_owned()),
        Just("timestamp".to_owned()),
        Just("recvWindow".to_owned()),
        Just("returnRateLimits".to_owned()),
        ".{0,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
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
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((name(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
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
    fn every_valid_id_is_echoed_exactly(
        id in prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[a-zA-Z0-9_-]{1,36}".prop_map(|s| format!("\"{s}\"")),
        ]
    ) {
        let (mut server, mut connection) = open();
        let request = format!(r#"{{"id":{id},"method":"ping","params":{{"returnRateLimits":false}}}}"#);
        let reply = connection.handle_text(&request, NOW, &mut server);
        prop_assert_eq!(reply, format!(r#"{{"id":{id},"status":200,"result":{{}}}}"#));
    }
}

#[test]
fn binary_frames_get_a_well_formed_reply_and_ping_still_works() {
    let (mut server, mut connection) = open();
    assert_eq!(
        connection.handle_binary(),
        r#"{"id":null,"status":400,"error":{"code":-1135,"msg":"Invalid JSON Request"}}"#
    );
    assert_eq!(connection.handle_text(PING, NOW, &mut server), PING_REPLY);
}
