//! Behaviour the mock cannot provoke on demand — replies out of order, no reply at all, a
//! dropped socket, server pings, events, malformed frames — against a hand-driven fake
//! server on a free loopback port. Each test plays the server's side step by step.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use test_support::errors as golden;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use ws_client::{Client, Error, Response};

mod common;
use common::within;

type ServerSide = WebSocketStream<TcpStream>;

/// A client connected to a fake server, and the server's end of that connection.
async fn connected() -> (Client, ServerSide) {
    let listener = within(TcpListener::bind("127.0.0.1:0"))
        .await
        .expect("bind");
    let url = format!(
        "ws://{}/ws-api/v3",
        listener.local_addr().expect("local address")
    );
    let accept = async {
        let (stream, _) = listener.accept().await.expect("accept");
        tokio_tungstenite::accept_async(stream)
            .await
            .expect("handshake")
    };
    let (client, server) = within(async { tokio::join!(Client::connect(&url), accept) }).await;
    (client.expect("the client connects"), server)
}

/// The next request the client sent, as `(id, method)`.
async fn next_request(server: &mut ServerSide) -> (Value, String) {
    loop {
        match within(server.next()).await {
            Some(Ok(Message::Text(text))) => {
                let request: Value = serde_json::from_str(&text).expect("requests are JSON");
                let method = request["method"].as_str().expect("a method").to_owned();
                return (request["id"].clone(), method);
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a request, got {other:?}"),
        }
    }
}

async fn reply(server: &mut ServerSide, id: &Value, result: Value) {
    let frame = json!({ "id": id, "status": 200, "result": result });
    within(server.send(Message::text(frame.to_string())))
        .await
        .expect("send a reply");
}

fn call(client: &Client, method: &str) -> JoinHandle<Result<Response<Value>, Error>> {
    let client = client.clone();
    let method = method.to_owned();
    tokio::spawn(async move { client.request(&method, Value::Null).await })
}

#[tokio::test]
async fn replies_are_matched_by_id_when_the_second_is_answered_first() {
    let (client, mut server) = connected().await;
    let first = call(&client, "first");
    let second = call(&client, "second");
    let mut ids = std::collections::HashMap::new();
    for _ in 0..2 {
        let (id, method) = within(next_request(&mut server)).await;
        ids.insert(method, id);
    }

    within(reply(
        &mut server,
        &ids["second"],
        json!({ "answer": "second" }),
    ))
    .await;
    let second = within(second)
        .await
        .expect("task")
        .expect("second succeeds");
    assert_eq!(second.result, json!({ "answer": "second" }));
    assert!(!first.is_finished(), "the first request still waits");

    within(reply(
        &mut server,
        &ids["first"],
        json!({ "answer": "first" }),
    ))
    .await;
    let first = within(first).await.expect("task").expect("first succeeds");
    assert_eq!(first.result, json!({ "answer": "first" }));
}

#[tokio::test]
async fn a_hundred_requests_answered_in_reverse_order_all_get_their_own_reply() {
    let (client, mut server) = connected().await;
    let calls: Vec<_> = (0..100)
        .map(|i| (i, call(&client, &format!("method{i}"))))
        .collect();
    let mut requests = Vec::new();
    for _ in 0..100 {
        requests.push(within(next_request(&mut server)).await);
    }
    for (id, method) in requests.iter().rev() {
        within(reply(&mut server, id, json!({ "method": method }))).await;
    }
    for (i, call) in calls {
        let response = within(call).await.expect("task").expect("succeeds");
        assert_eq!(response.result, json!({ "method": format!("method{i}") }));
    }
}

#[tokio::test]
async fn a_connection_that_drops_fails_every_pending_request() {
    let (client, mut server) = connected().await;
    let first = call(&client, "first");
    let second = call(&client, "second");
    within(next_request(&mut server)).await;
    within(next_request(&mut server)).await;
    drop(server);

    for pending in [first, second] {
        let error = within(pending)
            .await
            .expect("task")
            .expect_err("no reply can come");
        assert!(matches!(error, Error::Closed(_)), "{error:?}");
    }
    let later = within(client.ping()).await.expect_err("already closed");
    assert!(matches!(later, Error::Closed(_)), "{later:?}");
}

#[tokio::test]
async fn a_close_frame_fails_pending_requests_with_its_code_and_reason() {
    let (client, mut server) = connected().await;
    let pending = call(&client, "ping");
    within(next_request(&mut server)).await;
    within(
        server.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1008.into(),
            reason: "pong timeout".into(),
        })),
    )
    .await
    .expect("send close");

    let error = within(pending).await.expect("task").expect_err("closed");
    match error {
        Error::Closed(closed) => {
            assert_eq!(closed.code, Some(1008));
            assert_eq!(closed.reason, "pong timeout");
        }
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_without_a_reply_times_out_and_the_late_reply_is_dropped() {
    let (client, mut server) = connected().await;
    let impatient = client.with_timeout(Some(Duration::from_millis(50)));
    let error = within(impatient.ping()).await.expect_err("no reply");
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    assert_eq!(error.to_string(), "no reply within 50ms");

    let (late_id, _) = within(next_request(&mut server)).await;
    within(reply(&mut server, &late_id, json!({}))).await;
    let next = call(&client, "time");
    let (id, method) = within(next_request(&mut server)).await;
    assert_eq!(method, "time");
    assert_ne!(id, late_id);
    within(reply(&mut server, &id, json!({ "serverTime": 1 }))).await;
    let next = within(next)
        .await
        .expect("task")
        .expect("the connection still works");
    assert_eq!(next.result, json!({ "serverTime": 1 }));
}

#[tokio::test]
async fn server_pings_are_answered_with_their_payload() {
    let (_client, mut server) = connected().await;
    within(server.send(Message::Ping(b"17".to_vec().into())))
        .await
        .expect("send ping");
    match within(server.next()).await {
        Some(Ok(Message::Pong(payload))) => assert_eq!(payload.as_ref(), b"17"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

#[tokio::test]
async fn frames_without_an_id_arrive_as_events_in_order() {
    let (client, mut server) = connected().await;
    let mut events = client.events();
    let pending = call(&client, "ping");
    let (id, _) = within(next_request(&mut server)).await;
    let revoked = golden::REJECTED_API_KEY.error().reply("null", "");
    for frame in [
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1}}"#,
        r#"{"event":{"e":"serverShutdown","E":1770123456789}}"#,
        revoked.as_str(),
    ] {
        within(server.send(Message::text(frame)))
            .await
            .expect("send event");
    }
    within(reply(&mut server, &id, json!({}))).await;
    within(pending)
        .await
        .expect("task")
        .expect("the reply still arrives");

    let first = within(events.recv()).await.expect("first event");
    assert_eq!(first.subscription_id(), Some(0));
    assert_eq!(first.kind(), Some("outboundAccountPosition"));
    let shutdown = within(events.recv()).await.expect("second event");
    assert_eq!(shutdown.kind(), Some("serverShutdown"));
    assert_eq!(shutdown.time(), Some(1_770_123_456_789));
    let revoked = within(events.recv()).await.expect("third event");
    assert_eq!(revoked.frame()["error"]["code"], json!(-2015));

    drop(server);
    assert!(
        within(events.recv()).await.is_none(),
        "events end with the connection"
    );
}

#[tokio::test]
async fn the_first_reader_sees_events_sent_before_it_asked() {
    let (client, mut server) = connected().await;
    within(server.send(Message::text(r#"{"event":{"e":"serverShutdown","E":1}}"#)))
        .await
        .expect("send event");
    // A reply after the event proves the event was routed before the reader existed.
    let pending = call(&client, "ping");
    let (id, _) = within(next_request(&mut server)).await;
    within(reply(&mut server, &id, json!({}))).await;
    within(pending).await.expect("task").expect("ping");

    let mut events = client.events();
    let event = within(events.recv()).await.expect("the early event");
    assert_eq!(event.kind(), Some("serverShutdown"));
}

#[tokio::test]
async fn frames_that_are_not_json_are_skipped() {
    let (client, mut server) = connected().await;
    let pending = call(&client, "ping");
    let (id, _) = within(next_request(&mut server)).await;
    for junk in [
        "not json",
        "[1,2]",
        r#"{"id":"unknown","status":200,"result":{}}"#,
    ] {
        within(server.send(Message::text(junk)))
            .await
            .expect("send junk");
    }
    within(server.send(Message::Binary(vec![0, 1, 2].into())))
        .await
        .expect("send binary");
    within(reply(&mut server, &id, json!({}))).await;
    within(pending)
        .await
        .expect("task")
        .expect("the real reply arrives");
}

#[tokio::test]
async fn a_reply_of_the_wrong_shape_is_a_decode_error() {
    let (client, mut server) = connected().await;
    let pending = {
        let client = client.clone();
        tokio::spawn(async move { client.time().await })
    };
    let (id, _) = within(next_request(&mut server)).await;
    within(reply(&mut server, &id, json!({ "serverTime": "noon" }))).await;
    let error = within(pending)
        .await
        .expect("task")
        .expect_err("a string is not a time");
    assert!(
        matches!(&error, Error::Decode { method, .. } if method == "time"),
        "{error:?}"
    );
}
