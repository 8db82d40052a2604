//! Connections through the control plane (issue 12) as their clients see them: the list,
//! close with a code and reason, drop (no Close frame), stall (a half-open peer: no replies,
//! no pings), and `serverShutdown` to one or every connection, with `closeAfter` on the
//! mock clock.

mod common;

use std::time::Duration;

use common::admin::{bad_request, Admin};
use common::{
    frozen_builder, frozen_server, start, Client, Ending, Frame, RawClient, TestKey, OP_PING,
    OP_PONG, OP_TEXT, QUIET_PING, QUIET_PING_REPLY, T0,
};
use mock_server::demo;
use serde_json::{json, Value};

const SUBSCRIBE: &str =
    r#"{"id":"sub","method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#;

/// How long a stalled connection must stay silent. Real time, but no test waits on it to
/// synchronise: the control connection beside it shows that the server did act meanwhile.
const SILENCE: Duration = Duration::from_millis(300);

fn shutdown_event() -> Value {
    json!({"event": {"e": "serverShutdown", "E": T0}})
}

fn path(id: u64, action: &str) -> String {
    format!("/__admin/connections/{id}/{action}")
}

// ---------------------------------------------------------------------------------------------
// The list

#[tokio::test]
async fn connections_lists_a_logged_on_subscribed_client_with_every_field() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut plain =
        Client::connect_with_query(&server, "timeUnit=MICROSECOND&returnRateLimits=false").await;
    plain.assert_usable().await;
    let mut client = Client::connect(&server).await;
    admin.advance(1_000).await;
    let logon = client
        .request_json(&TestKey::demo().logon("1", T0 + 1_000))
        .await;
    assert_eq!(logon["status"], 200, "{logon}");
    client.request(SUBSCRIBE).await;

    let listed = admin.connection(client.local_addr()).await;
    assert!(listed["id"].is_u64(), "{listed}");
    assert_eq!(listed["peer"], client.local_addr().to_string(), "{listed}");
    assert_eq!(listed["connectedSince"], T0, "{listed}");
    assert_eq!(listed["apiKey"], demo::API_KEY, "{listed}");
    assert_eq!(listed["authorizedSince"], T0 + 1_000, "{listed}");
    assert_eq!(listed["subscriptions"], json!([0]), "{listed}");
    assert_eq!(listed["timeUnit"], "MILLISECOND", "{listed}");
    assert_eq!(listed["returnRateLimits"], true, "{listed}");

    let other = admin.connection(plain.local_addr()).await;
    assert_ne!(other["id"], listed["id"]);
    // Times are milliseconds of the mock clock, whatever the connection's time unit.
    assert_eq!(other["connectedSince"], T0, "{other}");
    assert_eq!(other["apiKey"], Value::Null, "{other}");
    assert_eq!(other["authorizedSince"], Value::Null, "{other}");
    assert_eq!(other["subscriptions"], json!([]), "{other}");
    assert_eq!(other["timeUnit"], "MICROSECOND", "{other}");
    assert_eq!(other["returnRateLimits"], false, "{other}");
    assert_eq!(admin.connections().await.len(), 2);
}

#[tokio::test]
async fn a_closed_connection_leaves_the_list_and_ids_are_never_reused() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(&server).await;
        client.assert_usable().await;
        let id = admin.id_of(&client).await;
        assert!(!seen.contains(&id), "id {id} reused after {seen:?}");
        seen.push(id);
        drop(client);
        common::within(server.wait_for_open_connections(|open| open == 0)).await;
        let left = admin.connections().await;
        assert!(
            left.iter().all(|c| c["id"] != id),
            "{id} still listed: {left:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Close

#[tokio::test]
async fn close_sends_the_close_frame_with_the_code_and_reason_given() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let mut bystander = Client::connect(&server).await;
    bystander.assert_usable().await;
    let id = admin.id_of(&client).await;
    let answer = admin
        .post(&path(id, "close"), json!({"code": 4000, "reason": "bye"}))
        .await
        .ok();
    assert!(answer.is_object(), "{answer}");
    assert_eq!(
        client.ending().await,
        (vec![], Ending::Closed(4000, "bye".to_owned()))
    );
    bystander.assert_usable().await;
    common::within(server.wait_for_open_connections(|open| open == 1)).await;
    assert!(admin.connections().await.iter().all(|c| c["id"] != id));
    // Closed is gone: a second close is 404.
    assert_eq!(admin.post(&path(id, "close"), json!({})).await.status, 404);
}

