//! Keepalive, lifetime and shutdown over real sockets (spec §1.3), driven by a frozen clock:
//! the server's ping timer, pong deadline and lifetime all read the injected clock, so
//! advancing it makes them fire at once and no test waits in real time.
//!
//! Clients that must not answer pings are [`RawClient`]s: tungstenite answers every ping it
//! reads. Each test does a request/reply round trip before touching the clock, so the server
//! has taken the connection's start time (and any pong sent) before time moves.

mod common;

use std::time::Duration;

use common::{
    frozen_builder, start, within, Client, Frame, RawClient, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT,
};
use mock_server::MockServer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const PING_INTERVAL: Duration = Duration::from_secs(1);
const PONG_TIMEOUT: Duration = Duration::from_secs(3);

/// A server at `T0` that pings every second and waits three seconds for a pong.
async fn impatient_server() -> MockServer {
    start(
        frozen_builder()
            .ping_interval(PING_INTERVAL)
            .pong_timeout(PONG_TIMEOUT),
    )
    .await
}

/// Reads frames up to the close frame, checking that only pings come before it, and then
/// the end of the stream. Returns the close code and reason.
async fn read_until_closed(raw: &mut RawClient) -> (u16, String) {
    loop {
        let frame = raw.read_frame().await.expect("a close frame before EOF");
        match frame.opcode {
            OP_PING => continue,
            OP_CLOSE => {
                let close = frame.close();
                assert_eq!(raw.read_frame().await, None, "EOF after the close frame");
                return close;
            }
            _ => panic!("expected pings then a close frame, got {frame:?}"),
        }
    }
}

fn ping(payload: &str) -> Frame {
    Frame {
        opcode: OP_PING,
        payload: payload.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn client_that_never_answers_pings_is_disconnected() {
    let server = impatient_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    server.clock().advance(PING_INTERVAL);
    assert_eq!(raw.read_frame().await, Some(ping("1")));
    server.clock().advance(PONG_TIMEOUT);
    assert_eq!(
        read_until_closed(&mut raw).await,
        (1008, "pong timeout".to_owned())
    );
}

#[tokio::test]
async fn client_that_never_answers_pings_is_disconnected_after_the_documented_minute() {
    let server = start(frozen_builder()).await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    server.clock().advance(Duration::from_secs(20));
    assert_eq!(raw.read_frame().await, Some(ping("1")));
    // 60 s after the first ping: the second is due, the first is 40 s unanswered.
    server.clock().advance(Duration::from_secs(40));
    assert_eq!(raw.read_frame().await, Some(ping("2")));
    raw.assert_usable().await;
    server.clock().advance(Duration::from_secs(20));
    assert_eq!(
        read_until_closed(&mut raw).await,
        (1008, "pong timeout".to_owned())
    );
}

#[tokio::test]
async fn unsolicited_pong_does_not_prevent_disconnection() {
    let server = impatient_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_PONG, b"").await;
    raw.assert_usable().await;
    server.clock().advance(PING_INTERVAL);
    assert_eq!(raw.read_frame().await, Some(ping("1")));
    // Pongs that do not echo the ping's payload answer nothing.
    raw.write_frame(OP_PONG, b"").await;
    raw.write_frame(OP_PONG, b"11").await;
    raw.write_frame(OP_PONG, b"2").await;
    raw.assert_usable().await;
    server.clock().advance(PONG_TIMEOUT);
    assert_eq!(
        read_until_closed(&mut raw).await,
        (1008, "pong timeout".to_owned())
    );
}

#[tokio::test]
async fn unsolicited_pong_before_the_first_ping_does_no_harm() {
    let server = impatient_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_PONG, b"").await;
    raw.assert_usable().await;
    server.clock().advance(PING_INTERVAL);
    assert_eq!(raw.read_frame().await, Some(ping("1")));
    raw.write_frame(OP_PONG, b"1").await;
    raw.assert_usable().await;
    server.clock().advance(PONG_TIMEOUT);
    assert_eq!(raw.read_frame().await, Some(ping("2")));
    // Still open: a request gets its reply, not a close frame.
    raw.assert_usable().await;
}

