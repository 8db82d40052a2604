//! User Data Stream subscriptions (spec §4.4–§4.6): subscribe with the session's key or a
//! signature, ids per connection, `session.subscriptions`, unsubscribe, `eventStreamTerminated`
//! on logout, events pushed from the test, and the limits.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use mock_server::socketless::{Connection, Server};
use mock_server::{Config, ConnectionOptions, KeyRegistry, Timestamp};
use serde_json::{json, Value};
use test_support::errors as golden;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "bob-secret";

fn subscribe_signature_hmac(id: u32, api_key: &str) -> String {
    // `returnRateLimits` is a param like any other: it is signed too.
    let payload = format!("apiKey={api_key}&returnRateLimits=false&timestamp={T0}");
    let signature = hmac_sign(SECRET, &payload);
    format!(
        r#"{{"id":{id},"method":"userDataStream.subscribe.signature","params":{{"apiKey":"{api_key}","timestamp":{T0},"signature":"{signature}","returnRateLimits":false}}}}"#
    )
}

const SUBSCRIBE: &str =
    r#"{"id":"sub","method":"userDataStream.subscribe","params":{"returnRateLimits":false}}"#;
const SUBSCRIPTIONS: &str =
    r#"{"id":"list","method":"session.subscriptions","params":{"returnRateLimits":false}}"#;