#[tokio::test]
async fn close_without_a_code_closes_with_1000_and_no_reason() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let id = admin.id_of(&client).await;
    admin.post(&path(id, "close"), json!({})).await.expect(200);
    assert_eq!(
        client.ending().await,
        (vec![], Ending::Closed(1000, String::new()))
    );
}

#[tokio::test]
async fn close_takes_3000_to_4999_and_a_reason_of_123_bytes() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    for (code, reason) in [(3000, "x".repeat(123)), (4999, "é".repeat(61))] {
        let mut client = Client::connect(&server).await;
        client.assert_usable().await;
        let id = admin.id_of(&client).await;
        admin
            .post(&path(id, "close"), json!({"code": code, "reason": reason}))
            .await
            .expect(200);
        assert_eq!(
            client.ending().await,
            (vec![], Ending::Closed(code, reason))
        );
    }
}

#[tokio::test]
async fn close_refuses_codes_that_may_not_be_sent_and_reasons_over_123_bytes_with_400() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let id = admin.id_of(&client).await;
    for body in [
        json!({"code": 999}),
        json!({"code": 1001}),
        json!({"code": 1005}),
        json!({"code": 1006}),
        json!({"code": 1011}),
        json!({"code": 2999}),
        json!({"code": 5000}),
        json!({"code": 65536}),
        json!({"code": -1}),
        json!({"code": "1000"}),
        json!({"code": 4000, "reason": "x".repeat(124)}),
        // 62 two-byte characters: 124 bytes.
        json!({"code": 4000, "reason": "é".repeat(62)}),
    ] {
        let answer = admin.post(&path(id, "close"), body.clone()).await;
        assert_eq!(answer.status, 400, "{body} answered {answer:?}");
        answer.error();
    }
    bad_request(&admin.post_text(&path(id, "close"), "{\"code\":").await);
    client.assert_usable().await;
}

// ---------------------------------------------------------------------------------------------
// Drop

#[tokio::test]
async fn drop_cuts_the_connection_without_a_close_frame() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut raw = RawClient::connect(&server).await;
    raw.assert_usable().await;
    let mut bystander = Client::connect(&server).await;
    bystander.assert_usable().await;
    let id = admin.id_of_raw(&raw).await;
    let answer = admin.post_empty(&path(id, "drop")).await.ok();
    assert!(answer.is_object(), "{answer}");
    assert_eq!(
        raw.frames_until_end().await,
        Vec::<Frame>::new(),
        "no Close frame"
    );
    bystander.assert_usable().await;
    common::within(server.wait_for_open_connections(|open| open == 1)).await;
    assert!(admin.connections().await.iter().all(|c| c["id"] != id));
}

#[tokio::test]
async fn a_dropped_connection_ends_without_a_close_frame_for_a_websocket_library_too() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let id = admin.id_of(&client).await;
    admin.post_empty(&path(id, "drop")).await.expect(200);
    assert_eq!(client.ending().await, (vec![], Ending::Cut));
}

// ---------------------------------------------------------------------------------------------
// Stall

const PING_INTERVAL_MS: i64 = 1_000;
const PONG_TIMEOUT_MS: i64 = 3_000;

/// A server at `T0` pinging every second, waiting 3 s for a pong, with a 10-minute lifetime.
async fn pinging_server() -> mock_server::MockServer {
    start(
        frozen_builder()
            .ping_interval(Duration::from_millis(1_000))
            .pong_timeout(Duration::from_millis(3_000))
            .max_lifetime(Duration::from_secs(600)),
    )
    .await
}

