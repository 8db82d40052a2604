//! Property: whatever arrives on a live connection (any text, any bytes, any JSON value, any
//! request-shaped object), the reply is a well-formed Binance envelope and the connection
//! still answers the next request. Few cases: each goes through a real socket.

mod common;

use std::sync::OnceLock;

use common::{Client, QUIET_PING, QUIET_PING_REPLY};
use mock_server::MockServer;
use proptest::prelude::*;
use test_support::strategy::{json_value, request_shaped};
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

/// Methods a request-shaped frame names: real ones, a prefixed one, an unknown one.
const METHODS: &[&str] = &[
    "ping",
    "time",
    "v3/session.status",
    "session.logon",
    "session.logout",
    "order.amend.keepPriority",
];

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
        request_shaped(METHODS).prop_map(|v| Input::Text(v.to_string())),
    ]
}

fn assert_envelope(reply: &str) {
    if let Err(e) = test_support::envelope::check(reply) {
        panic!("{e}");
    }
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
