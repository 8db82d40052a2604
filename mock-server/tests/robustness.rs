//! Issue: whatever a client sends, the mock answers as Binance would, keeps serving every
//! other connection, and never crashes, leaks or hangs. Bans (spec §5.3), CONNECTIONS
//! (spec §5.1), input limits, isolation, shutdown (spec §1.4).

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use mock_server::{BanPolicy, Clock, MockServer, Timestamp};
use serde_json::Value;
use test_support::errors as golden;
use tokio_tungstenite::tungstenite::Message;

fn banned_msg(until_ms: i64) -> String {
    golden::IP_BANNED
        .render(&[("until", &until_ms.to_string())])
        .msg
}

/// The HTTP status and body with which a handshake to `server` is refused.
async fn refused_handshake(server: &MockServer) -> (u16, Value) {
    match within(tokio_tungstenite::connect_async(server.url())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|bytes| serde_json::from_slice(bytes).expect("JSON body"))
                .unwrap_or(Value::Null);
            (response.status().as_u16(), body)
        }
        Ok(_) => panic!("the handshake was accepted"),
        Err(other) => panic!("unexpected handshake error: {other}"),
    }
}

async fn expect_close(client: &mut Client, code: u16) {
    loop {
        match client.next_message().await {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), code, "{frame:?}");
                return;
            }
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected a close frame {code}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn repeated_429s_lead_to_a_418_ban_a_disconnect_and_refused_reconnects() {
    let bans = BanPolicy {
        after_refusals: 2,
        durations: vec![Duration::from_secs(120), Duration::from_secs(600)],
    };
    let server = start(frozen_builder().weight_limit(5).ban_policy(bans)).await;
    let mut client = Client::connect(&server).await;
    // The connection cost 2; three pings reach the limit of 5.
    for _ in 0..3 {
        assert_eq!(client.request_json(QUIET_PING).await["status"], 200);
    }
    for count in [6, 7] {
        let reply = client.request_json(r#"{"id":1,"method":"ping"}"#).await;
        assert_eq!(reply["status"], 429, "{reply}");
        assert_eq!(reply["rateLimits"][0]["count"], count);
    }
    let until = T0 + 120_000;
    assert_eq!(
        client.request(r#"{"id":"x","method":"ping"}"#).await,
        format!(
            r#"{{"id":"x","status":418,"error":{{"code":-1003,"msg":"{}","data":{{"serverTime":{T0},"retryAfter":{until}}}}},"rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":5,"count":8}}]}}"#,
            banned_msg(until)
        )
    );
    expect_close(&mut client, 1008).await;

    // While banned, the IP cannot connect: HTTP 418 with the ban message.
    let (status, body) = refused_handshake(&server).await;
    assert_eq!(status, 418);
    assert_eq!(body["code"], -1003);
    assert_eq!(body["msg"], banned_msg(until));

    // Once the ban is over the IP is welcome again; a second offence bans for longer.
    server.clock().advance(Duration::from_secs(180));
    let now = T0 + 180_000;
    let mut client = Client::connect(&server).await;
    for _ in 0..3 {
        client.request(QUIET_PING).await;
    }
    let mut last = Value::Null;
    for _ in 0..3 {
        last = client.request_json(QUIET_PING).await;
    }
    assert_eq!(last["status"], 418, "{last}");
    assert_eq!(last["error"]["data"]["retryAfter"], now + 600_000);
}

#[tokio::test]
async fn a_ban_reaches_the_other_connections_of_the_ip() {
    let bans = BanPolicy {
        after_refusals: 1,
        durations: vec![Duration::from_secs(120)],
    };
    let server = start(frozen_builder().weight_limit(4).ban_policy(bans)).await;
    let mut first = Client::connect(&server).await;
    let mut second = Client::connect(&server).await;
    // Both connections cost 4 together: the IP is at its limit.
    assert_eq!(first.request_json(QUIET_PING).await["status"], 429);
    assert_eq!(first.request_json(QUIET_PING).await["status"], 418);
    expect_close(&mut first, 1008).await;
    let reply = second.request_json(QUIET_PING).await;
    assert_eq!(reply["status"], 418, "{reply}");
    expect_close(&mut second, 1008).await;
}

#[tokio::test]
async fn bans_can_be_switched_off() {
    let bans = BanPolicy {
        after_refusals: 0,
        durations: vec![],
    };
    let server = start(frozen_builder().weight_limit(2).ban_policy(bans)).await;
    let mut client = Client::connect(&server).await;
    for _ in 0..50 {
        assert_eq!(client.request_json(QUIET_PING).await["status"], 429);
    }
}

#[tokio::test]
async fn new_connections_past_the_connection_rate_limit_are_refused_with_429() {
    let server = start(frozen_builder().connection_rate_limit(3)).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Client::connect(&server).await);
    }
    let (status, body) = refused_handshake(&server).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        serde_json::json!({
            "code": -1034,
            "msg": golden::TOO_MANY_CONNECTIONS.render(&[("limit", "3")]).msg
        })
    );
    // The connections already open are not affected.
    for client in &mut open {
        client.assert_usable().await;
    }
    // The window is five calendar minutes long.
    server.clock().advance(Duration::from_secs(300));
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn past_the_global_connection_cap_the_handshake_gets_503() {
    let server = start(frozen_builder().max_connections(2)).await;
    let mut first = Client::connect(&server).await;
    let _second = Client::connect(&server).await;
    let (status, body) = refused_handshake(&server).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], -1008);
    first.assert_usable().await;
    drop(first);
    server.wait_for_open_connections(|open| open < 2).await;
    Client::connect(&server).await.assert_usable().await;
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009_and_spares_other_clients() {
    let server = start(frozen_builder().max_message_size(1024)).await;
    let mut bystander = Client::connect(&server).await;
    let mut client = Client::connect(&server).await;
    let big = format!(
        r#"{{"id":1,"method":"ping","params":{{"x":"{}"}}}}"#,
        "a".repeat(2000)
    );
    client.send(&big).await;
    expect_close(&mut client, 1009).await;
    bystander.assert_usable().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_TEXT, b"{\"id\":1,\"method\":\"\xff\xfe\"}")
        .await;
    let frame = raw.read_frame().await.expect("a close frame");
    assert_eq!(frame.close().0, 1007);
}