#[tokio::test]
async fn pong_for_a_later_ping_answers_the_earlier_ones_too() {
    let server = impatient_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    server.clock().advance(PING_INTERVAL);
    assert_eq!(raw.read_frame().await, Some(ping("1")));
    server.clock().advance(PING_INTERVAL);
    assert_eq!(raw.read_frame().await, Some(ping("2")));
    raw.write_frame(OP_PONG, b"2").await;
    raw.assert_usable().await;
    server.clock().advance(PONG_TIMEOUT);
    assert_eq!(raw.read_frame().await, Some(ping("3")));
    raw.assert_usable().await;
}

#[tokio::test]
async fn client_that_answers_pings_is_not_disconnected() {
    let server = impatient_server().await;
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    // Well past several pong timeouts, one ping interval at a time.
    for _ in 0..8 {
        server.clock().advance(PING_INTERVAL);
        match client.next_message().await {
            Some(Message::Ping(_)) => {}
            other => panic!("expected a ping, got {other:?}"),
        }
        // tungstenite queued the pong when it read the ping; send it before the request.
        client.flush().await;
        client.assert_usable().await;
    }
    server.clock().advance(PONG_TIMEOUT);
    match client.next_message().await {
        Some(Message::Ping(_)) => {}
        other => panic!("expected a ping, got {other:?}"),
    }
    client.flush().await;
    client.assert_usable().await;
}

#[tokio::test]
async fn server_answers_client_ping_frames_with_pong() {
    let server = impatient_server().await;
    let mut client = Client::connect(&server).await;
    client
        .send_message(Message::Ping(b"are you there"[..].into()))
        .await;
    match client.next_message().await {
        Some(Message::Pong(payload)) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    client.assert_usable().await;
}

#[tokio::test]
async fn server_answers_raw_ping_frames_with_an_echoing_pong() {
    let server = impatient_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_PING, b"").await;
    assert_eq!(
        raw.read_frame().await,
        Some(Frame {
            opcode: OP_PONG,
            payload: Vec::new()
        })
    );
    raw.write_frame(OP_PING, b"payload").await;
    assert_eq!(
        raw.read_frame().await,
        Some(Frame {
            opcode: OP_PONG,
            payload: b"payload".to_vec()
        })
    );
    raw.assert_usable().await;
}

#[tokio::test]
async fn connection_is_closed_after_24_hours() {
    // Pings so rare that only the lifetime can end the connection.
    let server = start(frozen_builder().ping_interval(Duration::from_secs(48 * 60 * 60))).await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    server
        .clock()
        .advance(Duration::from_secs(24 * 60 * 60) - Duration::from_millis(1));
    raw.assert_usable().await;
    server.clock().advance(Duration::from_millis(1));
    assert_eq!(
        read_until_closed(&mut raw).await,
        (1000, "connection lifetime exceeded".to_owned())
    );
}

#[tokio::test]
async fn lifetime_close_reaches_a_tungstenite_client_as_a_normal_close() {
    let server = start(
        frozen_builder()
            .ping_interval(Duration::from_secs(3600))
            .max_lifetime(Duration::from_secs(60)),
    )
    .await;
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    server.clock().advance(Duration::from_secs(60));
    match client.next_message().await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Normal);
            assert_eq!(frame.reason.as_str(), "connection lifetime exceeded");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(client.next_message().await.is_none());
}

#[tokio::test]
async fn server_shutdown_announces_itself_then_closes_with_1001() {
    let server = start(frozen_builder().shutdown_grace(Duration::ZERO)).await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    let shutdown = tokio::spawn(server.shutdown());
    let event = raw.read_frame().await.expect("the serverShutdown event");
    assert_eq!(event.opcode, OP_TEXT);
    assert_eq!(
        String::from_utf8(event.payload).expect("UTF-8 event"),
        r#"{"event":{"e":"serverShutdown","E":1700000000000}}"#
    );
    assert_eq!(
        read_until_closed(&mut raw).await,
        (1001, "server shutting down".to_owned())
    );
    // The client closes its end, as clients do once the server's Close and EOF arrive.
    drop(raw);
    within(shutdown).await.expect("shutdown finished");
}
