//! What the session methods do to a connection (spec §4.2–4.4): re-logon, failed logon,
//! logout (anonymous or not), and sessions being per connection. Whole frames compared as
//! exact strings.

mod common;

use std::time::Duration;

use common::{frozen_builder, session_result, start, weight, Client, TestKey, T0};
use mock_server::MockServer;

const ALICE: &str = "aliceKey1";
const BOB: &str = "bobKey2";

fn alice() -> TestKey {
    TestKey::from_seed(ALICE, 1)
}

fn bob() -> TestKey {
    TestKey::from_seed(BOB, 2)
}

async fn server() -> MockServer {
    start(bob().register(alice().register(frozen_builder()))).await
}

/// A `session.status` request that asks for no `rateLimits`.
const STATUS: &str =
    r#"{"id":"status","method":"session.status","params":{"returnRateLimits":false}}"#;

/// The reply to [`STATUS`].
fn status_reply(logon: Option<(&str, i64)>, server_time: i64) -> String {
    format!(
        r#"{{"id":"status","status":200,"result":{}}}"#,
        session_result(logon, T0, true, server_time)
    )
}

#[tokio::test]
async fn status_when_anonymous_has_null_key_fields() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"session.status"}"#)
            .await,
        r#"{"id":1,"status":200,"result":{"apiKey":null,"authorizedSince":null,"connectedSince":1700000000000,"returnRateLimits":true,"serverTime":1700000000000,"userDataStream":false},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":4}]}"#
    );
}

#[tokio::test]
async fn logout_when_anonymous_answers_200_with_nulls() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    server.clock().advance(Duration::from_millis(1500));
    assert_eq!(
        client
            .request(r#"{"id":1,"method":"session.logout"}"#)
            .await,
        r#"{"id":1,"status":200,"result":{"apiKey":null,"authorizedSince":null,"connectedSince":1700000000000,"returnRateLimits":true,"serverTime":1700000001500,"userDataStream":false},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":4}]}"#
    );
    client.assert_usable().await;
}

#[tokio::test]
async fn logout_forgets_the_key_and_the_connection_stays_open() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    assert_eq!(
        client.request(STATUS).await,
        status_reply(Some((ALICE, T0)), T0)
    );
    server.clock().advance(Duration::from_secs(1));
    assert_eq!(
        client
            .request(r#"{"id":2,"method":"session.logout"}"#)
            .await,
        format!(
            r#"{{"id":2,"status":200,"result":{}{}}}"#,
            session_result(None, T0, true, T0 + 1000),
            weight(8)
        )
    );
    assert_eq!(client.request(STATUS).await, status_reply(None, T0 + 1000));
    client.assert_usable().await;
}

#[tokio::test]
async fn logon_works_again_after_logout() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    client
        .request(r#"{"id":2,"method":"session.logout"}"#)
        .await;
    server.clock().advance(Duration::from_secs(3));
    let reply = client.request(&alice().logon("3", T0 + 3000)).await;
    assert_eq!(
        reply,
        format!(
            r#"{{"id":3,"status":200,"result":{}{}}}"#,
            session_result(Some((ALICE, T0 + 3000)), T0, true, T0 + 3000),
            weight(8)
        )
    );
}

#[tokio::test]
async fn relogon_with_second_key_replaces_the_first() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    server.clock().advance(Duration::from_secs(2));
    assert_eq!(
        client.request(&bob().logon("2", T0 + 2000)).await,
        format!(
            r#"{{"id":2,"status":200,"result":{}{}}}"#,
            session_result(Some((BOB, T0 + 2000)), T0, true, T0 + 2000),
            weight(6)
        )
    );
    assert_eq!(
        client.request(STATUS).await,
        status_reply(Some((BOB, T0 + 2000)), T0 + 2000)
    );
}

#[tokio::test]
async fn relogon_with_the_same_key_moves_authorized_since() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    server.clock().advance(Duration::from_secs(4));
    client.request(&alice().logon("2", T0 + 4000)).await;
    assert_eq!(
        client.request(STATUS).await,
        status_reply(Some((ALICE, T0 + 4000)), T0 + 4000)
    );
}

#[tokio::test]
async fn failed_logon_leaves_an_existing_logon_intact() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    client.request(&alice().logon("1", T0)).await;
    server.clock().advance(Duration::from_secs(2));
    let now = T0 + 2000;
    let failures = [
        // Bob's key signed by alice's private key.
        TestKey::from_seed(BOB, 1).logon("2", now),
        // A key the server does not know.
        TestKey::from_seed("nobody", 3).logon("2", now),
        // A malformed key.
        TestKey::from_seed("no-body", 3).logon("2", now),
        // Bob's key, too late.
        bob().logon("2", now - 5001),
        // Bob's key, too early.
        bob().logon("2", now + 1000),
        // No signature.
        r#"{"id":2,"method":"session.logon","params":{"apiKey":"bobKey2","timestamp":1700000002000}}"#
            .to_owned(),
    ];
    for request in &failures {
        let reply = client.request(request).await;
        assert!(
            reply.starts_with(r#"{"id":2,"status":40"#),
            "expected a refusal of {request}, got {reply}"
        );
        assert_eq!(
            client.request(STATUS).await,
            status_reply(Some((ALICE, T0)), now),
            "after {request}"
        );
    }
}

#[tokio::test]
async fn logon_belongs_to_one_connection_only() {
    let server = server().await;
    let mut first = Client::connect(&server).await;
    let mut second = Client::connect(&server).await;
    first.request(&alice().logon("1", T0)).await;
    assert_eq!(second.request(STATUS).await, status_reply(None, T0));
    second.request(&bob().logon("1", T0)).await;
    second
        .request(r#"{"id":2,"method":"session.logout"}"#)
        .await;
    assert_eq!(
        first.request(STATUS).await,
        status_reply(Some((ALICE, T0)), T0)
    );
}

#[tokio::test]
async fn connected_since_is_when_the_connection_opened() {
    let server = server().await;
    let mut early = Client::connect(&server).await;
    server.clock().advance(Duration::from_millis(2500));
    let mut late = Client::connect(&server).await;
    server.clock().advance(Duration::from_millis(500));
    let now = T0 + 3000;
    assert_eq!(
        early.request(STATUS).await,
        format!(
            r#"{{"id":"status","status":200,"result":{}}}"#,
            session_result(None, T0, true, now)
        )
    );
    assert_eq!(
        late.request(STATUS).await,
        format!(
            r#"{{"id":"status","status":200,"result":{}}}"#,
            session_result(None, T0 + 2500, true, now)
        )
    );
}

#[tokio::test]
async fn time_follows_the_injected_clock() {
    let server = server().await;
    let mut client = Client::connect(&server).await;
    let time = r#"{"id":1,"method":"time","params":{"returnRateLimits":false}}"#;
    assert_eq!(
        client.request(time).await,
        r#"{"id":1,"status":200,"result":{"serverTime":1700000000000}}"#
    );
    server.clock().advance(Duration::from_micros(1_234_567));
    assert_eq!(
        client.request(time).await,
        r#"{"id":1,"status":200,"result":{"serverTime":1700000001234}}"#
    );
}