/// Reads frames on `control` up to and including a ping, answers it, and returns its
/// payload: proof that the server's timers ran for the time the clock moved.
async fn answer_next_ping(control: &mut RawClient) -> Vec<u8> {
    loop {
        let frame = control.read_frame().await.expect("a ping");
        if frame.opcode == OP_PING {
            control.write_frame(OP_PONG, &frame.payload).await;
            return frame.payload;
        }
        assert_ne!(frame.opcode, OP_TEXT, "unexpected {frame:?}");
    }
}

/// A stalled connection, a control connection beside it, the stalled one's id.
async fn stalled_pair(
    server: &mock_server::MockServer,
    admin: &Admin,
) -> (RawClient, RawClient, u64) {
    let mut stalled = RawClient::connect(server).await;
    stalled.assert_usable().await;
    let mut control = RawClient::connect(server).await;
    control.assert_usable().await;
    let id = admin.id_of_raw(&stalled).await;
    let answer = admin.post_empty(&path(id, "stall")).await.ok();
    assert!(answer.is_object(), "{answer}");
    (stalled, control, id)
}

#[tokio::test]
async fn a_stalled_connection_gets_no_replies_and_no_pings_and_stays_listed_past_the_pong_timeout()
{
    let server = pinging_server().await;
    let admin = Admin::new(&server);
    let (mut stalled, mut control, id) = stalled_pair(&server, &admin).await;
    stalled.write_frame(OP_TEXT, QUIET_PING.as_bytes()).await;
    // Nor a pong for the client's own ping.
    stalled.write_frame(OP_PING, b"are you there").await;
    admin.advance(PING_INTERVAL_MS).await;
    assert_eq!(answer_next_ping(&mut control).await, b"1");
    stalled.assert_silent_for(SILENCE).await;
    // Long past the pong timeout of a ping it was never sent.
    admin.advance(PONG_TIMEOUT_MS + PING_INTERVAL_MS).await;
    answer_next_ping(&mut control).await;
    stalled.assert_silent_for(SILENCE).await;
    assert!(
        admin.connections().await.iter().any(|c| c["id"] == id),
        "a stalled connection stays listed"
    );
    assert_eq!(control.request(QUIET_PING).await, QUIET_PING_REPLY);
}

#[tokio::test]
async fn close_still_cuts_a_stalled_connection() {
    let server = pinging_server().await;
    let admin = Admin::new(&server);
    let (mut stalled, _control, id) = stalled_pair(&server, &admin).await;
    stalled.write_frame(OP_TEXT, QUIET_PING.as_bytes()).await;
    admin
        .post(&path(id, "close"), json!({"code": 4000}))
        .await
        .expect(200);
    let frames = stalled.frames_until_end().await;
    assert!(
        frames
            .iter()
            .all(|f| f.opcode != OP_TEXT && f.opcode != OP_PING),
        "no reply and no ping on a stalled connection: {frames:?}"
    );
    common::within(server.wait_for_open_connections(|open| open == 1)).await;
    assert!(admin.connections().await.iter().all(|c| c["id"] != id));
}

#[tokio::test]
async fn drop_still_cuts_a_stalled_connection() {
    let server = pinging_server().await;
    let admin = Admin::new(&server);
    let (mut stalled, _control, id) = stalled_pair(&server, &admin).await;
    stalled.write_frame(OP_TEXT, QUIET_PING.as_bytes()).await;
    admin.post_empty(&path(id, "drop")).await.expect(200);
    assert_eq!(stalled.frames_until_end().await, Vec::<Frame>::new());
    common::within(server.wait_for_open_connections(|open| open == 1)).await;
}

#[tokio::test]
async fn reset_still_cuts_a_stalled_connection() {
    let server = pinging_server().await;
    let admin = Admin::new(&server);
    let (mut stalled, _control, _id) = stalled_pair(&server, &admin).await;
    admin.post("/__admin/reset", json!({})).await.expect(200);
    let frames = stalled.frames_until_end().await;
    assert!(frames.iter().all(|f| f.opcode != OP_TEXT), "{frames:?}");
}