fn terminated(id: u32) -> String {
    format!(r#"{{"subscriptionId":{id},"event":{{"e":"eventStreamTerminated","E":{T0}}}}}"#)
}

async fn server() -> mock_server::MockServer {
    let alice = TestKey::from_seed("Alice", 1);
    let carol = TestKey::from_seed("Carol", 3);
    start(
        carol
            .register(alice.register(frozen_builder()))
            .hmac_key("Bob", SECRET),
    )
    .await
}

#[tokio::test]
async fn logout_ends_only_the_logon_subscription() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    assert_eq!(
        client.request(SUBSCRIBE).await,
        r#"{"id":"sub","status":200,"result":{"subscriptionId":0}}"#
    );
    // Alice's account, for the session key, without credentials.
    let status = client
        .request_json(&format!(
            r#"{{"id":2,"method":"account.status","params":{{"timestamp":{T0}}}}}"#
        ))
        .await;
    assert_eq!(status["status"], 200, "{status}");
    // Bob's account, by an HMAC signature for this request only, on the same connection.
    let bob_signature = hmac_sign(SECRET, &format!("apiKey=Bob&timestamp={T0}"));
    let bobs = client
        .request_json(&format!(
            r#"{{"id":21,"method":"account.status","params":{{"apiKey":"Bob","timestamp":{T0},"signature":"{bob_signature}"}}}}"#
        ))
        .await;
    assert_eq!(
        bobs["result"]["uid"],
        mock_server::Account::fixture("Bob").uid,
        "{bobs}"
    );
    assert_ne!(bobs["result"]["uid"], status["result"]["uid"]);
    // Bob's stream, by an HMAC signature, on the same connection.
    assert_eq!(
        client.request(&subscribe_signature_hmac(3, "Bob")).await,
        r#"{"id":3,"status":200,"result":{"subscriptionId":1}}"#
    );
    assert_eq!(
        client.request(SUBSCRIPTIONS).await,
        r#"{"id":"list","status":200,"result":[{"subscriptionId":0},{"subscriptionId":1}]}"#
    );

    let logout = client
        .request_json(r#"{"id":4,"method":"session.logout","params":{"returnRateLimits":false}}"#)
        .await;
    assert_eq!(logout["result"]["apiKey"], Value::Null);
    // Bob's subscription is still there, so the session still has a stream.
    assert_eq!(logout["result"]["userDataStream"], true);
    assert_eq!(client.recv().await, terminated(0));
    assert_eq!(
        client.request(SUBSCRIPTIONS).await,
        r#"{"id":"list","status":200,"result":[{"subscriptionId":1}]}"#
    );
    // Only Bob's events arrive now.
    assert_eq!(server.push_user_data_event("Alice", json!({"e": "x"})), 0);
    assert_eq!(server.push_user_data_event("Bob", json!({"e": "y"})), 1);
    assert_eq!(
        client.recv().await,
        r#"{"subscriptionId":1,"event":{"e":"y"}}"#
    );
}

#[tokio::test]
async fn pushed_events_reach_every_subscription_of_the_account() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut first = Client::connect(&server).await;
    let mut second = Client::connect(&server).await;
    let mut bystander = Client::connect(&server).await;
    for client in [&mut first, &mut second] {
        client.request(&alice.logon("1", T0)).await;
        client.request(SUBSCRIBE).await;
    }
    let event = json!({
        "e": "outboundAccountPosition", "E": T0, "u": T0,
        "B": [{"a": "BTC", "f": "0.90000000", "l": "0.10000000"}]
    });
    assert_eq!(server.push_user_data_event("Alice", event.clone()), 2);
    for client in [&mut first, &mut second] {
        let frame: Value = serde_json::from_str(&client.recv().await).expect("JSON");
        assert_eq!(frame, json!({"subscriptionId": 0, "event": event}));
    }
    // Nothing reached the connection without a subscription.
    bystander.assert_usable().await;
    let status = first
        .request_json(r#"{"id":2,"method":"session.status"}"#)
        .await;
    assert_eq!(status["result"]["userDataStream"], true);
}

#[tokio::test]
async fn subscribing_needs_a_logon_and_only_one_per_account() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client.request(SUBSCRIBE).await,
        error_reply("\"sub\"", 401, -1002, golden::UNAUTHORIZED.template)
    );
    client.request(&alice.logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    assert_eq!(
        client.request(SUBSCRIBE).await,
        error_reply("\"sub\"", 400, -2035, golden::SUBSCRIPTION_ACTIVE.template)
    );
    // The same account by signature is a second subscription of the account: refused too.
    let by_signature =
        alice.signed_params(&[("apiKey", "\"Alice\""), ("timestamp", &T0.to_string())]);
    let reply = client
        .request_json(&format!(
            r#"{{"id":2,"method":"userDataStream.subscribe.signature","params":{by_signature}}}"#
        ))
        .await;
    assert_eq!(reply["error"]["code"], -2035, "{reply}");
    // Extra params on the parameterless subscribe: -1104 (spec §2.5).
    let reply = client
        .request_json(r#"{"id":3,"method":"userDataStream.subscribe","params":{"apiKey":"Alice"}}"#)
        .await;
    assert_eq!(
        reply["error"]["msg"],
        golden::UNREAD_PARAMETERS
            .render(&[("read", "0"), ("sent", "1")])
            .msg
    );
}

#[tokio::test]
async fn unsubscribe_ends_one_or_all_and_ids_are_never_reused() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    client.request(SUBSCRIBE).await; // 0
    client.request(&subscribe_signature_hmac(2, "Bob")).await; // 1
    let one = r#"{"id":5,"method":"userDataStream.unsubscribe","params":{"subscriptionId":0,"returnRateLimits":false}}"#;
    assert_eq!(
        client.request(one).await,
        r#"{"id":5,"status":200,"result":{}}"#
    );
    assert_eq!(client.recv().await, terminated(0));
    // Unknown ids and nothing to end are not errors.
    assert_eq!(
        client.request(one).await,
        r#"{"id":5,"status":200,"result":{}}"#
    );
    assert_eq!(
        client.request(SUBSCRIBE).await,
        r#"{"id":"sub","status":200,"result":{"subscriptionId":2}}"#
    );
    let all =
        r#"{"id":6,"method":"userDataStream.unsubscribe","params":{"returnRateLimits":false}}"#;
    assert_eq!(
        client.request(all).await,
        r#"{"id":6,"status":200,"result":{}}"#
    );
    assert_eq!(client.recv().await, terminated(1));
    assert_eq!(client.recv().await, terminated(2));
    assert_eq!(
        client.request(all).await,
        r#"{"id":6,"status":200,"result":{}}"#
    );
    assert_eq!(
        client.request(SUBSCRIPTIONS).await,
        r#"{"id":"list","status":200,"result":[]}"#
    );
    for id in [r#""first""#, r#""+1""#, "123456", "-1", "1.0"] {
        let bad = client
            .request_json(&format!(
                r#"{{"id":7,"method":"userDataStream.unsubscribe","params":{{"subscriptionId":{id}}}}}"#
            ))
            .await;
        assert_eq!(bad["error"]["code"], -1100, "{id}: {bad}");
    }
}