#[tokio::test]
async fn hostile_json_gets_defined_replies_and_the_connection_stays_usable() {
    let server = start(frozen_builder().weight_limit(u32::MAX)).await;
    let mut client = Client::connect(&server).await;
    let invalid_json = golden::INVALID_JSON.error().reply("null", "");

    // Nesting deeper than any parser should follow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(client.request(&deep).await, invalid_json);
    // Deep values inside a request are skipped over, not followed: a defined reply.
    let deep_value = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let reply = client
        .request_json(&format!(
            r#"{{"id":1,"method":"ping","params":{{"x":{deep_value}}}}}"#
        ))
        .await;
    assert_eq!(reply["error"]["code"], -1104, "{reply}");
    let reply = client
        .request_json(&format!(r#"{{"id":{deep_value},"method":"ping"}}"#))
        .await;
    assert_eq!(
        (reply["id"].clone(), reply["error"]["code"].clone()),
        (Value::Null, (-1135).into())
    );
    client.assert_usable().await;

    // Huge numbers: as an id they are invalid ids; as a param, just text.
    let huge = "9".repeat(5_000);
    let reply = client
        .request_json(&format!(r#"{{"id":{huge},"method":"ping"}}"#))
        .await;
    assert_eq!(
        (reply["id"].clone(), reply["error"]["code"].clone()),
        (Value::Null, (-1135).into())
    );
    let reply = client
        .request_json(&format!(
            r#"{{"id":1,"method":"time","params":{{"n":{huge}}}}}"#
        ))
        .await;
    assert_eq!(reply["error"]["code"], -1104, "{reply}");

    // Thousands of params, duplicate keys, NUL bytes.
    let many: Vec<String> = (0..5_000).map(|i| format!(r#""p{i}":{i}"#)).collect();
    let reply = client
        .request_json(&format!(
            r#"{{"id":2,"method":"ping","params":{{{}}}}}"#,
            many.join(",")
        ))
        .await;
    assert_eq!(
        reply["error"]["msg"],
        golden::UNREAD_PARAMETERS
            .render(&[("read", "0"), ("sent", "5000")])
            .msg
    );
    let reply = client
        .request_json(r#"{"id":3,"method":"session.status","params":{"a":1,"a":1}}"#)
        .await;
    assert_eq!(reply["error"]["code"], -1101, "{reply}");
    let reply = client
        .request_json("{\"id\":4,\"method\":\"ping\\u0000\"}")
        .await;
    assert_eq!(reply["error"]["code"], -1100, "{reply}");
    let reply = client
        .request_json("{\"id\":5,\"method\":\"session.logon\",\"params\":{\"apiKey\":\"a\\u0000b\",\"signature\":\"x\",\"timestamp\":1}}")
        .await;
    assert_eq!(reply["error"]["code"], -2014, "{reply}");
    client.assert_usable().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_while_others_are_served() {
    let server = start(
        frozen_builder()
            .weight_limit(u32::MAX)
            .write_timeout(Duration::from_millis(200)),
    )
    .await;
    let mut bystander = Client::connect(&server).await;
    let (ws, _) = within(tokio_tungstenite::connect_async(server.url()))
        .await
        .expect("connects");
    let (mut sink, _never_read) = ws.split();
    let flood = tokio::spawn(async move {
        let request = Message::text(r#"{"id":"flood","method":"time"}"#);
        // Bounded: the server must give up on this client long before this ends.
        for _ in 0..5_000_000 {
            if sink.send(request.clone()).await.is_err() {
                return;
            }
        }
        panic!("the server kept reading from a client that never reads");
    });
    // While the flood goes on, another client is served.
    for _ in 0..20 {
        bystander.assert_usable().await;
    }
    tokio::time::timeout(Duration::from_secs(60), flood)
        .await
        .expect("the flooding client was disconnected")
        .expect("the flood task did not panic");
    // The server let go of the flooding connection; only the bystander is left.
    within(server.wait_for_open_connections(|open| open == 1)).await;
    bystander.assert_usable().await;
}

/// The grace period of the shutdown tests: long, because it runs on the frozen clock and
/// only ends when a test advances it.
const GRACE: Duration = Duration::from_secs(5);

/// The `serverShutdown` event at `T0` in milliseconds.
fn shutdown_event() -> String {
    format!(r#"{{"event":{{"e":"serverShutdown","E":{T0}}}}}"#)
}

/// Reads the next frame and checks it is exactly `text`.
async fn expect_text(raw: &mut RawClient, text: &str) {
    let frame = raw.read_frame().await.expect("a text frame");
    assert_eq!(
        (frame.opcode, String::from_utf8_lossy(&frame.payload)),
        (OP_TEXT, text.into())
    );
}

/// Reads the server's Close frame for a shutdown, then the end of the stream.
async fn expect_shutdown_close(raw: &mut RawClient) {
    let frame = raw.read_frame().await.expect("a Close frame");
    assert_eq!(frame.close(), (1001, "server shutting down".to_owned()));
    assert_eq!(raw.read_frame().await, None, "EOF after the Close frame");
}

#[tokio::test]
async fn shutdown_announces_itself_serves_through_the_grace_on_the_servers_clock_then_closes() {
    let server = start(frozen_builder().shutdown_grace(GRACE)).await;
    let mut client = RawClient::connect(&server).await;
    client.assert_usable().await;
    let clock = server.clock().clone();
    let stopping = tokio::spawn(server.shutdown());

    expect_text(&mut client, &shutdown_event()).await;
    // Until the clock reaches the end of the grace, requests are answered.
    clock.advance(GRACE - Duration::from_millis(1));
    client.assert_usable().await;
    assert!(!stopping.is_finished(), "shutdown waits for the connection");
    // At the end of the grace, the connection is closed with 1001.
    clock.advance(Duration::from_millis(1));
    expect_shutdown_close(&mut client).await;
    drop(client);
    within(stopping)
        .await
        .expect("shutdown completes once the connection is closed");
}

#[tokio::test]
async fn on_a_frozen_clock_the_grace_lasts_until_the_clients_leave() {
    let server = start(frozen_builder().shutdown_grace(GRACE)).await;
    let mut client = RawClient::connect(&server).await;
    client.assert_usable().await;
    let stopping = tokio::spawn(server.shutdown());
    expect_text(&mut client, &shutdown_event()).await;
    // The clock never moves: the grace does not end, and the client is still served.
    client.assert_usable().await;
    client.assert_usable().await;
    assert!(!stopping.is_finished(), "shutdown waits for the connection");
    // The client leaves: its Close is answered and the shutdown completes.
    client.write_frame(OP_CLOSE, &1000u16.to_be_bytes()).await;
    let frame = client.read_frame().await.expect("the Close echo");
    assert_eq!(frame.close(), (1000, String::new()));
    assert_eq!(client.read_frame().await, None, "EOF after the Close frame");
    drop(client);
    within(stopping)
        .await
        .expect("shutdown completes once the client has left");
}

#[tokio::test]
async fn dropping_the_server_announces_the_shutdown_and_closes_at_once_on_a_frozen_clock() {
    let server = start(frozen_builder().shutdown_grace(GRACE)).await;
    let mut client = RawClient::connect(&server).await;
    client.assert_usable().await;
    drop(server);
    expect_text(&mut client, &shutdown_event()).await;
    expect_shutdown_close(&mut client).await;
}

#[tokio::test]
async fn abandoning_a_shutdown_closes_its_connections_at_once() {
    let server = start(frozen_builder().shutdown_grace(GRACE)).await;
    let mut client = RawClient::connect(&server).await;
    client.assert_usable().await;
    let stopping = tokio::spawn(server.shutdown());
    expect_text(&mut client, &shutdown_event()).await;
    client.assert_usable().await;
    // Dropping the shutdown future (a timeout around it, say) drops the server.
    stopping.abort();
    expect_shutdown_close(&mut client).await;
}

#[tokio::test]
async fn server_shutdown_carries_the_time_in_each_connections_time_unit() {
    let now = Timestamp::from_micros(T0 * 1000 + 123);
    let server = start(
        MockServer::builder()
            .clock(Clock::frozen_at(now))
            .shutdown_grace(Duration::ZERO),
    )
    .await;
    let mut micros = Client::connect_with_query(&server, "timeUnit=MICROSECOND").await;
    let mut millis = Client::connect(&server).await;
    micros.assert_usable().await;
    millis.assert_usable().await;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(
        micros.recv().await,
        r#"{"event":{"e":"serverShutdown","E":1700000000000123}}"#
    );
    assert_eq!(millis.recv().await, shutdown_event());
    expect_close(&mut micros, 1001).await;
    expect_close(&mut millis, 1001).await;
    within(stopping).await.expect("shutdown completes");
}

/// A client that pipelines: 200 requests written at once, of three kinds (answered, refused
/// by the core, refused as unknown), get their 200 replies in the order sent, whatever the
/// server answers together.
#[tokio::test]
async fn pipelined_requests_written_at_once_are_answered_in_order() {
    let server = frozen_server().await;
    let mut client = RawClient::connect(&server).await;
    let mut bytes = Vec::new();
    let methods = ["ping", "session.status", "no.such.method"];
    for id in 0..200 {
        let text = format!(r#"{{"id":{id},"method":"{}"}}"#, methods[id % 3]);
        bytes.extend(masked_frame(OP_TEXT, text.as_bytes()));
    }
    client.write_bytes(&bytes).await;
    for id in 0..200 {
        let frame = client.read_frame().await.expect("a reply before EOF");
        assert_eq!(frame.opcode, OP_TEXT);
        let reply: Value = serde_json::from_slice(&frame.payload).expect("JSON reply");
        assert_eq!(reply["id"], id, "{reply}");
        let status = if id % 3 == 2 { 400 } else { 200 };
        assert_eq!(reply["status"], status, "{reply}");
    }
    client.assert_usable().await;
}
