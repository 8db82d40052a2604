//! The close handshake (RFC 6455 §5.5.1, §7.1.1) over real sockets: whoever starts it, the
//! client receives the server's Close frame and then the end of the stream, never a bare
//! disconnect (which clients report as the abnormal closure 1006) nor a reset.
//!
//! The raw client reads bytes off the socket itself, so a missing Close frame, a missing end
//! of stream or a reset each fail the test.

mod common;

use std::time::Duration;

use common::{
    frozen_builder, frozen_server, start, within, Client, RawClient, OP_CLOSE, OP_PING, OP_TEXT,
    QUIET_PING,
};
use futures_util::StreamExt;
use mock_server::BanPolicy;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// The payload of a Close frame: the code, big-endian, then the reason.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// Reads the server's Close frame, skipping only pings and replies before it, then the end of
/// the stream. Returns the Close frame's payload.
async fn close_then_eof(raw: &mut RawClient) -> Vec<u8> {
    loop {
        let frame = raw.read_frame().await.expect("a Close frame before EOF");
        match frame.opcode {
            OP_PING | OP_TEXT => continue,
            OP_CLOSE => {
                assert_eq!(raw.read_frame().await, None, "EOF after the Close frame");
                return frame.payload;
            }
            _ => panic!("expected a Close frame, got {frame:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_close_1000_is_answered_with_close_1000_before_eof() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    raw.write_frame(OP_CLOSE, &close_payload(1000, "")).await;
    assert_eq!(close_then_eof(&mut raw).await, close_payload(1000, ""));
    // A client closes its end once the handshake is over; the server then lets go.
    drop(raw);
    within(server.wait_for_open_connections(|open| open == 0)).await;
}

#[tokio::test]
async fn a_client_close_is_echoed_with_its_code_and_reason() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_CLOSE, &close_payload(4000, "bye")).await;
    assert_eq!(close_then_eof(&mut raw).await, close_payload(4000, "bye"));
}

#[tokio::test]
async fn a_client_close_without_a_code_is_answered_with_an_empty_close() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_CLOSE, b"").await;
    assert_eq!(close_then_eof(&mut raw).await, b"");
}

#[tokio::test]
async fn a_client_close_with_a_code_that_may_not_be_sent_is_answered_with_1002() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    // 1005 means "no code" and must never appear in a Close frame (RFC 6455 §7.4.1).
    raw.write_frame(OP_CLOSE, &close_payload(1005, "")).await;
    assert_eq!(
        close_then_eof(&mut raw).await,
        close_payload(1002, "Protocol violation")
    );
}

#[tokio::test]
async fn a_client_that_vanishes_without_a_close_frees_its_connection() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    drop(raw);
    within(server.wait_for_open_connections(|open| open == 0)).await;
}

#[tokio::test]
async fn a_tungstenite_client_that_closes_sees_a_normal_closure() {
    let server = frozen_server().await;
    let (mut ws, _) = within(tokio_tungstenite::connect_async(server.url()))
        .await
        .expect("connects");
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    within(ws.close(Some(bye.clone())))
        .await
        .expect("Close sent");
    match within(ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame, bye),
        other => panic!("expected the server's Close 1000, got {other:?}"),
    }
    // The handshake is complete: the stream ends without an error.
    assert!(within(ws.next()).await.is_none());
}

#[tokio::test]
async fn a_ban_closes_with_1008_then_eof_even_with_requests_left_unread() {
    let bans = BanPolicy {
        after_refusals: 1,
        durations: vec![Duration::from_secs(120)],
    };
    let server = start(frozen_builder().weight_limit(2).ban_policy(bans)).await;
    let mut raw = RawClient::connect(&server).await;
    // The connection used the whole limit of 2: the first ping is refused (429), the second
    // bans (418) and closes. Far more follow than the server reads before it closes: left
    // unread in its socket, they would turn the server's FIN into a reset.
    for _ in 0..500 {
        raw.write_frame(OP_TEXT, QUIET_PING.as_bytes()).await;
    }
    assert_eq!(
        close_then_eof(&mut raw).await,
        close_payload(1008, "IP banned")
    );
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009_then_eof() {
    let server = start(frozen_builder().max_message_size(1024)).await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_TEXT, &[b'a'; 200_000]).await;
    assert_eq!(
        close_then_eof(&mut raw).await,
        close_payload(1009, "message too big")
    );
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007_then_eof() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.write_frame(OP_TEXT, b"{\"id\":1,\"method\":\"\xff\"}")
        .await;
    assert_eq!(
        close_then_eof(&mut raw).await,
        close_payload(1007, "invalid UTF-8 in a text frame")
    );
}

#[tokio::test]
async fn a_frame_with_a_reserved_opcode_closes_with_1002_then_eof() {
    let server = frozen_server().await;
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    raw.write_frame(0x3, b"").await;
    assert_eq!(
        close_then_eof(&mut raw).await,
        close_payload(1002, "protocol error")
    );
}

#[tokio::test]
async fn a_client_that_answers_the_servers_close_ends_the_handshake_at_once() {
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
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the lifetime Close, got {other:?}"),
    }
    // tungstenite answers the Close when it reads it; the stream then ends cleanly.
    assert!(client.next_message().await.is_none());
    within(server.wait_for_open_connections(|open| open == 0)).await;
}
