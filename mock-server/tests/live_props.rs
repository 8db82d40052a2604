//! Property: whatever arrives on a live connection (any text, any bytes, any JSON value, any
//! request-shaped object), the reply is a well-formed Binance envelope and the connection
//! still answers the next request. Few cases: each goes through a real socket.

mod common;

use std::sync::OnceLock;

use common::{Client, QUIET_PING, QUIET_PING_REPLY};
use mock_server::MockServer;
use proptest::prelude::*;
use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

/// More cases than the default limit of 300 new connections per IP per 5 minutes: with that
/// limit in force, every case after the 300th would be refused at the handshake.
const CASES: u32 = 400;

/// One server for all cases: starting one per case would only test the start-up. Each case
/// opens a connection and sends a request, so the per-IP limits on weight and on new
/// connections are lifted: what is under test is the reply to a frame, and the limits have
/// tests of their own (`rate_limits.rs`).
fn server() -> &'static (Runtime, MockServer) {
    static SERVER: OnceLock<(Runtime, MockServer)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = Runtime::new().expect("a runtime");
        let server = runtime
            .block_on(
                MockServer::builder()
                    .weight_limit(u32::MAX)
                    .connection_rate_limit(u32::MAX)
                    .start(),
            )
            .expect("the server starts");
        (runtime, server)
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn request_shaped() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        Just(Value::from("ping")),
        Just(Value::from("time")),
        Just(Value::from("v3/session.status")),
        Just(Value::from("session.logon")),
        Just(Value::from("session.logout")),
        Just(Value::from("order.place")),
        json_value(),
    ];
    let params = prop::collection::vec(
        (
            prop_oneof![
                Just("apiKey".to_owned()),
                Just("signature".to_owned()),
                Just("timestamp".to_owned()),
                Just("recvWindow".to_owned()),
                Just("returnRateLimits".to_owned()),
                ".{0,8}",
            ],
            json_value(),
        ),
        0..5,
    );
    (json_value(), method, params).prop_map(|(id, method, params)| {
        serde_json::json!({"id": id, "method": method, "params": Value::Object(params.into_iter().collect())})
    })
}

#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Binary(Vec<u8>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        ".{0,200}".prop_map(Input::Text),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Input::Binary),
        json_value().prop_map(|v| Input::Text(v.to_string())),
        request_shaped().prop_map(|v| Input::Text(v.to_string())),
    ]
}

fn assert_envelope(reply: &str) {
    let value: Value = serde_json::from_str(reply).expect("the reply is JSON");
    let object = value.as_object().expect("the reply is an object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let status = object["status"].as_u64().expect("status is a number");
    match status {
        200 => assert!(
            keys == ["id", "status", "result"] || keys == ["id", "status", "result", "rateLimits"],
            "{reply}"
        ),
        _ => {
            assert!(
                keys == ["id", "status", "error"]
                    || keys == ["id", "status", "error", "rateLimits"],
                "{reply}"
            );
            let error = &object["error"];
            assert!(error["code"].as_i64().is_some_and(|c| c < 0), "{reply}");
            assert!(
                error["msg"].as_str().is_some_and(|m| !m.is_empty()),
                "{reply}"
            );
        }
    }
    let id = &object["id"];
    assert!(id.is_null() || id.is_i64() || id.is_string(), "{reply}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn any_frame_gets_a_well_formed_reply_and_the_connection_stays_usable(input in input()) {
        let (runtime, server) = server();
        runtime.block_on(async {
            let mut client = Client::connect(server).await;
            match &input {
                Input::Text(text) => client.send(text).await,
                Input::Binary(bytes) => client.send_message(Message::binary(bytes.clone())).await,
            }
            assert_envelope(&client.recv().await);
            assert_eq!(client.request(QUIET_PING).await, QUIET_PING_REPLY);
        });
    }
}