#[tokio::test]
async fn the_lifetime_still_ends_a_stalled_connection() {
    let server = start(frozen_builder().max_lifetime(Duration::from_secs(600))).await;
    let admin = Admin::new(&server);
    let (mut stalled, _control, _id) = stalled_pair(&server, &admin).await;
    admin.advance(599_000).await;
    stalled.assert_silent_for(SILENCE).await;
    admin.advance(1_000).await;
    let frames = stalled.frames_until_end().await;
    assert!(frames.iter().all(|f| f.opcode != OP_TEXT), "{frames:?}");
}

// ---------------------------------------------------------------------------------------------
// Server shutdown

#[tokio::test]
async fn server_shutdown_announces_to_every_connection_and_the_mock_goes_on() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut first = Client::connect(&server).await;
    first.assert_usable().await;
    let mut second = Client::connect(&server).await;
    second.assert_usable().await;
    let answer = admin.post("/__admin/server-shutdown", json!({})).await.ok();
    assert!(answer.is_object(), "{answer}");
    for client in [&mut first, &mut second] {
        let event: Value = serde_json::from_str(&client.recv().await).expect("JSON");
        assert_eq!(event, shutdown_event());
        client.assert_usable().await;
    }
    // Not closed, however long it waits without `closeAfter`; new connections are welcome.
    admin.advance(3_600_000).await;
    first.assert_usable().await;
    Client::connect(&server).await.assert_usable().await;
    assert_eq!(server.open_connections(), 3);
}

#[tokio::test]
async fn server_shutdown_to_one_connection_reaches_only_that_one() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut target = Client::connect(&server).await;
    target.assert_usable().await;
    let mut other = Client::connect(&server).await;
    other.assert_usable().await;
    let id = admin.id_of(&target).await;
    admin
        .post("/__admin/server-shutdown", json!({"connection": id}))
        .await
        .expect(200);
    let event: Value = serde_json::from_str(&target.recv().await).expect("JSON");
    assert_eq!(event, shutdown_event());
    // Had the other been sent the event, it would come before this reply.
    assert_eq!(other.request(QUIET_PING).await, QUIET_PING_REPLY);
}

#[tokio::test]
async fn server_shutdown_with_close_after_closes_with_1001_only_once_the_mock_clock_gets_there() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut client = Client::connect(&server).await;
    client.assert_usable().await;
    let mut spared = Client::connect(&server).await;
    spared.assert_usable().await;
    let id = admin.id_of(&client).await;
    admin
        .post(
            "/__admin/server-shutdown",
            json!({"connection": id, "closeAfter": 5_000}),
        )
        .await
        .expect(200);
    let event: Value = serde_json::from_str(&client.recv().await).expect("JSON");
    assert_eq!(event, shutdown_event());
    // A frozen clock waits for `advance`.
    client.assert_usable().await;
    admin.advance(4_999).await;
    client.assert_usable().await;
    admin.advance(1).await;
    let (texts, ending) = client.ending().await;
    assert!(texts.is_empty(), "{texts:?}");
    match ending {
        Ending::Closed(code, _) => assert_eq!(code, 1001),
        Ending::Cut => panic!("cut without a Close frame"),
    }
    spared.assert_usable().await;
}

#[tokio::test]
async fn server_shutdown_with_close_after_to_every_connection_closes_them_all() {
    let server = frozen_server().await;
    let admin = Admin::new(&server);
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(&server).await;
        client.assert_usable().await;
        clients.push(client);
    }
    admin
        .post("/__admin/server-shutdown", json!({"closeAfter": 1_000}))
        .await
        .expect(200);
    admin.advance(1_000).await;
    for client in &mut clients {
        let (texts, ending) = client.ending().await;
        assert_eq!(texts.len(), 1, "the serverShutdown event: {texts:?}");
        assert!(matches!(ending, Ending::Closed(1001, _)), "{ending:?}");
    }
    // The mock still accepts connections.
    Client::connect(&server).await.assert_usable().await;
}