#[tokio::test]
async fn relogon_with_another_key_ends_the_logon_subscription_and_the_same_key_keeps_it() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let carol = TestKey::from_seed("Carol", 3);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    client.request(&alice.logon("2", T0)).await;
    assert_eq!(
        server.push_user_data_event("Alice", json!({"e": "still"})),
        1
    );
    assert_eq!(
        client.recv().await,
        r#"{"subscriptionId":0,"event":{"e":"still"}}"#
    );

    let relogon = client.request_json(&carol.logon("3", T0)).await;
    assert_eq!(relogon["result"]["apiKey"], "Carol");
    assert_eq!(relogon["result"]["userDataStream"], false);
    assert_eq!(client.recv().await, terminated(0));
    assert_eq!(
        server.push_user_data_event("Alice", json!({"e": "gone"})),
        0
    );
}

#[tokio::test]
async fn revoking_a_key_ends_its_subscriptions_with_the_session() {
    let server = server().await;
    let alice = TestKey::from_seed("Alice", 1);
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    server.revoke_key("Alice");
    let reply = client.request_json(QUIET_PING).await;
    assert_eq!(reply["status"], 200);
    assert_eq!(
        client.recv().await,
        error_reply("null", 401, -2015, golden::REJECTED_API_KEY.template)
    );
    assert_eq!(client.recv().await, terminated(0));
}

#[tokio::test]
async fn a_connection_closes_when_its_event_queue_overflows() {
    // The test runs on one thread: the connection cannot take events while they are pushed.
    let server = start(frozen_builder().event_queue(2)).await;
    let alice = TestKey::demo();
    let mut client = Client::connect(&server).await;
    client.request(&alice.logon("1", T0)).await;
    client.request(SUBSCRIBE).await;
    let account = mock_server::demo::API_KEY;
    for n in 0..3 {
        server.push_user_data_event(account, json!({"e": "flood", "n": n}));
    }
    let mut events = 0;
    loop {
        match client.next_message().await {
            Some(Message::Text(_)) => events += 1,
            Some(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1008);
                assert_eq!(frame.reason.as_str(), "too many events queued");
                break;
            }
            other => panic!("expected events then a close, got {other:?}"),
        }
    }
    assert!(events <= 2, "{events} events");
}

/// The lifetime limit of subscription ids (spec §4.6), on the pure core: 65,535 subscriptions
/// over one connection's life, then -2042.
#[test]
fn a_connection_runs_out_of_subscription_ids_after_65535() {
    let mut config = Config::default();
    config.weight_limit = u32::MAX;
    let mut server = Server::new(&config, KeyRegistry::with_demo_key());
    let now = Timestamp::from_millis(T0);
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut connection = Connection::open(&mut server, ip, now, ConnectionOptions::default());
    let logon = TestKey::demo().logon("1", T0);
    assert!(connection
        .reply_to(&logon, now, &mut server)
        .expect("a reply")
        .contains(r#""status":200"#));
    let unsubscribe = r#"{"id":2,"method":"userDataStream.unsubscribe"}"#;
    for n in 0..65_535u32 {
        let reply = connection
            .reply_to(SUBSCRIBE, now, &mut server)
            .expect("a reply");
        assert!(
            reply.contains(&format!(r#""subscriptionId":{n}}}"#)),
            "{reply}"
        );
        connection
            .reply_to(unsubscribe, now, &mut server)
            .expect("a reply");
        while connection.poll_transmit().is_some() {}
    }
    assert_eq!(
        connection
            .reply_to(SUBSCRIBE, now, &mut server)
            .expect("a reply"),
        error_reply("\"sub\"", 400, -2042, golden::MAX_SUBSCRIPTION_IDS.template)
    );
}
